"""TaskForm against a live sandbox (widget state, no browser): the fields and
the text, creating and following a task, the queue's refusals, closing."""

from __future__ import annotations

import json
import shlex
import socket
from datetime import datetime, timedelta, timezone

import slugid
import taskcluster
import yaml
from form_helpers import shown_error
from server_requests import requests_to
from widget_helpers import run, until
from widget_lifecycle import UNSERVED, assert_quiet_once_closed

from tc_notebook.connection import Connection
from tc_notebook.tutorial import tutorial_task
from tc_notebook.widgets import TaskForm, TaskView


def timeless(definition: dict) -> dict:
    """A definition without its created and deadline stamps (they move with the clock)."""
    return {k: v for k, v in definition.items() if k not in ("created", "deadline")}


def group_size(conn: Connection, group: str) -> int:
    """How many tasks the queue holds in a task group (0 if it does not exist)."""
    try:
        return len(conn.queue.listTaskGroup(group)["tasks"])
    except taskcluster.TaskclusterRestFailure as failure:
        assert failure.status_code == 404
        return 0


def test_defaults_reproduce_the_tutorial_task(conn):
    """Fields, JSON and `definition` hold the tutorial's task; a relative deadline."""

    async def body():
        form = TaskForm(conn)
        assert form.schema_state == "loading" and not form.valid
        await form.ready()
        assert form.schema_state == "ready" and form.valid and form.errors == {}
        assert not form.create_button.disabled

        expected, got = tutorial_task(), form.definition
        for key in ("provisionerId", "workerType", "metadata"):
            assert got[key] == expected[key]
        for spec in (
            *got["payload"]["artifacts"].values(),
            *expected["payload"]["artifacts"].values(),
        ):
            spec.pop("expires")  # two months from construction: differs by milliseconds
        assert got["payload"] == expected["payload"]
        deadline = datetime.fromisoformat(got["deadline"].replace("Z", "+00:00"))
        wanted = datetime.now(timezone.utc) + timedelta(days=2, hours=3)
        assert abs((deadline - wanted).total_seconds()) < 30
        assert form.fields["deadline"].value == "2 days 3 hours"
        assert form.fields["command"].value == "/bin/bash -c 'ls && du /usr'"
        assert form.fields["taskQueueId"].value == "aws-provisioner-v1/tutorial"
        assert form.fields["maxRunTime"].value == "600"
        assert timeless(json.loads(form.text.value)) == timeless(form.definition)
        assert "valid" in repr(form) and "Tutorial" in repr(form)
        bundle = form._repr_mimebundle_()
        assert "text/plain" in bundle and "public/passwd.txt" in bundle["text/html"]

    run(body)


def test_invalid_fields_send_nothing_and_show_their_errors(conn):
    """Each bad field shows a red message under itself; Create stays disabled and
    a click anyway creates no task."""

    async def body():
        group = slugid.nice()
        form = TaskForm(conn, definition={**tutorial_task(), "taskGroupId": group})
        await form.ready()
        assert form.valid

        form.fields["maxRunTime"].value = "0"
        assert "positive whole number" in shown_error(form, "maxRunTime")
        assert form.create_button.disabled and not form.valid
        form.create_button.click()  # a click that slips through sends nothing
        assert not form.sending and form.created_task_ids == []

        form.fields["maxRunTime"].value = "ten"
        assert "whole number" in form.errors["maxRunTime"]
        form.fields["maxRunTime"].value = "600"
        assert form.valid and form.field_errors["maxRunTime"].layout.display == "none"

        form.fields["command"].value = "   "
        assert "must not be empty" in shown_error(form, "command")
        form.fields["command"].value = "/bin/sh -c 'echo unclosed"
        assert "quotation" in shown_error(form, "command")
        form.fields["command"].value = "/bin/sh -c 'echo fine'"

        form.fields["taskQueueId"].value = "Not A Queue/x"
        assert "does not match" in shown_error(form, "taskQueueId")  # from the queue's schema
        form.fields["taskQueueId"].value = "aws-provisioner-v1/tutorial"

        form.fields["retries"].value = "99"
        assert "49" in shown_error(form, "retries")
        form.fields["retries"].value = "2"

        form.fields["source"].value = "ftp://example.com"
        assert "does not match" in shown_error(form, "source")
        form.fields["source"].value = "https://example.com/tc-notebook"

        form.fields["env"].value = "GREETING=hello\nnot a variable"
        assert "line 2" in shown_error(form, "env")
        form.fields["env"].value = "GREETING=hello"
        assert form.valid and form.definition["payload"]["env"] == {"GREETING": "hello"}

        # a problem with no field of its own goes to the summary
        text = json.loads(form.text.value)
        text["routes"] = [""]
        form.text.value = json.dumps(text)
        assert "routes.0" in form.errors and "routes.0" in form.summary.value
        assert form.create_button.disabled

        form.create_button.click()
        assert not form.sending and form.created_task_ids == []
        assert group_size(conn, group) == 0

    run(body)


