"""StatusBadge and LiveLog against a live sandbox (widget state, no browser)."""

from __future__ import annotations

import asyncio

import slugid
from helpers import wait_until
from server_requests import requests_to
from widget_helpers import create, run, until
from widget_lifecycle import UNSERVED, displayed, poll_intervals

from tc_notebook.connection import Connection
from tc_notebook.sandbox import QueueSettings, Sandbox
from tc_notebook.task_html import STATE_COLOURS
from tc_notebook.widgets import StatusBadge
from tc_notebook.widgets.livelog import LiveLog


def test_badge_follows_task_to_completion_and_stops_polling(conn, gate):
    """pending → running → completed; polling stops once resolved."""
    async def body():
        task_id = create(conn, gate.wait())
        badge = StatusBadge(conn, task_id)
        states = [badge.state]
        badge.observe(lambda change: states.append(change["new"]), "state")
        displayed(badge)
        await until(lambda: badge.state == "running")
        gate.open()
        assert await badge.wait() == "completed"
        assert states[-2:] == ["running", "completed"]
        assert "pending" in states or states[1] == "running"
        assert STATE_COLOURS["completed"] in badge.value and "COMPLETED" in badge.value
        assert "run 0" in badge.value
        polls = badge.polls
        await poll_intervals(conn, 2)  # the sandbox logs a request after its answer: let it
        with requests_to(task_id) as count:
            await poll_intervals(conn)  # several of the badge's intervals: no request follows
            assert len(count) == 0, count.paths
        assert badge.polls == polls and not badge.polling
        assert badge.status["state"] == "completed" and badge.run_id == 0
    run(body)


def test_badge_is_loading_not_unknown_before_the_first_status(conn):
    """Before the first poll answers: a neutral "loading…" chip, never UNKNOWN."""

    async def body():
        task_id = create(conn, "true")
        badge = StatusBadge(conn, task_id)
        shown = [badge.value]
        badge.observe(lambda change: shown.append(change["new"]), "value")
        assert badge.state == "" and badge.polls == 0  # nothing fetched yet
        assert "loading…" in badge.value and "tc-state-loading" in badge.value
        assert "UNKNOWN" not in badge.value and STATE_COLOURS["unknown"] not in badge.value
        assert repr(badge) == f"<StatusBadge {task_id}: loading>"
        assert await badge.wait() == "completed"
        assert not any("UNKNOWN" in value for value in shown)
        assert "loading" not in badge.value and "COMPLETED" in badge.value

    run(body)


def test_pending_is_grey_like_unscheduled(conn):
    """PENDING in the web UI's neutral grey, the same as UNSCHEDULED (not purple)."""
    assert STATE_COLOURS["pending"] == STATE_COLOURS["unscheduled"] == "#616161"

    async def body():
        task_id = create(conn, "true", **UNSERVED)
        badge = displayed(StatusBadge(conn, task_id))
        await until(lambda: badge.state == "pending")
        assert "PENDING" in badge.value and "background:#616161" in badge.value
        assert "#6a1b9a" not in badge.value  # the old purple
        badge.close()
        conn.queue.cancelTask(task_id)

    run(body)


def test_two_badges_render_side_by_side(conn):
    """An HBox of two badges: the widget tree holds both, each with its own chip."""
    import ipywidgets

    async def body():
        failed = StatusBadge(conn, create(conn, "exit 1"))
        completed = StatusBadge(conn, create(conn, "true"))
        row = ipywidgets.HBox([failed, completed])
        assert await failed.wait() == "failed" and await completed.wait() == "completed"
        assert [child.value.count('class="tc-badge') for child in row.children] == [1, 1]
        assert "FAILED" in failed.value and "COMPLETED" in completed.value
        failed.close()
        completed.close()

    run(body)


def test_close_stops_polling(conn, gate):
    """close(): the poll loop ends and the badge leaves the page (its comm closed)."""

    async def body():
        task_id = create(conn, gate.wait())
        badge = displayed(StatusBadge(conn, task_id))
        await until(lambda: badge.state == "running")
        assert badge.polling and badge.comm is not None
        badge.close()
        await until(lambda: not badge.polling, timeout=2)
        assert badge.comm is None and badge._poller.cancelled()
        gate.open()

    run(body)


def test_badge_failed_and_canceled(conn):
    """Failed shows red with reason failed; canceled shows orange with canceled."""
    async def body():
        failed = StatusBadge(conn, create(conn, "exit 3"))
        long_id = create(conn, "sleep 30")
        canceled = displayed(StatusBadge(conn, long_id))
        await until(lambda: canceled.state == "running")
        conn.queue.cancelTask(long_id)
        assert await failed.wait() == "failed"
        assert await canceled.wait() == "exception"
        assert failed.reason == "failed" and STATE_COLOURS["failed"] in failed.value
        assert canceled.reason == "canceled" and STATE_COLOURS["exception"] in canceled.value
        assert "canceled" in canceled.value
        assert "StatusBadge" in repr(canceled) and "canceled" in repr(canceled)
        bundle, _metadata = canceled._repr_mimebundle_()
        assert "EXCEPTION" in bundle["text/html"] and "canceled" in bundle["text/plain"]
    run(body)


def test_badge_restarts_after_rerun(conn):
    """watch() after a rerun follows the new run to its end."""
    async def body():
        task_id = create(conn, "true")
        badge = StatusBadge(conn, task_id)
        assert await badge.wait() == "completed"
        conn.queue.rerunTask(task_id)
        badge.watch()
        await until(lambda: badge.run_id == 1)
        assert await badge.wait() == "completed" and badge.run_id == 1
    run(body)


