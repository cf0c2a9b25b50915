"""The queue's semantics: task creation, the run state machine, claims and
artifacts. Handlers in `api.py` call into `QueueService`; it answers with
plain dicts shaped like Taskcluster's responses or raises `APIError`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..timestamps import iso, iso_in, now, parse_time
from . import strict_json
from .auth import issue_temporary_credentials
from .errors import APIError
from .limits import Slots
from .store import PRIORITIES, ROOT_CLIENT_ID, Store

MAX_RUNS = 50
CREATED_DRIFT = timedelta(minutes=15)
MAX_DEADLINE = timedelta(days=5)
ARTIFACT_AFTER_EXCEPTION = timedelta(minutes=25)
PUT_URL_SECONDS = 45 * 60
SIGNED_GET_SECONDS = 30 * 60
MAX_PAGE = 1000
MAX_TOKEN_CHARS = 4096
MAX_OFFSET = 2**53  # beyond every list, and within SQLite's integers
RETRYING_REASONS = {"worker-shutdown": "retry", "intermittent-task": "task-retry"}

Authorize = Callable[..., None]
"""Checks the entry's scope expression filled with the given parameters."""


@dataclass(frozen=True)
class QueueSettings:
    """Tunable constants; the defaults are Taskcluster's."""

    claim_timeout: float = 1200
    claim_work_wait: float = 20
    deadline_delay: float = 60
    resolver_interval: float = 1.0
    max_request_bytes: int = 10 * 1024 * 1024
    max_blob_bytes: int = 5 * 1024**3
    max_long_polls: int = 256  # claimWork requests waiting at once


def _conflict(message: str, **details: Any) -> APIError:
    return APIError("RequestConflict", message, **details)


def _not_found(message: str, **details: Any) -> APIError:
    return APIError("ResourceNotFound", message, **details)


def encode_token(value: Any) -> str:
    """An opaque continuation token for a JSON value."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def decode_token(token: str | None) -> Any:
    """The value of a continuation token; None when absent or unreadable."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        return strict_json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        return None


def _page_size(limit: str | None) -> int:
    """The page size asked for (digits only, checked by the API), at most 1000."""
    if not limit:
        return MAX_PAGE
    return min(int(limit), MAX_PAGE) if len(limit) <= 4 else MAX_PAGE


