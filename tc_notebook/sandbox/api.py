"""The Queue v1 API: every entry declared once (name, method, route, query,
scope expression, input and output schema) with its handler, in the order of
Taskcluster's reference. This module holds the table and the task, task
group and service entries; `api_workers.py` and `api_artifacts.py` declare
the worker and artifact entries into the same table. `dispatch.py` turns a
request into a call of one entry; the handlers call the queue's services.
"""

from __future__ import annotations

import time
from importlib import metadata

from . import keys
from . import scopes as scope_rules
from .dispatch import ApiTable, Call, Entry, Reply, declarer

PAGINATION = ("continuationToken", "limit")

ENTRIES: list[Entry] = []
"""The table, in declaration order (which is also the order routes are matched in)."""

TABLE = ApiTable("/api/queue/v1", "/schemas/queue/", ENTRIES)
"""The queue's API as `dispatch.mount` serves it."""

declare = declarer(ENTRIES)
"""`@declare(name, method, route, scopes, input=, output=, query=, ...)` adds
the handler it decorates to ENTRIES (see `Entry` for each field)."""


def _task_action_scopes(verb: str) -> scope_rules.Expression:
    return {
        "AnyOf": [
            f"queue:{verb}:<schedulerId>/<taskGroupId>/<taskId>",
            f"queue:{verb}-in-project:<projectId>",
            {"AllOf": [f"queue:{verb}", "assume:scheduler-id:<schedulerId>/<taskGroupId>"]},
        ]
    }


GET_ARTIFACT_SCOPES = {
    "AllOf": [{"for": "name", "in": "names", "each": "queue:get-artifact:<name>"}]
}
STATUS_OUT = "v1/task-status-response.json#"
GROUP_SCOPES = "queue:{verb}:<schedulerId>/<taskGroupId>"

# -- the table ------------------------------------------------------------------


@declare("ping", "GET", "/ping", None)
async def ping(call: Call) -> Reply:
    """Whether the service is up, and for how long."""
    return {"alive": True, "uptime": time.monotonic() - call.request.app[keys.STARTED]}


@declare(
    "createTask",
    "PUT",
    "/task/<taskId>",
    {
        "AllOf": [
            {"for": "scope", "in": "scopes", "each": "<scope>"},
            {"for": "route", "in": "routes", "each": "queue:route:<route>"},
            "queue:create-task:project:<projectId>",
            "queue:scheduler-id:<schedulerId>",
            {
                "AnyOf": [
                    {
                        "for": "priority",
                        "in": "priorities",
                        "each": "queue:create-task:<priority>:<taskQueueId>",
                    }
                ]
            },
        ]
    },
    input="v1/create-task-request.json#",
    output=STATUS_OUT,
    max_body=None,  # task definitions may be large: the settings' max_request_bytes
)
async def create_task(call: Call) -> Reply:
    """Define a task; it is scheduled once its dependencies are resolved."""
    return call.service.tasks.create_task(call.params["taskId"], call.payload, call.authorize)


@declare("task", "GET", "/task/<taskId>", "queue:get-task:<taskId>", output="v1/task.json#")
async def task(call: Call) -> Reply:
    """A task's definition."""
    return call.service.tasks.task(call.params["taskId"])


@declare("status", "GET", "/task/<taskId>/status", "queue:status:<taskId>", output=STATUS_OUT)
async def status(call: Call) -> Reply:
    """A task's status: its state and runs."""
    return call.service.tasks.status(call.params["taskId"])


@declare(
    "scheduleTask",
    "POST",
    "/task/<taskId>/schedule",
    _task_action_scopes("schedule-task"),
    output=STATUS_OUT,
)
async def schedule_task(call: Call) -> Reply:
    """Schedule a task that waits for its dependencies, without waiting further."""
    return call.service.tasks.schedule_task(call.params["taskId"], call.authorize)


@declare(
    "rerunTask",
    "POST",
    "/task/<taskId>/rerun",
    _task_action_scopes("rerun-task"),
    output=STATUS_OUT,
)
async def rerun_task(call: Call) -> Reply:
    """Run a resolved task once more."""
    return call.service.tasks.rerun_task(call.params["taskId"], call.authorize)


@declare(
    "cancelTask",
    "POST",
    "/task/<taskId>/cancel",
    _task_action_scopes("cancel-task"),
    output=STATUS_OUT,
)
async def cancel_task(call: Call) -> Reply:
    """Cancel a task: its run is resolved exception/canceled."""
    return call.service.tasks.cancel_task(call.params["taskId"], call.authorize)


@declare(
    "listTaskGroup",
    "GET",
    "/task-group/<taskGroupId>/list",
    "queue:list-task-group:<taskGroupId>",
    output="v1/list-task-group-response.json#",
    query=PAGINATION,
)
async def list_task_group(call: Call) -> Reply:
    """The tasks of a task group, with their status."""
    return call.service.tasks.list_task_group(call.params["taskGroupId"], *call.page())


