"""The sandbox's API references, in Taskcluster's api-reference-v0 format:
one document per service (Queue, Index, Object), built from the service's
entry table and served at /references/<service>/v1/api.json, where a
deployment serves its own."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from . import api, index_api, object_api
from .dispatch import ApiTable, Entry

API_REFERENCE_SCHEMA = "/schemas/common/api-reference-v0.json#"
# Entries every service has, filed under "Monitoring"; their words when the
# handler has no docstring of its own.
MONITORING = {
    "ping": ("Ping the service", "Answers at once, with how long the service has been up."),
    "lbheartbeat": ("Load balancer heartbeat", "Answers `{}` at once, while the service runs."),
    "version": ("Service version", "The version of the software serving the API."),
    "heartbeat": ("Heartbeat", "Answers `{}` while the service and what it relies on work."),
}
_OPTIONAL = re.compile(r"\{(/<[a-zA-Z]+>)\}")  # `{/<namespace>}`, written `/<namespace>`


def _filed(groups: Mapping[str, str]) -> dict[str, str]:
    """`{entry name: category}` from `{category: "name name ..."}`."""
    return {name: category for category, names in groups.items() for name in names.split()}


@dataclass(frozen=True)
class Service:
    """A service as its reference presents it: its `serviceName`, title and
    description, its entry table, each entry's category (Taskcluster's; an
    entry not listed gets `category`), the title and description of entries
    whose handler has no docstring, and the entries Taskcluster serves but
    keeps out of its references."""

    name: str
    title: str
    description: str
    table: ApiTable
    category: str
    categories: Mapping[str, str] = field(default_factory=dict)
    described: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    unpublished: frozenset[str] = frozenset()

    @property
    def path(self) -> str:
        """Where the reference is served."""
        return f"/references/{self.name}/v1/api.json"


QUEUE = Service(
    "queue",
    "Queue (tc-notebook sandbox)",
    """\
The sandbox's Queue: it accepts tasks, hands them to workers that claim them,
records how each run ends, and keeps the artifacts the runs upload. It follows
Taskcluster's Queue v1 for the entries listed here, on one machine, with its
data in SQLite.""",
    api.TABLE,
    "Tasks",
    _filed(
        {
            "Task Groups": "listTaskGroup getTaskGroup sealTaskGroup",
            "Task-Groups": "changeTaskGroupPriority",  # sic, in Taskcluster's reference
            "Worker Interface": "claimWork claimTask reclaimTask reportCompleted reportFailed "
            "reportException",
            "Artifacts": "createArtifact finishArtifact getArtifact getLatestArtifact "
            "listArtifacts listLatestArtifacts artifactInfo latestArtifactInfo artifact "
            "latestArtifact",
            "Worker Metadata": "listProvisioners getProvisioner pendingTasks taskQueueCounts "
            "listPendingTasks listClaimedTasks listWorkerTypes getWorkerType listTaskQueues "
            "getTaskQueue listWorkers getWorker quarantineWorker declareWorker",
        }
    ),
)
INDEX = Service(
    "index",
    "Index (tc-notebook sandbox)",
    """\
The sandbox's Index: it files taskIds under dotted namespaces, so that a task
can be found by a name chosen in advance rather than by its taskId, and its
artifacts fetched through that name. It follows Taskcluster's Index v1, with
its data in the sandbox's SQLite database. Tasks are filed by insertTask, and
under each route `index.<path>` of a task that completes.""",
    index_api.TABLE,
    "Index Service",
    described={
        "findTask": (
            "Find a task by index path",
            "The task filed under an index path (a namespace and a name), with its rank "
            "and expiry.",
        ),
        "findTasksAtIndex": (
            "Find the tasks at several index paths",
            "The tasks filed under each of the given index paths (those with none are "
            "left out), a page at a time.",
        ),
        "listNamespaces": (
            "List the namespaces under a namespace",
            "The namespaces one level below a namespace (the top level when it is left "
            "out), a page at a time.",
        ),
        "listTasks": (
            "List the tasks filed in a namespace",
            "The tasks filed directly in a namespace, a page at a time.",
        ),
        "insertTask": (
            "File a task under a namespace",
            "Files a taskId under an index path, with a rank, an expiry and data. A "
            "task already there is replaced only by one of equal or higher rank.",
        ),
        "deleteTask": ("Remove an index path", "Forgets the task filed under an index path."),
        "findArtifactFromTask": (
            "Fetch an artifact through an index path",
            "Redirects to an artifact of the latest run of the task filed under an index path.",
        ),
    },
    # The deprecated POST forms of the two lists are served, but Taskcluster
    # leaves them out of its reference (and so out of its clients).
    unpublished=frozenset({"listNamespacesPost", "listTasksPost"}),
)
OBJECT = Service(
    "object",
    "Object (tc-notebook sandbox)",
    """\
The sandbox's Object service: it keeps blobs of bytes by name, for the queue's
object artifacts and for any caller with the scopes. An upload is begun,
its bytes sent (inline, or to a signed URL of the sandbox's), then finished;
a finished object can be downloaded until it expires, and never changes.""",
    object_api.TABLE,
    "Objects",
    _filed({"Upload": "createUpload finishUpload", "Download": "startDownload download"}),
)
SERVICES = (QUEUE, INDEX, OBJECT)


def _title_and_description(service: Service, entry: Entry) -> tuple[str, str]:
    """The handler docstring's first line, and the rest; when the handler has
    no docstring, the service's words for it, else words made from the
    entry's name and route."""
    doc = inspect.getdoc(entry.handler)
    if doc:
        title, _, rest = doc.partition("\n")
        return title.strip(), rest.strip() or title.strip()
    known = service.described.get(entry.name) or MONITORING.get(entry.name)
    if known:
        return known
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", entry.name).lower()
    return words.capitalize(), f"The `{entry.name}` entry: `{entry.method} {entry.route}`."


def entry_reference(service: Service, entry: Entry) -> dict[str, Any]:
    """One entry of `service` as the reference describes it (an optional last
    parameter written as a plain one, as Taskcluster's references write it)."""
    title, description = _title_and_description(service, entry)
    category = "Monitoring" if entry.name in MONITORING else None
    described: dict[str, Any] = {
        "type": "function",
        "name": entry.name,
        "method": entry.method.lower(),
        "route": _OPTIONAL.sub(r"\1", entry.route),
        "args": list(entry.route_params),
        "query": list(entry.query),
        "title": title,
        "description": description,
        "category": category or service.categories.get(entry.name, service.category),
        "stability": entry.stability,
    }
    if entry.scopes is not None:
        described["scopes"] = entry.scopes
    for kind in ("input", "output"):
        if getattr(entry, kind):
            described[kind] = getattr(entry, kind)
    return described


def api_reference(service: Service = QUEUE) -> dict[str, Any]:
    """The whole reference document of `service`: its published entries, in
    the table's order."""
    return {
        "$schema": API_REFERENCE_SCHEMA,
        "apiVersion": "v1",
        "serviceName": service.name,
        "title": service.title,
        "description": service.description,
        "entries": [
            entry_reference(service, entry)
            for entry in service.table.entries
            if entry.name not in service.unpublished
        ],
    }


def add_routes(router: web.UrlDispatcher) -> None:
    """Serve each service's reference at its path."""
    for service in SERVICES:
        router.add_get(service.path, _server(json.dumps(api_reference(service))))


def _server(text: str) -> Any:
    """A handler that answers `text` as JSON."""

    async def serve_reference(request: web.Request) -> web.StreamResponse:
        return web.Response(text=text, content_type="application/json")

    return serve_reference
