"""`LiveLog`: a run's log, followed live while the task runs, then final."""

from __future__ import annotations

import asyncio
import codecs
import html
from collections import deque
from typing import Any

import aiohttp
import ipywidgets as widgets
import taskcluster.exceptions
from traitlets import Bool, Int, Unicode, observe

from .. import theme
from ..connection import Connection
from ..failures import NETWORK_ERRORS, first_line, is_transient
from ..terms import BACKING_LOG, LIVE_LOG, RESOLVED
from . import polling
from .shown import ShownHTML
from .static_copy import StaticCopy

RENDER_EVERY = 0.1  # seconds between repaints while lines stream in

# A scroll box whose content is laid out bottom-up: the newest line stays in
# view as lines are added (follow), with no script needed.
_BOX = (
    "max-height:{height};overflow:auto;display:flex;flex-direction:{direction};"
    "background:#1e1e1e;color:#ddd;padding:6px;border-radius:4px"
)
# The <pre> keeps its full height (no shrinking, no scrollbar of its own) so
# that the box scrolls: JupyterLab's `.jp-OutputArea-output pre {overflow: auto}`
# would otherwise make it a flex item that shrinks to the box, scrolled to its top.
# Its colours are the box's, whatever a page's stylesheet gives a <pre> (an export).
_PRE = (
    "margin:0;font:12px/1.35 monospace;white-space:pre-wrap;word-break:break-all;"
    "flex:none;overflow:visible;background:transparent;color:inherit;border:0;padding:0"
)


