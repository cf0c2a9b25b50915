"""TaskView against a live sandbox (widget state, no browser)."""

from __future__ import annotations

import pytest
import slugid
from widget_helpers import create, run, until

from tc_notebook.connection import Connection
from tc_notebook.sandbox import Sandbox
from tc_notebook.widgets import TaskView


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with Sandbox(tmp_path_factory.mktemp("taskview"), capacity=4) as sb:
        yield sb


@pytest.fixture(scope="module")
def conn(sandbox):
    return Connection(sandbox.root_url, sandbox.credentials, sandbox)


def visible(widget) -> bool:
    return widget.layout.display != "none"


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
        assert "Canceled" in view.message
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
        view.yes_button.click()
        await until(lambda: len(view.runs) == 2 and view.state == "completed", timeout=20)
        assert [r["state"] for r in view.runs] == ["completed", "completed"]
        assert view.runs[1]["reasonCreated"] == "rerun"
        assert view.runs_table.value.count('class="tc-run"') == 2
        assert [value for _, value in view.run_selector.options] == [0, 1]
        assert view.run_selector.value == 1 and view.run_id == 1
        assert view.artifacts.run_id == 1 and view.live_log.run_id == 1
        await until(lambda: "public/passwd.txt" in view.artifacts.names)

        # choosing the older run shows its artifacts and log
        view.run_selector.value = 0
        assert view.run_id == 0 and view.artifacts.run_id == 0 and view.live_log.run_id == 0
        assert 'data-run="0" style="background' in view.runs_table.value

    run(body)


def test_details_show_dependencies_and_their_states(conn):
    """Details list each dependency with its state, refreshed as states change."""

    async def body():
        first = create(conn, "sleep 1")
        second = create(conn, "true", dependencies=[first])
        view = TaskView(conn, second)
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


def test_queue_errors_from_actions_are_shown(conn, sandbox):
    """A client that may read but not rerun: the 403 appears in the view."""
    token = sandbox.add_client("reader-view", ["queue:get-task:*", "queue:status:*"])
    reader = Connection(sandbox.root_url, {"clientId": "reader-view", "accessToken": token})

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
