"""The sandbox's own worker: `tc-notebook worker` in a child process.

It is the same worker that serves real deployments, given a client with a
worker's scopes only (not root), and it reaches the queue over HTTP alone.
It stops when the sandbox does (SIGTERM: running tasks are reported
`worker-shutdown`) and, should the sandbox's process die, with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from ..children import die_with_parent

WORKER_GROUP = "sandbox"
WORKER_ID = "local"
CLIENT_ID = f"worker/{WORKER_GROUP}/{WORKER_ID}"
STOP_SECONDS = 40.0  # the worker's own shutdown takes up to 30 s


def worker_scopes(task_queues: list[str], worker_group: str, worker_id: str) -> list[str]:
    """What a worker needs: claim work from its queues, as its own identity."""
    claims = [f"queue:claim-work:{task_queue_id}" for task_queue_id in task_queues]
    return [*claims, f"queue:worker-id:{worker_group}/{worker_id}"]


class LocalWorker:
    """`tc-notebook worker` for a sandbox, started and stopped on its event loop.

    Its output goes to `log_path`."""

    def __init__(
        self,
        root_url: str,
        credentials: dict[str, str],
        task_queues: list[str],
        work_dir: Path,
        log_path: Path,
        *,
        capacity: int | None = None,
        livelog_port: int = 0,
        livelog_url: str | None = None,
        remove_at_end: tuple[Path, ...] = (),
    ) -> None:
        self.root_url, self.credentials = root_url, credentials
        self.task_queues, self.work_dir, self.log_path = task_queues, work_dir, log_path
        self.capacity, self.remove_at_end = capacity, remove_at_end
        self.livelog_port, self.livelog_url = livelog_port, livelog_url
        self.process: asyncio.subprocess.Process | None = None

    def command(self) -> list[str]:
        """The worker's command line."""
        command = [sys.executable, "-m", "tc_notebook", "worker",
                   "--worker-group", WORKER_GROUP, "--worker-id", WORKER_ID,
                   "--work-dir", str(self.work_dir)]
        for task_queue_id in self.task_queues:
            command += ["--task-queue", task_queue_id]
        if self.capacity:
            command += ["--capacity", str(self.capacity)]
        command += ["--livelog-port", str(self.livelog_port)]
        if self.livelog_url:
            command += ["--livelog-url", self.livelog_url]
        for folder in self.remove_at_end:
            command += ["--remove-at-end", str(folder)]
        return command

    async def start(self) -> None:
        """Start the worker process (it polls for work shortly after)."""
        env = {
            **os.environ,
            "TASKCLUSTER_ROOT_URL": self.root_url,
            "TASKCLUSTER_CLIENT_ID": self.credentials["clientId"],
            "TASKCLUSTER_ACCESS_TOKEN": self.credentials["accessToken"],
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("TASKCLUSTER_CERTIFICATE", None)
        with open(self.log_path, "ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.command(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,  # Ctrl-C is for the sandbox, which stops the worker
                preexec_fn=die_with_parent,
            )

    async def stop(self) -> None:
        """SIGTERM, then wait for the worker to report its tasks; SIGKILL if it hangs."""
        if self.process is None or self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_SECONDS)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
