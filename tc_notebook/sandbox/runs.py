"""The run state machine: a task's runs are added, resolved and retried
here, and every change is saved and told to the transition listeners. The
queue's tasks, claims, resolvers and artifacts share one `Runs`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..timestamps import iso, now
from .errors import APIError
from .store import Store

TransitionListener = Callable[[str, dict], None]
"""Called with an event name (`task-pending`, `task-completed`, ...) and the
task's status after every change."""

UNRESOLVED = ("pending", "running")  # the states of a run that can still change


def not_found(message: str, **details: Any) -> APIError:
    """A 404 ResourceNotFound."""
    return APIError("ResourceNotFound", message, **details)


def conflict(message: str, **details: Any) -> APIError:
    """A 409 RequestConflict."""
    return APIError("RequestConflict", message, **details)


def status_of(task: dict[str, Any]) -> dict[str, Any]:
    """The `task-status` object of a stored task (a run's own notes, keys
    starting with `_`, left out)."""
    d = task["definition"]
    runs = [{k: v for k, v in run.items() if not k.startswith("_")} for run in task["runs"]]
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


def status_reply(task: dict[str, Any]) -> dict[str, Any]:
    """`{status}`, the answer of most entries that change a task."""
    return {"status": status_of(task)}


def refuse_past_deadline(task: dict[str, Any], refusal: str) -> None:
    """409 once the task's deadline has passed: "Task `<taskId>` <refusal>"."""
    if task["definition"]["deadline"] < iso(now()):
        raise conflict("Task `{{taskId}}` " + refusal, taskId=task["taskId"])


def find_run(task: dict[str, Any], run_id: int) -> dict[str, Any]:
    """One run of a task; 404 when there is no such run."""
    if run_id >= len(task["runs"]):
        raise not_found(
            "Run {{runId}} not found on task `{{taskId}}`", runId=run_id, taskId=task["taskId"]
        )
    return task["runs"][run_id]


def running_run(task: dict[str, Any], run_id: int) -> dict[str, Any]:
    """The task's last run, which must be `run_id` and running; 409 otherwise."""
    run = find_run(task, run_id)
    if run["state"] != "running" or run_id != len(task["runs"]) - 1:
        raise conflict(
            "Run {{runId}} on task `{{taskId}}` is resolved or not running.",
            runId=run_id,
            taskId=task["taskId"],
        )
    return run


def add_run(task: dict[str, Any], state: str, reason: str) -> dict[str, Any]:
    """Append a run in `state`, created for `reason` (saving it is the caller's)."""
    run = {
        "runId": len(task["runs"]),
        "state": state,
        "reasonCreated": reason,
        "scheduled": iso(now()),
    }
    task["runs"].append(run)
    return run


class Runs:
    """Tasks and their runs in a `Store`: every change saved and told to the
    transition listeners, and dependents scheduled when a task resolves."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.transition_listeners: list[TransitionListener] = []

    def require_task(self, task_id: str) -> dict[str, Any]:
        """A stored task (see `Store.task`); 404 when there is none."""
        task = self.store.task(task_id)
        if task is None:
            raise not_found("Task `{{taskId}}` not found", taskId=task_id)
        return task

    def save(self, task: dict[str, Any], event: str) -> None:
        """Store the task's runs and tell the listeners of `event`."""
        self.store.save_runs(task)
        for listener in self.transition_listeners:
            listener(event, status_of(task))

    def schedule(self, task: dict[str, Any], reason: str, event: str = "task-pending") -> None:
        """Add a pending run and save the task."""
        add_run(task, "pending", reason)
        self.save(task, event)

    def resolve_run(
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
            self.schedule(task, retry_as, "task-retried")
            return
        self.save(task, f"task-{state}")
        self._task_resolved(task["taskId"], state)

    def end_task(self, task: dict[str, Any], reason: str) -> None:
        """Resolve an unresolved task as exception with `reason`, no retry."""
        runs = task["runs"]
        if not runs:
            run = add_run(task, "exception", "exception")
            run["reasonResolved"], run["resolved"] = reason, run["scheduled"]
            task["takenUntil"] = None
            self.save(task, "task-exception")
            self._task_resolved(task["taskId"], "exception")
        elif runs[-1]["state"] in UNRESOLVED:
            self.resolve_run(task, runs[-1], "exception", reason)

    def _task_resolved(self, task_id: str, state: str) -> None:
        """Schedule the dependents that now wait for nothing."""
        for dependent_id in self.store.satisfy_dependencies(task_id, state):
            dependent = self.store.task(dependent_id)
            if dependent is not None and not dependent["runs"]:
                self.schedule(dependent, "scheduled")
