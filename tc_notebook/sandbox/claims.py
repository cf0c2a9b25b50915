"""The worker's side of a run: claimWork long polls (woken when a task of
their queue becomes pending), claimTask, reclaimTask, the reports that
resolve a run, and the temporary credentials each claim comes with."""

from __future__ import annotations

import asyncio
from typing import Any

from ..timestamps import iso, iso_in, now, parse_time
from .limits import Slots
from .runs import (
    Runs,
    conflict,
    find_run,
    refuse_past_deadline,
    running_run,
    status_of,
    status_reply,
)
from .scopes import Authorize
from .settings import QueueSettings
from .waiters import Waiters
from .worker_info import WorkerInfo

# A run reported exception for these reasons is retried, with this reasonCreated.
RETRYING_REASONS = {"worker-shutdown": "retry", "intermittent-task": "task-retry"}


# A run's note that claimTask, not claimWork, claimed it: only such a claim may
# be made again by its worker (Taskcluster's runs claimed by claimWork carry a hint).
BY_CLAIM_TASK = "_claimTask"


def _worker(claim: dict[str, Any]) -> dict[str, str]:
    """`{workerGroup, workerId}` of a claim request or a claimed run."""
    return {"workerGroup": claim["workerGroup"], "workerId": claim["workerId"]}


