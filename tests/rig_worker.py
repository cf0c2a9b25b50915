"""`tc-notebook worker` serving a fresh task queue of the rig (see rig.py), as
an operator would run it: its own process, a client of a worker's scopes only,
made with the rig's auth service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import taskcluster
from helpers import wait_until
from rig import rig_options

WORKER_GROUP = "tc-notebook-tests"


class RigWorker:
    """A worker process on the rig, serving `task_queue_id` (a fresh one)."""

    def __init__(self, env: dict[str, str], *args: str, capacity: int = 2) -> None:
        self.env = env
        self.options = rig_options(env)
        suffix = uuid.uuid4().hex[:12]
        self.task_queue_id = f"tc-notebook-tests/q{suffix}"
        self.worker_id = f"w{suffix}"
        self.scopes = [
            f"queue:claim-work:{self.task_queue_id}",
            f"queue:worker-id:{WORKER_GROUP}/{self.worker_id}",
        ]
        self.client_id = f"tc-notebook-tests/worker-{suffix}"
        self.folder = Path(tempfile.mkdtemp(prefix="tc-rig-worker-"))
        self.log_path = self.folder / "worker.log"
        self.args, self.capacity = list(args), capacity
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> RigWorker:
        """Create the worker's client on the rig and start the worker; returns
        once it says it is serving."""
        auth = taskcluster.Auth({**self.options, "maxRetries": 0})
        client = auth.createClient(self.client_id, {
            "expires": taskcluster.fromNowJSON("2 hours"),
            "description": "tc-notebook tests: a worker's scopes only",
            "scopes": self.scopes,
            "deleteOnExpiration": True,
        })
        env = {
            **os.environ,
            "TASKCLUSTER_ROOT_URL": self.env["TASKCLUSTER_ROOT_URL"],
            "TASKCLUSTER_CLIENT_ID": self.client_id,
            "TASKCLUSTER_ACCESS_TOKEN": client["accessToken"],
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable, "-m", "tc_notebook", "worker",
            "--task-queue", self.task_queue_id,
            "--worker-group", WORKER_GROUP, "--worker-id", self.worker_id,
            "--capacity", str(self.capacity),
            "--work-dir", str(self.folder / "work"),
            *self.args,
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        try:
            wait_until(self._serving, timeout, "tc-notebook worker to say it is serving")
        except (AssertionError, pytest.fail.Exception) as failure:  # it exited, or timed out
            self.stop()
            raise RuntimeError(f"{failure}; its log:\n{self.log()[-3000:]}") from None
        return self

    def _serving(self) -> bool:
        """True once the worker says it is serving; fails if it exited first."""
        if " serving " in self.log():
            return True
        assert self.process is not None and self.process.poll() is None, "the worker exited"
        return False

    def log(self) -> str:
        """What the worker printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def storage(self) -> str:
        """The artifact storage the worker chose (`s3` or `object`)."""
        return self.log().split(" artifacts, ", 1)[0].rsplit(" ", 1)[-1]

    def signal(self, signum: int = signal.SIGTERM) -> None:
        """Send the worker a signal."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def stop(self, timeout: float = 45) -> int | None:
        """SIGTERM and wait (SIGKILL after `timeout`); delete its client."""
        code = None
        if self.process is not None:
            self.signal(signal.SIGTERM)
            try:
                code = self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        try:
            taskcluster.Auth({**self.options, "maxRetries": 0}).deleteClient(self.client_id)
        except taskcluster.TaskclusterFailure:
            pass
        return code

    def task(self, payload: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """A task definition for this worker's queue."""
        task = {
            "taskQueueId": self.task_queue_id,
            "created": taskcluster.fromNowJSON("0 seconds"),
            "deadline": taskcluster.fromNowJSON("1 hour"),
            "payload": payload,
            "metadata": {
                "name": "tc-notebook rig test",
                "description": "a task for tc-notebook worker on the rig",
                "owner": "tests@example.com",
                "source": "https://example.com/tc-notebook/tests",
            },
        }
        task.update(fields)
        return task
