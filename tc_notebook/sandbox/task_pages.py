"""The sandbox's task pages, at the web UI's addresses: `/tasks/<taskId>`,
`/tasks/<taskId>/runs/<runId>` and `/tasks/groups/<taskGroupId>`.

Like Taskcluster's web UI, they show what anyone may read of the queue:
a task's details, its state, its runs, a run's artifacts (linked through the
queue's download entries, so that public ones download as they are) and its
log. Each page reads the `QueueService` directly, as one more part of the
deployment. Every link is relative, so the pages work through a proxy.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from ..task_html import chip_html, runs_html, when
from ..terms import BACKING_LOG, LIVE_LOG, RESOLVED
from . import api, keys
from .blobs import is_public
from .dispatch import MAX_RUN_ID_DIGITS, SLUGID
from .errors import APIError
from .page_layout import (
    document,
    error_page,
    href,
    link,
    list_table,
    quoted_name,
    rows_table,
    up_to_root,
)
from .queue import QueueService

MAX_LOG_BYTES = 64 * 1024  # the tail of a log shown on a page
MAX_DEPENDENCIES = 100  # dependencies listed with their state
MAX_LISTED = "1000"  # artifacts, or tasks of a group, on one page
_SLUGID = re.compile(SLUGID)
_RUN_ID = re.compile(rf"[0-9]{{1,{MAX_RUN_ID_DIGITS}}}")
API = api.TABLE.prefix.lstrip("/")  # the queue's API, relative to the root


def _status(service: QueueService, task_id: str) -> dict[str, Any] | None:
    try:
        return service.tasks.status(task_id)["status"]
    except APIError:
        return None


def _bad_id(kind: str, value: str) -> web.Response:
    return error_page(
        400,
        f"Not a {kind}",
        f"“{value}” cannot be a {kind}: Taskcluster's ids are slugids, 22 characters long.",
    )


async def task_page(request: web.Request) -> web.Response:
    """`/tasks/<taskId>`, and `/tasks/<taskId>/runs/<runId>` for one run."""
    service: QueueService = request.app[keys.SERVICE]
    task_id = request.match_info["taskId"]
    if not _SLUGID.fullmatch(task_id):
        return _bad_id("taskId", task_id)
    raw_run = request.match_info.get("runId")
    if raw_run is not None and not _RUN_ID.fullmatch(raw_run):
        return error_page(400, "Not a run", f"“{raw_run}” cannot be a runId.")
    status = _status(service, task_id)
    if status is None:
        return error_page(404, "Task not found", f"The queue has no task {task_id}.")
    runs = status["runs"]
    run_id = int(raw_run) if raw_run is not None else len(runs) - 1 if runs else None
    if run_id is not None and run_id >= len(runs):
        return error_page(404, "Run not found", f"Task {task_id} has no run {run_id}.")
    definition = service.tasks.task(task_id)
    up = up_to_root(request)
    name = (definition.get("metadata") or {}).get("name") or "Task"
    selected = runs[run_id] if run_id is not None else None
    log, live = _log(service, task_id, selected, up) if selected else ("", False)
    body = "".join(
        (
            f"<nav>{_group_link(up, definition['taskGroupId'], 'Task group ')}</nav>",
            f"<h1>{html.escape(name)} {chip_html(status['state'])}</h1>",
            _details(service, definition, status, up),
            "<h2>Runs</h2>",
            runs_html(runs, run_id, lambda r: f"{up}tasks/{task_id}/runs/{r}"),
            _artifacts(service, task_id, selected, raw_run is None, up) if selected else "",
            log,
            _definition(definition, task_id, up),
        )
    )
    title = f"{name} · {status['state']}"
    return document(title, body, refresh=status["state"] not in RESOLVED, live=live)


def _details(
    service: QueueService, definition: dict[str, Any], status: dict[str, Any], up: str
) -> str:
    meta = definition.get("metadata") or {}
    source = str(meta.get("source", ""))
    shown_source = html.escape(source)
    if source.startswith(("https://", "http://")):
        shown_source = f'<a href="{shown_source}" rel="noopener noreferrer">{shown_source}</a>'
    group = definition["taskGroupId"]
    retries = f"{status['retriesLeft']} of {definition.get('retries')}"
    rows = [
        ("taskId", f"<code>{html.escape(status['taskId'])}</code>"),
        ("Description", html.escape(str(meta.get("description", "")))),
        ("Owner", html.escape(str(meta.get("owner", "")))),
        ("Source", shown_source),
        ("Task queue", f"<code>{html.escape(definition['taskQueueId'])}</code>"),
        ("Task group", _group_link(up, group)),
        ("Scheduler / project", html.escape(f"{status['schedulerId']} / {status['projectId']}")),
        ("Priority", html.escape(status["priority"])),
        ("Created", when(definition.get("created"))),
        ("Deadline", when(status["deadline"], relative=True)),
        ("Expires", when(status["expires"], relative=True)),
        ("Retries left", html.escape(retries)),
        ("Dependencies", _dependencies(service, definition, up)),
    ]
    return rows_table(rows, "details")


def _dependencies(service: QueueService, definition: dict[str, Any], up: str) -> str:
    dependencies = definition.get("dependencies") or []
    if not dependencies:
        return "none"
    items = []
    for dependency in dependencies[:MAX_DEPENDENCIES]:
        found = _status(service, dependency)
        chip = chip_html(found["state"] if found else "unknown")
        shown = link(up, f"tasks/{dependency}", f"<code>{html.escape(dependency)}</code>")
        items.append(f'<li class="dependency">{shown} {chip}</li>')
    more = len(dependencies) - MAX_DEPENDENCIES
    if more > 0:
        items.append(f"<li>and {more} more</li>")
    requires = html.escape(str(definition.get("requires", "all-completed")))
    return f'<ul>{"".join(items)}</ul><span class="muted">requires {requires}</span>'


def _group_link(up: str, group_id: str, before: str = "") -> str:
    inner = f"{before}<code>{html.escape(group_id)}</code>"
    return link(up, f"tasks/groups/{group_id}", inner, "group")


def _size(entry: dict[str, Any]) -> str:
    length = entry.get("contentLength")
    if length is None:
        return "—"
    return f"{length} B" if length < 1024 else f"{length / 1024:.1f} KiB"


def artifact_path(task_id: str, run_id: int | None, name: str) -> str:
    """The queue's download entry for an artifact, relative to the root:
    getLatestArtifact when `run_id` is None, else getArtifact."""
    run = f"runs/{run_id}/" if run_id is not None else ""
    return f"{API}/task/{task_id}/{run}artifacts/{quoted_name(name)}"


def _artifacts(
    service: QueueService, task_id: str, run: dict[str, Any], latest: bool, up: str
) -> str:
    run_id = run["runId"]
    listed = service.artifacts.list_artifacts(task_id, run_id, None, MAX_LISTED)
    heading = f"<h2>Artifacts of run {run_id}</h2>"
    if not listed["artifacts"]:
        return heading + '<p class="muted">No artifacts.</p>'
    rows: list[tuple[str, ...]] = []
    for entry in listed["artifacts"]:
        name = entry["name"]
        if is_public(name):
            target = artifact_path(task_id, None if latest else run_id, name)
            shown = link(up, target, html.escape(name), "artifact")
        else:
            shown = (
                f'<span class="artifact">{html.escape(name)}</span> '
                '<span class="note">private: its download needs credentials '
                "(a signed URL)</span>"
            )
        rows.append(
            (
                shown,
                html.escape(entry["storageType"]),
                html.escape(entry["contentType"]),
                _size(entry),
                when(entry["expires"]),
            )
        )
    more = "More artifacts: see listArtifacts." if "continuationToken" in listed else ""
    headings = ("name", "storage", "type", "size", "expires")
    return heading + list_table("artifacts", headings, rows, more)


def _log(service: QueueService, task_id: str, run: dict[str, Any], up: str) -> tuple[str, bool]:
    """The run's log: the tail of its live_backing.log once it has one; while
    it runs, its live log, streamed into the page (True) and linked."""
    run_id = run["runId"]
    heading = "<h2>Log</h2>"
    backing = service.store.artifact(task_id, run_id, BACKING_LOG)
    if backing is None or not backing["present"]:
        reference = service.store.artifact(task_id, run_id, LIVE_LOG)
        if run["state"] != "running" or reference is None:
            return heading + '<p class="muted">No log for this run (yet).</p>', False
        live = link(up, artifact_path(task_id, run_id, LIVE_LOG), "Its live log", "live-log")
        relayed = _on_the_sandbox(service, reference["details"].get("url", ""))
        if relayed is None:  # served by a worker elsewhere: a link only
            return f"{heading}<p>The run is running. {live}.</p>", False
        return (
            f"{heading}<p>The run is running. {live} streams below as the task writes "
            "it; once the run ends, the page shows the whole log.</p>"
            f'<pre class="log" data-live="{href(up, relayed)}">(waiting for the live log…)</pre>'
        ), True
    full = link(up, artifact_path(task_id, run_id, BACKING_LOG), BACKING_LOG, "full-log")
    stored = service.artifacts.stored_path(backing)
    text, size = _tail(stored) if stored is not None else (None, 0)
    if text is None:
        return f"{heading}<p>The run's log: {full}.</p>", False
    cut = f"the last {MAX_LOG_BYTES // 1024} KiB of {size} bytes; " if size > MAX_LOG_BYTES else ""
    return (
        f'{heading}<p class="muted">{cut}the whole log: {full}</p>'
        f'<pre class="log">{html.escape(text)}</pre>'
    ), False


def _on_the_sandbox(service: QueueService, url: str) -> str | None:
    """A URL on the sandbox as a path relative to its root (the live log's
    relay), else None. The page's script fetches it directly: through
    jupyter-server-proxy, a streamed request's redirect would not be rewritten."""
    root = service.root_url + "/"
    return url[len(root) :] if url.startswith(root) else None


