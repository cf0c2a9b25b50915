"""What every live widget shares: the kernel's event loop, one HTTP session
per loop, and an adaptive polling schedule.

Widgets update from asyncio tasks on the loop that runs the kernel's cells
(ipykernel 7 refuses widget output from other threads). A widget makes no
request when it is made: it starts following its task when first shown (a
cell's value, `display`: its `_repr_mimebundle_`), when asked (`watch()`,
`await wait()`, ...), or when the widget holding it starts; `close()` stops
it and closes its parts. Outside a kernel (a script, a test) there may be no
running loop: widgets then fetch once when shown, and poll when awaited.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Coroutine
from typing import Any

import aiohttp

_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
    weakref.WeakKeyDictionary()
)

# Quick at first, then backing off to the tutorial's 2 s loop, never slower.
POLL_INTERVALS = (0.25, 0.25, 0.5, 0.5, 1.0, 1.0, 2.0)


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread (the kernel's, in a notebook)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def session() -> aiohttp.ClientSession:
    """One aiohttp session for all widgets on the running loop."""
    loop = asyncio.get_running_loop()
    current = _sessions.get(loop)
    if current is None or current.closed:
        current = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        _sessions[loop] = current
    return current


async def close_session() -> None:
    """Close the running loop's session (before a short-lived loop ends)."""
    current = _sessions.pop(asyncio.get_running_loop(), None)
    if current is not None:
        await current.close()


def spawn(coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task | None:
    """Run a coroutine as a task on the running loop, or close it if there is none."""
    loop = running_loop()
    if loop is None:
        coroutine.close()
        return None
    return loop.create_task(coroutine)


class Schedule:
    """Poll intervals: short after a change, longer while nothing changes."""

    def __init__(self, intervals: tuple[float, ...] = POLL_INTERVALS) -> None:
        self.intervals = intervals
        self._step = 0

    def reset(self) -> None:
        """Something changed: poll quickly again."""
        self._step = 0

    def next(self) -> float:
        """Seconds until the next poll."""
        interval = self.intervals[min(self._step, len(self.intervals) - 1)]
        self._step += 1
        return interval


class Tasks:
    """The asyncio tasks one widget started (polls, listings, downloads): held
    here so that they are not garbage-collected mid-way, and cancelled together
    when the widget stops."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task | None:
        """`spawn`, remembering the task until it ends."""
        task = spawn(coroutine)
        if task is not None:
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return task

    def cancel(self) -> None:
        """Cancel every task still running."""
        for task in list(self._running):
            task.cancel()

    def __len__(self) -> int:
        return sum(1 for task in self._running if not task.done())


def close_widgets(*roots: Any) -> None:
    """Close each widget and everything inside it (ipywidgets' `Box.close`
    leaves the children open). Our widgets' own `close` stops their polling."""
    for root in roots:
        if root is None:
            continue
        close_widgets(*getattr(root, "children", ()))
        root.close()
