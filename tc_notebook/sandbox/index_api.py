"""The Index v1 API: every entry of Taskcluster's reference (and the two
deprecated POST forms of the lists that v1 still serves), in its order, with
its handler; the handlers call the `IndexService`. Served under
`/api/index/v1` by `dispatch`."""

from __future__ import annotations

import time

from . import keys
from .dispatch import ApiTable, Call, Entry, Reply, declarer
from .downloads import see_other
from .index_service import NAMESPACE

ENTRIES: list[Entry] = []
"""The table, in declaration order (which is also the order routes are matched in)."""

PARAMS = {"namespace": NAMESPACE.pattern, "indexPath": NAMESPACE.pattern}
TABLE = ApiTable("/api/index/v1", "/schemas/index/", ENTRIES, PARAMS)

PAGINATION = ("continuationToken", "limit")
TASK_OUT = "v1/indexed-task-response.json#"
TASKS_OUT = "v1/list-tasks-response.json#"
NAMESPACES_OUT = "v1/list-namespaces-response.json#"
NAMESPACES, TASKS = "/namespaces{/<namespace>}", "/tasks{/<namespace>}"  # the namespace is optional
LIST_NAMESPACES_SCOPES = "index:list-namespaces:<namespace>"
LIST_TASKS_SCOPES = "index:list-tasks:<namespace>"
GET_NAMESPACES = {"output": NAMESPACES_OUT, "query": PAGINATION}
POST_NAMESPACES = {"output": NAMESPACES_OUT, "input": "v1/list-namespaces-request.json#"}

declare = declarer(ENTRIES)


@declare("ping", "GET", "/ping", None)
async def ping(call: Call) -> Reply:
    return {"alive": True, "uptime": time.monotonic() - call.request.app[keys.STARTED]}


@declare("lbheartbeat", "GET", "/__lbheartbeat__", None)
@declare("heartbeat", "GET", "/__heartbeat__", None)
async def heartbeat(call: Call) -> Reply:
    return {}


@declare("findTask", "GET", "/task/<indexPath>", "index:find-task:<indexPath>", output=TASK_OUT)
async def find_task(call: Call) -> Reply:
    return call.service.find_task(call.params["indexPath"])


@declare(
    "findTasksAtIndex",
    "POST",
    "/tasks/indexes",
    {"AllOf": [{"for": "indexPath", "in": "indexPaths", "each": "index:find-task:<indexPath>"}]},
    input="v1/list-tasks-at-index.json#",
    output=TASKS_OUT,
    query=PAGINATION,
    stability="experimental",
)
async def find_tasks_at_index(call: Call) -> Reply:
    indexes = call.payload["indexes"]
    call.authorize(indexPaths=indexes)
    return call.service.find_tasks_at_indexes(indexes, *call.page())


@declare("listNamespaces", "GET", NAMESPACES, LIST_NAMESPACES_SCOPES, **GET_NAMESPACES)
@declare("listNamespacesPost", "POST", NAMESPACES, LIST_NAMESPACES_SCOPES, **POST_NAMESPACES)
@declare("listTasks", "GET", TASKS, LIST_TASKS_SCOPES, output=TASKS_OUT, query=PAGINATION)
@declare("listTasksPost", "POST", TASKS, LIST_TASKS_SCOPES, output=TASKS_OUT)
async def list_under(call: Call) -> Reply:
    # The deprecated POST forms take no query, so they answer the first page;
    # listNamespacesPost's body is checked and, as in v1, not used.
    namespace = call.params.get("namespace", "")
    call.authorize(namespace=namespace)
    tasks = call.entry.output == TASKS_OUT
    listing = call.service.list_tasks if tasks else call.service.list_namespaces
    return listing(namespace, *call.page())


@declare(
    "insertTask",
    "PUT",
    "/task/<namespace>",
    "index:insert-task:<namespace>",
    input="v1/insert-task-request.json#",
    output=TASK_OUT,
)
async def insert_task(call: Call) -> Reply:
    return call.service.insert_task(call.params["namespace"], call.payload)


@declare("deleteTask", "DELETE", "/task/<namespace>", "index:delete-task:<namespace>")
async def delete_task(call: Call) -> Reply:
    call.service.delete_task(call.params["namespace"])
    return {}


@declare(
    "findArtifactFromTask",
    "GET",
    "/task/<indexPath>/artifacts/<name>",
    "queue:get-artifact:<name>",
)
async def find_artifact_from_task(call: Call) -> Reply:
    url = call.service.artifact_url(call.params["indexPath"], call.params["name"])
    return see_other(call.service.root_url, url)