def test_valid_form_creates_one_task_on_a_double_click_and_follows_it(conn):
    """Two quick clicks create one task; its TaskView appears below the form,
    follows it to completed and lists its artifacts."""

    async def body():
        group = slugid.nice()
        form = TaskForm(conn, definition={**tutorial_task(), "taskGroupId": group})
        await form.ready()
        form.fields["command"].value = "/bin/sh -c 'echo hello from the form'"
        form.create_button.click()
        form.create_button.click()
        assert form.sending and form.create_button.disabled
        await form.wait_sent()
        assert not form.sending and not form.create_button.disabled
        assert len(form.created_task_ids) == 1 and form.queue_error == ""
        assert group_size(conn, group) == 1
        task_id = form.created_task_ids[0]
        sent = conn.queue.task(task_id)
        assert sent["payload"]["command"] == ["/bin/sh", "-c", "echo hello from the form"]
        assert sent["taskGroupId"] == group

        [view] = form.task_views
        assert isinstance(view, TaskView) and view in form.views.children
        assert view.task_id == task_id
        await until(lambda: view.state == "completed")
        await until(
            lambda: view.artifacts is not None and "public/passwd.txt" in view.artifacts.names
        )
        assert "completed" in repr(view)
        assert task_id in repr(form)

    run(body)


def test_json_and_yaml_edits_round_trip_with_the_fields(conn):
    """Text edits update the fields; field edits update the text; YAML too."""

    async def body():
        form = TaskForm(conn)
        await form.ready()
        untouched = json.loads(form.text.value)

        # JSON → fields
        edited = json.loads(form.text.value)
        edited["metadata"]["name"] = "edited in JSON"
        edited["payload"]["command"] = ["/bin/sh", "-c", "echo 'a b' > out.txt"]
        edited["payload"]["env"] = {"A": "1", "B": "two words"}
        edited["payload"]["maxRunTime"] = 120
        edited["payload"]["artifacts"]["public/out.txt"] = {"type": "file", "path": "out.txt"}
        edited["retries"] = 1
        edited["routes"] = ["index.example"]  # no field: kept as is
        form.text.value = json.dumps(edited, indent=4)
        assert form.valid, form.errors
        assert form.fields["name"].value == "edited in JSON"
        assert shlex.split(form.fields["command"].value) == edited["payload"]["command"]
        assert form.fields["env"].value == "A=1\nB=two words"
        assert form.fields["maxRunTime"].value == "120"
        assert form.fields["retries"].value == "1"
        assert [row.name.value for row in form.artifacts_editor.rows] == [
            "public/passwd.txt",
            "public/out.txt",
        ]
        # the deadline was not touched in the text: it stays a duration
        assert form.fields["deadline"].value == "2 days 3 hours"
        assert timeless(form.definition) == timeless(edited)

        # fields → JSON (the routes from the text survive)
        form.fields["name"].value = "edited in the fields"
        form.fields["command"].value = "/bin/echo hi"
        form.fields["taskQueueId"].value = "sandbox/other-queue"
        form.add_artifact_button.click()
        assert "name" in form.errors["artifacts"] or "path" in form.errors["artifacts"]
        row = form.artifacts_editor.rows[-1]
        row.name.value, row.path.value, row.kind.value = "public/dir", "outdir", "directory"
        form.artifacts_editor.rows[0].remove.click()
        assert form.valid, form.errors
        shown = json.loads(form.text.value)
        assert shown["metadata"]["name"] == "edited in the fields"
        assert shown["payload"]["command"] == ["/bin/echo", "hi"]
        assert (shown["provisionerId"], shown["workerType"]) == ("sandbox", "other-queue")
        assert shown["routes"] == ["index.example"]
        assert set(shown["payload"]["artifacts"]) == {"public/out.txt", "public/dir"}
        assert shown["payload"]["artifacts"]["public/dir"] == {
            "type": "directory",
            "path": "outdir",
        }
        assert timeless(shown) == timeless(form.definition)

        # an absolute deadline typed in the text replaces the duration
        absolute = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        form.text.value = json.dumps({**shown, "deadline": absolute})
        assert form.fields["deadline"].value == absolute and form.definition["deadline"] == absolute

        # YAML shows the same definition; edits there reach the fields
        form.format_toggle.value = "yaml"
        as_yaml = yaml.safe_load(form.text.value)
        assert timeless(as_yaml) == timeless(form.definition)
        as_yaml["metadata"]["owner"] = "yaml@example.com"
        form.text.value = yaml.safe_dump(as_yaml)
        assert form.fields["owner"].value == "yaml@example.com" and form.valid
        form.text.value = "payload: [unclosed"
        assert form.errors["text"].startswith("YAML") and form.create_button.disabled
        assert "YAML" in form.text_error.value and "text" in form.summary.value
        form.format_toggle.value = "json"  # re-rendered from the fields
        assert "text" not in form.errors and form.valid
        form.text.value = '{"metadata": '
        assert form.errors["text"].startswith("JSON") and not form.valid

        # the setter loads a whole definition
        form.definition = untouched
        assert form.fields["name"].value == untouched["metadata"]["name"]
        assert form.valid

    run(body)


