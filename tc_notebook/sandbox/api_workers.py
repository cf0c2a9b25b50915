"""The worker entries of the Queue v1 table (declared after `api.py`'s):
the worker interface (claimWork ... reportException) and worker metadata
(counts and lists of a task queue's tasks; task queues, provisioners, worker
types and workers, as `worker_info.py` keeps them)."""

from __future__ import annotations

from .api import PAGINATION, STATUS_OUT, declare
from .dispatch import Call, Reply

RESOLVE_SCOPES = "queue:resolve-task:<taskId>/<runId>"
WORKER = "<provisionerId>/<workerType>/<workerGroup>/<workerId>"
WORKER_ROUTE = "/provisioners/<provisionerId>/worker-types/<workerType>"

# -- the worker interface ----------------------------------------------------------


@declare(
    "claimWork",
    "POST",
    "/claim-work/<taskQueueId>",
    {"AllOf": ["queue:claim-work:<taskQueueId>", "queue:worker-id:<workerGroup>/<workerId>"]},
    input="v1/claim-work-request.json#",
    output="v1/claim-work-response.json#",
)
async def claim_work(call: Call) -> Reply:
    """Claim pending tasks of a task queue, waiting up to 20 seconds for some."""
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
    stability="deprecated",
)
async def claim_task(call: Call) -> Reply:
    """Claim a given pending run (deprecated: see claimWork)."""
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
    """Extend the claim on a running run, with new task credentials."""
    return call.service.claims.reclaim_task(call.params["taskId"], call.run_id())


@declare(
    "reportCompleted",
    "POST",
    "/task/<taskId>/runs/<runId>/completed",
    RESOLVE_SCOPES,
    output=STATUS_OUT,
)
async def report_completed(call: Call) -> Reply:
    """Resolve a running run as completed."""
    # Legacy workers said `{"success": false}` to mean failed.
    failed = isinstance(call.payload, dict) and call.payload.get("success") is False
    state = "failed" if failed else "completed"
    return call.service.claims.report(call.params["taskId"], call.run_id(), state, state)


@declare(
    "reportFailed", "POST", "/task/<taskId>/runs/<runId>/failed", RESOLVE_SCOPES, output=STATUS_OUT
)
async def report_failed(call: Call) -> Reply:
    """Resolve a running run as failed."""
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
    """Resolve a running run as exception, for a reason; some reasons are retried."""
    return call.service.claims.report(
        call.params["taskId"], call.run_id(), "exception", call.payload["reason"]
    )


# -- worker metadata ---------------------------------------------------------------


@declare(
    "listProvisioners",
    "GET",
    "/provisioners",
    "queue:list-provisioners",
    output="v1/list-provisioners-response.json#",
    query=PAGINATION,
    stability="deprecated",
)
async def list_provisioners(call: Call) -> Reply:
    """The provisioners of the active task queues (deprecated: see listTaskQueues)."""
    return call.service.workers.list_provisioners(*call.page())


@declare(
    "getProvisioner",
    "GET",
    "/provisioners/<provisionerId>",
    "queue:get-provisioner:<provisionerId>",
    output="v1/provisioner-response.json#",
    stability="deprecated",
)
async def get_provisioner(call: Call) -> Reply:
    """One provisioner (deprecated: see getTaskQueue)."""
    return call.service.workers.get_provisioner(call.params["provisionerId"])


@declare(
    "pendingTasks",
    "GET",
    "/pending/<taskQueueId>",
    "queue:pending-count:<taskQueueId>",
    output="v1/pending-tasks-response.json#",
    stability="deprecated",
)
async def pending_tasks(call: Call) -> Reply:
    """How many tasks of a queue wait to be claimed (deprecated: see taskQueueCounts)."""
    return call.service.queue_lists.pending_tasks(call.params["taskQueueId"])


@declare(
    "taskQueueCounts",
    "GET",
    "/task-queues/<taskQueueId>/counts",
    {"AllOf": ["queue:pending-count:<taskQueueId>", "queue:claimed-count:<taskQueueId>"]},
    output="v1/task-queue-counts-response.json#",
)
async def task_queue_counts(call: Call) -> Reply:
    """How many tasks of a queue are pending and how many are claimed."""
    return call.service.queue_lists.counts(call.params["taskQueueId"])


@declare(
    "listPendingTasks",
    "GET",
    "/task-queues/<taskQueueId>/pending",
    "queue:pending-list:<taskQueueId>",
    output="v1/list-pending-tasks-response.json#",
    query=PAGINATION,
    stability="experimental",
)
async def list_pending_tasks(call: Call) -> Reply:
    """The pending tasks of a queue, oldest first."""
    return call.service.queue_lists.list_pending(call.params["taskQueueId"], *call.page())


