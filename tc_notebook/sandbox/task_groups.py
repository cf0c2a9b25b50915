"""Task groups as a whole: getTaskGroup, sealTaskGroup, cancelTaskGroup and
changeTaskGroupPriority. A sealed group takes no new tasks, and only a sealed
group can be cancelled (so that nothing joins it while it is)."""

from __future__ import annotations

from typing import Any

from ..timestamps import iso, now
from .runs import UNRESOLVED, Runs, conflict, not_found
from .scopes import Authorize


def ever_resolved(task: dict[str, Any]) -> bool:
    """Whether the task has been resolved at some time (a rerun does not undo it)."""
    runs = task["runs"]
    return bool(runs) and (
        runs[-1]["state"] not in UNRESOLVED or any(run["reasonCreated"] == "rerun" for run in runs)
    )


class TaskGroupService:
    """The entries that act on a whole task group."""

    def __init__(self, runs: Runs) -> None:
        self.runs = runs
        self.store = runs.store

    def get_task_group(self, group_id: str) -> dict[str, Any]:
        """getTaskGroup: `{taskGroupId, schedulerId, expires, sealed?}`."""
        group = self.store.task_group(group_id)
        if group is None:
            raise not_found(
                "No task group with taskGroupId `{{taskGroupId}}`", taskGroupId=group_id
            )
        return group

    def _authorized_group(self, group_id: str, authorize: Authorize) -> dict[str, Any]:
        group = self.get_task_group(group_id)
        authorize(taskGroupId=group_id, schedulerId=group["schedulerId"])
        return group

    def seal(self, group_id: str, authorize: Authorize) -> dict[str, Any]:
        """sealTaskGroup: from now on the group takes no new task (once; idempotent)."""
        self._authorized_group(group_id, authorize)
        self.store.seal_task_group(group_id, iso(now()))
        return self.get_task_group(group_id)

    def cancel(self, group_id: str, authorize: Authorize) -> dict[str, Any]:
        """cancelTaskGroup: cancel every unresolved task of a sealed group
        (whose deadline has not passed); answer which ones were."""
        group = self.get_task_group(group_id)
        if "sealed" not in group:
            raise conflict(
                "Cannot cancel unsealed task group: `{{taskGroupId}}`", taskGroupId=group_id
            )
        authorize(taskGroupId=group_id, schedulerId=group["schedulerId"])
        cancelled = []
        with self.store.transaction():
            for task_id in self.store.live_group_task_ids(group_id, iso(now())):
                task = self.store.task(task_id)
                runs = task["runs"]
                if not runs or runs[-1]["state"] in UNRESOLVED:
                    self.runs.end_task(task, "canceled")
                    cancelled.append(task_id)
        return {
            "taskGroupId": group_id,
            "taskGroupSize": self.store.group_size(group_id),
            "cancelledCount": len(cancelled),
            "taskIds": cancelled,
        }

    def change_priority(self, group_id: str, priority: str, authorize: Authorize) -> dict[str, Any]:
        """changeTaskGroupPriority: the new priority for every task of the group
        that was never resolved, whose deadline has not passed, and whose
        priority differs (a running run keeps its claim)."""
        group = self._authorized_group(group_id, authorize)
        changed = []
        with self.store.transaction():
            for task_id in self.store.live_group_task_ids(group_id, iso(now())):
                task = self.store.task(task_id)
                if not ever_resolved(task) and task["definition"]["priority"] != priority:
                    self.store.set_priority(task, priority)
                    changed.append(task_id)
        return {
            "taskGroupId": group_id,
            "schedulerId": group["schedulerId"],
            "newPriority": priority,
            "tasksAffected": len(changed),
            "taskIds": changed,
        }
