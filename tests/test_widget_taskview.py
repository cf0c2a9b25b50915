"""TaskView against a live sandbox (widget state, no browser)."""

from __future__ import annotations

import ipywidgets
import slugid
from helpers import API, wait_until
from server_requests import requests_to
from widget_helpers import create, run, until

from tc_notebook import theme
from tc_notebook.connection import Connection
from tc_notebook.task_html import STATE_COLOURS
from tc_notebook.widgets import TaskView


def visible(widget) -> bool:
    return widget.layout.display != "none"


def descendants(widget) -> list:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += descendants(child)
    return found


def messages_of(view: TaskView) -> list[str]:
    """Every message the view shows from now on (the current one first)."""
    seen = [view.message]
    view.observe(lambda change: seen.append(change["new"]), "message")
    return seen


def shows_final_log_of(view: TaskView, task_id: str, run_id: int) -> bool:
    """The view's log shows the whole log of run `run_id` (its first line names the run)."""
    log = view.live_log
    header = log.lines[0] if log.lines else ""
    return log.phase == "final" and header.endswith(f"task {task_id} run {run_id}")


def test_cancel_asks_first_then_cancels_a_long_task(conn):
    """Cancel → "Really cancel?" → No does nothing; Yes → exception/canceled."""

    async def body():
        task_id = create(conn, "sleep 30")
        view = TaskView(conn, task_id)
        await view.ready()  # the buttons wait for the view's own load
        await until(lambda: view.state == "running")
        assert not view.cancel_button.disabled and view.rerun_button.disabled
        assert not visible(view.confirm_box)

        view.cancel_button.click()
        assert view.confirming == "cancel" and visible(view.confirm_box)
        assert "Really cancel?" in view._prompt.value
        view.no_button.click()
        assert view.confirming == "" and not visible(view.confirm_box)
        assert conn.queue.status(task_id)["status"]["state"] == "running"

        view.cancel_button.click()
        view.yes_button.click()
        assert view.busy and view.cancel_button.disabled  # no second cancel meanwhile
        await until(lambda: view.state == "exception" and not view.busy)
        assert view.runs[-1]["reasonResolved"] == "canceled"
        assert conn.queue.status(task_id)["status"]["state"] == "exception"
        # In a learner's words, and in the colour of the state it names.
        assert view.message == "Canceled: run 0 ended as exception (canceled)."
        assert f"color:{STATE_COLOURS['exception']}" in view._message.value
        assert view.cancel_button.disabled and not view.rerun_button.disabled
        await until(lambda: view.badge.state == "exception")
        assert "canceled" in view.runs_table.value
        assert "exception" in repr(view)
        bundle = view._repr_mimebundle_()
        assert "EXCEPTION" in bundle["text/html"] and "TaskView" in bundle["text/plain"]

    run(body)


def test_rerun_asks_first_then_follows_the_new_run(conn):
    """A completed task rerun: run 1 completes, the table shows two runs, the
    selector, artifacts and log move to run 1."""

    async def body():
        task_id = create(conn, "echo first run")
        view = TaskView(conn, task_id)
        await view.ready()
        await until(lambda: view.state == "completed")
        assert view.run_id == 0 and not view.badge.polling
        assert view.cancel_button.disabled and not view.rerun_button.disabled

        view.rerun_button.click()
        assert "Really rerun?" in view._prompt.value
        messages = messages_of(view)
        view.yes_button.click()
        await until(lambda: len(view.runs) == 2 and view.state == "completed", timeout=20)
        # The message follows run 1 to its end: no stale "pending" line in green.
        await until(lambda: view.message == "Rerun: run 1 completed.")
        assert messages[:2] == ["", "Rerun: run 1 is pending."], messages
        assert f"color:{STATE_COLOURS['completed']}" in view._message.value
        assert [r["state"] for r in view.runs] == ["completed", "completed"]
        assert view.runs[1]["reasonCreated"] == "rerun"
        assert view.runs_table.value.count('class="tc-run"') == 2
        assert [value for _, value in view.run_selector.options] == [0, 1]
        assert view.run_selector.value == 1 and view.run_id == 1
        # One run selector: the view's. The artifact list's own stays hidden.
        selectors = [w for w in descendants(view) if isinstance(w, ipywidgets.Dropdown)]
        assert [w for w in selectors if visible(w)] == [view.run_selector]
        assert not visible(view.artifacts.run_selector)
        assert view.artifacts.run_id == 1 and view.live_log.run_id == 1
        await until(lambda: "public/passwd.txt" in view.artifacts.names)

        await until(lambda: shows_final_log_of(view, task_id, 1))

        # choosing the older run shows its artifacts and log
        view.run_selector.value = 0
        assert view.run_id == 0 and view.artifacts.run_id == 0 and view.live_log.run_id == 0
        assert 'data-run="0" style="background' in view.runs_table.value
        await until(lambda: shows_final_log_of(view, task_id, 0))

    run(body)


