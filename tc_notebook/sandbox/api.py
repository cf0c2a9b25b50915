"""The Queue v1 API: every entry declared once (name, method, route, query,
scope expression, input and output schema) with its handler, in the order of
Taskcluster's reference. `dispatch.py` turns a request into a call of one
entry; the handlers call the queue's `tasks`, `claims` and `artifacts`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from . import keys
from . import scopes as scope_rules
from .dispatch import SMALL_BODY, Call, Entry, Handler, Reply
from .downloads import artifact_content, redirect_to_artifact

PAGINATION = ("continuationToken", "limit")

ENTRIES: list[Entry] = []
"""The table, in declaration order (which is also the order routes are matched in)."""


def declare(
    name: str,
    method: str,
    route: str,
    scopes: scope_rules.Expression | None,
    input: str | None = None,
    output: str | None = None,
    query: tuple[str, ...] = (),
    max_body: int | None = SMALL_BODY,
) -> Callable[[Handler], Handler]:
    """Add an entry to ENTRIES (see `Entry` for what each field means);
    decorates its handler."""

    def add(handler: Handler) -> Handler:
        ENTRIES.append(Entry(name, method, route, scopes, handler, input, output, query, max_body))
        return handler

    return add


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
RESOLVE_SCOPES = "queue:resolve-task:<taskId>/<runId>"
CREATE_ARTIFACT_SCOPES = "queue:create-artifact:<taskId>/<runId>"
STATUS_OUT = "v1/task-status-response.json#"

# -- the table ------------------------------------------------------------------


@declare("ping", "GET", "/ping", None)
async def ping(call: Call) -> Reply:
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
    return call.service.tasks.create_task(call.params["taskId"], call.payload, call.authorize)


@declare("task", "GET", "/task/<taskId>", "queue:get-task:<taskId>", output="v1/task.json#")
async def task(call: Call) -> Reply:
    return call.service.tasks.task(call.params["taskId"])


@declare("status", "GET", "/task/<taskId>/status", "queue:status:<taskId>", output=STATUS_OUT)
async def status(call: Call) -> Reply:
    return call.service.tasks.status(call.params["taskId"])


@declare(
    "scheduleTask",
    "POST",
    "/task/<taskId>/schedule",
    _task_action_scopes("schedule-task"),
    output=STATUS_OUT,
)
async def schedule_task(call: Call) -> Reply:
    return call.service.tasks.schedule_task(call.params["taskId"], call.authorize)


@declare(
    "rerunTask",
    "POST",
    "/task/<taskId>/rerun",
    _task_action_scopes("rerun-task"),
    output=STATUS_OUT,
)
async def rerun_task(call: Call) -> Reply:
    return call.service.tasks.rerun_task(call.params["taskId"], call.authorize)


@declare(
    "cancelTask",
    "POST",
    "/task/<taskId>/cancel",
    _task_action_scopes("cancel-task"),
    output=STATUS_OUT,
)
async def cancel_task(call: Call) -> Reply:
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
    return call.service.tasks.list_task_group(call.params["taskGroupId"], *call.page())


@declare(
    "getTaskGroup",
    "GET",
    "/task-group/<taskGroupId>",
    "queue:list-task-group:<taskGroupId>",
    output="v1/task-group-response.json#",
)
async def get_task_group(call: Call) -> Reply:
    return call.service.tasks.get_task_group(call.params["taskGroupId"])


@declare(
    "listDependentTasks",
    "GET",
    "/task/<taskId>/dependents",
    "queue:list-dependent-tasks:<taskId>",
    output="v1/list-dependent-tasks-response.json#",
    query=PAGINATION,
)
async def list_dependent_tasks(call: Call) -> Reply:
    return call.service.tasks.list_dependent_tasks(call.params["taskId"], *call.page())


@declare(
    "claimWork",
    "POST",
    "/claim-work/<taskQueueId>",
    {"AllOf": ["queue:claim-work:<taskQueueId>", "queue:worker-id:<workerGroup>/<workerId>"]},
    input="v1/claim-work-request.json#",
    output="v1/claim-work-response.json#",
)
async def claim_work(call: Call) -> Reply:
    return await call.service.claims.claim_work(
        call.params["taskQueueId"], call.payload, call.authorize
    )


@declare(
    "claimTask",
    "POST",
    "/task/<taskId>/runs/<runId>/claim",
    {
        "AllOf": [
            "queue:claim-task:<provisionerId>/<workerType>",
            "queue:worker-id:<workerGroup>/<workerId>",
        ]
    },
    input="v1/task-claim-request.json#",
    output="v1/task-claim-response.json#",
)
async def claim_task(call: Call) -> Reply:
    return call.service.claims.claim_task(
        call.params["taskId"], call.run_id(), call.payload, call.authorize
    )


@declare(
    "reclaimTask",
    "POST",
    "/task/<taskId>/runs/<runId>/reclaim",
    "queue:reclaim-task:<taskId>/<runId>",
    output="v1/task-reclaim-response.json#",
)
async def reclaim_task(call: Call) -> Reply:
    return call.service.claims.reclaim_task(call.params["taskId"], call.run_id())


@declare(
    "reportCompleted",
    "POST",
    "/task/<taskId>/runs/<runId>/completed",
    RESOLVE_SCOPES,
    output=STATUS_OUT,
)
async def report_completed(call: Call) -> Reply:
    # Legacy workers said `{"success": false}` to mean failed.
    failed = isinstance(call.payload, dict) and call.payload.get("success") is False
    state = "failed" if failed else "completed"
    return call.service.claims.report(call.params["taskId"], call.run_id(), state, state)


@declare(
    "reportFailed", "POST", "/task/<taskId>/runs/<runId>/failed", RESOLVE_SCOPES, output=STATUS_OUT
)
async def report_failed(call: Call) -> Reply:
    return call.service.claims.report(call.params["taskId"], call.run_id(), "failed", "failed")


@declare(
    "reportException",
    "POST",
    "/task/<taskId>/runs/<runId>/exception",
    RESOLVE_SCOPES,
    input="v1/task-exception-request.json#",
    output=STATUS_OUT,
)
async def report_exception(call: Call) -> Reply:
    return call.service.claims.report(
        call.params["taskId"], call.run_id(), "exception", call.payload["reason"]
    )


@declare(
    "createArtifact",
    "POST",
    "/task/<taskId>/runs/<runId>/artifacts/<name>",
    CREATE_ARTIFACT_SCOPES,
    input="v1/post-artifact-request.json#",
    output="v1/post-artifact-response.json#",
)
async def create_artifact(call: Call) -> Reply:
    return call.service.artifacts.create_artifact(
        call.params["taskId"], call.run_id(), call.params["name"], call.payload
    )


@declare(
    "finishArtifact",
    "PUT",
    "/task/<taskId>/runs/<runId>/artifacts/<name>",
    CREATE_ARTIFACT_SCOPES,
    input="v1/finish-artifact-request.json#",
)
async def finish_artifact(call: Call) -> Reply:
    call.service.artifacts.finish_artifact(
        call.params["taskId"], call.run_id(), call.params["name"]
    )


@declare(
    "getArtifact",
    "GET",
    "/task/<taskId>/runs/<runId>/artifacts/<name>",
    GET_ARTIFACT_SCOPES,
    output="v1/get-artifact-response.json#",
)
async def get_artifact(call: Call) -> Reply:
    return redirect_to_artifact(call, call.run_id())


@declare(
    "getLatestArtifact",
    "GET",
    "/task/<taskId>/artifacts/<name>",
    GET_ARTIFACT_SCOPES,
    output="v1/get-artifact-response.json#",
)
async def get_latest_artifact(call: Call) -> Reply:
    return redirect_to_artifact(call, None)


@declare(
    "listArtifacts",
    "GET",
    "/task/<taskId>/runs/<runId>/artifacts",
    "queue:list-artifacts:<taskId>:<runId>",
    output="v1/list-artifacts-response.json#",
    query=PAGINATION,
)
async def list_artifacts(call: Call) -> Reply:
    return call.service.artifacts.list_artifacts(call.params["taskId"], call.run_id(), *call.page())


@declare(
    "listLatestArtifacts",
    "GET",
    "/task/<taskId>/artifacts",
    "queue:list-artifacts:<taskId>",
    output="v1/list-artifacts-response.json#",
    query=PAGINATION,
)
async def list_latest_artifacts(call: Call) -> Reply:
    return call.service.artifacts.list_artifacts(call.params["taskId"], None, *call.page())


@declare(
    "artifactInfo",
    "GET",
    "/task/<taskId>/runs/<runId>/artifact-info/<name>",
    "queue:list-artifacts:<taskId>:<runId>",
    output="v1/artifact-response.json#",
)
async def artifact_info(call: Call) -> Reply:
    return call.service.artifacts.artifact_info(
        call.params["taskId"], call.run_id(), call.params["name"]
    )


@declare(
    "latestArtifactInfo",
    "GET",
    "/task/<taskId>/artifact-info/<name>",
    "queue:list-artifacts:<taskId>",
    output="v1/artifact-response.json#",
)
async def latest_artifact_info(call: Call) -> Reply:
    return call.service.artifacts.artifact_info(call.params["taskId"], None, call.params["name"])


@declare(
    "artifact",
    "GET",
    "/task/<taskId>/runs/<runId>/artifact-content/<name>",
    GET_ARTIFACT_SCOPES,
    output="v1/artifact-content-response.json#",
)
async def artifact(call: Call) -> Reply:
    return artifact_content(call, call.run_id())


@declare(
    "latestArtifact",
    "GET",
    "/task/<taskId>/artifact-content/<name>",
    GET_ARTIFACT_SCOPES,
    output="v1/artifact-content-response.json#",
)
async def latest_artifact(call: Call) -> Reply:
    return artifact_content(call, None)


@declare(
    "pendingTasks",
    "GET",
    "/pending/<taskQueueId>",
    "queue:pending-count:<taskQueueId>",
    output="v1/pending-tasks-response.json#",
)
async def pending_tasks(call: Call) -> Reply:
    return call.service.tasks.pending_tasks(call.params["taskQueueId"])
