"""The Index: tasks found by dotted names (index paths), with Taskcluster's
rules, and the listener that indexes a task when it completes.

An index path `a.b.c` is the name `c` in the namespace `a.b`. Indexing a
task there creates the namespaces `a` and `a.b` (or pushes back when they
expire); a task of a lower rank than the one already there is not indexed,
and one of the same or a higher rank replaces it. A task that completes is
indexed under every route of its definition that starts with `index.`, with
the rank, expiry and data of its `extra.index` (rank 0, the task's own
expiry and `{}` by default).
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from datetime import datetime, timedelta
from typing import Any

import taskcluster

from ..timestamps import iso, now, parse_time
from .auth import ANONYMOUS_SCOPES
from .errors import APIError
from .index_store import IndexStore
from .paging import offset_page
from .queue import QueueService
from .scopes import satisfies

LONGEST_PATH = 255  # the longest namespace an answer may name (its output schemas)

NAMESPACE = re.compile(r"^([a-zA-Z0-9_!~*'()%-]+\.)*[a-zA-Z0-9_!~*'()%-]+$")
ROUTE_PREFIX = "index."
# The index's own client (clientId, scopes), which signs its redirects to private artifacts.
INDEX_CLIENT = ("static/taskcluster/index", ["queue:get-artifact:*"])
SIGNED_SECONDS = 15 * 60
RANKS = range(-(2**31), 2**31)  # Taskcluster keeps ranks in a 32-bit integer column

log = logging.getLogger(__name__)


def split_path(path: str) -> tuple[str, str]:
    """(namespace, name) of an index path: `a.b.c` is (`a.b`, `c`), `c` is (``, `c`)."""
    namespace, _, name = path.rpartition(".")
    return namespace, name


def _joined(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent and name else parent + name


def _task_reply(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "namespace": _joined(task["namespace"], task["name"]),
        "taskId": task["taskId"],
        "rank": task["rank"],
        "data": task["data"],
        "expires": task["expires"],
    }


def _next_midnight(moment: datetime) -> datetime:
    """Midnight (UTC) at the end of `moment`'s day: namespaces expire on whole days."""
    return datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), moment.tzinfo)


