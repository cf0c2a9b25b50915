"""Shared helpers for the sandbox test-suite (no fixtures here)."""

from __future__ import annotations

import asyncio
import base64
import copy
import datetime
import inspect
import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mohawk
import pytest
import requests
import slugid
import taskcluster

from tc_notebook.terms import RESOLVED
from tc_notebook.timestamps import iso, now

API = "/api/queue/v1"

# Taskcluster's rendered schemas, beside the clone (read at test time only).
UPSTREAM_SCHEMAS = (
    Path(__file__).resolve().parents[2] / "shared" / "taskcluster-reference" / "schemas" / "json"
)


def new_queue_id() -> str:
    """Return a fresh, valid taskQueueId so tests never share a queue."""
    return f"sbx-test/w{uuid.uuid4().hex[:12]}"


def make_queue(root_url: str, credentials: dict | None = None, **options: Any) -> taskcluster.Queue:
    """Build an official Queue client (no retries, credentials copied)."""
    opts: dict[str, Any] = {"rootUrl": root_url, "maxRetries": 0}
    if credentials:
        opts["credentials"] = copy.deepcopy(credentials)
    opts.update(options)
    return taskcluster.Queue(opts)


def root_queue(sandbox: Any, **options: Any) -> taskcluster.Queue:
    """An official Queue client with a sandbox's root credentials."""
    return make_queue(sandbox.root_url, sandbox.credentials, **options)


def make_task(task_queue_id: str | None = None, **overrides: Any) -> dict:
    """Return a minimal valid task definition (overrides replace keys; None deletes)."""
    task: dict[str, Any] = {
        "taskQueueId": task_queue_id or new_queue_id(),
        "created": taskcluster.fromNowJSON("0 seconds"),
        "deadline": taskcluster.fromNowJSON("1 hour"),
        "payload": {},
        "metadata": {
            "name": "sandbox test task",
            "description": "created by the tc-notebook test-suite",
            "owner": "tests@example.com",
            "source": "https://example.com/tc-notebook/tests",
        },
    }
    for key, value in overrides.items():
        if value is None:
            task.pop(key, None)
        else:
            task[key] = value
    return task


def from_now(**delta: float) -> str:
    """A Taskcluster date `datetime.timedelta(**delta)` from now."""
    return iso(now() + datetime.timedelta(**delta))


# A date as the queue writes them: UTC, to the millisecond.
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def new_task_id() -> str:
    """A nice slugid (valid taskId)."""
    return slugid.nice()


# -- waiting ---------------------------------------------------------------------------

POLL_SECONDS = 0.05  # between two looks at what a test waits for


def _fail_if_late(give_up: float, timeout: float, predicate: Callable[[], Any],
                  message: str | None, last: Any) -> None:
    """Fail the test once the monotonic clock reaches `give_up`, saying what was awaited."""
    if time.monotonic() >= give_up:
        awaited = message or _source_of(predicate)
        pytest.fail(f"timed out after {timeout} s waiting for {awaited} (last: {last!r})")


def _source_of(predicate: Callable[[], Any]) -> str:
    """The line that wrote `predicate` (a lambda, usually), else its name."""
    try:
        return inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return repr(predicate)


def wait_until(predicate: Callable[[], Any], timeout: float = 15.0, message: str | None = None,
               *, interval: float = POLL_SECONDS) -> Any:
    """Call `predicate` until it returns something truthy, and return that; fail the
    test after `timeout` seconds, naming `message` (else the predicate's source)."""
    give_up = time.monotonic() + timeout
    while not (value := predicate()):
        _fail_if_late(give_up, timeout, predicate, message, value)
        time.sleep(interval)
    return value


async def until(predicate: Callable[[], Any], timeout: float = 15.0, message: str | None = None,
                *, interval: float = POLL_SECONDS) -> Any:
    """wait_until for a test on an event loop: waits without blocking the loop."""
    give_up = time.monotonic() + timeout
    while not (value := predicate()):
        _fail_if_late(give_up, timeout, predicate, message, value)
        await asyncio.sleep(interval)
    return value


def stays_false(predicate: Callable[[], Any], until: float) -> bool:
    """True if `predicate` stays falsy until the monotonic time `until` (a bounded wait
    for something that must not happen)."""
    while time.monotonic() < until:
        if predicate():
            return False
        time.sleep(POLL_SECONDS)
    return not predicate()


def status_of(queue: taskcluster.Queue, task_id: str) -> dict:
    """The task's status structure."""
    return queue.status(task_id)["status"]


def wait_state(queue: taskcluster.Queue, task_id: str, check: Callable[[dict], bool],
               timeout: float = 30, message: str | None = None) -> dict:
    """Poll the task's status until `check(status)` holds; return that status. The
    failure names `message` (else the check's source)."""

    def probe() -> dict | None:
        status = status_of(queue, task_id)
        return status if check(status) else None

    return wait_until(probe, timeout, f"{message or _source_of(check)} of task {task_id}")


def wait_in(queue: taskcluster.Queue, task_id: str, states: tuple[str, ...],
            timeout: float = 30) -> dict:
    """Wait until the task's state is one of `states`; return its status."""
    return wait_state(queue, task_id, lambda status: status["state"] in states, timeout,
                      " or ".join(states))


