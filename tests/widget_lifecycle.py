"""What the widget lifecycle tests share: tasks no worker takes (a widget
polls them for as long as it follows them), time measured by a condition on
the event loop, and checks, counted at the sandbox, that a widget asks
nothing about its task before it starts or after it is closed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server_requests import requests_to
from widget_helpers import create, until

from tc_notebook.connection import Connection
from tc_notebook.widgets import StatusBadge

# A task queue no worker claims from: its tasks stay pending.
UNSERVED = {"provisionerId": "tutorial", "workerType": "nobody-serves-this"}


def pending_task(conn: Connection) -> str:
    """A task that stays pending (no worker takes it); its taskId."""
    return create(conn, "true", **UNSERVED)


async def poll_intervals(conn: Connection, polls: int = 5) -> None:
    """Let time pass on the loop, as a condition: a fresh badge of a pending
    task makes `polls` status requests (5: 1.5 s, six of the first intervals
    of a widget's schedule, those of the widgets these tests close)."""
    yardstick = StatusBadge(conn, pending_task(conn), long_poll=False)  # polls on its schedule
    yardstick.watch()
    try:
        await until(lambda: yardstick.polls >= polls, message=f"{polls} polls of a yardstick")
    finally:
        yardstick.close()


async def assert_no_requests_until_started(
    conn: Connection, task_id: str, make: Callable[[], Any], show: Callable | None = None
) -> Any:
    """`make()` builds a widget of `task_id` that asks the sandbox nothing until
    it starts, also once put in a box and the box displayed (`show`, a box
    class); returns the widget. (The task's creation may be logged late: the
    sandbox logs a request once it has answered.)"""
    with requests_to(task_id) as count:
        widget = make()
        if show is not None:
            displayed(show([widget]))
        await poll_intervals(conn)
        asked = [path for path in count.paths if not path.startswith("PUT ")]
        assert asked == [], asked
    return widget


async def assert_quiet_once_closed(conn: Connection, task_id: str, widget: Any) -> None:
    """`widget`, following `task_id`, makes requests; once closed, no more."""
    with requests_to(task_id) as count:
        await until(lambda: len(count) >= 1, message="the widget's first request")
        widget.close()
        await poll_intervals(conn, 2)  # a request under way at the close may still land
        closed = len(count)
        await poll_intervals(conn)
        assert len(count) == closed, count.paths[closed:]


def displayed(widget: Any) -> Any:
    """`widget`, shown as a cell's value is (IPython asks for its mime bundle)."""
    bundle = widget._repr_mimebundle_()
    if isinstance(bundle, tuple):  # (data, metadata), as anywidgets answer
        bundle = bundle[0]
    assert "application/vnd.jupyter.widget-view+json" in bundle, bundle.keys()
    return widget
