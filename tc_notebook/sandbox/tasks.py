"""Tasks: createTask, its state (task, status), scheduleTask, rerunTask and
cancelTask, and the lists of tasks (task groups, dependents, pending counts)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from ..terms import RESOLVED
from ..timestamps import iso, now, parse_time
from .errors import APIError
from .paging import offset_page
from .runs import (
    UNRESOLVED,
    Runs,
    add_run,
    conflict,
    refuse_past_deadline,
    status_of,
    status_reply,
)
from .scopes import Authorize
from .store import PRIORITIES
from .task_groups import TaskGroupService, ever_resolved

MAX_RUNS = 50
CREATED_DRIFT = timedelta(minutes=15)
MAX_DEADLINE = timedelta(days=5)
DEFAULT_EXPIRY = timedelta(days=365)  # after the deadline


def _fold_queue_identity(body: dict[str, Any]) -> None:
    """Fill in taskQueueId from provisionerId/workerType, or the other way round."""
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


def _check_dates(body: dict[str, Any]) -> None:
    """Check created, deadline and expires, and write them in Taskcluster's format."""
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
        expires = deadline + DEFAULT_EXPIRY
    if expires < deadline:
        raise APIError("InputError", "Expires cannot be before the deadline")
    body["created"], body["deadline"], body["expires"] = iso(created), iso(deadline), iso(expires)