class IndexService:
    """Every Index operation, on an `IndexStore`; `queue` is the sandbox's
    queue, whose completed tasks are indexed and whose artifacts
    findArtifactFromTask leads to; `token` is the index's own client's."""

    def __init__(self, store: IndexStore, queue: QueueService, token: str) -> None:
        self.store = store
        self.queue = queue
        self.settings = queue.settings
        self.root_url = queue.root_url
        credentials = {"clientId": INDEX_CLIENT[0], "accessToken": token}
        self._signer = taskcluster.Queue({"rootUrl": queue.root_url, "credentials": credentials})
        store.expire()
        queue.transition_listeners.append(self.task_transition)

    # -- the API -----------------------------------------------------------------

    def find_task(self, index_path: str) -> dict[str, Any]:
        """findTask: the task at an index path, unless it expired (404)."""
        return _task_reply(self._live_task(index_path))

    def _live_task(self, index_path: str) -> dict[str, Any]:
        task = self.store.task(*split_path(index_path))
        if task is None or task["expires"] <= iso(now()):
            raise APIError("ResourceNotFound", "Indexed task not found")
        return task

    def insert_task(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """insertTask: index a task at `path` unless a higher rank is there;
        answers with what the path then holds. A path longer than an answer
        may name is refused before anything is filed (Taskcluster files it,
        then fails its own answer with a 500)."""
        if len(path) > LONGEST_PATH:
            raise APIError(
                "InputError",
                "An index path is at most {{longest}} characters long; this one has {{length}}",
                longest=LONGEST_PATH,
                length=len(path),
            )
        expires = parse_time(payload["expires"])
        namespace, name = split_path(path)
        self.store.expire()
        task = {
            "namespace": namespace,
            "name": name,
            "rank": payload["rank"],
            "taskId": payload["taskId"],
            "data": payload["data"],
            "expires": iso(expires),
        }
        existing = self.store.task(namespace, name)
        if existing is not None and existing["rank"] > task["rank"]:
            return _task_reply(existing)
        self.store.put_task(task)
        self._ensure_namespace(namespace, expires)
        return _task_reply(task)

    def _ensure_namespace(self, namespace: str, expires: datetime) -> None:
        """Create `namespace` and its parents, or make them last until the
        midnight after `expires`; as in Taskcluster, each parent gets one more
        day than its child, and parents of a namespace that lasts long enough
        already are left as they are."""
        if not namespace:
            return
        expires = _next_midnight(expires)
        parent, name = split_path(namespace)
        current = self.store.namespace_expires(parent, name)
        if current is not None and current >= iso(expires):
            return
        self._ensure_namespace(parent, expires)
        self.store.put_namespace(parent, name, iso(expires))

    def delete_task(self, path: str) -> None:
        """deleteTask: forget the task at `path` (its namespaces stay)."""
        self.store.delete_task(*split_path(path))

    def list_tasks(self, namespace: str, token: str | None, limit: str | None) -> dict:
        """listTasks: the unexpired tasks right under `namespace`, by name."""
        return offset_page(
            "tasks",
            lambda offset, size: [
                _task_reply(t) for t in self.store.tasks(namespace, offset, size)
            ],
            token,
            limit,
        )

    def list_namespaces(self, namespace: str, token: str | None, limit: str | None) -> dict:
        """listNamespaces: the unexpired namespaces right under `namespace`, by name."""

        def rows_at(offset: int, size: int) -> list[dict[str, Any]]:
            return [
                {
                    "namespace": _joined(row["parent"], row["name"]),
                    "name": row["name"],
                    "expires": row["expires"],
                }
                for row in self.store.namespaces(namespace, offset, size)
            ]

        return offset_page("namespaces", rows_at, token, limit)

    def find_tasks_at_indexes(self, paths: list[str], token: str | None, limit: str | None) -> dict:
        """findTasksAtIndex: the tasks at the given index paths (expired ones
        too, as in Taskcluster), in the order asked; a path with no dot names
        none."""
        found = []
        for path in paths:
            namespace, name = split_path(path)
            task = self.store.task(namespace, name) if namespace and name else None
            if task is not None:
                found.append(_task_reply(task))
        return offset_page(
            "tasks", lambda offset, size: found[offset : offset + size], token, limit
        )

    def artifact_url(self, index_path: str, name: str) -> str:
        """findArtifactFromTask: where to find artifact `name` of the task at
        `index_path`. For a name anyone may read: the artifact's own URL when
        it has one, else the queue's getLatestArtifact; for any other name, a
        getLatestArtifact URL signed by the index for 15 minutes."""
        task_id = self._live_task(index_path)["taskId"]
        if not satisfies(ANONYMOUS_SCOPES, f"queue:get-artifact:{name}"):
            return self._signer.buildSignedUrl(
                "getLatestArtifact", task_id, name, expiration=SIGNED_SECONDS
            )
        try:
            artifact = self.queue.artifacts.resolve_artifact(task_id, None, name, _anything)
        except APIError:
            artifact = {"storageType": "error"}
        if artifact["storageType"] in ("s3", "reference"):
            return self.queue.artifacts.download_url(artifact)
        quoted = urllib.parse.quote(name, safe="")
        return f"{self.root_url}/api/queue/v1/task/{task_id}/artifacts/{quoted}"

    # -- indexing completed tasks ---------------------------------------------------

    def task_transition(self, event: str, status: dict[str, Any]) -> None:
        """The queue's transition listener: index a task that completed (and
        log, never raise, when that fails: the queue's change stands)."""
        if event != "task-completed":
            return
        try:
            self.index_completed(status["taskId"])
        except Exception:
            log.exception("indexing task %s failed", status["taskId"])

    def index_completed(self, task_id: str) -> None:
        """Index a completed task under its `index.` routes, with the options
        of its `extra.index`; a task whose options are not usable is skipped,
        as Taskcluster skips it."""
        definition = self.queue.store.task(task_id)["definition"]
        paths = [
            route[len(ROUTE_PREFIX) :]
            for route in definition.get("routes", [])
            if route.startswith(ROUTE_PREFIX) and NAMESPACE.fullmatch(route[len(ROUTE_PREFIX) :])
        ]
        options = definition.get("extra", {}).get("index")
        options = {
            "rank": 0,
            "expires": definition["expires"],
            "data": {},
            **(options if isinstance(options, dict) else {}),
        }
        rank, data = options["rank"], options["data"]
        if not _usable_rank(rank) or not isinstance(data, dict) or not paths:
            return
        try:
            expires = iso(parse_time(options["expires"]))
        except (TypeError, ValueError, AttributeError):
            return
        for path in paths:
            self.insert_task(
                path, {"taskId": task_id, "rank": int(rank), "data": data, "expires": expires}
            )


def _usable_rank(rank: object) -> bool:
    """A number that fits Taskcluster's integer rank column."""
    if isinstance(rank, bool) or not isinstance(rank, int | float):
        return False
    return float(rank).is_integer() and int(rank) in RANKS


def _anything(**_: Any) -> None:
    """An authorize that lets everything through: the index reads artifacts
    with its own client, which may read them all."""
