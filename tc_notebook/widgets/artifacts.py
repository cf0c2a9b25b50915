"""`ArtifactList`: a task run's artifacts as the Taskcluster UI lists them,
with browser links, kernel-side downloads and inline previews.

Links are for the browser, so they go through `Connection.browser_url`
(jupyter-server-proxy on Binder). A private artifact's link carries no
credentials until it is clicked: the click asks the kernel for a signed URL
(`buildSignedUrl`, valid 15 minutes) and the browser opens that.
"""

from __future__ import annotations

import asyncio
import html
import json
import time
from pathlib import Path, PurePosixPath
from typing import Any

import aiohttp
import anywidget
import ipywidgets as widgets
import taskcluster.exceptions
from traitlets import Bool, Dict, Int, List, Unicode, observe

from ..connection import Connection
from . import polling

LIVE_LOG = "public/logs/live.log"
BACKING_LOG = "public/logs/live_backing.log"

COLLAPSED_ROWS = 10
TEXT_PREVIEW_BYTES = 64 * 1024
IMAGE_PREVIEW_BYTES = 2 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
COUNT_EVERY_BYTES = 1024 * 1024  # how often a download of unknown size says how far it got
PREVIEW_IDLE_SECONDS = 3.0  # a live log still being written: show what came so far
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)
PREVIEW_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=30)

ICONS = {
    "log": "📜",
    "json": "🧾",
    "image": "🖼️",
    "archive": "📦",
    "text": "📄",
    "generic": "📎",
    "error": "⚠️",
}
ARCHIVE_TYPES = {
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/x-tar",
    "application/x-gtar",
    "application/x-bzip2",
    "application/x-xz",
    "application/zstd",
    "application/x-zstd",
    "application/x-7z-compressed",
    "application/java-archive",
    "application/vnd.android.package-archive",
}
ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".jar", ".apk")
TEXT_TYPES = {
    "application/javascript",
    "application/x-javascript",
    "application/xml",
    "application/x-sh",
    "application/x-yaml",
    "application/yaml",
    "application/toml",
}
IMAGE_FORMATS = {"png", "jpeg", "gif", "webp", "svg+xml", "bmp"}

RECOVERABLE = (
    aiohttp.ClientError,
    asyncio.TimeoutError,
    OSError,
    taskcluster.exceptions.TaskclusterConnectionError,
)


# -- plain helpers ---------------------------------------------------------------


def sort_key(name: str) -> tuple[int, str]:
    """The Taskcluster UI's order: live.log, live_backing.log, public/*, the rest."""
    if name == LIVE_LOG:
        group = 0
    elif name == BACKING_LOG:
        group = 1
    elif name.startswith("public/"):
        group = 2
    else:
        group = 3
    return group, name


def is_public(name: str) -> bool:
    """Whether anyone may read the artifact (no signature needed)."""
    return name.startswith("public/")


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def artifact_kind(name: str, content_type: str | None, storage_type: str = "s3") -> str:
    """log, json, image, archive, text, generic or error: what the icon shows."""
    if storage_type == "error":
        return "error"
    mime, base = _mime(content_type), PurePosixPath(name).name.lower()
    if name in (LIVE_LOG, BACKING_LOG) or base.endswith(".log"):
        return "log"
    if mime == "application/json" or mime.endswith("+json") or base.endswith(".json"):
        return "json"
    if mime.startswith("image/"):
        return "image"
    if mime in ARCHIVE_TYPES or base.endswith(ARCHIVE_SUFFIXES):
        return "archive"
    if mime.startswith("text/") or mime in TEXT_TYPES or base.endswith(".txt"):
        return "text"
    return "generic"


def human_size(length: int | None) -> str:
    """`512 B`, `1.5 KiB`, `2.0 MiB`; empty when unknown."""
    if length is None:
        return ""
    if length < 1024:
        return f"{length} B"
    value = float(length)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}"
    return f"{length} B"  # pragma: no cover


def image_format(content_type: str | None) -> str | None:
    """The `ipywidgets.Image` format for an image type we can show, else None."""
    mime = _mime(content_type)
    if not mime.startswith("image/"):
        return None
    subtype = mime.split("/", 1)[1]
    subtype = "jpeg" if subtype == "jpg" else subtype
    return subtype if subtype in IMAGE_FORMATS else None


def previewable(entry: dict[str, Any]) -> bool:
    """Text, logs, JSON and common images have an inline preview."""
    kind = artifact_kind(entry["name"], entry.get("contentType"), entry["storageType"])
    if kind in ("text", "log", "json"):
        return True
    return kind == "image" and image_format(entry.get("contentType")) is not None