class LiveLog(StaticCopy, widgets.VBox):
    """Follows `public/logs/live.log` of a run as the task writes it, then
    shows the final log. Keeps the last `max_lines` lines, with a link to the
    full log.

    Following starts when the widget is shown (a cell's value, `display`), or
    on `watch()` / `await log.wait()`; `close()` stops it.

    >>> LiveLog(conn, task_id)            # latest run
    """

    task_id = Unicode(help="The task whose log is shown.")
    run_id = Int(None, allow_none=True, help="The run shown; None follows the latest run.")
    follow = Bool(True, help="Repaint as lines arrive, scrolled to the newest line.")
    phase = Unicode("waiting", help="waiting, streaming, final or error.")
    max_lines = Int(1000, help="How many of the last lines the widget keeps.")
    total_lines = Int(0, help="Lines received so far, including dropped ones.")

    def __init__(
        self,
        conn: Connection,
        task_id: str,
        run_id: int | None = None,
        max_lines: int = 1000,
        height: str = "24em",
        **kwargs: Any,
    ) -> None:
        self.conn = conn
        self.height = height
        self._lines: deque[str] = deque(maxlen=max_lines)
        self._partial = ""
        self._follower: asyncio.Task | None = None
        self._watching = False  # started and not stopped: a run chosen later is followed too
        self._repaint: asyncio.TimerHandle | None = None  # a repaint soon, while streaming
        self._shown_run: int | None = None
        self._toggle = widgets.ToggleButton(
            value=True, description="follow", icon="arrow-down", layout=widgets.Layout(width="auto")
        )
        self._title = ShownHTML()  # shown inside a box too: start then
        self._title.on_shown(self.watch)
        self._body = widgets.HTML()
        super().__init__(
            children=[widgets.HBox([self._toggle, self._title]), self._body],
            task_id=task_id,
            run_id=run_id,
            max_lines=max_lines,
            **kwargs,
        )
        self._follow_link = widgets.link((self._toggle, "value"), (self, "follow"))
        self._render()

    # -- plain values ------------------------------------------------------------

    @property
    def lines(self) -> list[str]:
        """The lines kept (the last `max_lines`)."""
        return list(self._lines) + ([self._partial] if self._partial else [])

    @property
    def text(self) -> str:
        """The kept lines as one string."""
        return "\n".join(self.lines)

    @property
    def full_log_url(self) -> str | None:
        """A browser URL of the whole log of the run shown, once known."""
        if self._shown_run is None:
            return None
        url = self.conn.queue.buildUrl("getArtifact", self.task_id, self._shown_run, BACKING_LOG)
        return self.conn.browser_url(url)

    # -- following -----------------------------------------------------------------

    @observe("run_id")
    def _run_changed(self, change: dict) -> None:
        if self._watching:  # follow the run chosen instead
            if self._follower is not None:
                self._follower.cancel()
            self._follower = polling.spawn(self._follow_log())

    @observe("follow")
    def _follow_changed(self, change: dict) -> None:
        self._render()

    @observe("max_lines")
    def _resize(self, change: dict) -> None:
        self._lines = deque(self._lines, maxlen=change["new"])

    def watch(self) -> None:
        """Follow the log (again after a rerun: the new latest run); a no-op
        while following, once closed, or without an event loop."""
        if self.comm is not None and not self.following:
            self._watching = True
            self._follower = polling.spawn(self._follow_log())

    def stop(self) -> None:
        """Stop following the log (the lines kept stay shown; `watch()` starts again)."""
        self._watching = False
        if self._follower is not None:
            self._follower.cancel()
        if self._repaint is not None:
            self._repaint.cancel()
            self._repaint = None

    @property
    def following(self) -> bool:
        """True while the log is being followed."""
        return self._follower is not None and not self._follower.done()

    def close(self) -> None:
        """Stop following and remove the widget and its parts from the page."""
        if self.comm is not None:  # once (ipywidgets' __del__ closes again)
            self.stop()
            self._follow_link.unlink()
            polling.close_widgets(*self.children)
        super().close()

    async def wait(self) -> str:
        """Follow the log until the final log is shown; returns the kept text."""
        self.watch()
        if not self.following:
            raise RuntimeError("the live log is closed: it follows its task no more")
        await asyncio.shield(self._follower)
        return self.text

    async def _follow_log(self) -> None:
        queue = self.conn.aio_queue(polling.session(), maxRetries=0)
        schedule = polling.Schedule()
        self._reset()
        while True:
            try:
                status = (await queue.status(self.task_id))["status"]
            except (*NETWORK_ERRORS, taskcluster.exceptions.TaskclusterRestFailure) as failure:
                if not is_transient(failure):
                    return self._fail(first_line(failure))
                await asyncio.sleep(schedule.next())
                continue
            runs = status["runs"]
            run_id = self.run_id if self.run_id is not None else (len(runs) - 1 if runs else None)
            if run_id is None or run_id >= len(runs) or runs[run_id]["state"] == "pending":
                self.phase = "waiting"
                self._render()
                await asyncio.sleep(schedule.next())
                continue
            self._shown_run = run_id
            resolved = runs[run_id]["state"] in RESOLVED
            url = self.conn.queue.buildUrl("getArtifact", self.task_id, run_id, LIVE_LOG)
            try:
                if not resolved:
                    self.phase = "streaming"
                    self._render()
                    await self._read(url)
                    # The stream ended: the final log comes once the run is
                    # resolved, on a later pass (not at once: no tight loop).
                    await asyncio.sleep(schedule.next())
                    continue
                self._reset()
                await self._read(url)
            except (_NotYet, *NETWORK_ERRORS):
                await asyncio.sleep(schedule.next())
                continue
            self.phase = "final"
            self._render()
            return

    async def _read(self, url: str) -> None:
        """Append a log URL's lines as they arrive, until it ends."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with polling.session().get(url, timeout=timeout) as reply:
            if reply.status == 404:
                raise _NotYet()
            reply.raise_for_status()
            self._reset()
            async for chunk in reply.content.iter_any():
                self._add(decoder.decode(chunk))
                self._render_soon()
            self._add(decoder.decode(b"", final=True))
        self._render_now()

    def _render_soon(self) -> None:
        """Repaint within RENDER_EVERY: the lines arriving meanwhile share one
        repaint, and the last lines of a burst are painted though none follow."""
        if self._repaint is None:
            self._repaint = asyncio.get_running_loop().call_later(RENDER_EVERY, self._render_now)

    def _render_now(self) -> None:
        if self._repaint is not None:
            self._repaint.cancel()
            self._repaint = None
        self._render()

    def _reset(self) -> None:
        self._lines.clear()
        self._partial = ""
        self.total_lines = 0

    def _add(self, text: str) -> None:
        pieces = (self._partial + text).split("\n")
        self._partial = pieces.pop()
        self._lines.extend(pieces)
        self.total_lines += len(pieces)

    def _fail(self, message: str) -> None:
        self.phase = "error"
        self._title.value = f'<span style="color:{theme.ERROR}">{html.escape(message)}</span>'

    # -- display -------------------------------------------------------------------

    def _render(self) -> None:
        run = f"run {self._shown_run}" if self._shown_run is not None else "no run yet"
        dropped = self.total_lines - len(self._lines)
        note = f" · first {dropped} lines not kept" if dropped > 0 else ""
        link = ""
        if self.phase == "final" and self.full_log_url:
            link = (
                f' · <a href="{html.escape(self.full_log_url)}" target="_blank" '
                f'rel="noopener">full log</a>'
            )
        self._title.value = (
            f'<span style="font:12px sans-serif">live log · {run} · {self.phase}{note}{link}</span>'
        )
        if self.follow or self.phase == "final":
            self._body.value = self._html()

    def _html(self) -> str:
        direction = "column-reverse" if self.follow else "column"
        box = _BOX.format(height=self.height, direction=direction)
        return f'<div style="{box}"><pre style="{_PRE}">{html.escape(self.text)}</pre></div>'

    # -- outside a live kernel ----------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        self.watch()  # displayed: follow the log
        return super()._repr_mimebundle_(**kwargs)

    def static_html(self) -> str:
        """The title line (run, phase, the full log's link) and the lines kept."""
        return f"<div>{self._title.value}{self._html()}</div>"

    def static_text(self) -> str:
        """The lines kept."""
        return self.text or repr(self)

    @property
    def view_shown(self) -> bool:
        """True once a view has reached a page."""
        return self._title.view_shown

    def __repr__(self) -> str:
        return (
            f"<LiveLog {self.task_id} run {self._shown_run}: {self.phase}, "
            f"{self.total_lines} lines>"
        )


class _NotYet(Exception):
    """live.log does not exist yet (the worker has not created it)."""
