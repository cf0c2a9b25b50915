"""Taskcluster's built-in workers: the `built-in/succeed` and `built-in/fail`
task queues, served on the sandbox's event loop with no process run.

As upstream's built-in-workers service, each queue has a worker (group
`built-in`, id `succeed` or `fail`) that claims its tasks through claimWork
and resolves each run at once: a task with an empty payload is reported
completed (`built-in/succeed`) or failed (`built-in/fail`); any other payload
is reported exception/malformed-payload. No artifact or log is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from .claims import ClaimService

log = logging.getLogger(__name__)

WORKER_GROUP = "built-in"
OUTCOMES = {"built-in/succeed": "completed", "built-in/fail": "failed"}
"""Each built-in task queue, and how it resolves a task with an empty payload."""
BATCH = 32  # tasks claimed per claimWork call


def worker_id(task_queue_id: str) -> str:
    """The workerId serving a built-in queue: `succeed` or `fail`."""
    return task_queue_id.split("/", 1)[1]


def outcome(task_queue_id: str, payload: Any) -> tuple[str, str]:
    """`(state, reasonResolved)` a built-in worker reports for a task."""
    if payload:
        return "exception", "malformed-payload"
    state = OUTCOMES[task_queue_id]
    return state, state


class BuiltinWorkers:
    """Claims and resolves the built-in queues' tasks whenever one is pending."""

    def __init__(self, claims: ClaimService) -> None:
        self.claims = claims
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Serve the built-in queues (tasks already pending included)."""
        self.claims.runs.transition_listeners.append(self._on_transition)
        self._wake.set()
        self._task = asyncio.create_task(self._serve(), name="built-in workers")

    async def stop(self) -> None:
        """Stop serving; nothing is left running."""
        if self._on_transition in self.claims.runs.transition_listeners:
            self.claims.runs.transition_listeners.remove(self._on_transition)
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _on_transition(self, _event: str, status: dict[str, Any]) -> None:
        if status["state"] == "pending" and status["taskQueueId"] in OUTCOMES:
            self._wake.set()

    async def _serve(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            for task_queue_id in OUTCOMES:
                try:
                    await self._drain(task_queue_id)
                except Exception:
                    log.exception("built-in worker for %s failed", task_queue_id)

    async def _drain(self, task_queue_id: str) -> None:
        """Claim and resolve every pending task of the queue. The claims are
        claimWork's own, made in-process: upstream's built-in workers hold
        `queue:claim-work:built-in/*` and `queue:worker-id:built-in/*`."""
        body = {"workerGroup": WORKER_GROUP, "workerId": worker_id(task_queue_id), "tasks": BATCH}
        self.claims.workers.seen(task_queue_id, body["workerGroup"], body["workerId"])
        while claims := self.claims.claim_pending(task_queue_id, body):
            for claim in claims:
                state, reason = outcome(task_queue_id, claim["task"]["payload"])
                self.claims.report(claim["status"]["taskId"], claim["runId"], state, reason)
            await asyncio.sleep(0)  # let requests in between batches
