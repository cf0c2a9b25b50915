"""`StatusBadge`: a task's state as a coloured chip that follows the task."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import ipywidgets as widgets
import taskcluster.exceptions
from traitlets import Bool, Dict, Int, Unicode

from ..connection import Connection
from ..failures import NETWORK_ERRORS, first_line, is_transient
from ..task_html import chip_html, format_seconds
from ..terms import RESOLVED
from ..timestamps import now, parse_time
from . import polling
from .long_poll import LongPoll
from .shown import ShownHTML


def elapsed_seconds(run: dict[str, Any], moment: datetime | None = None) -> float | None:
    """Seconds a run has taken: started (or scheduled) until resolved or now."""
    begin = run.get("started") or run.get("scheduled")
    if not begin:
        return None
    end = parse_time(run["resolved"]) if run.get("resolved") else moment or now()
    return max((end - parse_time(begin)).total_seconds(), 0.0)


class StatusBadge(ShownHTML):
    """A task's state in the Taskcluster UI's colours, with run number,
    reasonResolved and elapsed time, kept up to date from the kernel's event
    loop until the task resolves: on a sandbox by its long poll, which answers
    as soon as the task changes (`long_poll`); elsewhere, or when that fails,
    by polling `queue.status`, at most 2 s apart (the tutorial's loop).

    Polling starts when the badge is shown (a cell's value, `display`, inside
    a box too), or on `watch()` / `await badge.wait()`; `close()` stops it.

    >>> badge = StatusBadge(conn, task_id)   # in a notebook cell
    >>> await badge.wait()                   # 'completed'
    """

    task_id = Unicode(help="The task followed.")
    state = Unicode("", help="unscheduled, pending, running, ...; empty before the first status.")
    run_id = Int(None, allow_none=True, help="The latest run, or None.")
    reason = Unicode("", help="reasonResolved of the latest run, if resolved.")
    connection = Unicode("connecting", help="connecting, connected or reconnecting.")
    status = Dict(help="The latest task status structure from the queue.")
    polls = Int(0, help="How many status requests this badge has made.")
    long_poll = Bool(True, help="On a sandbox, wait for changes with its long poll.")

    def __init__(self, conn: Connection, task_id: str, **kwargs: Any) -> None:
        kwargs.setdefault("layout", widgets.Layout(margin="2px 16px 2px 2px"))  # room beside it
        super().__init__(task_id=task_id, **kwargs)
        self.conn = conn
        self._poller: asyncio.Task | None = None
        self._render()
        self.on_shown(self.watch)

    # -- polling ---------------------------------------------------------------

    def watch(self) -> None:
        """Follow the task until it resolves (again after a rerun); a no-op
        while polling or once closed. Without an event loop (a plain script),
        fetch the status once instead, so that the badge shows it."""
        if self.comm is None or self.polling:
            return
        if polling.running_loop() is None:
            self._fetch_once()
        else:
            self._poller = polling.spawn(self._follow())

    def stop(self) -> None:
        """Stop polling (`watch()` starts again)."""
        if self._poller is not None:
            self._poller.cancel()

    def close(self) -> None:
        """Stop polling and remove the badge from the page."""
        if self.comm is not None:  # once (ipywidgets' __del__ closes again)
            self.stop()
        super().close()

    @property
    def polling(self) -> bool:
        """True while a poll loop is running."""
        return self._poller is not None and not self._poller.done()

    def _fetch_once(self) -> None:
        """One status request with the sync client, for a badge that cannot poll."""
        self.polls += 1
        try:
            status = self.conn.queue.status(self.task_id)["status"]
        except taskcluster.exceptions.TaskclusterRestFailure as failure:
            if is_transient(failure):
                self._render(note="the queue failed; not polling (no event loop)")
            else:
                self._give_up(failure)
            return
        except Exception as failure:  # unreachable: say so, the chip stays neutral
            self._render(note=f"cannot reach the queue: {type(failure).__name__}")
            return
        self.connection = "connected"
        self._show(status)

    async def _follow(self) -> str:
        queue = self.conn.aio_queue(polling.session(), maxRetries=0)
        pushes = LongPoll(self.conn, self.task_id) if self.long_poll else None
        schedule = polling.Schedule()
        while True:
            status = await self._pushed(pushes)
            pushed = status is not None
            if not pushed:
                self.polls += 1
                try:
                    status = (await queue.status(self.task_id))["status"]
                except (*NETWORK_ERRORS, taskcluster.exceptions.TaskclusterRestFailure) as failure:
                    if not is_transient(failure):
                        self._give_up(failure)
                        return self.state
                    self.connection = "reconnecting"
                    self._render()
                    await asyncio.sleep(schedule.next())
                    continue
                if pushes is not None:
                    pushes.queue_answered()
            changed = status != self.status or self.connection != "connected"
            if changed:
                schedule.reset()
            self.connection = "connected"
            self._show(status)
            if self.state in RESOLVED:
                return self.state
            if not (pushed and changed):  # a long poll that saw a change: the next one waits
                await asyncio.sleep(polling.POLL_INTERVALS[0] if pushed else schedule.next())

    async def _pushed(self, pushes: LongPoll | None) -> dict[str, Any] | None:
        """The status from the sandbox's long poll, or None where there is
        none or it failed (the caller then polls `queue.status`)."""
        if pushes is None or not pushes.usable:
            return None
        self.polls += 1
        return await pushes.status(self.status)

    def _give_up(self, failure: BaseException) -> None:
        """The queue refused (no such task, no scopes): say why; no more polls."""
        self.state, self.connection = "unknown", "connected"
        self._render(note=first_line(failure))

    def _show(self, status: dict[str, Any]) -> None:
        runs = status["runs"]
        last = runs[-1] if runs else {}
        self.status = status
        self.run_id = last.get("runId")
        self.reason = last.get("reasonResolved", "")
        self.state = status["state"]
        self._render()

    def _render(self, note: str = "") -> None:
        parts = []
        if self.run_id is not None:
            parts.append(f"run {self.run_id}")
        if self.reason:
            parts.append(self.reason)
        runs = self.status.get("runs") or []
        if runs and (seconds := elapsed_seconds(runs[-1])) is not None:
            parts.append(format_seconds(seconds))
        if self.connection == "reconnecting":
            note = note or "reconnecting…"
        self.value = chip_html(self.state, " · ".join(parts), note)

    # -- waiting ---------------------------------------------------------------

    async def wait(self) -> str:
        """Follow the task until it resolves; returns its final state (at
        once if it already has, unless polling after a rerun)."""
        if self.state not in RESOLVED:
            self.watch()
        if not self.polling:
            if self.comm is None and self.state not in RESOLVED:
                raise RuntimeError("the badge is closed: it follows its task no more")
            return self.state
        return await asyncio.shield(self._poller)

    def wait_blocking(self, timeout: float | None = None) -> str:
        """`wait()` for plain scripts; in a notebook use `await badge.wait()`."""
        if polling.running_loop() is not None:
            raise RuntimeError("an event loop is running here: use `await badge.wait()`")

        async def follow() -> str:
            self._poller = None
            try:
                return await asyncio.wait_for(self.wait(), timeout)
            finally:
                await polling.close_session()

        return asyncio.run(follow())

    # -- outside a live kernel ---------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        self.watch()  # displayed: follow the task
        return super()._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        run = f" run {self.run_id}" if self.run_id is not None else ""
        reason = f" ({self.reason})" if self.reason else ""
        return f"<StatusBadge {self.task_id}: {self.state or 'loading'}{run}{reason}>"
