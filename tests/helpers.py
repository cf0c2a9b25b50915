"""Shared helpers for the sandbox test-suite (no fixtures here)."""

from __future__ import annotations

import base64
import copy
import datetime
import json
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


def iso(dt: datetime.datetime) -> str:
    """Serialize a datetime like Date.toJSON() (millisecond precision, Z)."""
    dt = dt.astimezone(datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def from_now(**delta: float) -> str:
    """ISO timestamp now + timedelta(**delta)."""
    return iso(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(**delta))


def parse_date(value: str) -> datetime.datetime:
    """Parse an ISO-8601 timestamp with a trailing Z."""
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def new_task_id() -> str:
    """A nice slugid (valid taskId)."""
    return slugid.nice()


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05,
               message: str = "condition") -> Any:
    """Poll predicate until it returns a truthy value; fail after timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message}; last value: {last!r}")


def wait_for_state(queue: taskcluster.Queue, task_id: str, predicate: Callable[[dict], bool],
                   timeout: float = 10.0) -> dict:
    """Poll queue.status until predicate(status) holds; return that status."""

    def check():
        status = queue.status(task_id)["status"]
        return status if predicate(status) else None

    return wait_until(check, timeout=timeout, message=f"state of task {task_id}")


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
