"""One claimed run, from live log to resolution: the task's commands run as
local processes (`engine`), the claim is kept alive, the outputs become
artifacts, and the run is reported completed, failed or exception.

A run's live log is `<work dir>/<taskId>-<runId>.log`, its working directory
is made by `TaskDirectories`, owned by the task user.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Awaitable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from taskcluster.exceptions import TaskclusterRestFailure

from ..terms import BACKING_LOG, LIVE_LOG
from ..timestamps import iso, now, parse_time
from .artifacts import RunArtifacts, all_or_none
from .engine import Outcome, run_commands, task_environment
from .guard import MARKER_VARIABLE
from .livelog import LiveLog
from .payload import MalformedPayload, Payload, parse_payload
from .resolution import Resolution, exit_notes, resolve

if TYPE_CHECKING:
    from .worker import Worker

log = logging.getLogger(__name__)

LOG_CONTENT_TYPE = "text/plain; charset=utf-8"
T = TypeVar("T")
STATUS_POLL_SECONDS = 0.5  # how often a running task checks for cancellation
ENGINE = "process"


class RunAborted(Exception):
    """The run was cancelled or lost its claim: stop without resolving it."""


class TaskRun:
    """One claimed run, from live log to resolution."""

    def __init__(self, worker: Worker, claim: dict[str, Any]) -> None:
        self.worker = worker
        self.task = claim["task"]
        self.task_id = claim["status"]["taskId"]
        self.run_id = claim["runId"]
        self.taken_until = claim["takenUntil"]
        self.claim_seconds = (parse_time(self.taken_until) - now()).total_seconds()
        self.queue = worker.queue(claim["credentials"])  # the run's own credentials
        self.status_queue = worker.queue()  # the worker's own: may read any task's status
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
            self.say(f"[taskcluster] {reason}; its commands and uploads were stopped")
            await self._finish_log(None)
        except Exception:
            log.exception("task %s run %s: worker error", self.task_id, self.run_id)
            self.say("[taskcluster] internal worker error")
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
        self.log = self.worker.livelogs.open(log_path)
        self._header()
        try:
            payload = parse_payload(
                self.task.get("payload"), self.task["expires"], self.task["deadline"]
            )
        except MalformedPayload as problem:
            self.say(f"[taskcluster] malformed payload: {problem}")
            await self._create_live_log(60)
            await self._finish_log(None)
            await self.queue.reportException(
                self.task_id, self.run_id, {"reason": "malformed-payload"}
            )
            return
        if payload.image:
            self.say(
                f"[taskcluster] image {payload.image!r} is not used by the "
                f"{ENGINE} engine: commands run on this machine"
            )
        # The claim is kept (and a cancel noticed) until the run is reported:
        # through the commands, the artifacts' uploads and the log's.
        watch = asyncio.create_task(self._keep_claim())
        try:
            outcome = await self._run_supervised(payload, watch)
            for note in exit_notes(outcome, payload):
                self.say(f"[taskcluster] {note}")
            uploads = RunArtifacts(self, payload.form).upload(payload.artifacts)
            artifacts_ok = await self._while_claimed(watch, uploads)
            resolution = resolve(outcome, payload, artifacts_ok)
            await self._while_claimed(watch, self._finish_log(resolution))
        finally:
            watch.cancel()
        if resolution.state == "completed":
            await self.queue.reportCompleted(self.task_id, self.run_id)
        elif resolution.state == "failed":
            await self.queue.reportFailed(self.task_id, self.run_id)
        else:
            await self.queue.reportException(
                self.task_id, self.run_id, {"reason": resolution.reason}
            )

    def say(self, line: str) -> None:
        """Write a line of the worker's own to the run's log."""
        if self.log and not self.log.closed:
            self.log.write((line + "\n").encode())

    def _header(self) -> None:
        self.say(f"[taskcluster {iso(now())}] task {self.task_id} run {self.run_id}")
        self.say(
            f"[taskcluster] worker {self.worker.worker_group}/{self.worker.worker_id}"
            f", engine {ENGINE}, queue {self.task['taskQueueId']}"
        )

    async def _create_live_log(self, max_run_time: float) -> None:
        expires = min(iso(now() + timedelta(seconds=max_run_time + 15 * 60)), self.task["expires"])
        url = self.worker.livelogs.url_of(self.log)
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

    async def _while_claimed(self, watch: asyncio.Task, work: Awaitable[T]) -> T:
        """`work`'s result, unless `watch` (`_keep_claim`) ends first: then
        `work` is cancelled and RunAborted raised."""
        job = asyncio.ensure_future(work)
        try:
            done, _ = await asyncio.wait({job, watch}, return_when=asyncio.FIRST_COMPLETED)
            if job not in done:
                watch.result()  # raises RunAborted: the watch ends no other way
            return job.result()
        finally:
            if not job.done():  # commands: killed, with their process group
                job.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await job

    async def _run_supervised(self, payload: Payload, watch: asyncio.Task) -> Outcome:
        """Run the commands while `watch` keeps the claim alive and watches for cancel."""
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
            self.say(f"[taskcluster] running {argv!r}")
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
        try:
            # live.log is linked while the commands start: one round trip less
            # before a short task ends. Should that fail, the commands are killed.
            await self._while_claimed(watch, self._create_live_log(payload.max_run_time))
        except BaseException:
            commands.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await commands
            raise
        outcome = await self._while_claimed(watch, commands)
        if outcome.timed_out:
            self.say(
                f"[taskcluster] task exceeded maxRunTime of {payload.max_run_time} s and was killed"
            )
        elif outcome.error:
            self.say(f"[taskcluster] {outcome.error}")
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
                self.queue = self.worker.queue(reply["credentials"])
            status = (await self.status_queue.status(self.task_id))["status"]
            runs = status["runs"]
            if len(runs) <= self.run_id or runs[self.run_id]["state"] != "running":
                reason = runs[self.run_id].get("reasonResolved", "resolved")
                raise RunAborted(f"run {self.run_id} was resolved elsewhere ({reason})")

    # -- uploads and the log -------------------------------------------------------

    async def upload(self, name: str, body: BinaryIO, expires: str, content_type: str) -> None:
        """Upload the open file `body` as artifact `name` of this run, and log it."""
        size = await self.worker.uploader.upload(
            self.queue, self.task_id, self.run_id, name, body, content_type, expires
        )
        self.say(f"[taskcluster] uploaded {name} ({size} bytes)")

    async def _finish_log(self, resolution: Resolution | None) -> None:
        """Close the live log, upload it as live_backing.log, link live.log to it."""
        if resolution is not None:
            seconds = time.monotonic() - self.started
            self.say(
                f"[taskcluster {iso(now())}] {resolution.verdict}: "
                f"{resolution.summary}, {seconds:.3f} s"
            )
        self.log.close()
        expires = self.task["expires"]
        link = {
            "storageType": "link",
            "artifact": BACKING_LOG,
            "contentType": LOG_CONTENT_TYPE,
            "expires": expires,
        }
        with open(self.log.path, "rb") as body:
            # Side by side, one round trip less: until the bytes are in, the
            # link leads to a 404, as any artifact not yet uploaded does.
            await all_or_none([
                self.upload(BACKING_LOG, body, expires, LOG_CONTENT_TYPE),
                self.queue.createArtifact(self.task_id, self.run_id, LIVE_LOG, link),
            ])
        self.worker.livelogs.forget(self.log)

    async def _resolve_after_shutdown(self) -> None:
        """The worker is stopping: report worker-shutdown so the task is retried."""
        self.say("[taskcluster] worker shutting down; the task will be retried")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._finish_log(None), 10)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self.queue.reportException(
                    self.task_id, self.run_id, {"reason": "worker-shutdown"}
                ),
                10,
            )