class QueueService:
    """Every queue operation, on top of a `Store`."""

    def __init__(self, store: Store, settings: QueueSettings, root_url: str) -> None:
        self.store = store
        self.settings = settings
        self.root_url = root_url
        self._claim_waiters: dict[str, set[asyncio.Future]] = {}
        self.claims_stopped = False  # see stop_claims()
        self.long_polls = Slots("long polls (claimWork)", settings.max_long_polls)
        self.transition_listeners: list[Callable[[str, dict], None]] = []

    # -- status ------------------------------------------------------------

    def _require_task(self, task_id: str) -> dict[str, Any]:
        task = self.store.task(task_id)
        if task is None:
            raise _not_found("Task `{{taskId}}` not found", taskId=task_id)
        return task

    @staticmethod
    def status_of(task: dict[str, Any]) -> dict[str, Any]:
        """The `task-status` object of a stored task."""
        d = task["definition"]
        runs = task["runs"]
        return {
            "taskId": task["taskId"],
            "provisionerId": d["provisionerId"],
            "workerType": d["workerType"],
            "taskQueueId": d["taskQueueId"],
            "schedulerId": d["schedulerId"],
            "projectId": d["projectId"],
            "taskGroupId": d["taskGroupId"],
            "priority": d["priority"],
            "deadline": d["deadline"],
            "expires": d["expires"],
            "retriesLeft": task["retriesLeft"],
            "state": runs[-1]["state"] if runs else "unscheduled",
            "runs": runs,
        }

    def status(self, task_id: str) -> dict[str, Any]:
        """`{status}` of a task."""
        return {"status": self.status_of(self._require_task(task_id))}

    def task(self, task_id: str) -> dict[str, Any]:
        """A task's definition."""
        return self._require_task(task_id)["definition"]

    def _save(self, task: dict[str, Any], event: str) -> None:
        self.store.save_runs(task)
        for listener in self.transition_listeners:
            listener(event, self.status_of(task))

    # -- createTask --------------------------------------------------------

    @staticmethod
    def _fold_queue_identity(body: dict[str, Any]) -> None:
        provisioner, worker_type = body.get("provisionerId"), body.get("workerType")
        queue_id = body.get("taskQueueId")
        if provisioner and worker_type:
            if queue_id and queue_id != f"{provisioner}/{worker_type}":
                raise APIError("InputError", 'taskQueueId must match "provisionerId/workerType"')
            body["taskQueueId"] = f"{provisioner}/{worker_type}"
        elif queue_id and not provisioner and not worker_type:
            body["provisionerId"], body["workerType"] = queue_id.split("/", 1)
        else:
            raise APIError(
                "InputError",
                "at least a provisionerId and a workerType or a taskQueueId must be provided",
            )

    @staticmethod
    def _check_dates(body: dict[str, Any]) -> None:
        moment = now()
        created, deadline = parse_time(body["created"]), parse_time(body["deadline"])
        expires = parse_time(body["expires"]) if "expires" in body else None
        if abs(created - moment) > CREATED_DRIFT:
            raise APIError(
                "InputError",
                "Created timestamp cannot be in the future or more "
                "than 15 minutes in the past (allowed drift: 15 minutes)",
            )
        if deadline < created:
            raise APIError("InputError", "Deadline cannot be before created")
        if deadline <= moment:
            raise APIError("InputError", "Deadline cannot be in the past")
        if deadline > moment + MAX_DEADLINE + CREATED_DRIFT:
            raise APIError("InputError", "Deadline cannot be more than 5 days into the future")
        if expires is None:
            expires = deadline + timedelta(days=365)
        if expires < deadline:
            raise APIError("InputError", "Expires cannot be before the deadline")
        body["created"], body["deadline"], body["expires"] = (
            iso(created),
            iso(deadline),
            iso(expires),
        )

    def create_task(self, task_id: str, body: dict[str, Any], authorize: Authorize) -> dict:
        """createTask: validate, authorize, store, and schedule when possible."""
        self._fold_queue_identity(body)
        priority = body["priority"]
        authorize(
            scopes=body["scopes"],
            routes=body["routes"],
            projectId=body["projectId"],
            schedulerId=body["schedulerId"],
            taskQueueId=body["taskQueueId"],
            priorities=PRIORITIES[: PRIORITIES.index(priority) + 1],
        )
        body.setdefault("taskGroupId", task_id)
        self._check_dates(body)
        if any(scope.endswith("**") for scope in body["scopes"]):
            raise APIError("InputError", "scopes must not end with `**`")
        definition = {key: body[key] for key in sorted(body)}

        with self.store.transaction():
            group = self.store.task_group(body["taskGroupId"])
            if group and group["schedulerId"] != body["schedulerId"]:
                raise _conflict(
                    "Task group `{{taskGroupId}}` holds tasks with schedulerId "
                    "`{{schedulerId}}`; all tasks of a group must share it",
                    taskGroupId=body["taskGroupId"],
                    schedulerId=group["schedulerId"],
                )
            if group and group.get("sealed"):
                raise _conflict(
                    "Task group `{{taskGroupId}}` is sealed", taskGroupId=body["taskGroupId"]
                )
            existing = self.store.task(task_id)
            if existing is not None:
                if existing["definition"] != definition:
                    raise _conflict(
                        "taskId `{{taskId}}` already used by another task. "
                        "This could be the result of faulty idempotency!",
                        taskId=task_id,
                    )
                return {"status": self.status_of(existing)}
            for required in body["dependencies"]:
                if required == task_id:
                    continue  # waits for scheduleTask or its deadline
                dependency = self.store.task(required)
                if dependency is None:
                    raise APIError(
                        "InputError", "Dependency `{{taskId}}` does not exist", taskId=required
                    )
                if dependency["definition"]["expires"] < body["deadline"]:
                    raise APIError(
                        "InputError",
                        "Dependency `{{taskId}}` expires before the deadline of this task",
                        taskId=required,
                    )
            self.store.ensure_task_group(body["taskGroupId"], body["schedulerId"], body["expires"])
            task = {
                "taskId": task_id,
                "definition": definition,
                "runs": [],
                "retriesLeft": body["retries"],
                "takenUntil": None,
            }
            self.store.insert_task(task)
            self.store.add_dependencies(task_id, body["dependencies"], body["requires"])
            waiting = self._unresolved_dependencies(task_id, body)
            if waiting == 0:
                self._add_run(task, "pending", "scheduled")
            self._save(task, "task-defined")
        return {"status": self.status_of(task)}

    def _unresolved_dependencies(self, task_id: str, body: dict[str, Any]) -> int:
        """Mark dependencies that are already resolved; count the rest."""
        for required in body["dependencies"]:
            runs = self.store.task(required)["runs"] if required != task_id else []
            last = runs[-1] if runs else None
            if last and last["state"] in ("completed", "failed", "exception"):
                self.store.satisfy_dependencies(required, last["state"])
        return self.store.unsatisfied_count(task_id)

    # -- runs --------------------------------------------------------------

    def _add_run(self, task: dict[str, Any], state: str, reason: str) -> dict[str, Any]:
        moment = iso(now())
        run = {
            "runId": len(task["runs"]),
            "state": state,
            "reasonCreated": reason,
            "scheduled": moment,
        }
        task["runs"].append(run)
        if state == "pending":
            self._wake_claimers(task["definition"]["taskQueueId"])
        return run

    def _resolve_run(
        self,
        task: dict[str, Any],
        run: dict[str, Any],
        state: str,
        reason: str,
        retry_as: str | None = None,
    ) -> None:
        """Resolve a run; add a retry run if allowed; tell dependents otherwise."""
        run["state"], run["reasonResolved"], run["resolved"] = state, reason, iso(now())
        task["takenUntil"] = None
        if retry_as and task["retriesLeft"] > 0:
            task["retriesLeft"] -= 1
            self._add_run(task, "pending", retry_as)
            self._save(task, "task-retried")
            return
        self._save(task, f"task-{state}")
        self._task_resolved(task["taskId"], state)

    def _task_resolved(self, task_id: str, state: str) -> None:
        for dependent_id in self.store.satisfy_dependencies(task_id, state):
            dependent = self.store.task(dependent_id)
            if dependent is not None and not dependent["runs"]:
                self._add_run(dependent, "pending", "scheduled")
                self._save(dependent, "task-pending")

    def _deadline_passed(self, task: dict[str, Any]) -> bool:
        return task["definition"]["deadline"] < iso(now())

    def schedule_task(self, task_id: str, authorize: Authorize) -> dict:
        """scheduleTask: start an unscheduled task whatever its dependencies."""
        task = self._require_task(task_id)
        self._authorize_task_action(task, authorize)
        with self.store.transaction():
            if self._deadline_passed(task):
                raise _conflict(
                    "Task `{{taskId}}` can't be scheduled past its deadline", taskId=task_id
                )
            if not task["runs"]:
                self._add_run(task, "pending", "scheduled")
                self._save(task, "task-pending")
        return {"status": self.status_of(task)}

    def rerun_task(self, task_id: str, authorize: Authorize) -> dict:
        """rerunTask: add a run to a resolved (or unscheduled) task."""
        task = self._require_task(task_id)
        self._authorize_task_action(task, authorize)
        with self.store.transaction():
            if self._deadline_passed(task):
                raise _conflict(
                    "Task `{{taskId}}` can't be rerun past its deadline", taskId=task_id
                )
            runs = task["runs"]
            if runs and runs[-1]["state"] in ("pending", "running"):
                return {"status": self.status_of(task)}
            if len(runs) >= MAX_RUNS:
                raise _conflict(f"Maximum number of runs reached ({MAX_RUNS}).")
            last_run_id = runs[-1]["runId"] if runs else -1
            task["retriesLeft"] = min(task["definition"]["retries"], MAX_RUNS - last_run_id - 2)
            self._add_run(task, "pending", "rerun")
            self._save(task, "task-pending")
        return {"status": self.status_of(task)}

    def cancel_task(self, task_id: str, authorize: Authorize) -> dict:
        """cancelTask: resolve the task as exception/canceled."""
        task = self._require_task(task_id)
        self._authorize_task_action(task, authorize)
        with self.store.transaction():
            if self._deadline_passed(task):
                raise _conflict(
                    "Task `{{taskId}}` can't be canceled past its deadline", taskId=task_id
                )
            self._end_task(task, "canceled")
        return {"status": self.status_of(task)}

    def _end_task(self, task: dict[str, Any], reason: str) -> None:
        """Resolve an unresolved task as exception with `reason`, no retry."""
        runs = task["runs"]
        if not runs:
            run = self._add_run(task, "exception", "exception")
            run["reasonResolved"], run["resolved"] = reason, run["scheduled"]
            task["takenUntil"] = None
            self._save(task, "task-exception")
            self._task_resolved(task["taskId"], "exception")
        elif runs[-1]["state"] in ("pending", "running"):
            self._resolve_run(task, runs[-1], "exception", reason)

    @staticmethod
    def _authorize_task_action(task: dict[str, Any], authorize: Authorize) -> None:
        d = task["definition"]
        authorize(
            taskId=task["taskId"],
            schedulerId=d["schedulerId"],
            taskGroupId=d["taskGroupId"],
            projectId=d["projectId"],
        )

    # -- lists -------------------------------------------------------------

    def _offset(self, token: str | None) -> int:
        if not token:
            return 0
        offset = decode_token(token)
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise APIError("InputError", "Invalid continuation token")
        if offset > MAX_OFFSET:
            raise APIError("InputError", "Invalid continuation token: offset out of range")
        return offset

    def _page_of_tasks(
        self, ids_at: Callable[[int, int], list[str]], token: str | None, limit: str | None
    ) -> tuple[list[dict], str | None]:
        offset, size = self._offset(token), _page_size(limit)
        ids = ids_at(offset, size + 1)
        items = []
        for task_id in ids[:size]:
            task = self.store.task(task_id)
            items.append({"status": self.status_of(task), "task": task["definition"]})
        return items, encode_token(offset + size) if len(ids) > size else None

    def list_task_group(self, group_id: str, token: str | None, limit: str | None) -> dict:
        """listTaskGroup: `{status, task}` of each task, paged."""
        group = self.store.task_group(group_id)
        if group is None:
            raise _not_found(
                "No task group with taskGroupId `{{taskGroupId}}`", taskGroupId=group_id
            )
        items, next_token = self._page_of_tasks(
            lambda offset, size: self.store.group_task_ids(group_id, offset, size), token, limit
        )
        reply = {**group, "tasks": items}
        if next_token:
            reply["continuationToken"] = next_token
        return reply

    def get_task_group(self, group_id: str) -> dict:
        """getTaskGroup."""
        group = self.store.task_group(group_id)
        if group is None:
            raise _not_found(
                "No task group with taskGroupId `{{taskGroupId}}`", taskGroupId=group_id
            )
        return group

    def list_dependent_tasks(self, task_id: str, token: str | None, limit: str | None) -> dict:
        """listDependentTasks, paged."""
        self._require_task(task_id)
        items, next_token = self._page_of_tasks(
            lambda offset, size: self.store.dependent_task_ids(task_id, offset, size), token, limit
        )
        reply = {"taskId": task_id, "tasks": items}
        if next_token:
            reply["continuationToken"] = next_token
        return reply

    def pending_tasks(self, task_queue_id: str) -> dict:
        """pendingTasks: how many tasks of a queue wait to be claimed."""
        provisioner_id, worker_type = task_queue_id.split("/", 1)
        return {
            "provisionerId": provisioner_id,
            "workerType": worker_type,
            "taskQueueId": task_queue_id,
            "pendingTasks": self.store.pending_count(task_queue_id),
        }

    # -- workers -----------------------------------------------------------

    @contextlib.contextmanager
    def _waiter(self, task_queue_id: str) -> Iterator[asyncio.Future]:
        """A future resolved when `task_queue_id` gets pending work; its
        bookkeeping is gone when the block ends."""
        waiter = asyncio.get_running_loop().create_future()
        self._claim_waiters.setdefault(task_queue_id, set()).add(waiter)
        try:
            yield waiter
        finally:
            waiters = self._claim_waiters.get(task_queue_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._claim_waiters[task_queue_id]

    @property
    def waited_on(self) -> list[str]:
        """Task queues that long polls are waiting on now."""
        return sorted(self._claim_waiters)

    def stop_claims(self) -> None:
        """The sandbox is stopping: claimWork answers no tasks from now on, and
        the long polls waiting now answer at once (so that its worker, told to
        stop, neither waits for them nor claims the retries of its own runs)."""
        self.claims_stopped = True
        for task_queue_id in list(self._claim_waiters):
            self._wake_claimers(task_queue_id)

    def _wake_claimers(self, task_queue_id: str) -> None:
        waiters = self._claim_waiters.pop(task_queue_id, set())
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _credentials(
        self, task: dict[str, Any], run_id: int, worker_group: str, worker_id: str, taken_until: str
    ) -> dict[str, str]:
        task_id = task["taskId"]
        until = parse_time(taken_until)
        client_id = (
            f"task-client/{task_id}/{run_id}/on/{worker_group}/{worker_id}"
            f"/until/{int(until.timestamp())}"
        )
        scopes = [
            f"queue:reclaim-task:{task_id}/{run_id}",
            f"queue:resolve-task:{task_id}/{run_id}",
            f"queue:create-artifact:{task_id}/{run_id}",
            *task["definition"]["scopes"],
        ]
        return issue_temporary_credentials(
            ROOT_CLIENT_ID,
            self.store.root_token,
            client_id,
            scopes,
            int(time.time() * 1000) - 1000,
            int(until.timestamp() * 1000),
        )

    def _claim(self, task: dict[str, Any], worker_group: str, worker_id: str) -> dict:
        run = task["runs"][-1]
        taken_until = iso_in(self.settings.claim_timeout)
        run.update(
            state="running",
            workerGroup=worker_group,
            workerId=worker_id,
            takenUntil=taken_until,
            started=iso(now()),
        )
        task["takenUntil"] = taken_until
        self._save(task, "task-running")
        return {
            "status": self.status_of(task),
            "runId": run["runId"],
            "workerGroup": worker_group,
            "workerId": worker_id,
            "takenUntil": taken_until,
            "task": task["definition"],
            "credentials": self._credentials(
                task, run["runId"], worker_group, worker_id, taken_until
            ),
        }

    def _claim_pending(self, task_queue_id: str, body: dict[str, Any]) -> list[dict]:
        claims = []
        with self.store.transaction():
            for task_id in self.store.pending_task_ids(task_queue_id, body["tasks"]):
                task = self.store.task(task_id)
                claims.append(self._claim(task, body["workerGroup"], body["workerId"]))
        return claims

    async def claim_work(
        self, task_queue_id: str, body: dict[str, Any], authorize: Authorize
    ) -> dict:
        """claimWork: claim up to `tasks` tasks, waiting for some if none are pending."""
        authorize(
            taskQueueId=task_queue_id, workerGroup=body["workerGroup"], workerId=body["workerId"]
        )
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.settings.claim_work_wait
        with self.long_polls.hold():
            while True:
                if self.claims_stopped:
                    return {"tasks": []}
                with self._waiter(task_queue_id) as waiter:
                    claims = self._claim_pending(task_queue_id, body)
                    remaining = give_up - loop.time()
                    if claims or remaining <= 0:
                        return {"tasks": claims}
                    try:
                        await asyncio.wait_for(waiter, remaining)
                    except asyncio.TimeoutError:
                        return {"tasks": []}

    def _run(self, task: dict[str, Any], run_id: int) -> dict[str, Any]:
        if run_id >= len(task["runs"]):
            raise _not_found(
                "Run {{runId}} not found on task `{{taskId}}`", runId=run_id, taskId=task["taskId"]
            )
        return task["runs"][run_id]

    def _running_run(self, task: dict[str, Any], run_id: int) -> dict[str, Any]:
        run = self._run(task, run_id)
        if run["state"] != "running" or run_id != len(task["runs"]) - 1:
            raise _conflict(
                "Run {{runId}} on task `{{taskId}}` is resolved or not running.",
                runId=run_id,
                taskId=task["taskId"],
            )
        return run

    def claim_task(
        self, task_id: str, run_id: int, body: dict[str, Any], authorize: Authorize
    ) -> dict:
        """claimTask (deprecated): claim one given pending run."""
        task = self._require_task(task_id)
        d = task["definition"]
        authorize(
            provisionerId=d["provisionerId"],
            workerType=d["workerType"],
            workerGroup=body["workerGroup"],
            workerId=body["workerId"],
        )
        with self.store.transaction():
            run = self._run(task, run_id)
            if self._deadline_passed(task):
                raise _conflict("Task `{{taskId}}` is past its deadline", taskId=task_id)
            if run["state"] != "pending" or run_id != len(task["runs"]) - 1:
                raise _conflict(
                    "Run {{runId}} on task `{{taskId}}` is already claimed or resolved",
                    runId=run_id,
                    taskId=task_id,
                )
            return self._claim(task, body["workerGroup"], body["workerId"])

    def reclaim_task(self, task_id: str, run_id: int) -> dict:
        """reclaimTask: extend a claim and hand out fresh credentials."""
        task = self._require_task(task_id)
        with self.store.transaction():
            run = self._running_run(task, run_id)
            if self._deadline_passed(task):
                raise _conflict("Task `{{taskId}}` is past its deadline", taskId=task_id)
            taken_until = iso_in(self.settings.claim_timeout)
            run["takenUntil"] = task["takenUntil"] = taken_until
            self._save(task, "task-reclaimed")
        return {
            "status": self.status_of(task),
            "runId": run_id,
            "workerGroup": run["workerGroup"],
            "workerId": run["workerId"],
            "takenUntil": taken_until,
            "credentials": self._credentials(
                task, run_id, run["workerGroup"], run["workerId"], taken_until
            ),
        }

    def report(self, task_id: str, run_id: int, state: str, reason: str) -> dict:
        """reportCompleted / reportFailed / reportException."""
        task = self._require_task(task_id)
        with self.store.transaction():
            run = self._run(task, run_id)
            if run["state"] == state and run.get("reasonResolved") == reason:
                return {"status": self.status_of(task)}
            self._running_run(task, run_id)
            self._resolve_run(task, run, state, reason, retry_as=RETRYING_REASONS.get(reason))
        return {"status": self.status_of(task)}

    # -- background resolvers ------------------------------------------------

    def expire_claims(self) -> None:
        """Resolve runs whose claim ran out as exception/claim-expired."""
        moment = iso(now())
        for task_id in self.store.claims_expired_before(moment):
            with self.store.transaction():
                task = self.store.task(task_id)
                run = task["runs"][-1]
                if run["state"] != "running" or task["definition"]["deadline"] < moment:
                    continue
                self._resolve_run(task, run, "exception", "claim-expired", retry_as="retry")

    def resolve_deadlines(self) -> None:
        """Resolve tasks past deadline + deadline_delay as deadline-exceeded."""
        cutoff = iso(now() - timedelta(seconds=self.settings.deadline_delay))
        for task_id in self.store.deadlines_before(cutoff):
            with self.store.transaction():
                self._end_task(self.store.task(task_id), "deadline-exceeded")

    # -- artifacts: creation -------------------------------------------------

    def create_artifact(self, task_id: str, run_id: int, name: str, body: dict[str, Any]) -> dict:
        """createArtifact for the s3, reference, link and error storage types."""
        moment = now()
        if parse_time(body["expires"]) < moment - CREATED_DRIFT:
            raise APIError("InputError", "Expires must be in the future")
        task = self.store.task(task_id)
        if task is None:
            raise APIError("InputError", "Task not found")
        if run_id >= len(task["runs"]):
            raise APIError("InputError", "Run not found")
        run = task["runs"][run_id]
        if "workerGroup" not in run:
            raise APIError("InputError", "Run was not claimed by a worker")
        expires = iso(parse_time(body["expires"]))
        if expires > task["definition"]["expires"]:
            raise APIError("InputError", "Artifact expires after its task")
        recently_excepted = (
            run["state"] == "exception"
            and parse_time(run["resolved"]) > moment - ARTIFACT_AFTER_EXCEPTION
        )
        if run["state"] != "running" and not recently_excepted:
            raise _conflict(
                "Artifacts cannot be created for a task after it is resolved, "
                "unless it is resolved 'exception', and even in this case only "
                "up to 25 min past its resolution."
            )
        storage = body["storageType"]
        if storage == "object":
            raise APIError(
                "InputError",
                "The sandbox has no object service: use the s3 "
                "storage type, which it stores itself",
            )
        details = {
            key: body[key] for key in ("url", "artifact", "reason", "message") if key in body
        }
        artifact = {
            "taskId": task_id,
            "runId": run_id,
            "name": name,
            "storageType": storage,
            "contentType": body.get("contentType", "application/binary"),
            "contentLength": body.get("contentLength"),
            "expires": expires,
            "present": True,
            "details": details,
        }
        with self.store.transaction():
            old = self.store.artifact(task_id, run_id, name)
            if old is not None:
                self._check_replacement(old, artifact)
                if storage == "s3" and old["storageType"] == "s3":
                    artifact["contentLength"] = old["contentLength"]
            self.store.put_artifact(artifact)
        if storage == "s3":
            put_expires = int(time.time()) + PUT_URL_SECONDS
            return {
                "storageType": "s3",
                "putUrl": self.blob_url(task_id, run_id, name, "PUT", put_expires),
                "expires": iso(now() + timedelta(seconds=PUT_URL_SECONDS)),
                "contentType": artifact["contentType"],
            }
        return {"storageType": storage}

    @staticmethod
    def _check_replacement(old: dict[str, Any], new: dict[str, Any]) -> None:
        same_type = old["contentType"] == new["contentType"] or new["storageType"] == "link"
        later = new["expires"] >= old["expires"]
        kinds = (old["storageType"], new["storageType"])
        same = kinds[0] == kinds[1] and old["details"] == new["details"]
        allowed = same or kinds in (("reference", "reference"), ("reference", "link"))
        if not (same_type and later and allowed):
            raise _conflict(
                "Artifact `{{name}}` already exists with other properties", name=new["name"]
            )

    def finish_artifact(self, task_id: str, run_id: int, name: str) -> None:
        """finishArtifact: only object artifacts can be finished, and the sandbox has none."""
        if self.store.artifact(task_id, run_id, name) is None:
            raise _not_found("Artifact not found")
        raise APIError("InputError", "Only object artifacts can be finished")

    # -- artifacts: retrieval ------------------------------------------------

    def blob_url(
        self, task_id: str, run_id: int, name: str, method: str, expires: int | None
    ) -> str:
        """A URL of the sandbox's blob store; signed unless `expires` is None."""
        # Slashes stay readable unless a segment is `.` or `..`, which clients
        # and browsers would collapse before sending.
        dot_segment = any(part in (".", "..") for part in name.split("/"))
        quoted = urllib.parse.quote(name, safe="" if dot_segment else "/")
        url = f"{self.root_url}/sandbox/blobs/{task_id}/{run_id}/{quoted}"
        if expires is None:
            return url
        signature = self.blob_signature(method, task_id, run_id, name, expires)
        return f"{url}?expires={expires}&signature={signature}"

    def blob_signature(
        self, method: str, task_id: str, run_id: int, name: str, expires: int
    ) -> str:
        """HMAC that authorizes one method on one blob until `expires` (epoch s)."""
        message = f"{method}\n{task_id}\n{run_id}\n{name}\n{expires}".encode()
        key = hashlib.sha256(b"blobs\n" + self.store.root_token.encode()).digest()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def latest_run_id(self, task_id: str) -> int:
        """The id of a task's last run; 404 when the task or its runs are missing."""
        task = self._require_task(task_id)
        if not task["runs"]:
            raise _not_found("Task `{{taskId}}` has no runs", taskId=task_id)
        return len(task["runs"]) - 1

    def resolve_artifact(
        self, task_id: str, run_id: int | None, name: str, authorize: Authorize
    ) -> dict[str, Any]:
        """Follow links to the artifact a download should serve. Before each
        step, the caller must hold `queue:get-artifact:<name>` for every name
        on the way so far; every step must be present and unexpired."""
        names = [name]
        if run_id is None:
            authorize(names=names)
            run_id = self.latest_run_id(task_id)
        while True:
            authorize(names=names)
            artifact = self.store.artifact(task_id, run_id, name)
            if artifact is None or not artifact["present"]:
                raise _not_found("Artifact not found")
            expires = artifact["expires"]
            if expires < iso(now()):
                raise APIError(
                    "ResourceExpired", "Artifact expired at {{expires}}", expires=expires
                )
            if artifact["storageType"] != "link":
                return artifact
            name = artifact["details"]["artifact"]
            if name in names:
                raise APIError("InputError", "Artifact leads to a link cycle")
            names.append(name)

    def download_url(self, artifact: dict[str, Any]) -> str:
        """Where the bytes of an s3 or reference artifact are fetched from."""
        if artifact["storageType"] == "reference":
            return artifact["details"]["url"]
        signed = not artifact["name"].startswith("public/")
        expires = int(time.time()) + SIGNED_GET_SECONDS if signed else None
        return self.blob_url(
            artifact["taskId"], artifact["runId"], artifact["name"], "GET", expires
        )

    @staticmethod
    def artifact_entry(artifact: dict[str, Any]) -> dict[str, Any]:
        """The `{storageType, name, expires, contentType, contentLength?}` entry."""
        entry = {key: artifact[key] for key in ("storageType", "name", "expires", "contentType")}
        if artifact["contentLength"] is not None:
            entry["contentLength"] = artifact["contentLength"]
        return entry

    def list_artifacts(
        self, task_id: str, run_id: int | None, token: str | None, limit: str | None
    ) -> dict:
        """listArtifacts / listLatestArtifacts, paged by name."""
        latest = self.latest_run_id(task_id)
        if run_id is None:
            run_id = latest
        elif run_id > latest:
            raise _not_found(
                "Run {{runId}} not found on task `{{taskId}}`", runId=run_id, taskId=task_id
            )
        after = decode_token(token)
        start = (
            after[2]
            if isinstance(after, list)
            and len(after) == 3
            and after[:2] == [task_id, run_id]
            and isinstance(after[2], str)
            else None
        )
        size = _page_size(limit)
        rows = self.store.artifacts(task_id, run_id, start, size + 1)
        reply: dict[str, Any] = {"artifacts": [self.artifact_entry(a) for a in rows[:size]]}
        if len(rows) > size:
            reply["continuationToken"] = encode_token([task_id, run_id, rows[size - 1]["name"]])
        return reply

    def artifact_info(self, task_id: str, run_id: int | None, name: str) -> dict:
        """artifactInfo / latestArtifactInfo: the entry, links not followed."""
        if run_id is None:
            run_id = self.latest_run_id(task_id)
        artifact = self.store.artifact(task_id, run_id, name)
        if artifact is None or not artifact["present"]:
            raise _not_found("Artifact not found")
        return self.artifact_entry(artifact)