class ClaimService:
    """claimWork, claimTask, reclaimTask and the reports, on one `Runs`; the
    long polls wake on its transitions to pending."""

    def __init__(self, runs: Runs, settings: QueueSettings, workers: WorkerInfo) -> None:
        self.runs = runs
        self.workers = workers
        self.store = runs.store
        self.settings = settings
        self.long_polls = Slots("long polls (claimWork)", settings.max_long_polls)
        self._stopped = False  # see stop()
        self._waiters = Waiters()  # claimWork polls, by task queue
        runs.transition_listeners.append(self._wake_when_pending)

    # -- long polls --------------------------------------------------------

    @property
    def waited_on(self) -> list[str]:
        """Task queues that long polls are waiting on now."""
        return self._waiters.keys

    def _wake_when_pending(self, _event: str, status: dict[str, Any]) -> None:
        """A transition listener: a task that becomes pending wakes its queue's polls."""
        if status["state"] == "pending":
            self._waiters.wake(status["taskQueueId"])

    def stop(self) -> None:
        """The sandbox is stopping: claimWork answers no tasks from now on, and
        the long polls waiting now answer at once (so that its worker, told to
        stop, neither waits for them nor claims the retries of its own runs)."""
        self._stopped = True
        self._waiters.wake_all()

    # -- claims ------------------------------------------------------------

    def _credentials(self, task: dict[str, Any], run: dict[str, Any]) -> dict[str, str]:
        """Temporary credentials for a claimed run, named after the run and its
        worker and valid until the claim ends: the task's scopes and those to
        reclaim and resolve the run and to create its artifacts."""
        task_id, run_id = task["taskId"], run["runId"]
        until = parse_time(run["takenUntil"])
        name = (
            f"task-client/{task_id}/{run_id}/on/{run['workerGroup']}/{run['workerId']}"
            f"/until/{int(until.timestamp())}"
        )
        scopes = [
            f"queue:reclaim-task:{task_id}/{run_id}",
            f"queue:resolve-task:{task_id}/{run_id}",
            f"queue:create-artifact:{task_id}/{run_id}",
            *task["definition"]["scopes"],
        ]
        return self.store.temporary_credentials(name, until, scopes)

    def _claim(self, task: dict[str, Any], request: dict[str, Any]) -> dict:
        """Claim the task's last run for the worker of a claim request."""
        run = task["runs"][-1]
        taken_until = iso_in(self.settings.claim_timeout)
        run.update(state="running", **_worker(request), takenUntil=taken_until, started=iso(now()))
        task["takenUntil"] = taken_until
        self.runs.save(task, "task-running")
        return self._claimed(task, run)

    def _claimed(self, task: dict[str, Any], run: dict[str, Any]) -> dict:
        """The answer of a claim of `run`, with fresh credentials."""
        return {
            "status": status_of(task),
            "runId": run["runId"],
            **_worker(run),
            "takenUntil": run["takenUntil"],
            "task": task["definition"],
            "credentials": self._credentials(task, run),
        }

    def claim_pending(self, task_queue_id: str, body: dict[str, Any]) -> list[dict]:
        """claimWork's claims without the wait: up to `tasks` of the tasks
        pending now (the built-in workers' way in, and claimWork's)."""
        claims = []
        with self.store.transaction():
            for task_id in self.store.pending_task_ids(task_queue_id, body["tasks"], iso(now())):
                task = self.store.task(task_id)
                claims.append(self._claim(task, body))
            self.workers.took(task_queue_id, body["workerGroup"], body["workerId"], claims)
        return claims

    async def claim_work(
        self, task_queue_id: str, body: dict[str, Any], authorize: Authorize
    ) -> dict:
        """claimWork: claim up to `tasks` tasks, waiting for some if none are
        pending; a quarantined worker waits the whole time and gets none."""
        authorize(taskQueueId=task_queue_id, **_worker(body))
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.settings.claim_work_wait
        self.workers.seen(task_queue_id, body["workerGroup"], body["workerId"])
        if self.workers.quarantined(task_queue_id, body["workerGroup"], body["workerId"]):
            with self.long_polls.hold():
                await asyncio.sleep(self.settings.claim_work_wait)
            return {"tasks": []}
        with self.long_polls.hold():
            while True:
                if self._stopped:
                    return {"tasks": []}
                with self._waiters.waiter(task_queue_id) as waiter:
                    claims = self.claim_pending(task_queue_id, body)
                    remaining = give_up - loop.time()
                    if claims or remaining <= 0:
                        return {"tasks": claims}
                    try:
                        await asyncio.wait_for(waiter, remaining)
                    except asyncio.TimeoutError:
                        return {"tasks": []}

    def claim_task(
        self, task_id: str, run_id: int, body: dict[str, Any], authorize: Authorize
    ) -> dict:
        """claimTask (deprecated): claim one given pending run."""
        task = self.runs.require_task(task_id)
        d = task["definition"]
        authorize(provisionerId=d["provisionerId"], workerType=d["workerType"], **_worker(body))
        with self.store.transaction():
            run = find_run(task, run_id)
            refuse_past_deadline(task, "is past its deadline")
            latest = run_id == len(task["runs"]) - 1
            again = run["state"] == "running" and run.get(BY_CLAIM_TASK)
            if latest and again and _worker(run) == _worker(body):
                return self._claimed(task, run)  # a retried claimTask: the same claim
            if run["state"] != "pending" or not latest:
                raise conflict(
                    "Run {{runId}} on task `{{taskId}}` is already claimed or resolved",
                    runId=run_id,
                    taskId=task_id,
                )
            self.workers.seen(d["taskQueueId"])
            run[BY_CLAIM_TASK] = True
            claim = self._claim(task, body)
            self.workers.took(d["taskQueueId"], body["workerGroup"], body["workerId"], [claim])
            return claim

    def reclaim_task(self, task_id: str, run_id: int) -> dict:
        """reclaimTask: extend a claim and hand out fresh credentials."""
        task = self.runs.require_task(task_id)
        with self.store.transaction():
            run = running_run(task, run_id)
            refuse_past_deadline(task, "is past its deadline")
            taken_until = iso_in(self.settings.claim_timeout)
            run["takenUntil"] = task["takenUntil"] = taken_until
            self.runs.save(task, "task-reclaimed")
            queue_id = task["definition"]["taskQueueId"]
            self.workers.seen(queue_id, run["workerGroup"], run["workerId"])
        return {
            "status": status_of(task),
            "runId": run_id,
            **_worker(run),
            "takenUntil": taken_until,
            "credentials": self._credentials(task, run),
        }

    def report(self, task_id: str, run_id: int, state: str, reason: str) -> dict:
        """reportCompleted / reportFailed / reportException."""
        task = self.runs.require_task(task_id)
        with self.store.transaction():
            run = find_run(task, run_id)
            # The same report again is answered as the first, on the last run
            # (or, for an exception, the run its retry followed).
            later_runs = len(task["runs"]) - 1 - run_id
            recent = later_runs <= (1 if state == "exception" else 0)
            if recent and run["state"] == state and run.get("reasonResolved") == reason:
                return status_reply(task)
            if state != "exception" and run["state"] not in ("running", state):
                raise conflict(
                    "Run {{runId}} of task `{{taskId}}` is not running or {{targetState}}.",
                    runId=run_id,
                    taskId=task_id,
                    targetState=state,
                )
            running_run(task, run_id)
            self.runs.resolve_run(task, run, state, reason, retry_as=RETRYING_REASONS.get(reason))
        return status_reply(task)