def test_close_stops_following_the_created_task(conn):
    """Once the form is closed, its TaskView asks the sandbox nothing more about
    the task it created (a pending one, which it would poll for ever)."""

    async def body():
        # The sandbox logs requests only on connections opened while its request
        # log is on: keep it on from before the form's first request.
        with requests_to("/task/"):
            form = TaskForm(conn, definition={**tutorial_task(), **UNSERVED})
            await form.ready()
            form.create_button.click()
            await form.wait_sent()
            [task_id], [view] = form.created_task_ids, form.task_views
            await assert_quiet_once_closed(conn, task_id, form)
        assert view.comm is None and not view.badge.polling

    run(body)


def test_close_stops_fetching_the_schema():
    """A form closed while the schema is on its way: the fetch is cancelled and
    the closed form is left as it was."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers

        async def body():
            form = TaskForm(Connection(f"http://127.0.0.1:{silent.getsockname()[1]}"))
            assert form.schema_state == "loading"
            form.close()
            await until(lambda: form._loader.done(), message="the schema fetch to end")
            assert form._loader.cancelled() and form.schema_state == "loading"
            silent.close()  # the fetch's thread gets a reset and ends

        run(body)


def test_queue_errors_are_shown_in_the_form(conn):
    """A client without createTask scopes: the 403 InsufficientScopes appears."""
    token = conn.sandbox.add_client("weak-form", ["queue:get-task:*"])
    weak = Connection(conn.root_url, {"clientId": "weak-form", "accessToken": token}, conn.sandbox)

    async def body():
        form = TaskForm(weak)
        await form.ready()
        form.create_button.click()
        await form.wait_sent()
        assert form.created_task_ids == [] and form.task_views == []
        assert "403" in form.queue_error and "InsufficientScopes" in form.queue_error
        assert "queue:create-task" in form.queue_error
        assert "InsufficientScopes" in form.queue_error_box.value
        assert isinstance(form.last_exception, taskcluster.TaskclusterRestFailure)
        assert not form.create_button.disabled  # fix the scopes, then try again

    run(body)


def test_without_an_event_loop(conn):
    """In a plain script the schema is fetched and createTask sent synchronously."""
    form = TaskForm(conn)
    assert form.schema_state == "ready" and form.valid
    form.fields["command"].value = "/bin/true"
    form.create_button.click()
    assert len(form.created_task_ids) == 1 and not form.sending
    [view] = form.task_views
    assert view.phase == "ready" and view.definition["payload"]["command"] == ["/bin/true"]
