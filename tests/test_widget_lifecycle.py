"""StatusBadge, LiveLog and TaskView follow their task from when they are shown
or asked, not from when they are made, and stop when closed. Counted at the
sandbox (its request log): a widget asks nothing about its task before it
starts or after `close()`, and a cell run again (the old widget closed, a new
one shown) leaves one widget polling."""

from __future__ import annotations

import ipywidgets
import pytest
from server_requests import requests_to
from widget_helpers import create, run, until
from widget_lifecycle import (
    assert_no_requests_until_started,
    assert_quiet_once_closed,
    displayed,
    pending_task,
    poll_intervals,
)

from tc_notebook.widgets import LiveLog, StatusBadge, TaskView
from tc_notebook.widgets.shown import ShownHTML

KINDS = {"badge": StatusBadge, "live-log": LiveLog, "task-view": TaskView}
each_kind = pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())


@each_kind
def test_made_it_asks_nothing_shown_it_follows_closed_it_stops(conn, kind):
    async def body():
        task_id = pending_task(conn)
        widget = await assert_no_requests_until_started(conn, task_id, lambda: kind(conn, task_id))
        displayed(widget)
        await assert_quiet_once_closed(conn, task_id, widget)

    run(body)


def _shown_parts(widget):
    """The parts whose views tell the kernel they reached a page."""
    parts = [widget] if isinstance(widget, ShownHTML) else []
    for child in getattr(widget, "children", ()):
        parts += _shown_parts(child)
    return parts


@each_kind
def test_inside_a_box_it_follows_once_its_view_is_on_the_page(conn, kind):
    """IPython shows the box, never calls the widget's own display hook: the
    message its view sends when rendered (as JupyterLab's would) starts it."""

    async def body():
        task_id = pending_task(conn)
        widget = await assert_no_requests_until_started(
            conn, task_id, lambda: kind(conn, task_id), show=ipywidgets.HBox
        )
        assert _shown_parts(widget), "no part of it reports being shown"
        for part in _shown_parts(widget):
            part._handle_custom_msg({"type": "shown"}, [])
        await assert_quiet_once_closed(conn, task_id, widget)

    run(body)


@each_kind
def test_watched_it_follows_closed_it_stops(conn, kind):
    async def body():
        task_id = pending_task(conn)
        widget = kind(conn, task_id)
        widget.watch()
        await assert_quiet_once_closed(conn, task_id, widget)
        with requests_to(task_id) as count:
            widget.watch()  # closed for good: nothing starts again
            await poll_intervals(conn)
            assert len(count) == 0, count.paths

    run(body)


@each_kind
def test_a_cell_run_again_leaves_one_poller(conn, kind):
    """The old widget closed, a new one shown for the same task: once the new
    one is closed too, nothing asks about the task (the old one polls no more)."""

    async def body():
        task_id = pending_task(conn)
        with requests_to(task_id) as count:
            old = displayed(kind(conn, task_id))
            await until(lambda: len(count) >= 1, message="the first widget's first request")
            old.close()
            new = displayed(kind(conn, task_id))
        await assert_quiet_once_closed(conn, task_id, new)

    run(body)


def test_a_view_starts_its_parts_and_stops_them(conn, gate):
    """A TaskView that starts follows the task with its badge, and the run's
    log and artifacts once there is a run; `stop()` stops all of them (it once
    called a `LiveLog.stop` that did not exist: the log went on)."""

    async def body():
        view = TaskView(conn, create(conn, gate.wait("echo started")))
        assert not view.badge.polling and view.live_log is None
        view.watch()
        assert view.badge.polling
        await until(lambda: view.live_log is not None and "started" in view.live_log.lines)
        assert view.live_log.following
        await until(lambda: view.artifacts.state != "", message="the artifacts listed")
        view.stop()
        await until(lambda: not view.live_log.following and not view.badge.polling, timeout=2)
        assert len(view._tasks) == 0 and len(view.artifacts._tasks) == 0
        gate.open()

    run(body)