class TaskService:
    """The task entries of the queue."""

    def __init__(self, runs: Runs) -> None:
        self.runs = runs
        self.store = runs.store
        self.groups = TaskGroupService(runs)

    def task(self, task_id: str) -> dict[str, Any]:
        """A task's definition."""
        return self.runs.require_task(task_id)["definition"]

    def status(self, task_id: str) -> dict[str, Any]:
        """`{status}` of a task."""
        return status_reply(self.runs.require_task(task_id))

    def create_task(self, task_id: str, body: dict[str, Any], authorize: Authorize) -> dict:
        """createTask: validate, authorize, store, and schedule when possible."""
        _fold_queue_identity(body)
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
        _check_dates(body)
        if any(scope.endswith("**") for scope in body["scopes"]):
            raise APIError("InputError", "scopes must not end with `**`")
        definition = {key: body[key] for key in sorted(body)}

        with self.store.transaction():
            self._check_group(body)
            existing = self.store.task(task_id)
            if existing is not None:
                if existing["definition"] != definition:
                    raise conflict(
                        "taskId `{{taskId}}` already used by another task. "
                        "This could be the result of faulty idempotency!",
                        taskId=task_id,
                    )
                return status_reply(existing)
            self._check_dependencies(task_id, body)
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
            if self._unresolved_dependencies(task_id, body["dependencies"]) == 0:
                add_run(task, "pending", "scheduled")
            self.runs.save(task, "task-defined")
        return status_reply(task)

    def _check_group(self, body: dict[str, Any]) -> None:
        """A task joins a group only with the schedulerId of the group's tasks,
        and only while the group is not sealed."""
        group = self.store.task_group(body["taskGroupId"])
        if group and group["schedulerId"] != body["schedulerId"]:
            raise conflict(
                "Task group `{{taskGroupId}}` holds tasks with schedulerId "
                "`{{schedulerId}}`; all tasks of a group must share it",
                taskGroupId=body["taskGroupId"],
                schedulerId=group["schedulerId"],
            )
        if group and "sealed" in group:
            raise conflict(
                "Task group `{{taskGroupId}}` is sealed: it takes no new tasks",
                taskGroupId=body["taskGroupId"],
            )

    def _check_dependencies(self, task_id: str, body: dict[str, Any]) -> None:
        """Every dependency exists and outlives the new task's deadline."""
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

    def _unresolved_dependencies(self, task_id: str, dependencies: list[str]) -> int:
        """Mark the dependencies that are already resolved; count the rest."""
        for required in dependencies:
            runs = self.store.task(required)["runs"] if required != task_id else []
            last = runs[-1] if runs else None
            if last and last["state"] in RESOLVED:
                self.store.satisfy_dependencies(required, last["state"])
        return self.store.unsatisfied_count(task_id)

    @contextlib.contextmanager
    def _acting_on(self, task_id: str, authorize: Authorize, done: str) -> Iterator[dict]:
        """What scheduleTask, rerunTask and cancelTask do first: find the task
        (404) and check the caller's scopes for it; then, in a transaction that
        the block runs in, refuse it once its deadline has passed (409 "can't
        be <done> past its deadline")."""
        task = self.runs.require_task(task_id)
        d = task["definition"]
        authorize(
            taskId=task_id,
            schedulerId=d["schedulerId"],
            taskGroupId=d["taskGroupId"],
            projectId=d["projectId"],
        )
        with self.store.transaction():
            refuse_past_deadline(task, f"can't be {done} past its deadline")
            yield task

    def schedule_task(self, task_id: str, authorize: Authorize) -> dict:
        """scheduleTask: start an unscheduled task whatever its dependencies."""
        with self._acting_on(task_id, authorize, "scheduled") as task:
            if not task["runs"]:
                self.runs.schedule(task, "scheduled")
        return status_reply(task)

    def rerun_task(self, task_id: str, authorize: Authorize) -> dict:
        """rerunTask: add a run to a resolved (or unscheduled) task."""
        with self._acting_on(task_id, authorize, "rerun") as task:
            runs = task["runs"]
            if runs and runs[-1]["state"] in UNRESOLVED:
                return status_reply(task)
            if len(runs) >= MAX_RUNS:
                raise conflict(f"Maximum number of runs reached ({MAX_RUNS}).")
            last_run_id = runs[-1]["runId"] if runs else -1
            task["retriesLeft"] = min(task["definition"]["retries"], MAX_RUNS - last_run_id - 2)
            self.runs.schedule(task, "rerun")
        return status_reply(task)

    def cancel_task(self, task_id: str, authorize: Authorize) -> dict:
        """cancelTask: resolve the task as exception/canceled."""
        with self._acting_on(task_id, authorize, "canceled") as task:
            self.runs.end_task(task, "canceled")
        return status_reply(task)

    # -- lists -------------------------------------------------------------

    def _page_of_tasks(
        self,
        reply: dict[str, Any],
        ids_at: Callable[[int, int], list[str]],
        token: str | None,
        limit: str | None,
    ) -> dict[str, Any]:
        """`reply` with `tasks` (`{status, task}` of each) and, if more follow,
        `continuationToken` (as in Taskcluster, none for `limit=0` from the
        start, the same token again for `limit=0` further on); `ids_at(offset,
        count)` lists the task ids."""

        def rows_at(offset: int, count: int) -> list[dict[str, Any]]:
            tasks = [self.store.task(task_id) for task_id in ids_at(offset, count)]
            return [{"status": status_of(t), "task": t["definition"]} for t in tasks]

        return reply | offset_page("tasks", rows_at, token, limit)

    def list_task_group(self, group_id: str, token: str | None, limit: str | None) -> dict:
        """listTaskGroup: the group and `{status, task}` of each of its tasks, paged."""
        group = self.groups.get_task_group(group_id)
        return self._page_of_tasks(
            group,
            lambda offset, size: self.store.group_task_ids(group_id, offset, size),
            token,
            limit,
        )

    def list_dependent_tasks(self, task_id: str, token: str | None, limit: str | None) -> dict:
        """listDependentTasks, paged."""
        self.runs.require_task(task_id)
        return self._page_of_tasks(
            {"taskId": task_id},
            lambda offset, size: self.store.dependent_task_ids(task_id, offset, size),
            token,
            limit,
        )

    def tasks(self, task_ids: list[str], token: str | None, limit: str | None) -> dict:
        """tasks: `{taskId, task}` of each known task of `task_ids`, paged."""
        return self._known_tasks(
            task_ids,
            token,
            limit,
            "tasks",
            lambda t: {"taskId": t["taskId"], "task": t["definition"]},
        )

    def statuses(self, task_ids: list[str], token: str | None, limit: str | None) -> dict:
        """statuses: `{taskId, status}` of each known task of `task_ids`, paged."""
        return self._known_tasks(
            task_ids,
            token,
            limit,
            "statuses",
            lambda t: {"taskId": t["taskId"], "status": status_of(t)},
        )

    def _known_tasks(
        self,
        task_ids: list[str],
        token: str | None,
        limit: str | None,
        key: str,
        shape: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> dict:
        def rows_at(offset: int, count: int) -> list[dict[str, Any]]:
            return [shape(t) for t in self.store.tasks_by_ids(task_ids, offset, count)]

        return offset_page(key, rows_at, token, limit)

    def change_task_priority(self, task_id: str, priority: str, authorize: Authorize) -> dict:
        """changeTaskPriority: a new priority for a task that was never resolved
        (a running run keeps its claim; the next run is claimed by it)."""
        task = self.runs.require_task(task_id)
        authorize(taskId=task_id, taskQueueId=task["definition"]["taskQueueId"])
        with self.store.transaction():
            refuse_past_deadline(task, "can't be reprioritized past its deadline")
            if ever_resolved(task) or task["definition"]["priority"] == priority:
                raise conflict(
                    "Task `{{taskId}}` is already resolved and cannot be reprioritized.",
                    taskId=task_id,
                )
            self.store.set_priority(task, priority)
        return status_reply(task)
