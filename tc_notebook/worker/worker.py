"""The worker: serves task queues of any Taskcluster deployment over HTTP.

It finds work only with `claimWork` long polls, one poll at a time per task
queue, each asking for as many tasks as there is free capacity; runs each
claimed task as local processes (`run.TaskRun`); serves their live logs from
its own HTTP server; and, when stopped, reports its running tasks
`worker-shutdown` so that the queue retries them. It needs only a worker's
scopes: `queue:claim-work:<taskQueueId>` for each queue it serves and
`queue:worker-id:<workerGroup>/<workerId>`. Everything a run does is done
with the temporary credentials its claim came with.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import taskcluster.aio
import taskcluster.exceptions

from .guard import Guard, kill_marked, marker_for
from .livelog import LiveLogServer
from .opener import Opener, UserOpener
from .run import TaskRun
from .taskuser import TaskDirectories, remove_entries, task_user
from .uploads import Uploader, choose_storage

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0  # after a failed claimWork, before the next
SHUTDOWN_SECONDS = 30.0  # for running tasks to report worker-shutdown


class WorkDirInUse(RuntimeError):
    """Another worker holds this work directory."""


class ClaimRefused(RuntimeError):
    """The queue refuses this worker's claims (credentials, scopes, queue name):
    asking again will not help."""


TASK_QUEUE_ID = re.compile(r"[a-zA-Z0-9_-]{1,38}/[a-z]([-a-z0-9]{0,36}[a-z0-9])?")
REFUSALS = (400, 401, 403, 404)  # claimWork answers that end the worker


@dataclass
class WorkerSettings:
    """What a worker serves, as whom, and where it keeps its runs."""

    task_queues: list[str]
    work_dir: Path
    worker_group: str = "tc-notebook"
    worker_id: str = "local"
    capacity: int = field(default_factory=lambda: os.cpu_count() or 1)
    artifact_storage: str = "auto"  # "s3", "object", or "auto" (object if there is a service)
    livelog_host: str = "127.0.0.1"
    livelog_port: int = 0
    livelog_url: str | None = None  # public base URL of the live logs, if not host:port
    remove_at_end: tuple[Path, ...] = ()  # folders removed once the worker and its tasks are gone


def _error_summary(failure: taskcluster.exceptions.TaskclusterRestFailure) -> str:
    """An error answer's code and message on one line (they never hold secrets)."""
    body = failure.body if isinstance(failure.body, dict) else {}
    message = " ".join(str(body.get("message", failure)).split())
    return f"{body.get('code', '')}: {message[:1500]}"


def clear_previous_runs(work_dir: Path) -> None:
    """Remove what an earlier worker on this work directory left: its task
    processes (should its guard have died too), working directories and live
    logs. Call with the work directory locked, before the worker starts."""
    kill_marked(marker_for(work_dir))
    TaskDirectories(work_dir, task_user()).clear()
    remove_entries(work_dir)