def wait_running(queue: taskcluster.Queue, task_id: str, timeout: float = 30) -> dict:
    """Wait until the task's latest run is running."""
    return wait_in(queue, task_id, ("running",), timeout)


def wait_resolved(queue: taskcluster.Queue, task_id: str, timeout: float = 30) -> dict:
    """Wait until the task is resolved (completed, failed or exception)."""
    return wait_in(queue, task_id, RESOLVED, timeout)


# -- calls and requests the tests repeat ----------------------------------------------


def expect_error(fn: Callable, *args: Any, status: int, code: str | None = None,
                 **kwargs: Any) -> dict:
    """Call fn, assert a Taskcluster REST/auth failure with status/code; return the body."""
    failures = (taskcluster.TaskclusterRestFailure, taskcluster.TaskclusterAuthFailure)
    with pytest.raises(failures) as ei:
        fn(*args, **kwargs)
    err = ei.value
    assert err.status_code == status, f"expected {status}, got {err.status_code}: {err.body}"
    if code is not None:
        assert isinstance(err.body, dict), err.body
        assert err.body.get("code") == code, err.body
    return err.body


def claim_one(queue: taskcluster.Queue, task_queue_id: str, worker_group: str = "wg",
              worker_id: str = "w1") -> dict:
    """claimWork for exactly one task; fail if none is returned."""
    res = queue.claimWork(task_queue_id, {"workerGroup": worker_group, "workerId": worker_id,
                                          "tasks": 1})
    assert len(res["tasks"]) == 1, res
    return res["tasks"][0]


def worker_queue(root_url: str, claim: dict) -> taskcluster.Queue:
    """A Queue client authenticated with a claim's temporary credentials."""
    return make_queue(root_url, claim["credentials"])


def create_and_claim(queue: taskcluster.Queue, root_url: str, **overrides: Any):
    """Create a task on a fresh queue and claim it; return (taskId, claim, worker client)."""
    tq = overrides.pop("task_queue_id", None) or new_queue_id()
    task_id = new_task_id()
    queue.createTask(task_id, make_task(tq, **overrides))
    claim = claim_one(queue, tq)
    assert claim["status"]["taskId"] == task_id
    return task_id, claim, worker_queue(root_url, claim)


def create_unscheduled(queue: taskcluster.Queue, task_id: str | None = None,
                       **overrides: Any) -> str:
    """Create a task blocked on a fresh pending dependency; return its taskId."""
    dep = new_task_id()
    dep_fields = {"deadline": overrides["deadline"]} if "deadline" in overrides else {}
    queue.createTask(dep, make_task(**dep_fields))
    task_id = task_id or new_task_id()
    status = queue.createTask(task_id, make_task(dependencies=[dep], **overrides))["status"]
    assert status["state"] == "unscheduled", status
    return task_id


def s3_artifact(queue: taskcluster.Queue, task_id: str, run_id: int, name: str, data: bytes,
                content_type: str = "text/plain", expires: str | None = None) -> dict:
    """Create an s3 artifact and upload data to its putUrl; return the createArtifact reply."""
    res = queue.createArtifact(task_id, run_id, name, {
        "storageType": "s3",
        "contentType": content_type,
        "expires": expires or taskcluster.fromNowJSON("1 day"),
        "contentLength": len(data),
    })
    put = requests.put(res["putUrl"], data=data,
                       headers={"Content-Type": content_type, "Content-Length": str(len(data))},
                       timeout=10)
    assert 200 <= put.status_code < 300, (put.status_code, put.text)
    return res


def b64_ext(ext: dict | None) -> str:
    """Encode a Hawk ext object like the Python client does."""
    return base64.b64encode(json.dumps(ext or {}).encode()).decode()


def hawk_header(url: str, method: str, credentials: dict, content: bytes | str = b"",
                content_type: str = "", ext: dict | None = None,
                timestamp: int | None = None) -> str:
    """Build a Hawk Authorization header with mohawk (optionally with a chosen timestamp)."""
    ext = dict(ext or {})
    if credentials.get("certificate"):
        cert = credentials["certificate"]
        ext["certificate"] = json.loads(cert) if isinstance(cert, str) else cert
    sender = mohawk.Sender(
        credentials={"id": credentials["clientId"], "key": credentials["accessToken"],
                     "algorithm": "sha256"},
        url=url, method=method, content=content, content_type=content_type,
        ext=b64_ext(ext), _timestamp=timestamp,
    )
    return sender.request_header


def raw_request(method: str, url: str, credentials: dict | None = None, body: Any = None,
                content_type: str | None = "application/json", headers: dict | None = None,
                **kwargs: Any) -> requests.Response:
    """Send a plain HTTP request (Hawk-signed when credentials are given), no redirects."""
    data: bytes = b""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    hdrs = dict(headers or {})
    if data and content_type:
        hdrs["Content-Type"] = content_type
    if credentials:
        hdrs["Authorization"] = hawk_header(url, method, credentials, content=data,
                                            content_type=content_type if data else "")
    kwargs.setdefault("allow_redirects", False)
    return requests.request(method, url, data=data or None, headers=hdrs, timeout=30, **kwargs)
