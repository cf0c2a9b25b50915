"""What a task queue holds: how many tasks wait and run (pendingTasks,
taskQueueCounts) and which (listPendingTasks, listClaimedTasks). The two
lists page by position, their tokens holding the last row's time and taskId
as Taskcluster's do."""

from __future__ import annotations

from typing import Any

from .paging import decode_token, encode_token, page_size
from .store import Store


def _split(task_queue_id: str) -> dict[str, str]:
    provisioner_id, worker_type = task_queue_id.split("/", 1)
    return {
        "provisionerId": provisioner_id,
        "workerType": worker_type,
        "taskQueueId": task_queue_id,
    }


def _after(token: str | None) -> tuple[str, str] | None:
    """The (time, taskId) a token holds; None (from the start) for any other token."""
    value = decode_token(token)
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return value[0], value[1]
    return None


class QueueLists:
    """The entries about the tasks of one task queue."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def pending_tasks(self, task_queue_id: str) -> dict:
        """pendingTasks: how many tasks of a queue wait to be claimed."""
        return {**_split(task_queue_id), "pendingTasks": self.store.pending_count(task_queue_id)}

    def counts(self, task_queue_id: str) -> dict:
        """taskQueueCounts: how many tasks of a queue are pending and claimed."""
        return {
            **self.pending_tasks(task_queue_id),
            "claimedTasks": self.store.running_count(task_queue_id),
        }

    def _page(
        self, task_queue_id: str, state: str, token: str | None, limit: str | None, shape
    ) -> dict[str, Any]:
        size = page_size(limit)
        rows = self.store.queued_tasks(task_queue_id, state, _after(token), size + 1)
        reply: dict[str, Any] = {"tasks": [shape(task, since) for task, since in rows[:size]]}
        if size and len(rows) > size:  # more follow the page's last row
            task, since = rows[size - 1]
            reply["continuationToken"] = encode_token([since, task["taskId"]])
        return reply

    def list_pending(self, task_queue_id: str, token: str | None, limit: str | None) -> dict:
        """listPendingTasks: the queue's pending tasks, oldest first."""

        def shape(task: dict[str, Any], since: str) -> dict[str, Any]:
            run = task["runs"][-1]
            return {
                "taskId": task["taskId"],
                "runId": run["runId"],
                "task": task["definition"],
                "inserted": since,
            }

        return self._page(task_queue_id, "pending", token, limit, shape)

    def list_claimed(self, task_queue_id: str, token: str | None, limit: str | None) -> dict:
        """listClaimedTasks: the queue's claimed (running) tasks, by claim time."""

        def shape(task: dict[str, Any], since: str) -> dict[str, Any]:
            run = task["runs"][-1]
            return {
                "taskId": task["taskId"],
                "runId": run["runId"],
                "workerGroup": run["workerGroup"],
                "workerId": run["workerId"],
                "claimed": since,
                "task": task["definition"],
            }

        return self._page(task_queue_id, "running", token, limit, shape)