def test_details_show_dependencies_and_their_states(conn):
    """Details list each dependency with its state, refreshed as states change."""

    async def body():
        first = create(conn, "sleep 1")
        second = create(conn, "true", dependencies=[first])
        view = TaskView(conn, second)
        # Before anything is fetched: neutral "loading…" chips, never UNKNOWN.
        assert view.state == "" and "loading…" in view.badge.value
        assert repr(view) == f"<TaskView {second}: loading, 0 runs>"
        shown = [view.details.value + view.badge.value]
        view.details.observe(lambda change: shown.append(change["new"]), "value")
        view.badge.observe(lambda change: shown.append(change["new"]), "value")
        await view.ready()
        assert view.state == "unscheduled" or view.dependencies[first] != "completed"
        assert view.dependencies[first] in ("pending", "running", "completed")
        assert first in view.details.value
        await until(lambda: view.state == "completed", timeout=20)
        await until(lambda: view.dependencies.get(first) == "completed")
        assert "tc-dependency" in view.details.value and "COMPLETED" in view.details.value
        details = view.details.value
        for text in ("Tutorial: list files", "learner@example.com", "aws-provisioner-v1/tutorial"):
            assert text in details
        assert "https://github.com/taskcluster/taskcluster" in details
        assert "5 of 5" in details  # retries left
        assert second in details  # its own task group
        assert view.definition["dependencies"] == [first]
        assert view.status["taskId"] == second
        assert not [html for html in shown if "UNKNOWN" in html]
        assert any("tc-state-loading" in html and first in html for html in shown)

    run(body)


def test_missing_task_says_so(conn):
    """An unknown taskId: a clear message, no details or buttons."""

    async def body():
        task_id = slugid.nice()
        view = TaskView(conn, task_id)
        await view.ready()
        assert view.phase == "missing"
        assert "does not exist" in view.message and task_id in view._message.value
        assert view.details not in view.children and view.cancel_button.disabled
        assert repr(view) == f"<TaskView {task_id}: not found>"
        assert "does not exist" in view._repr_mimebundle_()["text/html"]
        assert not view.badge.polling

    run(body)


def test_queue_errors_from_actions_are_shown(conn):
    """A client that may read but not rerun: the 403 appears in the view."""
    token = conn.sandbox.add_client("reader-view", ["queue:get-task:*", "queue:status:*"])
    reader = Connection(conn.root_url, {"clientId": "reader-view", "accessToken": token})

    async def body():
        task_id = create(conn, "true")
        view = TaskView(reader, task_id)
        await view.ready()
        await until(lambda: view.state == "completed")
        view.rerun_button.click()
        view.yes_button.click()
        await until(lambda: not view.busy)
        assert view.message.startswith("rerunTask failed: 403")
        assert "InsufficientScopes" in view.message and "InsufficientScopes" in view._message.value
        assert len(view.runs) == 1 and not view.rerun_button.disabled

    run(body)


def test_rerun_message_follows_a_failing_run(conn, gate):
    """While run 1 goes on the message says so in a neutral colour, then
    names how it ended."""

    async def body():
        task_id = create(conn, f'if [ "$RUN_ID" = 1 ]; then {gate.wait()}; exit 2; fi')
        view = TaskView(conn, task_id)
        await view.ready()
        await until(lambda: view.state == "completed")
        view.rerun_button.click()
        view.yes_button.click()
        await until(lambda: view.message == "Rerun: run 1 is running.")
        assert f"color:{theme.TEXT}" in view._message.value
        gate.open()
        await until(lambda: view.message == "Rerun: run 1 ended as failed.", timeout=20)
        assert f"color:{STATE_COLOURS['failed']}" in view._message.value

    run(body)


def test_close_stops_everything_and_closes_every_part(conn, gate):
    """close(): badge, log, listings stop; the view and all its widgets close."""

    async def body():
        task_id = create(conn, gate.wait("echo started"))
        view = TaskView(conn, task_id)
        await view.ready()
        await until(lambda: view.live_log is not None and view.live_log.following)
        await until(lambda: view.artifacts is not None and not view.artifacts.loading)
        parts = descendants(view)
        assert view.badge in parts and view.artifacts.table in parts
        view.close()
        await until(lambda: not view.badge.polling and not view.live_log.following, timeout=2)
        await until(lambda: len(view._tasks) == 0 and len(view.artifacts._tasks) == 0, timeout=2)
        assert [part for part in parts if part.comm is not None] == []
        gate.open()

    run(body)


def test_in_a_script_a_view_loads_when_shown(conn):
    """A plain script (no running loop): the view asks nothing when made; shown,
    it loads the task with the sync client, so that its HTML is right."""
    task_id = create(conn, "true")
    with requests_to(task_id) as count:
        view = TaskView(conn, task_id)
        asked = [path for path in count.paths if path.startswith("GET ")]
        assert asked == [] and view.phase == "loading"
        page = view._repr_mimebundle_()["text/html"]  # shown
        wait_until(
            lambda: {f"GET {API}/task/{task_id}", f"GET {API}/task/{task_id}/status"}
            <= set(count.paths),
            message="the task and its status in the sandbox's log",
        )
    assert view.phase == "ready" and not view.badge.polling
    assert view.state in ("pending", "running", "completed") and view.runs
    assert "Tutorial: list files" in page and view.state.upper() in page  # details, badge
