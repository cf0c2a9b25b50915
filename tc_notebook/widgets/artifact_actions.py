"""What a row's buttons do in the kernel: download an artifact (with a
progress bar, and a notice that says where the file went and offers it to
the browser too) and preview it under the list.

`ArtifactActions` is mixed into `ArtifactList`, whose parts (`table`,
`progress`, `preview_box`) and listing (`run_id`, `entry`, `fetchable_names`,
`api_url`, `refresh`) it uses.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import ipywidgets as widgets
from traitlets import Bool, HasTraits, Unicode, observe

from ..connection import Connection
from ..failures import NETWORK_ERRORS, first_line
from . import polling
from .artifact_fetch import ArtifactError, Head, download_target, read_head
from .artifact_fetch import download as download_to
from .artifact_names import basename, human_size, is_public
from .artifact_preview import make_preview
from .artifact_table import ArtifactTable

COUNT_EVERY_BYTES = 1024 * 1024  # how often a download of unknown size says how far it got


class ArtifactActions(HasTraits):
    """Downloads and previews through the kernel, for `ArtifactList`."""

    notice = Unicode("", help="The last download's or preview's outcome, as text.")
    downloading = Bool(False, help="True while a download (with its progress bar) runs.")

    conn: Connection
    task_id: str
    run_id: int | None
    artifacts: list[dict[str, Any]]
    table: ArtifactTable
    progress: widgets.FloatProgress
    preview_box: widgets.VBox
    _tasks: polling.Tasks
    _download_task: asyncio.Task | None
    _preview_task: asyncio.Task | None

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

    async def download(self, name: str, path: str | Path | None = None) -> Path:
        """Stream the artifact to `path` on the kernel's machine (a file or a
        directory; default: the kernel's working directory, under the
        artifact's base name). The notice under the list says where it went
        and offers the same file as a browser download."""
        try:
            entry = await self._fetchable(name)
        except ArtifactError as failure:
            self._notify("error", first_line(failure))
            raise
        target = download_target(name, path)
        self.progress.value, self.progress.bar_style = 0.0, ""
        self.downloading = True
        self._notify("info", f"Downloading {name}…")
        said = 0

        def progress(received: int, total: int | None) -> None:
            nonlocal said
            if total:
                percent = min(100.0, 100.0 * received / total)
                if percent - self.progress.value >= 1 or percent == 100.0:
                    self.progress.value = percent
                return
            self.progress.layout.display = "none"  # no bar that would stay empty
            if received - said >= COUNT_EVERY_BYTES:
                said = received
                self._notify("info", f"Downloading {name}: {human_size(received)}…")

        try:
            url = self._fetch_url(name)
            received = await download_to(
                polling.session(), url, name, target, progress, entry.get("size")
            )
        except BaseException as failure:
            self.progress.bar_style = "danger"
            if isinstance(failure, asyncio.CancelledError):
                self._notify("error", f"The download of {name} was stopped.")
            else:
                self._notify("error", f"{name}: {first_line(failure) or type(failure).__name__}")
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
                basename=basename(offer),
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
        except (ArtifactError, KeyError, *NETWORK_ERRORS) as failure:
            text = failure.args[0] if isinstance(failure, KeyError) else first_line(failure)
            self._notify("error", text or type(failure).__name__)
            return None

    async def preview(self, name: str) -> str | bytes | None:
        """Show the start of a text, log or JSON artifact (64 KiB at most,
        JSON pretty-printed) or an image (2 MiB at most) under the list.
        Returns the text or image bytes shown, None when there is no preview."""
        entry = await self._fetchable(name)

        async def head(limit: int) -> Head:
            return await read_head(polling.session(), self._fetch_url(name), name, limit)

        shown = await make_preview(entry, head)
        polling.close_widgets(*self.preview_box.children)  # the previous preview's widgets
        body = [] if shown.body is None else [shown.body]
        self.preview_box.children = [widgets.HTML(shown.heading), *body]
        return shown.shown

    def _start_preview(self, name: str) -> None:
        if name not in self.fetchable_names:
            self._notify("error", f"{name} cannot be previewed from run {self.run_id}.")
            return
        if self._preview_task is not None and not self._preview_task.done():
            self._preview_task.cancel()
        self._preview_task = self._tasks.spawn(self._quietly(self.preview, name))