class Worker:
    """Claims and runs tasks until `stop()`. Runs on the caller's event loop."""

    def __init__(
        self, root_url: str, credentials: dict[str, str] | None, settings: WorkerSettings
    ) -> None:
        if not settings.task_queues:
            raise ValueError("a worker serves at least one task queue")
        for task_queue_id in settings.task_queues:
            if not TASK_QUEUE_ID.fullmatch(task_queue_id):
                raise ValueError(
                    f"{task_queue_id!r} is not a taskQueueId (provisionerId/workerType: letters,"
                    " digits, - and _, then a lowercase workerType)"
                )
        if settings.capacity < 1:
            raise ValueError("a worker's capacity is at least 1")
        self.root_url = root_url.rstrip("/")
        self.credentials = credentials
        self.settings = settings
        # The workerGroup and workerId that claims are made as.
        self.worker_group, self.worker_id = settings.worker_group, settings.worker_id
        self.work_dir = Path(settings.work_dir)
        self.user = task_user()
        self.directories = TaskDirectories(self.work_dir, self.user)
        self.marker = marker_for(self.work_dir)
        self.livelogs = LiveLogServer(
            settings.livelog_host, settings.livelog_port, settings.livelog_url
        )
        self.guard: Guard | None = None
        self.opener: Opener | None = None
        self.uploader: Uploader | None = None
        self.session: aiohttp.ClientSession | None = None
        self.running: dict[asyncio.Task, tuple[str, int]] = {}
        self._stopping = asyncio.Event()
        self._capacity_freed = asyncio.Event()
        self._main: asyncio.Task | None = None
        self._lock: Any = None

    @property
    def free(self) -> int:
        """How many more tasks may start now."""
        return self.settings.capacity - len(self.running)

    def queue(self, credentials: dict[str, str] | None = None) -> taskcluster.aio.Queue:
        """An official Queue client on the worker's session (its own credentials
        unless others are given)."""
        options: dict[str, Any] = {"rootUrl": self.root_url, "maxRetries": 2}
        credentials = credentials or self.credentials
        if credentials:
            options["credentials"] = credentials
        return taskcluster.aio.Queue(options, session=self.session)

    async def run(self) -> None:
        """Serve the task queues until `stop()`; then shut down the running tasks."""
        self._main = asyncio.current_task()
        self._lock_work_dir()
        try:
            clear_previous_runs(self.work_dir)
            self.session = aiohttp.ClientSession()
            storage = self.settings.artifact_storage
            if storage == "auto":
                storage = await choose_storage(self.root_url, self.session)
            self.uploader = Uploader(storage, self.root_url, self.session)
            self.directories.prepare()
            self.guard = Guard(self.marker, self.directories.root, self.settings.remove_at_end)
            self.opener = UserOpener(self.user.uid, self.user.gid) if self.user else Opener()
            await self.livelogs.start()
            log.info(
                "worker %s/%s serving %s (capacity %d, %s artifacts, live logs on %s)",
                self.worker_group, self.worker_id, ", ".join(self.settings.task_queues),
                self.settings.capacity, storage, self.livelogs.base_url,
            )
            polls = [asyncio.create_task(self._poll(q)) for q in self.settings.task_queues]
            try:
                stopping = asyncio.create_task(self._stopping.wait())
                await asyncio.wait([*polls, stopping], return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                for poll in polls:
                    if poll.done():
                        poll.result()  # a refused claim ends the worker with its reason
            finally:
                self._stopping.set()
                await self._shut_down(polls)
        finally:
            await self.livelogs.stop()
            if self.session:
                await self.session.close()
            if self.guard:
                self.guard.close()
            if self.opener:
                self.opener.close()
            self._lock.close()

    def stop(self) -> None:
        """Stop: running tasks are killed and reported worker-shutdown, and the
        claimWork requests under way are let end (up to the queue's 20 s long
        poll) so that no task is claimed and then left. Called again: at once."""
        if self._stopping.is_set() and self._main is not None:
            self._main.cancel()
        elif not self._stopping.is_set():
            log.info("stopping: running tasks are reported worker-shutdown; waiting for"
                     " the claimWork requests under way (stop again to end at once)")
            self._stopping.set()
            self._capacity_freed.set()

    def _lock_work_dir(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.work_dir / "worker.lock", "w")  # noqa: SIM115 - closed by run()
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise WorkDirInUse(f"another worker uses {self.work_dir}") from None

    async def _poll(self, task_queue_id: str) -> None:
        """Long-poll one task queue for as many tasks as there is room for.

        Polls of different queues run side by side, each asking for the
        capacity free when it starts: when several answer at once, the worker
        may briefly run more tasks than its capacity (at most one poll's worth
        per extra queue), and polls again only once there is room."""
        queue = self.queue()
        while not self._stopping.is_set():
            if self.free <= 0:
                self._capacity_freed.clear()
                await self._capacity_freed.wait()  # also set by stop()
                continue
            request = {
                "workerGroup": self.worker_group,
                "workerId": self.worker_id,
                "tasks": min(self.free, 32),
            }
            try:
                reply = await queue.claimWork(task_queue_id, request)
            except taskcluster.exceptions.TaskclusterRestFailure as failure:
                if failure.status_code in REFUSALS:
                    raise ClaimRefused(
                        f"claimWork on {task_queue_id} refused: {failure.status_code}"
                        f" {_error_summary(failure)}"
                    ) from None
                log.warning("claimWork on %s failed (%s); retrying", task_queue_id,
                            failure.status_code)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError,
                    taskcluster.exceptions.TaskclusterFailure) as failure:
                log.warning("claimWork on %s failed (%s); retrying", task_queue_id,
                            str(failure).split("\n")[0])
                await asyncio.sleep(RETRY_SECONDS)
                continue
            for claim in reply["tasks"]:
                if self._stopping.is_set():
                    await self._give_back(claim)
                else:
                    self._start(claim)

    async def _give_back(self, claim: dict[str, Any]) -> None:
        """A claim that arrived as the worker stops: report it worker-shutdown,
        so that the queue retries it at once rather than after its claim expires."""
        task_id, run_id = claim["status"]["taskId"], claim["runId"]
        log.info("task %s run %s claimed while stopping: given back", task_id, run_id)
        with contextlib.suppress(Exception):
            await self.queue(claim["credentials"]).reportException(
                task_id, run_id, {"reason": "worker-shutdown"}
            )

    def _start(self, claim: dict[str, Any]) -> None:
        task_id, run_id = claim["status"]["taskId"], claim["runId"]
        log.info("task %s run %s claimed from %s", task_id, run_id, claim["task"]["taskQueueId"])
        run = asyncio.create_task(TaskRun(self, claim).execute())
        self.running[run] = (task_id, run_id)
        run.add_done_callback(self._ended)

    def _ended(self, run: asyncio.Task) -> None:
        self.running.pop(run, None)
        self._capacity_freed.set()

    async def _shut_down(self, polls: list[asyncio.Task]) -> None:
        """Kill and report the running tasks while the polls under way end."""
        for run in list(self.running):
            run.cancel()
        waiting = [*polls, *self.running]
        late = set(waiting)
        try:
            if waiting:
                _, late = await asyncio.wait(waiting, timeout=SHUTDOWN_SECONDS)
        finally:  # also when stopped again: end what is left at once
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=5)
