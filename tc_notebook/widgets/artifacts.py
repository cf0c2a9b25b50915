"""`ArtifactList`: a task run's artifacts as the Taskcluster UI lists them,
with browser links, kernel-side downloads and inline previews.

Links are for the browser: `Connection.browser_url`, which the table's view
sends through the Jupyter server where only that reaches the queue (Binder;
reach.js). A private artifact's link carries no
credentials until it is clicked: the click asks the kernel for a signed URL
(`buildSignedUrl`, valid 15 minutes) and the browser opens that.

The parts: artifact_names (what a name says), artifact_table (the rows, in
the browser and as static HTML), artifact_actions (downloads and previews),
artifact_fetch (the kernel's requests) and artifact_preview (what a preview
shows).
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import taskcluster.exceptions
from traitlets import Bool, Dict, Int, List, Unicode, observe

from ..connection import Connection
from ..failures import NETWORK_ERRORS, first_line, queue_message
from . import polling
from .artifact_actions import ArtifactActions
from .artifact_fetch import ArtifactError, Listing, list_run
from .artifact_names import ICONS, human_size, is_public, plural, sort_key
from .artifact_table import ArtifactTable, static_html, table_row
from .static_copy import StaticCopy

__all__ = ["ICONS", "ArtifactError", "ArtifactList", "ArtifactTable", "human_size", "sort_key"]


class ArtifactList(StaticCopy, ArtifactActions, widgets.VBox):
    """The artifacts of a task run, sorted as the Taskcluster UI sorts them.
    Each name opens the artifact in a new tab, as in the Taskcluster UI (a
    private one is signed when clicked); each row can be previewed below the
    list (text, logs, JSON, images) or downloaded to the kernel's machine,
    then to the browser. A run selector picks earlier runs (`choose_run=False`
    hides it, for a `TaskView` that has its own).

    Nothing is requested until the list is displayed (on its own or inside
    a box), `watch()`ed, or asked for something (`refresh`, `download`,
    `preview`).

    >>> artifacts = ArtifactList(conn, task_id)       # latest run
    >>> await artifacts.refresh()                     # list (again)
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
        self._loading: asyncio.Task | None = None  # the last listing started, if any
        self._download_task: asyncio.Task | None = None
        self._preview_task: asyncio.Task | None = None
        self._view_shown = False
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
        self.table = ArtifactTable(sign=self._sign_listed)
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

    def watch(self) -> None:
        """List the artifacts, unless a listing was started before or the widget
        is closed (displaying the list calls this; so does a parent widget)."""
        if self._loading is None and self.comm is not None:
            self._loading = self._tasks.spawn(self._load())

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
        wanted = None if self._follow_latest else self.run_id
        try:
            try:
                queue = self.conn.aio_queue(polling.session(), maxRetries=2)
                found = await list_run(
                    queue, self.task_id, wanted, self.page_size, polling.session()
                )
            except ArtifactError as failure:
                found = str(failure)
            except taskcluster.exceptions.TaskclusterRestFailure as failure:
                found = self._failure(failure)
            except NETWORK_ERRORS as failure:
                found = f"cannot reach the queue at {self.conn.root_url}: {failure!r}"
            newer = self._loading
            if newer is not None and newer is not me:
                return await asyncio.shield(newer)  # a later listing wins, even if done
            if isinstance(found, str):
                self.error, self.artifacts = found, []
            else:
                self._apply(found)
        finally:
            if self._loading is me or self._loading is None or self._loading.done():
                self.loading = False
                self.refresh_button.disabled = False
        self._render()
        return list(self.artifacts)

    def _apply(self, listing: Listing) -> None:
        self.error = ""
        self._quiet = True
        try:
            self.state = listing.status["state"]
            runs = listing.status["runs"]
            self.runs = [{"runId": r["runId"], "state": r["state"]} for r in runs]
            self.run_id = listing.run_id
            self._sync_selector()
        finally:
            self._quiet = False
        self.artifacts = listing.artifacts

    def _failure(self, failure: taskcluster.exceptions.TaskclusterRestFailure) -> str:
        code = failure.status_code
        if code == 404 and self.run_id is not None and not self._follow_latest:
            return f"Run {self.run_id} of task {self.task_id} was not found."
        if code == 404:
            return f"Task {self.task_id} was not found on {self.conn.root_url}."
        if code in (401, 403):
            return f"Not allowed to list these artifacts: {first_line(queue_message(failure))}"
        return f"The queue answered {code}: {first_line(queue_message(failure))}"

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
        if self._loading is not None and self.comm is not None:  # else listed when started
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

    def _sign_listed(self, name: str, run_id: int | None) -> str:
        """`sign` for a click in the table: only an artifact listed in the run shown."""
        run = self.run_id if run_id is None else run_id
        if run != self.run_id or name not in self.names:
            raise ArtifactError(f"{name} is not listed in run {run}")
        return self.sign(name, run)

    def _on_message(self, _table: Any, content: Any, _buffers: Any = None) -> None:
        """From the table's view: `{type: "shown"}` once on the page (inside a
        box, too, which never calls `_repr_mimebundle_`), or a row's button,
        `{type: "preview" | "download", name}`."""
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "shown":
            self._view_shown = True
            self.watch()
        elif kind == "preview":
            self._start_preview(content.get("name", ""))
        elif kind == "download":
            self._start_download(content.get("name", ""))

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

    def _browser_urls(self) -> Callable[[str], str]:
        """`conn.browser_url` for many URLs at once: a URL under the root URL is
        the root's browser URL and the rest of it, so the root is mapped once."""
        root = self.conn.root_url
        base = self.conn.browser_url(root)
        return lambda url: base + url[len(root) :] if url.startswith(root) else url

    def _render(self) -> None:
        self.heading.value = self._heading()
        to_browser = self._browser_urls()
        self.table.rows = [table_row(entry, self.run_id, to_browser) for entry in self.artifacts]
        self.table.message = self._message()

    def to_html(self) -> str:
        """A static table of the artifacts (public names link to them, opening a new tab)."""
        return static_html(self._heading(), self.table)

    static_html = to_html

    @property
    def view_shown(self) -> bool:
        """True once the table's view has reached a page."""
        return self._view_shown

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        self.watch()  # displayed: list the artifacts
        return super()._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        run = f" run {self.run_id}" if self.run_id is not None else ""
        if self.error:
            return f"<ArtifactList {self.task_id}{run}: {self.error}>"
        return f"<ArtifactList {self.task_id}{run}: {plural(len(self.artifacts), 'artifact')}>"