def plural(count: int, noun: str) -> str:
    """`1 artifact`, `2 artifacts`, `0 artifacts`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _first_line(failure: Exception) -> str:
    return str(failure).strip().split("\n")[0]


class ArtifactError(Exception):
    """An artifact that cannot be fetched (error artifact, HTTP failure)."""


# -- the link table (browser side) -------------------------------------------------

_ESM = r"""
function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "tc-artifacts";
  el.appendChild(root);
  // Signing requests in flight from this view: id -> {win, link, save, basename}.
  const pending = new Map();
  let counter = 0;

  function node(tag, className, text) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined && text !== null) element.textContent = text;
    return element;
  }

  // A private artifact: the kernel signs a URL (valid 15 minutes) at the click,
  // never before. "open" shows it in a new tab, "save" downloads it.
  function signOnClick(row, link, mode) {
    return (event) => {
      event.preventDefault();
      let win = null;
      if (mode === "open") {
        // Open the tab now, while the click's user gesture lasts: a tab opened
        // later, when the kernel answers, would meet the popup blocker.
        win = window.open("", "_blank");
        if (win) {
          try {
            win.opener = null;
            win.document.title = row.name;
            win.document.body.textContent = "Signing " + row.name + "…";
          } catch (error) {
            /* not ours to write into: the location is still set below */
          }
        }
      }
      const id = Date.now().toString(36) + "-" + ++counter;
      pending.set(id, { win, link, mode, basename: row.basename });
      link.classList.add("tc-signing");
      model.send({ type: "sign", name: row.name, runId: row.runId, id });
    };
  }

  function save(url, basename) {
    const anchor = node("a");
    anchor.href = url;
    anchor.download = basename;
    anchor.target = "_blank"; // if the browser will not download it, a new tab, never this one
    anchor.rel = "noopener";
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
  }

  function onMessage(msg) {
    if (!msg || (msg.type !== "signed" && msg.type !== "sign-error")) return;
    const entry = pending.get(msg.id);
    if (!entry) return; // another view's click
    pending.delete(msg.id);
    entry.link.classList.remove("tc-signing");
    if (msg.type === "signed") {
      const url = new URL(msg.url, document.baseURI).href;
      if (entry.mode === "save") save(url, entry.basename);
      else if (entry.win && !entry.win.closed) entry.win.location.href = url;
      else window.open(url, "_blank");
    } else {
      if (entry.win && !entry.win.closed) entry.win.close();
      entry.link.title = msg.message || "could not sign this link";
      entry.link.classList.add("tc-failed");
    }
  }

  function action(label, title, type, row) {
    const button = node("button", "tc-action tc-" + type, label);
    button.title = title;
    button.addEventListener("click", () => model.send({ type, name: row.name }));
    return button;
  }

  function drawRow(row) {
    const tr = node("tr", "tc-artifact tc-kind-" + row.kind);
    const icon = node("td", "tc-icon", row.icon);
    icon.title = row.kind;
    const name = node("td", "tc-name");
    const actions = node("td", "tc-actions");
    if (row.error) {
      name.append(node("span", "tc-plain", row.name), node("span", "tc-error", row.error));
    } else {
      // Like the Taskcluster UI: the name opens the artifact in a new tab.
      const link = node("a", "tc-link", row.name);
      link.target = "_blank";
      link.rel = "noopener";
      if (row.href) {
        link.href = row.href;
      } else {
        link.href = "#";
        link.title = "private: the kernel signs a 15-minute link when you click";
        link.addEventListener("click", signOnClick(row, link, "open"));
        name.append(node("span", "tc-lock", "🔒"));
      }
      name.append(link);
      if (row.previewable) {
        const title = "show the start of " + row.name + " below the list";
        actions.append(action("preview", title, "preview", row));
      }
      actions.append(
        action("download", "save " + row.basename + " on the kernel's machine", "download", row)
      );
    }
    tr.append(
      icon,
      name,
      node("td", "tc-size", row.size),
      node("td", "tc-type", row.contentType),
      actions
    );
    return tr;
  }

  function drawNotice(notice) {
    const box = node("div", "tc-notice tc-tone-" + (notice.tone || "info"));
    box.append(node("span", "tc-notice-text", notice.text));
    if (notice.path) box.append(" ", node("code", "tc-path", notice.path));
    if (notice.offer) {
      const link = node("a", "tc-save", "download it in your browser too");
      link.title = "save " + notice.basename + " on this computer";
      if (notice.href) {
        link.href = notice.href;
        link.download = notice.basename;
        link.target = "_blank";
        link.rel = "noopener";
      } else {
        const row = { name: notice.name, runId: notice.runId, basename: notice.basename };
        link.href = "#";
        link.addEventListener("click", signOnClick(row, link, "save"));
      }
      box.append(" · ", link);
    }
    return box;
  }

  function draw() {
    root.replaceChildren();
    const message = model.get("message");
    if (message) root.append(node("div", "tc-artifacts-message", message));
    const rows = model.get("rows") || [];
    const limit = model.get("limit");
    const expanded = model.get("expanded");
    const shown = expanded || rows.length <= limit ? rows : rows.slice(0, limit);
    if (shown.length) {
      const table = node("table", "tc-artifacts-table");
      for (const row of shown) table.append(drawRow(row));
      root.append(table);
    }
    if (rows.length > limit) {
      const label = expanded ? "show fewer" : "show all (" + rows.length + ")";
      const toggle = node("button", "tc-artifacts-toggle", label);
      toggle.addEventListener("click", () => {
        model.set("expanded", !model.get("expanded"));
        model.save_changes();
      });
      root.append(toggle);
    }
    const notice = model.get("notice") || {};
    if (notice.text) root.append(drawNotice(notice));
  }

  const events = ["rows", "limit", "expanded", "message", "notice"].map((n) => "change:" + n);
  model.on("msg:custom", onMessage);
  for (const event of events) model.on(event, draw);
  draw();
  return () => {
    model.off("msg:custom", onMessage);
    for (const event of events) model.off(event, draw);
  };
}
export default { render };
"""

_CSS = """
.tc-artifacts { font: 13px/1.5 sans-serif; }
.tc-artifacts-table { border-collapse: collapse; }
.tc-artifacts-table td { padding: 1px 8px 1px 0; vertical-align: top; }
.tc-artifacts .tc-size { text-align: right; white-space: nowrap; color: #555; }
.tc-artifacts .tc-type { color: #777; font-size: 12px; }
.tc-artifacts .tc-error { color: #c62828; margin-left: 8px; }
.tc-artifacts .tc-lock { font-size: 11px; margin-right: 3px; }
.tc-artifacts .tc-signing { opacity: 0.5; cursor: progress; }
.tc-artifacts .tc-failed { color: #c62828; text-decoration: line-through; }
.tc-artifacts a { color: var(--jp-content-link-color, #1976d2); text-decoration: none; }
.tc-artifacts a:hover { text-decoration: underline; }
.tc-artifacts .tc-actions { white-space: nowrap; }
.tc-artifacts .tc-action {
  font-size: 12px; cursor: pointer; margin-right: 4px; padding: 0 6px;
  border: 1px solid #bdbdbd; border-radius: 3px; background: #f5f5f5; color: #333;
}
.tc-artifacts .tc-action:hover { background: #e0e0e0; }
.tc-artifacts-toggle { margin-top: 4px; cursor: pointer; }
.tc-artifacts-message { color: #b26a00; margin: 4px 0; }
.tc-artifacts .tc-notice { margin: 6px 0 2px; }
.tc-artifacts .tc-path { overflow-wrap: anywhere; word-break: break-all; }
.tc-artifacts .tc-tone-done .tc-notice-text { color: #2e7d32; }
.tc-artifacts .tc-tone-error { color: #c62828; }
"""

NOTICE_COLOURS = {"info": "#444", "done": "#2e7d32", "error": "#c62828"}


class ArtifactTable(anywidget.AnyWidget):
    """The rows of an `ArtifactList`. Public rows carry their link; private
    rows carry none and ask the kernel (`{type: "sign"}`) when clicked. Each
    row's actions send `{type: "preview"}` or `{type: "download"}`."""

    _esm = _ESM
    _css = _CSS
    rows = List(help="One dict per artifact, in display order.").tag(sync=True)
    limit = Int(COLLAPSED_ROWS, help="Rows shown while collapsed.").tag(sync=True)
    expanded = Bool(False, help="Show every row.").tag(sync=True)
    message = Unicode("", help="A note above the rows (errors, no runs).").tag(sync=True)
    notice = Dict(
        help="Under the rows: the last download or preview (tone, text, path, an offer "
        "to download in the browser: name, runId, basename, href)."
    ).tag(sync=True)


# -- the widget ---------------------------------------------------------------------


class ArtifactList(widgets.VBox):
    """The artifacts of a task run, sorted as the Taskcluster UI sorts them.
    Each name opens the artifact in a new tab, as in the Taskcluster UI (a
    private one is signed when clicked); each row can be previewed below the
    list (text, logs, JSON, images) or downloaded to the kernel's machine,
    then to the browser. A run selector picks earlier runs (`choose_run=False`
    hides it, for a `TaskView` that has its own).

    >>> artifacts = ArtifactList(conn, task_id)       # latest run
    >>> await artifacts.refresh()                     # list again
    >>> path = await artifacts.download("public/passwd.txt")
    >>> text = await artifacts.preview("public/passwd.txt")
    """

    task_id = Unicode(help="The task whose artifacts are listed.")
    run_id = Int(None, allow_none=True, help="The run listed; None until the latest is known.")
    state = Unicode("", help="The task's state at the last refresh.")
    runs = List(help="[{runId, state}] of the task at the last refresh.")
    artifacts = List(help="Artifacts of the run: name, storageType, contentType, ..., url.")
    error = Unicode("", help="Why the last refresh found nothing (missing task, ...).")
    loading = Bool(False, help="True while a listing is in flight.")
    last_signed = Dict(help="The last signed URL handed out: name, runId, url, signed, expires.")
    signed_urls = List(help="Every signed URL handed out, oldest first.")
    notice = Unicode("", help="The last download's or preview's outcome, as text.")
    downloading = Bool(False, help="True while a download (with its progress bar) runs.")

    def __init__(
        self,
        conn: Connection,
        task_id: str,
        run_id: int | None = None,
        *,
        page_size: int | None = None,
        choose_run: bool = True,
        **kwargs: Any,
    ) -> None:
        self.conn = conn
        self.page_size = page_size
        self.choose_run = choose_run
        self._quiet = True
        self._follow_latest = run_id is None
        self._tasks = polling.Tasks()
        self._loading: asyncio.Task | None = None
        self._download_task: asyncio.Task | None = None
        self._preview_task: asyncio.Task | None = None
        super().__init__(**kwargs)
        self.task_id = task_id
        self.run_id = run_id

        self.heading = widgets.HTML()
        self.run_selector = widgets.Dropdown(
            options=[], description="run", layout=widgets.Layout(width="220px", display="none")
        )
        self.refresh_button = widgets.Button(
            description="refresh", icon="refresh", tooltip="list the artifacts again"
        )
        self.table = ArtifactTable()
        # Shown only while a download runs (the notice under the rows says the rest).
        self.progress = widgets.FloatProgress(
            value=0.0, min=0.0, max=100.0, layout=widgets.Layout(width="240px", display="none")
        )
        self.preview_box = widgets.VBox()

        self.run_selector.observe(self._on_select_run, names="value")
        self.refresh_button.on_click(lambda _button: self._tasks.spawn(self.refresh()))
        self.table.on_msg(self._on_message)
        self.children = [
            widgets.HBox([self.heading, self.run_selector, self.refresh_button]),
            self.table,
            self.progress,
            self.preview_box,
        ]
        self._quiet = False
        self._render()
        self._loading = self._tasks.spawn(self._load())

    # -- plain values ------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """Artifact names in display order."""
        return [entry["name"] for entry in self.artifacts]

    @property
    def fetchable_names(self) -> list[str]:
        """The names that can be previewed or downloaded (not error artifacts)."""
        return [e["name"] for e in self.artifacts if e["storageType"] != "error"]

    @property
    def expanded(self) -> bool:
        """Whether every row shows (else the first 10)."""
        return self.table.expanded

    @expanded.setter
    def expanded(self, value: bool) -> None:
        self.table.expanded = bool(value)

    @property
    def visible_names(self) -> list[str]:
        """The names the table shows now (collapsed to 10 unless expanded)."""
        if self.expanded:
            return self.names
        return self.names[: self.table.limit]

    def entry(self, name: str) -> dict[str, Any]:
        """The listed artifact called `name` (KeyError if it is not listed)."""
        for entry in self.artifacts:
            if entry["name"] == name:
                return entry
        raise KeyError(f"no artifact {name!r} in run {self.run_id} of task {self.task_id}")

    def api_url(self, name: str, run_id: int | None = None) -> str:
        """The unsigned getArtifact URL (for the kernel; browsers use `browser_url`)."""
        run = self.run_id if run_id is None else run_id
        return self.conn.queue.buildUrl("getArtifact", self.task_id, run, name)

    # -- listing -----------------------------------------------------------------

    async def refresh(self) -> list[dict[str, Any]]:
        """List the run's artifacts again (the latest run, unless one was chosen)."""
        task = self._tasks.spawn(self._load())
        self._loading = task
        return await asyncio.shield(task)

    async def _load(self) -> list[dict[str, Any]]:
        me = asyncio.current_task()
        self.loading = True
        self.refresh_button.disabled = True
        self.table.message = self._message()
        try:
            try:
                found = await self._fetch()
            except taskcluster.exceptions.TaskclusterRestFailure as failure:
                found = self._failure(failure)
            except RECOVERABLE as failure:
                found = f"cannot reach the queue at {self.conn.root_url}: {failure!r}"
            newer = self._loading
            if newer is not None and newer is not me:
                return await asyncio.shield(newer)  # a later listing wins, even if done
            if isinstance(found, str):
                self.error, self.artifacts = found, []
            else:
                self._apply(*found)
        finally:
            if self._loading is me or self._loading is None or self._loading.done():
                self.loading = False
                self.refresh_button.disabled = False
        self._render()
        return list(self.artifacts)

    def _apply(
        self, status: dict[str, Any], run_id: int | None, artifacts: list[dict[str, Any]]
    ) -> None:
        self.error = ""
        self._quiet = True
        try:
            self.state = status["state"]
            self.runs = [{"runId": r["runId"], "state": r["state"]} for r in status["runs"]]
            self.run_id = run_id
            self._sync_selector()
        finally:
            self._quiet = False
        self.artifacts = artifacts

    def _failure(self, failure: taskcluster.exceptions.TaskclusterRestFailure) -> str:
        code = failure.status_code
        if code == 404 and self.run_id is not None and not self._follow_latest:
            return f"Run {self.run_id} of task {self.task_id} was not found."
        if code == 404:
            return f"Task {self.task_id} was not found on {self.conn.root_url}."
        if code in (401, 403):
            return f"Not allowed to list these artifacts: {_first_line(failure)}"
        return f"The queue answered {code}: {_first_line(failure)}"

    async def _fetch(self) -> tuple[dict[str, Any], int | None, list[dict[str, Any]]] | str:
        queue = self.conn.aio_queue(polling.session(), maxRetries=2)
        status = (await queue.status(self.task_id))["status"]
        runs = status["runs"]
        if not runs:
            return status, None, []
        latest = runs[-1]["runId"]
        run_id = latest if self._follow_latest or self.run_id is None else self.run_id
        if run_id > latest or run_id < 0:
            return f"Task {self.task_id} has no run {run_id} (runs 0 to {latest})."
        listed: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            query: dict[str, Any] = {}
            if token:
                query["continuationToken"] = token
            if self.page_size:
                query["limit"] = self.page_size
            page = await queue.listArtifacts(self.task_id, run_id, query=query)
            listed.extend(page["artifacts"])
            token = page.get("continuationToken")
            if not token:
                break
        listed.sort(key=lambda item: sort_key(item["name"]))
        errors = [item["name"] for item in listed if item["storageType"] == "error"]
        details = await asyncio.gather(*(self._error_details(queue, run_id, n) for n in errors))
        reasons = dict(zip(errors, details, strict=True))
        artifacts = []
        for item in listed:
            entry = {
                "name": item["name"],
                "storageType": item["storageType"],
                "contentType": item.get("contentType", ""),
                "contentLength": item.get("contentLength"),
                "expires": item.get("expires"),
                "url": self.api_url(item["name"], run_id),
            }
            if item["name"] in reasons:
                entry["reason"], entry["message"] = reasons[item["name"]]
            artifacts.append(entry)
        return status, run_id, artifacts

    async def _error_details(self, queue: Any, run_id: int, name: str) -> tuple[str, str]:
        """(reason, message) of an error artifact; listArtifacts leaves them out."""
        try:
            body = await queue.artifact(self.task_id, run_id, name)
        except (taskcluster.exceptions.TaskclusterRestFailure, *RECOVERABLE):
            return "error", ""
        return body.get("reason", "error"), body.get("message", "")

    # -- runs --------------------------------------------------------------------

    @observe("run_id")
    def _run_changed(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        latest = self.runs[-1]["runId"] if self.runs else None
        self._follow_latest = change["new"] is None or change["new"] == latest
        self._quiet = True
        try:
            self._sync_selector()
        finally:
            self._quiet = False
        self._tasks.spawn(self.refresh())

    def _on_select_run(self, change: dict[str, Any]) -> None:
        if not self._quiet and change["new"] is not None:
            self.run_id = change["new"]

    def _sync_selector(self) -> None:
        options = [(f"run {r['runId']} · {r['state']}", r["runId"]) for r in self.runs]
        if list(self.run_selector.options) != options:
            self.run_selector.options = options
        ids = [r["runId"] for r in self.runs]
        self.run_selector.value = self.run_id if self.run_id in ids else None
        self.run_selector.layout.display = "" if options and self.choose_run else "none"

    # -- browser links -----------------------------------------------------------

    def _row(self, entry: dict[str, Any]) -> dict[str, Any]:
        name = entry["name"]
        kind = artifact_kind(name, entry["contentType"], entry["storageType"])
        row = {
            "name": name,
            "basename": PurePosixPath(name).name,
            "runId": self.run_id,
            "kind": kind,
            "icon": ICONS[kind],
            "size": human_size(entry["contentLength"]),
            "contentType": entry["contentType"] if kind != "error" else "",
            "href": "",
            "private": not is_public(name),
            "previewable": previewable(entry),
            "error": "",
        }
        if kind == "error":
            row["error"] = entry.get("reason") or "error"
            if entry.get("message"):
                row["error"] += f": {entry['message']}"
        elif is_public(name):
            # Public links need no signature: a plain href, fixed at render time.
            row["href"] = self.conn.browser_url(entry["url"])
        return row

    def sign(self, name: str, run_id: int | None = None) -> str:
        """A browser URL for `name`, signed now (valid 15 minutes) when private.
        Recorded in `last_signed` and `signed_urls`."""
        run = self.run_id if run_id is None else run_id
        if is_public(name) or not self.conn.credentials:
            return self.conn.browser_url(self.api_url(name, run))
        signed_at = time.time()
        url = self.conn.queue.buildSignedUrl("getArtifact", self.task_id, run, name)
        url = self.conn.browser_url(url)
        record = {
            "name": name,
            "runId": run,
            "url": url,
            "signed": signed_at,
            "expires": signed_at + self.conn.queue.options["signedUrlExpiration"],
        }
        self.last_signed = record
        self.signed_urls = [*self.signed_urls, record]
        return url

    def _on_message(self, _widget: Any, content: dict[str, Any], _buffers: Any = None) -> None:
        """Messages from the table's JavaScript: sign, preview, download."""
        kind = content.get("type") if isinstance(content, dict) else None
        name = content.get("name", "") if kind else ""
        if kind == "sign":
            reply = {"name": name, "id": content.get("id")}
            run = content.get("runId")
            run = self.run_id if run is None else run
            if run != self.run_id or name not in self.names:
                reply.update(type="sign-error", message=f"{name} is not listed in run {run}")
            else:
                try:
                    reply.update(type="signed", url=self.sign(name, run))
                except taskcluster.exceptions.TaskclusterAuthFailure as failure:
                    reply.update(type="sign-error", message=_first_line(failure))
            self.table.send(reply)
        elif kind == "preview":
            self._start_preview(name)
        elif kind == "download":
            self._start_download(name)

    def _handle_custom_msg(self, content: Any, buffers: Any) -> None:
        # The table's view talks to the table; accept the same messages here.
        self._on_message(self, content, buffers)

    # -- fetching through the kernel ---------------------------------------------

    def _fetch_url(self, name: str) -> str:
        """The URL the kernel fetches: signed for private artifacts."""
        if is_public(name) or not self.conn.credentials:
            return self.api_url(name)
        return self.conn.queue.buildSignedUrl("getArtifact", self.task_id, self.run_id, name)

    async def _fetchable(self, name: str) -> dict[str, Any]:
        """The listed artifact `name` (listing first if needed); not an error artifact."""
        if not self.artifacts:
            await self.refresh()
        try:
            entry = self.entry(name)
        except KeyError as missing:
            raise ArtifactError(missing.args[0]) from None
        if entry["storageType"] == "error":
            reason = entry.get("reason") or "error"
            raise ArtifactError(f"{name} is an error artifact ({reason}): {entry.get('message')}")
        return entry

    @staticmethod
    async def _raise_for(response: aiohttp.ClientResponse, name: str) -> None:
        if response.status < 400:
            return
        body = await response.content.read(4096)
        try:
            message = json.loads(body).get("message", "")
        except (ValueError, AttributeError):
            message = body.decode("utf-8", "replace")
        message = message.strip().split("\n")[0]
        raise ArtifactError(f"fetching {name} failed with HTTP {response.status}: {message}")

    async def download(self, name: str, path: str | Path | None = None) -> Path:
        """Stream the artifact to `path` on the kernel's machine (a file or a
        directory; default: the kernel's working directory, under the
        artifact's base name). The notice under the list says where it went
        and offers the same file as a browser download."""
        try:
            entry = await self._fetchable(name)
        except ArtifactError as failure:
            self._notify("error", _first_line(failure))
            raise
        target = Path(path).expanduser() if path is not None else Path.cwd()
        if target.is_dir():
            target = target / PurePosixPath(name).name
        target = target.resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        self.progress.value, self.progress.bar_style = 0.0, ""
        self.downloading = True
        self._notify("info", f"Downloading {name}…")
        received = 0
        try:
            async with polling.session().get(
                self._fetch_url(name), timeout=DOWNLOAD_TIMEOUT
            ) as response:
                await self._raise_for(response, name)
                total = response.content_length
                if total is None:
                    total = entry.get("contentLength")
                if not total:  # no bar that would stay empty: the notice counts the bytes
                    self.progress.layout.display = "none"
                said = 0
                with open(partial, "wb") as out:
                    async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                        out.write(chunk)
                        received += len(chunk)
                        if total:
                            percent = min(100.0, 100.0 * received / total)
                            if percent - self.progress.value >= 1 or percent == 100.0:
                                self.progress.value = percent
                        elif received - said >= COUNT_EVERY_BYTES:
                            said = received
                            self._notify("info", f"Downloading {name}: {human_size(received)}…")
            partial.replace(target)
        except BaseException as failure:
            partial.unlink(missing_ok=True)
            self.progress.bar_style = "danger"
            if isinstance(failure, asyncio.CancelledError):
                self._notify("error", f"The download of {name} was stopped.")
            else:
                self._notify("error", f"{name}: {_first_line(failure) or type(failure).__name__}")
            raise
        finally:
            self.downloading = False
        self.progress.value, self.progress.bar_style = 100.0, "success"
        self._notify(
            "done",
            f"Saved {name} ({human_size(received)}) on the kernel's machine as",
            path=str(target),
            offer=name,
        )
        return target

    @observe("downloading")
    def _show_progress(self, change: dict[str, Any]) -> None:
        self.progress.layout.display = None if change["new"] else "none"

    def _notify(self, tone: str, text: str, path: str = "", offer: str = "") -> None:
        """Say under the rows how a download or preview went; `offer` adds a
        link that downloads that artifact in the browser."""
        notice: dict[str, Any] = {"tone": tone, "text": text, "path": path}
        if offer:
            notice.update(
                offer=True,
                name=offer,
                runId=self.run_id,
                basename=PurePosixPath(offer).name,
                # Public: a plain href; private: signed by the kernel at the click.
                href=self.conn.browser_url(self.api_url(offer)) if is_public(offer) else "",
            )
        self.table.notice = notice
        self.notice = f"{text} {path}".strip()

    def _start_download(self, name: str) -> None:
        if self._download_task is not None and not self._download_task.done():
            self._notify("info", "A download is already running; wait for it to finish.")
            return
        if name not in self.fetchable_names:
            self._notify("error", f"{name} cannot be downloaded from run {self.run_id}.")
            return
        self._download_task = self._tasks.spawn(self._quietly(self.download, name))

    async def _quietly(self, work: Any, *args: Any) -> Any:
        """`await work(*args)` for a row's action; failures show in the notice,
        not as tracebacks. (The coroutine starts here: a task cancelled before
        it runs leaves none unawaited.)"""
        try:
            return await work(*args)
        except (ArtifactError, KeyError, OSError, *RECOVERABLE) as failure:
            text = failure.args[0] if isinstance(failure, KeyError) else _first_line(failure)
            self._notify("error", text or type(failure).__name__)
            return None

    async def _read_head(self, name: str, limit: int) -> tuple[bytes, bool, bool]:
        """(up to `limit` bytes, whether there was more, whether it was still streaming)."""
        chunks: list[bytes] = []
        size, more, streaming = 0, False, False
        async with polling.session().get(
            self._fetch_url(name), timeout=PREVIEW_TIMEOUT
        ) as response:
            await self._raise_for(response, name)
            while size <= limit:
                try:
                    chunk = await asyncio.wait_for(
                        response.content.read(limit + 1 - size), PREVIEW_IDLE_SECONDS
                    )
                except asyncio.TimeoutError:
                    streaming = True
                    break
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            data, more = data[:limit], True
        return data, more, streaming

    async def preview(self, name: str) -> str | bytes | None:
        """Show the start of a text, log or JSON artifact (64 KiB at most,
        JSON pretty-printed) or an image (2 MiB at most) under the list.
        Returns the text or image bytes shown, None when there is no preview."""
        entry = await self._fetchable(name)
        content_type = entry["contentType"]
        kind = artifact_kind(name, content_type, entry["storageType"])
        fmt = image_format(content_type)
        title = f"<b>{html.escape(name)}</b>"
        if kind == "image" and fmt:
            length = entry.get("contentLength")
            if length is not None and length > IMAGE_PREVIEW_BYTES:
                self._show_preview(f"{title}: {human_size(length)} is too large to preview")
                return None
            data, more, _ = await self._read_head(name, IMAGE_PREVIEW_BYTES)
            if more:
                self._show_preview(f"{title}: larger than {human_size(IMAGE_PREVIEW_BYTES)}")
                return None
            image = widgets.Image(value=data, format=fmt, layout=widgets.Layout(max_width="100%"))
            self._show_preview(title, image)
            return data
        if kind not in ("text", "log", "json"):
            self._show_preview(f"{title}: no preview for {html.escape(content_type or kind)}")
            return None
        data, more, streaming = await self._read_head(name, TEXT_PREVIEW_BYTES)
        text = data.decode("utf-8", "replace")
        if kind == "json" and not more and not streaming:
            try:
                text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            except ValueError:
                pass
        note = ""
        if more:
            note = f" (first {human_size(TEXT_PREVIEW_BYTES)})"
        elif streaming:
            note = " (still being written)"
        body = widgets.HTML(
            "<pre style='max-height:24em;overflow:auto;margin:0;font-size:12px;"
            f"background:#f7f7f7;padding:4px'>{html.escape(text)}</pre>"
        )
        self._show_preview(title + html.escape(note), body)
        return text

    def _show_preview(self, heading: str, body: widgets.Widget | None = None) -> None:
        polling.close_widgets(*self.preview_box.children)  # the previous preview's widgets
        self.preview_box.children = [widgets.HTML(heading), *([body] if body else [])]

    def _start_preview(self, name: str) -> None:
        if name not in self.fetchable_names:
            self._notify("error", f"{name} cannot be previewed from run {self.run_id}.")
            return
        if self._preview_task is not None and not self._preview_task.done():
            self._preview_task.cancel()
        self._preview_task = self._tasks.spawn(self._quietly(self.preview, name))

    # -- stopping ----------------------------------------------------------------

    def stop(self) -> None:
        """Stop listings, downloads and previews under way."""
        self._tasks.cancel()

    def close(self) -> None:
        """Stop what is under way and remove the widget and its parts from the page."""
        if self.comm is not None:  # once (ipywidgets' __del__ closes again)
            self.stop()
            polling.close_widgets(*self.children)
        super().close()

    # -- rendering ---------------------------------------------------------------

    def _heading(self) -> str:
        parts = [f"task <code>{html.escape(self.task_id)}</code>"]
        if self.run_id is not None:
            parts.append(f"run {self.run_id}")
        if self.state:
            parts.append(html.escape(self.state))
        if self.artifacts:
            parts.append(plural(len(self.artifacts), "artifact"))
        return "<b>Artifacts</b> · " + " · ".join(parts)

    def _message(self) -> str:
        if self.error:
            return self.error
        if self.loading and not self.artifacts:
            return "listing…"
        if self.state and not self.runs:
            return f"Task {self.task_id} has no runs yet ({self.state})."
        if self.runs and not self.artifacts:
            return f"Run {self.run_id} has no artifacts yet."
        return ""

    def _render(self) -> None:
        self.heading.value = self._heading()
        self.table.rows = [self._row(entry) for entry in self.artifacts]
        self.table.message = self._message()

    def _notice_html(self) -> str:
        notice = self.table.notice
        if not notice.get("text"):
            return ""
        colour = NOTICE_COLOURS.get(notice.get("tone", "info"), NOTICE_COLOURS["info"])
        text = f"<span style='color:{colour}'>{html.escape(notice['text'])}</span>"
        if notice.get("path"):
            text += f" <code style='word-break:break-all'>{html.escape(notice['path'])}</code>"
        if notice.get("href"):
            text += (
                f" · <a href='{html.escape(notice['href'])}' download='"
                f"{html.escape(notice['basename'])}'>download it in your browser too</a>"
            )
        return f"<div class='tc-notice'>{text}</div>"

    def to_html(self) -> str:
        """A static table of the artifacts (public names link to them, opening a new tab)."""
        head = f"<div>{self._heading()}</div>"
        message = self._message()
        if message:
            head += f"<div style='color:#b26a00'>{html.escape(message)}</div>"
        rows = []
        for entry in self.artifacts:
            row = self._row(entry)
            name = html.escape(row["name"])
            if row["href"]:
                href = html.escape(row["href"])
                name = f"<a href='{href}' target='_blank' rel='noopener'>{name}</a>"
            elif row["private"] and not row["error"]:
                name = f"🔒 {name} <small>(private: signed by a live kernel on click)</small>"
            if row["error"]:
                name += f" <span style='color:#c62828'>{html.escape(row['error'])}</span>"
            rows.append(
                f"<tr><td title='{row['kind']}'>{row['icon']}</td><td>{name}</td>"
                f"<td style='text-align:right'>{row['size']}</td>"
                f"<td>{html.escape(row['contentType'])}</td></tr>"
            )
        table = "<table class='tc-artifacts-table'>{}</table>"
        body = table.format("".join(rows[:COLLAPSED_ROWS]))
        if len(rows) > COLLAPSED_ROWS:
            body += (
                f"<details><summary>show all ({len(rows)})</summary>"
                f"{table.format(''.join(rows[COLLAPSED_ROWS:]))}</details>"
            )
        notice = self._notice_html()
        return f"<div class='tc-artifacts'>{head}{body if rows else ''}{notice}</div>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/html"] = self.to_html()
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        run = f" run {self.run_id}" if self.run_id is not None else ""
        if self.error:
            return f"<ArtifactList {self.task_id}{run}: {self.error}>"
        return f"<ArtifactList {self.task_id}{run}: {plural(len(self.artifacts), 'artifact')}>"
