"""The sandbox worker: claims tasks through the queue's HTTP API with the
official client, runs them with the process engine, streams the live log,
uploads artifacts and reports the outcome, as a Taskcluster worker does.

Runs' live logs are `<work dir>/<taskId>-<runId>.log`; their working
directories are made by `TaskDirectories`, owned by the task user.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import os
import shutil
import stat
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import aiohttp
import taskcluster.aio
from taskcluster.exceptions import TaskclusterRestFailure

from .engine import Outcome, run_commands, task_environment
from .guard import MARKER_VARIABLE, Guard, kill_marked, marker_for
from .livelog import LIVELOG_PREFIX, LiveLog, LiveLogs
from .opener import Opener, UserOpener
from .payload import ArtifactSpec, MalformedPayload, Payload, parse_payload
from .store import iso, now, parse_time
from .taskuser import TaskDirectories, remove_entries, task_user

log = logging.getLogger(__name__)

PENDING_QUEUES_PATH = "/sandbox/pending-queues"
LIVE_LOG = "public/logs/live.log"
BACKING_LOG = "public/logs/live_backing.log"
LOG_CONTENT_TYPE = "text/plain; charset=utf-8"
STATUS_POLL_SECONDS = 0.5  # how often a running task checks for cancellation
ENGINE = "process"


class RunAborted(Exception):
    """The run was cancelled or lost its claim: stop without resolving it."""


def content_type_of(*paths: Path) -> str:
    """A MIME type for an artifact, from its name (or, failing that, its file's name)."""
    for path in paths:
        guessed, _ = mimetypes.guess_type(path.name)
        if guessed:
            return guessed
        if path.suffix in (".log", ".txt"):
            return "text/plain"
    return "application/octet-stream"


def clear_previous_runs(work_dir: Path) -> None:
    """Remove what runs of an earlier sandbox process on this data directory left:
    their task processes (should its guard have died too), working directories
    and live-log files. Call with the data directory locked, before a worker starts."""
    kill_marked(marker_for(work_dir))
    TaskDirectories(work_dir, task_user()).clear()
    remove_entries(work_dir)


class Worker:
    """Claims and runs tasks until stopped. Runs on the caller's event loop."""

    def __init__(
        self,
        root_url: str,
        credentials: dict[str, str],
        livelogs: LiveLogs,
        work_dir: Path,
        *,
        capacity: int | None = None,
        task_queues: list[str] | None = None,
        worker_group: str = "sandbox",
        worker_id: str = "local",
        remove_at_end: tuple[Path, ...] = (),
    ) -> None:
        self.root_url = root_url
        self.remove_at_end = remove_at_end  # folders the guard removes once all is over
        self.credentials = credentials
        self.livelogs = livelogs
        self.work_dir = Path(work_dir)
        self.capacity = capacity or os.cpu_count() or 1
        self.task_queues = task_queues
        self.worker_group, self.worker_id = worker_group, worker_id
        self.user = task_user()
        self.directories = TaskDirectories(self.work_dir, self.user)
        self.marker = marker_for(self.work_dir)
        self.guard: Guard | None = None
        self.opener = UserOpener(self.user.uid, self.user.gid) if self.user else Opener()
        self._running: dict[asyncio.Task, tuple[str, int]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._claim_loop: asyncio.Task | None = None

    def _queue(self, credentials: dict[str, str] | None = None) -> taskcluster.aio.Queue:
        options: dict[str, Any] = {"rootUrl": self.root_url, "maxRetries": 2}
        if credentials:
            options["credentials"] = credentials
        return taskcluster.aio.Queue(options, session=self._session)

    async def run(self) -> None:
        """Claim work whenever there is free capacity, until `stop()`."""
        self._claim_loop = asyncio.current_task()
        self._session = aiohttp.ClientSession()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.directories.prepare()
        self.guard = Guard(self.marker, self.directories.root, self.remove_at_end)
        queue = self._queue(self.credentials)
        try:
            while True:
                free = self.capacity - len(self._running)
                if free <= 0:
                    await asyncio.wait(list(self._running), return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    for task_queue_id in await self._pending_queues():
                        free = self.capacity - len(self._running)
                        if free <= 0:
                            break
                        reply = await queue.claimWork(
                            task_queue_id,
                            {
                                "workerGroup": self.worker_group,
                                "workerId": self.worker_id,
                                "tasks": min(free, 32),
                            },
                        )
                        for claim in reply["tasks"]:
                            self._start(claim)
                except (aiohttp.ClientError, taskcluster.exceptions.TaskclusterFailure) as exc:
                    log.warning("worker: claiming failed (%s); retrying", exc)
                    await asyncio.sleep(1)
        finally:
            await self._shutdown_runs()
            await self._session.close()
            self.guard.close()
            self.opener.close()

    def stop(self) -> None:
        """End the claim loop; running tasks are killed and reported worker-shutdown."""
        if self._claim_loop is not None:
            self._claim_loop.cancel()

    def _start(self, claim: dict[str, Any]) -> None:
        run = asyncio.create_task(TaskRun(self, claim).execute())
        self._running[run] = (claim["status"]["taskId"], claim["runId"])
        run.add_done_callback(self._running.pop)

    async def _pending_queues(self) -> list[str]:
        """Queues with pending tasks, from the sandbox's long-poll endpoint."""
        params = {"wait": "20"}
        if self.task_queues:
            params["taskQueueIds"] = ",".join(self.task_queues)
        async with self._session.get(
            self.root_url + PENDING_QUEUES_PATH,
            params=params,
            timeout=aiohttp.ClientTimeout(total=30),
        ) as reply:
            reply.raise_for_status()
            return (await reply.json())["taskQueueIds"]

    async def _shutdown_runs(self) -> None:
        for task in list(self._running):
            task.cancel()
        if self._running:
            await asyncio.wait(list(self._running), timeout=30)


class TaskRun:
    """One claimed run, from live log to resolution."""

    def __init__(self, worker: Worker, claim: dict[str, Any]) -> None:
        self.worker = worker
        self.task = claim["task"]
        self.task_id = claim["status"]["taskId"]
        self.run_id = claim["runId"]
        self.taken_until = claim["takenUntil"]
        self.claim_seconds = (parse_time(self.taken_until) - now()).total_seconds()
        self.queue = worker._queue(claim["credentials"])
        self.directory = worker.directories.root / f"{self.task_id}-{self.run_id}"
        self.log: LiveLog | None = None
        self.started = time.monotonic()

    # -- the life of a run ---------------------------------------------------

    async def execute(self) -> None:
        """Run the task and resolve it; never raises except on cancellation."""
        try:
            await self._execute()
        except asyncio.CancelledError:
            await self._resolve_after_shutdown()
            raise
        except RunAborted as reason:
            log.info("task %s run %s: %s", self.task_id, self.run_id, reason)
            self._say(f"[taskcluster] {reason}; the process was killed")
            await self._finish_log(None)
        except Exception:
            log.exception("task %s run %s: worker error", self.task_id, self.run_id)
            self._say("[taskcluster] internal worker error")
            with contextlib.suppress(Exception):
                await self._finish_log(None)
                await self.queue.reportException(
                    self.task_id, self.run_id, {"reason": "internal-error"}
                )
        finally:
            if self.log:
                self.log.close()
                self.log.path.unlink(missing_ok=True)
            shutil.rmtree(self.directory, ignore_errors=True)

    async def _execute(self) -> None:
        self.worker.directories.make(self.directory.name)
        log_path = self.worker.work_dir / f"{self.task_id}-{self.run_id}.log"
        self.log = self.worker.livelogs.open(self.task_id, self.run_id, log_path)
        self._header()
        try:
            payload = parse_payload(self.task.get("payload"), self.task["expires"])
        except MalformedPayload as problem:
            self._say(f"[taskcluster] malformed payload: {problem}")
            await self._create_live_log(60)
            await self._finish_log(None)
            await self.queue.reportException(
                self.task_id, self.run_id, {"reason": "malformed-payload"}
            )
            return
        await self._create_live_log(payload.max_run_time)
        if payload.image:
            self._say(
                f"[taskcluster] image {payload.image!r} is not used by the "
                f"{ENGINE} engine: commands run on this machine"
            )
        outcome = await self._run_supervised(payload)
        if not await self._upload_artifacts(payload.artifacts) and outcome.exit_code == 0:
            outcome = Outcome(exit_code=None, error="an artifact was missing")
        await self._finish_log(outcome)
        if outcome.exit_code == 0:
            await self.queue.reportCompleted(self.task_id, self.run_id)
        else:
            await self.queue.reportFailed(self.task_id, self.run_id)

    def _say(self, line: str) -> None:
        if self.log and not self.log.closed:
            self.log.write((line + "\n").encode())

    def _header(self) -> None:
        self._say(f"[taskcluster {iso(now())}] task {self.task_id} run {self.run_id}")
        self._say(
            f"[taskcluster] worker {self.worker.worker_group}/{self.worker.worker_id}"
            f", engine {ENGINE}, queue {self.task['taskQueueId']}"
        )

    async def _create_live_log(self, max_run_time: float) -> None:
        expires = min(iso(now() + timedelta(seconds=max_run_time + 15 * 60)), self.task["expires"])
        url = f"{self.worker.root_url}{LIVELOG_PREFIX}{self.task_id}/{self.run_id}"
        await self.queue.createArtifact(
            self.task_id,
            self.run_id,
            LIVE_LOG,
            {
                "storageType": "reference",
                "url": url,
                "contentType": LOG_CONTENT_TYPE,
                "expires": expires,
            },
        )

    async def _run_supervised(self, payload: Payload) -> Outcome:
        """Run the commands while keeping the claim alive and watching for cancel."""
        env = task_environment(
            payload.env,
            {
                "TASK_ID": self.task_id,
                "RUN_ID": str(self.run_id),
                "TASKCLUSTER_ROOT_URL": self.worker.root_url,
            },
            self.directory,
        )
        env[MARKER_VARIABLE] = self.worker.marker  # after the task's own: not to be changed
        for argv in payload.commands:
            self._say(f"[taskcluster] running {argv!r}")
        commands = asyncio.create_task(
            run_commands(
                payload.commands,
                self.directory,
                env,
                self._write_output,
                payload.max_run_time,
                self.worker.guard,
                self.worker.user,
            )
        )
        watch = asyncio.create_task(self._keep_claim())
        try:
            done, _ = await asyncio.wait({commands, watch}, return_when=asyncio.FIRST_COMPLETED)
            if watch in done:
                commands.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await commands
                watch.result()  # raises RunAborted
            outcome = commands.result()
        finally:
            watch.cancel()
            commands.cancel()
        if outcome.timed_out:
            self._say(
                f"[taskcluster] task exceeded maxRunTime of {payload.max_run_time} s and was killed"
            )
        elif outcome.error:
            self._say(f"[taskcluster] {outcome.error}")
        return outcome

    def _write_output(self, chunk: bytes) -> None:
        if self.log and not self.log.closed:
            self.log.write(chunk)

    async def _keep_claim(self) -> None:
        """Reclaim before takenUntil; stop when the run is no longer ours."""
        while True:
            await asyncio.sleep(STATUS_POLL_SECONDS)
            left = (parse_time(self.taken_until) - now()).total_seconds()
            if left < self.claim_seconds / 3:
                try:
                    reply = await self.queue.reclaimTask(self.task_id, self.run_id)
                except TaskclusterRestFailure as failure:
                    raise RunAborted(f"reclaim refused ({failure.status_code})") from failure
                self.taken_until = reply["takenUntil"]
                self.queue = self.worker._queue(reply["credentials"])
            status = (await self.queue.status(self.task_id))["status"]
            runs = status["runs"]
            if len(runs) <= self.run_id or runs[self.run_id]["state"] != "running":
                reason = runs[self.run_id].get("reasonResolved", "resolved")
                raise RunAborted(f"run {self.run_id} was resolved elsewhere ({reason})")

    # -- artifacts -------------------------------------------------------------

    async def _upload_artifacts(self, specs: list[ArtifactSpec]) -> bool:
        """Upload the payload's artifacts; False if one of them was missing
        (it becomes an `error` artifact and, as generic-worker does, the run fails).

        Paths are opened by `worker.opener`, with the task user's rights: what
        the task could not read is missing, whatever the path or its symlinks."""
        all_found = True
        for spec in specs:
            expires = spec.expires or self.task["expires"]
            path = self.directory / spec.path  # an absolute spec.path stands alone
            if spec.type == "file":
                found = await self._upload_file(spec.name, path, expires)
            else:
                found = await self._upload_directory(spec.name, path, expires)
            if not found:
                all_found = False
                self._say(f"[taskcluster] artifact {spec.name!r}: no {spec.type} at {path}")
                await self.queue.createArtifact(
                    self.task_id,
                    self.run_id,
                    spec.name,
                    {
                        "storageType": "error",
                        "reason": "file-missing-on-worker",
                        "message": f"No {spec.type} found at {spec.path}",
                        "expires": expires,
                    },
                )
        return all_found

    async def _open(self, path: Path, kind: int) -> int | None:
        """A descriptor for `path` if the task user can open it and it is of
        `kind` (`stat.S_IFREG` or `stat.S_IFDIR`)."""
        try:
            fd = await self.worker.opener.open(path)
        except OSError:
            return None
        if stat.S_IFMT(os.fstat(fd).st_mode) != kind:
            os.close(fd)
            return None
        return fd

    async def _upload_file(self, name: str, path: Path, expires: str) -> bool:
        fd = await self._open(path, stat.S_IFREG)
        if fd is None:
            return False
        with open(fd, "rb") as body:
            await self._upload(name, body, expires, content_type_of(Path(name), path))
        return True

    async def _upload_directory(self, name: str, top: Path, expires: str) -> bool:
        """Upload each file under `top` as `<name>/<relative path>`; False if
        `top` is not a directory. Symlinked directories are not descended into."""
        files: list[str] = []
        pending = [""]
        while pending:
            relative = pending.pop()
            fd = await self._open(top / relative, stat.S_IFDIR)
            if fd is None:
                if not relative:
                    return False
                continue
            try:
                with os.scandir(fd) as entries:
                    for entry in entries:
                        path = f"{relative}/{entry.name}".lstrip("/")
                        is_dir = entry.is_dir(follow_symlinks=False)
                        (pending if is_dir else files).append(path)
            finally:
                os.close(fd)
        for relative in sorted(files, key=lambda path: path.split("/")):
            await self._upload_file(f"{name.rstrip('/')}/{relative}", top / relative, expires)
        return True

    async def _upload(self, name: str, body: BinaryIO, expires: str, content_type: str) -> None:
        size = os.fstat(body.fileno()).st_size
        reply = await self.queue.createArtifact(
            self.task_id,
            self.run_id,
            name,
            {
                "storageType": "s3",
                "contentType": content_type,
                "contentLength": size,
                "expires": expires,
            },
        )
        async with self.worker._session.put(
            reply["putUrl"],
            data=body,
            headers={"Content-Type": content_type, "Content-Length": str(size)},
        ) as answer:
            answer.raise_for_status()
        self._say(f"[taskcluster] uploaded {name} ({size} bytes)")

    async def _finish_log(self, outcome: Outcome | None) -> None:
        """Close the live log, upload it as live_backing.log, link live.log to it."""
        if outcome is not None:
            seconds = time.monotonic() - self.started
            code = outcome.error or (
                "timed out" if outcome.timed_out else f"exit code {outcome.exit_code}"
            )
            verdict = "completed" if outcome.exit_code == 0 else "failed"
            self._say(f"[taskcluster {iso(now())}] {verdict}: {code}, {seconds:.3f} s")
        self.log.close()
        expires = self.task["expires"]
        with open(self.log.path, "rb") as body:
            await self._upload(BACKING_LOG, body, expires, LOG_CONTENT_TYPE)
        await self.queue.createArtifact(
            self.task_id,
            self.run_id,
            LIVE_LOG,
            {
                "storageType": "link",
                "artifact": BACKING_LOG,
                "contentType": LOG_CONTENT_TYPE,
                "expires": expires,
            },
        )
        self.worker.livelogs.forget(self.task_id, self.run_id)

    async def _resolve_after_shutdown(self) -> None:
        """The worker is stopping: report worker-shutdown so the task is retried."""
        self._say("[taskcluster] worker shutting down; the task will be retried")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._finish_log(None), 10)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self.queue.reportException(
                    self.task_id, self.run_id, {"reason": "worker-shutdown"}
                ),
                10,
            )
