"""Fixtures and helpers for the worker tests: sandboxes that run tasks, and the CLI."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import slugid
import taskcluster
import taskcluster.download
from helpers import wait_resolved
from taskcluster.exceptions import TaskclusterRestFailure

from tc_notebook.sandbox import SandboxProcess
from tc_notebook.terms import BACKING_LOG
from tc_notebook.timestamps import parse_time
from tc_notebook.tutorial import TUTORIAL_TASK_QUEUE

# -- reading back --------------------------------------------------------------


def artifact_info(queue: taskcluster.Queue, task_id: str, name: str) -> dict | None:
    """latestArtifactInfo, or None while the artifact (or the run) does not exist."""
    try:
        return queue.latestArtifactInfo(task_id, name)
    except TaskclusterRestFailure as failure:
        if failure.status_code == 404:
            return None
        raise


def epoch(value: str) -> float:
    """A Taskcluster timestamp in seconds since the epoch."""
    return parse_time(value).timestamp()


def only_run(status: dict) -> dict:
    """The single run of a task that must have exactly one."""
    assert len(status["runs"]) == 1, status["runs"]
    return status["runs"][0]


# -- tasks -----------------------------------------------------------------------


# The queue the tests' sandbox workers serve (a worker serves named queues only).
WORKER_QUEUE = "worker-tests/shared"


def sh(script: str) -> list[str]:
    """A docker-worker command running `script` with /bin/sh."""
    return ["/bin/sh", "-c", script]


def expires(delay: str = "1 day") -> str:
    """An artifact expiry `delay` from now."""
    return taskcluster.fromNowJSON(delay)


def task_definition(payload: dict, task_queue_id: str | None = None, **fields: Any) -> dict:
    """A task for the sandbox worker (its queue unless told; `fields` added or replaced)."""
    task: dict[str, Any] = {
        "taskQueueId": task_queue_id or WORKER_QUEUE,
        "created": taskcluster.fromNowJSON("0 seconds"),
        "deadline": taskcluster.fromNowJSON("1 hour"),
        "payload": payload,
        "metadata": {
            "name": "worker test task",
            "description": "created by tests/test_worker_*.py",
            "owner": "tests@example.com",
            "source": "https://example.com/tc-notebook/tests/worker_fixtures.py",
        },
    }
    task.update(fields)
    return task


def create(queue: taskcluster.Queue, payload: dict, **fields: Any) -> str:
    """Create a task; return its taskId."""
    task_id = slugid.nice()
    queue.createTask(task_id, task_definition(payload, **fields))
    return task_id


def run_task(queue: taskcluster.Queue, payload: dict, timeout: float = 15,
             **fields: Any) -> tuple[str, dict]:
    """Create a task and wait for its resolution; return (taskId, status)."""
    task_id = create(queue, payload, **fields)
    return task_id, wait_resolved(queue, task_id, timeout)


def download(queue: taskcluster.Queue, task_id: str, name: str,
             run_id: int | None = None) -> bytes:
    """An artifact's bytes, with the official download helper."""
    kwargs: dict[str, Any] = {"taskId": task_id, "name": name, "queueService": queue,
                              "maxRetries": 0}
    if run_id is not None:
        kwargs["runId"] = run_id
    buf, _ = taskcluster.download.downloadArtifactToBuf(**kwargs)
    return bytes(buf)


def backing_log(queue: taskcluster.Queue, task_id: str, run_id: int | None = None) -> str:
    """The text of a run's live_backing.log."""
    return download(queue, task_id, BACKING_LOG, run_id).decode()


def artifact_names(queue: taskcluster.Queue, task_id: str, run_id: int | None = None) -> set:
    """Names of a run's artifacts (latest run by default)."""
    if run_id is None:
        return {a["name"] for a in queue.listLatestArtifacts(task_id)["artifacts"]}
    return {a["name"] for a in queue.listArtifacts(task_id, run_id)["artifacts"]}


def get(url: str, **kwargs: Any) -> requests.Response:
    """A plain GET that follows redirects, as a browser or curl would."""
    kwargs.setdefault("timeout", 15)
    return requests.get(url, **kwargs)


def process_gone(pid: int) -> bool:
    """True once `pid` no longer exists (or is a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    return state in ("Z", "X")


# -- sandboxes --------------------------------------------------------------------


def start_sandbox(data_dir: Path, **options: Any):
    """Start an in-process Sandbox with a worker; short claims, fast resolver."""
    from tc_notebook.sandbox import QueueSettings, Sandbox

    settings = QueueSettings(claim_timeout=options.pop("claim_timeout", 30),
                             resolver_interval=0.2, deadline_delay=0)
    options.setdefault("task_queues", [WORKER_QUEUE, TUTORIAL_TASK_QUEUE])
    sandbox = Sandbox(data_dir, port=0, settings=settings, **options)
    return sandbox.start()


@pytest.fixture(scope="module")
def worker_sandbox(tmp_path_factory):
    """A sandbox for the module: a capacity-4 worker on WORKER_QUEUE and the tutorial's."""
    sandbox = start_sandbox(tmp_path_factory.mktemp("worker-sandbox"), capacity=4)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def client(worker_sandbox) -> taskcluster.Queue:
    """Official Queue client with root credentials."""
    return taskcluster.Queue({**worker_sandbox.client_options(), "maxRetries": 0})


@pytest.fixture
def anonymous(worker_sandbox) -> taskcluster.Queue:
    """Official Queue client without credentials."""
    return taskcluster.Queue({"rootUrl": worker_sandbox.root_url, "maxRetries": 0})


# -- the command line ----------------------------------------------------------------


class CliSandbox(SandboxProcess):
    """`python -m tc_notebook sandbox` in a subprocess, output kept in files."""

    def __init__(self, workdir: Path, data_dir: Path, *args: str) -> None:
        queues = ("--task-queue", WORKER_QUEUE, "--task-queue", TUTORIAL_TASK_QUEUE)
        super().__init__(data_dir, *queues, *args, log_dir=workdir)
        self.start(timeout=20)

    @property
    def env(self) -> dict[str, str]:
        """The TASKCLUSTER_* values from the env file."""
        return self.environment

    @property
    def proc(self):
        """The CLI's process."""
        return self.process

    def queue(self) -> taskcluster.Queue:
        """A root Queue client for this sandbox."""
        return taskcluster.Queue(self.client_options(maxRetries=0))

    def stderr(self) -> str:
        """What the CLI printed so far."""
        return self.log()


@pytest.fixture
def cli(tmp_path) -> Iterator[Callable[..., CliSandbox]]:
    """Factory of CLI sandboxes (`cli(data_dir, *args)`); all are killed afterwards."""
    started: list[CliSandbox] = []

    def factory(data_dir: Path, *args: str) -> CliSandbox:
        sandbox = CliSandbox(tmp_path / f"cli{len(started)}", data_dir, *args)
        started.append(sandbox)
        return sandbox

    yield factory
    for sandbox in started:
        sandbox.kill()


@pytest.fixture
def task_tmp() -> Iterator[Path]:
    """A directory tasks can write to: as root, the sandbox runs them as nobody,
    who cannot reach pytest's tmp_path."""
    path = Path(tempfile.mkdtemp(prefix="tc-task-tmp-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def reap_groups() -> Iterator[list[Path]]:
    """Files holding process-group ids of task processes to SIGKILL after the test."""
    pid_files: list[Path] = []
    yield pid_files
    for path in pid_files:
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError,
                                 PermissionError):
            os.killpg(int(path.read_text().strip()), signal.SIGKILL)