@declare(
    "listClaimedTasks",
    "GET",
    "/task-queues/<taskQueueId>/claimed",
    "queue:claimed-list:<taskQueueId>",
    output="v1/list-claimed-tasks-response.json#",
    query=PAGINATION,
    stability="experimental",
)
async def list_claimed_tasks(call: Call) -> Reply:
    """The claimed tasks of a queue, by the time they were claimed."""
    return call.service.queue_lists.list_claimed(call.params["taskQueueId"], *call.page())


@declare(
    "listWorkerTypes",
    "GET",
    WORKER_ROUTE.removesuffix("/<workerType>"),
    "queue:list-worker-types:<provisionerId>",
    output="v1/list-workertypes-response.json#",
    query=PAGINATION,
    stability="deprecated",
)
async def list_worker_types(call: Call) -> Reply:
    """The active task queues of a provisioner (deprecated: see listTaskQueues)."""
    return call.service.workers.list_worker_types(call.params["provisionerId"], *call.page())


@declare(
    "getWorkerType",
    "GET",
    WORKER_ROUTE,
    "queue:get-worker-type:<provisionerId>/<workerType>",
    output="v1/workertype-response.json#",
    stability="deprecated",
)
async def get_worker_type(call: Call) -> Reply:
    """One worker type (deprecated: see getTaskQueue)."""
    return call.service.workers.get_worker_type(
        call.params["provisionerId"], call.params["workerType"]
    )


@declare(
    "listTaskQueues",
    "GET",
    "/task-queues",
    "queue:list-task-queues",
    output="v1/list-taskqueues-response.json#",
    query=PAGINATION,
)
async def list_task_queues(call: Call) -> Reply:
    """The task queues that workers asked for work on lately."""
    return call.service.workers.list_task_queues(*call.page())


@declare(
    "getTaskQueue",
    "GET",
    "/task-queues/<taskQueueId>",
    "queue:get-task-queue:<taskQueueId>",
    output="v1/taskqueue-response.json#",
    one_segment=("taskQueueId",),
)
async def get_task_queue(call: Call) -> Reply:
    """One task queue (its `/` percent-encoded in the URL)."""
    return call.service.workers.get_task_queue(call.params["taskQueueId"])


@declare(
    "listWorkers",
    "GET",
    WORKER_ROUTE + "/workers",
    "queue:list-workers:<provisionerId>/<workerType>",
    output="v1/list-workers-response.json#",
    query=(*PAGINATION, "quarantined"),
    stability="deprecated",
)
async def list_workers(call: Call) -> Reply:
    """The workers of a task queue seen lately, or quarantined."""
    return call.service.workers.list_workers(
        call.params["provisionerId"],
        call.params["workerType"],
        *call.page(),
        call.query.get("quarantined"),
    )


@declare(
    "getWorker",
    "GET",
    WORKER_ROUTE + "/workers/<workerGroup>/<workerId>",
    f"queue:get-worker:{WORKER}",
    output="v1/worker-response.json#",
    stability="deprecated",
)
async def get_worker(call: Call) -> Reply:
    """One worker: when first and last seen, its recent tasks, its quarantine."""
    return call.service.workers.get_worker(
        call.params["provisionerId"],
        call.params["workerType"],
        call.params["workerGroup"],
        call.params["workerId"],
    )


@declare(
    "quarantineWorker",
    "PUT",
    WORKER_ROUTE + "/workers/<workerGroup>/<workerId>",
    {"AllOf": [f"queue:quarantine-worker:{WORKER}"]},
    input="v1/quarantine-worker-request.json#",
    output="v1/worker-response.json#",
    stability="experimental",
)
async def quarantine_worker(call: Call) -> Reply:
    """Give a worker no work until a given time (a past time lifts it)."""
    return call.service.workers.quarantine_worker(call.params, call.payload, call.caller.client_id)


@declare(
    "declareWorker",
    "PUT",
    WORKER_ROUTE + "/<workerGroup>/<workerId>",
    {
        "AllOf": [
            {
                "for": "property",
                "in": "properties",
                "each": f"queue:declare-worker:{WORKER}#<property>",
            }
        ]
    },
    input="v1/update-worker-request.json#",
    output="v1/worker-response.json#",
    stability="experimental",
)
async def declare_worker(call: Call) -> Reply:
    """A worker declares itself, until a given expiry."""
    return call.service.workers.declare_worker(call.params, call.payload, call.authorize)