def _tail(path: Path) -> tuple[str | None, int]:
    """The last MAX_LOG_BYTES of a run's backing log kept at `path` (from a
    line's start), and its whole size."""
    try:
        with open(path, "rb") as log:
            size = log.seek(0, 2)
            log.seek(max(size - MAX_LOG_BYTES, 0))
            data = log.read(MAX_LOG_BYTES)
    except OSError:
        return None, 0
    if size > MAX_LOG_BYTES:
        data = data.partition(b"\n")[2]
    return data.decode("utf-8", errors="replace"), size


def _definition(definition: dict[str, Any], task_id: str, up: str) -> str:
    """The task's definition as JSON, folded, with links to the API's answers."""
    api = f"{API}/task/{task_id}"
    text = json.dumps(definition, indent=2, ensure_ascii=False)
    return (
        "<h2>Definition</h2><details><summary>The task as the queue returns it "
        f'({link(up, api, "task")}, {link(up, api + "/status", "status")})</summary>'
        f"<pre>{html.escape(text)}</pre></details>"
    )


async def group_page(request: web.Request) -> web.Response:
    """`/tasks/groups/<taskGroupId>`: the group's tasks, each with its state."""
    service: QueueService = request.app[keys.SERVICE]
    group_id = request.match_info["taskGroupId"]
    if not _SLUGID.fullmatch(group_id):
        return _bad_id("taskGroupId", group_id)
    try:
        group = service.tasks.list_task_group(group_id, None, MAX_LISTED)
    except APIError:
        return error_page(404, "Task group not found", f"The queue has no task group {group_id}.")
    up = up_to_root(request)
    rows: list[tuple[str, ...]] = []
    counts: dict[str, int] = {}
    for item in group["tasks"]:
        status, definition = item["status"], item["task"]
        state = status["state"]
        counts[state] = counts.get(state, 0) + 1
        name = (definition.get("metadata") or {}).get("name") or "Task"
        rows.append(
            (
                chip_html(state),
                link(up, f"tasks/{status['taskId']}", html.escape(name), "task"),
                f"<code>{html.escape(status['taskId'])}</code>",
                f"<code>{html.escape(status['taskQueueId'])}</code>",
                str(len(status["runs"])),
            )
        )
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no tasks"
    more = "More tasks: see listTaskGroup." if "continuationToken" in group else ""
    headings = ("state", "name", "taskId", "task queue", "runs")
    body = (
        f"<nav>Task group</nav><h1><code>{html.escape(group_id)}</code></h1>"
        f'<p class="muted">{html.escape(summary)} · scheduler '
        f"{html.escape(group['schedulerId'])} · expires {when(group['expires'])} · "
        f'{link(up, f"{API}/task-group/{group_id}/list", "as JSON")}</p>'
        + list_table("tasks", headings, rows, more)
    )
    unresolved = any(state not in RESOLVED for state in counts)
    return document(f"Task group {group_id}", body, refresh=unresolved)


async def no_page(request: web.Request) -> web.Response:
    """Any other address under /tasks."""
    return error_page(404, "No such page", "There is no page at this address.")


def add_routes(router: web.UrlDispatcher) -> None:
    """Serve the task pages under `/tasks`."""
    router.add_get("/tasks/groups/{taskGroupId}", group_page)
    router.add_get("/tasks/{taskId}", task_page)
    router.add_get("/tasks/{taskId}/runs/{runId}", task_page)
    router.add_get(r"/tasks{tail:[\s\S]*}", no_page)