def test_badge_reconnects_after_sandbox_restart(tmp_path):
    """A dropped sandbox shows reconnecting; after a restart on the same port
    and data directory the badge recovers and follows the retry to the end."""
    settings = QueueSettings(resolver_interval=0.2)
    first = Sandbox(tmp_path / "data", settings=settings, capacity=2).start()
    port = first.server.port  # the second sandbox takes it over
    conn = Connection(first.root_url, first.credentials)
    second = None

    async def body():
        nonlocal second
        # Run 0 outlasts the first sandbox; its retry ends at once.
        task_id = create(conn, 'if [ "$RUN_ID" = 0 ]; then sleep 60; fi')
        badge = displayed(StatusBadge(conn, task_id))
        await until(lambda: badge.state == "running")
        await asyncio.get_running_loop().run_in_executor(None, first.stop)
        await until(lambda: badge.connection == "reconnecting")
        assert "reconnecting" in badge.value
        second = Sandbox(tmp_path / "data", port=port, settings=settings, capacity=2).start()
        assert await asyncio.wait_for(badge.wait(), 30) == "completed"
        assert badge.connection == "connected"
        reasons = [r.get("reasonResolved") for r in badge.status["runs"]]
        assert reasons[0] == "worker-shutdown" and reasons[-1] == "completed"

    try:
        run(body)
    finally:
        first.stop()
        if second:
            second.stop()


def test_blocking_wait_in_a_script(conn):
    """A plain script (no running loop): the badge asks nothing when made; shown,
    it shows the task's state (one status request), not a placeholder;
    wait_blocking() follows the task to its end."""
    task_id = create(conn, "true")
    with requests_to(f"{task_id}/status") as count:
        badge = StatusBadge(conn, task_id)
        assert len(count) == 0 and badge.polls == 0 and "loading" in badge.value
        html = badge._repr_mimebundle_()[0]["text/html"]  # shown
        assert badge.polls == 1 and not badge.polling
        wait_until(lambda: len(count) == 1, message="the status request in the sandbox's log")
    assert badge.state in ("pending", "running", "completed")
    assert badge.state.upper() in html and "loading" not in html
    assert badge.wait_blocking(timeout=20) == "completed"


def test_badge_in_a_script_names_a_missing_task(conn):
    badge = StatusBadge(conn, slugid.nice())
    badge.watch()  # in a script: one status request
    assert badge.state == "unknown" and "UNKNOWN" in badge.value and "not found" in badge.value


def test_live_log_shows_lines_before_the_task_ends(conn, gate):
    """Lines printed while the run is going appear in the widget before it ends."""
    async def body():
        ticks = "for i in $(seq 1 20); do echo tick $i; sleep 0.01; done"
        task_id = create(conn, gate.wait(ticks))
        log = displayed(LiveLog(conn, task_id))
        badge = displayed(StatusBadge(conn, task_id))
        await until(lambda: any("tick 3" in line for line in log.lines))
        assert badge.state != "completed"
        assert conn.queue.status(task_id)["status"]["state"] == "running"
        assert log.phase == "streaming"
        gate.open()
        text = await log.wait()
        assert log.phase == "final"
        assert "tick 20" in text and "exit code 0" in text
        assert log.full_log_url.endswith("live_backing.log")
        assert "full log" in log._title.value
    run(body)


def test_live_log_paints_a_burst_while_the_task_is_quiet(conn, gate):
    """The last lines of a burst are painted (the HTML shown), not only kept,
    while the task goes on printing nothing."""
    async def body():
        task_id = create(conn, gate.wait('echo "burst $((6 * 7))"'))
        log = displayed(LiveLog(conn, task_id))
        await until(lambda: "burst 42" in log.lines)
        await until(lambda: "burst 42" in log._body.value, timeout=2)
        assert conn.queue.status(task_id)["status"]["state"] == "running"
        gate.open()
        await log.wait()
    run(body)


def test_live_log_keeps_a_bounded_number_of_lines(conn):
    """max_lines bounds what the widget holds; the count says what was dropped."""
    async def body():
        task_id = create(conn, "seq 1 500")
        log = LiveLog(conn, task_id, max_lines=50)
        await log.wait()
        assert len(log.lines) == 50 and log.total_lines > 500
        assert "not kept" in log._title.value
        assert log.lines[-1].startswith("[taskcluster")
    run(body)


def test_live_log_follows_a_rerun_when_asked(conn):
    """After a rerun, watch() moves the log to the new run."""

    async def body():
        task_id = create(conn, "echo run-$RUN_ID")
        log = LiveLog(conn, task_id)
        assert "run-0" in await log.wait()
        conn.queue.rerunTask(task_id)
        log.watch()
        await until(lambda: "run-1" in log.text and log.phase == "final")

    run(body)


def test_live_log_stop_and_close(conn, gate):
    """stop() ends the following; watch() starts again; close() also closes
    the log's parts."""

    async def body():
        task_id = create(conn, gate.wait("echo started"))
        log = LiveLog(conn, task_id)
        log.watch()
        await until(lambda: "started" in log.lines)
        assert log.following
        log.stop()
        await until(lambda: not log.following, timeout=2)
        log.watch()
        await until(lambda: log.following and log.phase == "streaming")
        parts = [log, *log.children, *log.children[0].children]
        log.close()
        await until(lambda: not log.following, timeout=2)
        assert all(part.comm is None for part in parts)
        gate.open()

    run(body)