@declare(
    "getTaskGroup",
    "GET",
    "/task-group/<taskGroupId>",
    "queue:list-task-group:<taskGroupId>",
    output="v1/task-group-response.json#",
)
async def get_task_group(call: Call) -> Reply:
    """A task group's scheduler, expiry and whether it is sealed."""
    return call.service.tasks.groups.get_task_group(call.params["taskGroupId"])


@declare(
    "listDependentTasks",
    "GET",
    "/task/<taskId>/dependents",
    "queue:list-dependent-tasks:<taskId>",
    output="v1/list-dependent-tasks-response.json#",
    query=PAGINATION,
)
async def list_dependent_tasks(call: Call) -> Reply:
    """The tasks that depend on a task."""
    return call.service.tasks.list_dependent_tasks(call.params["taskId"], *call.page())


@declare(
    "tasks",
    "POST",
    "/tasks",
    {"AllOf": [{"for": "taskId", "in": "taskIds", "each": "queue:get-task:<taskId>"}]},
    input="v1/tasks-request.json#",
    output="v1/tasks-response.json#",
    query=PAGINATION,
    stability="experimental",
)
async def tasks(call: Call) -> Reply:
    """Definitions of several tasks (unknown taskIds are left out)."""
    task_ids = call.payload["taskIds"]
    call.authorize(taskIds=task_ids)
    return call.service.tasks.tasks(task_ids, *call.page())


@declare(
    "statuses",
    "POST",
    "/tasks/status",
    {"AllOf": [{"for": "taskId", "in": "taskIds", "each": "queue:status:<taskId>"}]},
    input="v1/tasks-request.json#",
    output="v1/tasks-statuses-response.json#",
    query=PAGINATION,
    stability="experimental",
)
async def statuses(call: Call) -> Reply:
    """Statuses of several tasks (unknown taskIds are left out)."""
    task_ids = call.payload["taskIds"]
    call.authorize(taskIds=task_ids)
    return call.service.tasks.statuses(task_ids, *call.page())


@declare(
    "cancelTaskGroup",
    "POST",
    "/task-group/<taskGroupId>/cancel",
    GROUP_SCOPES.format(verb="cancel-task-group"),
    output="v1/cancel-task-group-response.json#",
    stability="experimental",
)
async def cancel_task_group(call: Call) -> Reply:
    """Cancel every unresolved task of a sealed task group."""
    return call.service.tasks.groups.cancel(call.params["taskGroupId"], call.authorize)


@declare(
    "sealTaskGroup",
    "POST",
    "/task-group/<taskGroupId>/seal",
    GROUP_SCOPES.format(verb="seal-task-group"),
    output="v1/task-group-response.json#",
    stability="experimental",
)
async def seal_task_group(call: Call) -> Reply:
    """Seal a task group: it takes no new tasks from then on."""
    return call.service.tasks.groups.seal(call.params["taskGroupId"], call.authorize)


@declare(
    "changeTaskPriority",
    "POST",
    "/task/<taskId>/priority",
    {
        "AnyOf": [
            "queue:change-task-priority:<taskId>",
            "queue:change-task-priority-in-queue:<taskQueueId>",
        ]
    },
    input="v1/change-task-priority-request.json#",
    output=STATUS_OUT,
    stability="experimental",
)
async def change_task_priority(call: Call) -> Reply:
    """Give an unresolved task a new priority."""
    return call.service.tasks.change_task_priority(
        call.params["taskId"], call.payload["newPriority"], call.authorize
    )


@declare(
    "changeTaskGroupPriority",
    "POST",
    "/task-group/<taskGroupId>/priority",
    GROUP_SCOPES.format(verb="change-task-group-priority"),
    input="v1/change-task-priority-request.json#",
    output="v1/task-group-priority-change-response.json#",
    stability="experimental",
)
async def change_task_group_priority(call: Call) -> Reply:
    """Give the unresolved tasks of a group a new priority."""
    return call.service.tasks.groups.change_priority(
        call.params["taskGroupId"], call.payload["newPriority"], call.authorize
    )


@declare("lbheartbeat", "GET", "/__lbheartbeat__", None)
async def lbheartbeat(call: Call) -> Reply:
    """Load balancer heartbeat: answers `{}` while the service is up."""
    return {}


@declare("version", "GET", "/__version__", None)
async def version(call: Call) -> Reply:
    """The version of the service (here: of tc-notebook)."""
    return {"version": metadata.version("tc-notebook"), "commit": "", "source": "", "build": ""}


@declare("heartbeat", "GET", "/__heartbeat__", None)
async def heartbeat(call: Call) -> Reply:
    """Heartbeat: answers `{}` while the service is up."""
    return {}


# The worker and artifact entries follow, declared in their own modules
# (their order in ENTRIES is the order routes are matched in).
from . import api_workers, api_artifacts  # noqa: E402, F401, I001
