"""TaskForm against a live sandbox (widget state, no browser), and its schema
loading against Taskcluster's own rendered schemas."""

from __future__ import annotations

import functools
import http.server
import json
import shlex
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import slugid
import taskcluster
import yaml
from widget_helpers import run, until

from tc_notebook.connection import Connection
from tc_notebook.sandbox import Sandbox
from tc_notebook.tutorial import tutorial_task
from tc_notebook.widgets import TaskForm, TaskView
from tc_notebook.widgets.form import TaskSchema

UPSTREAM_SCHEMAS = Path(__file__).resolve().parents[2] / "shared/taskcluster-reference/schemas/json"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with Sandbox(tmp_path_factory.mktemp("form"), capacity=4) as sb:
        yield sb


@pytest.fixture(scope="module")
def conn(sandbox):
    return Connection(sandbox.root_url, sandbox.credentials, sandbox)


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


def shown_error(form: TaskForm, field: str) -> str:
    """The error text under a field, asserting it is visible."""
    box = form.field_errors[field]
    assert box.layout.display != "none", f"no error shown under {field}"
    return box.value


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
        assert [row.name.value for row in form._artifact_rows] == [
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
        row = form._artifact_rows[-1]
        row.name.value, row.path.value, row.kind.value = "public/dir", "outdir", "directory"
        form._on_remove_artifact(form._artifact_rows[0])
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


def test_deadline_field(conn):
    """Durations and date-times are accepted; past, too far, or garbage are not."""

    async def body():
        form = TaskForm(conn)
        await form.ready()
        field = form.fields["deadline"]
        field.value = "tomorrow"
        assert "duration" in shown_error(form, "deadline") and not form.valid
        field.value = "-1 hour"
        assert "past" in form.errors["deadline"]
        field.value = "6 days"
        assert "5 days" in form.errors["deadline"]
        field.value = "2020-01-01T00:00:00Z"
        assert "past" in form.errors["deadline"]
        field.value = "2030-01-01T00:00:00"
        assert "time zone" in form.errors["deadline"]
        later = (datetime.now(timezone.utc) + timedelta(hours=5)).isoformat()
        field.value = later
        assert form.valid and form.definition["deadline"] == later
        field.value = "3 hours"
        assert form.valid and form.definition["deadline"] != later

    run(body)


def test_queue_errors_are_shown_in_the_form(conn, sandbox):
    """A client without createTask scopes: the 403 InsufficientScopes appears."""
    token = sandbox.add_client("weak-form", ["queue:get-task:*"])
    weak = Connection(sandbox.root_url, {"clientId": "weak-form", "accessToken": token}, sandbox)

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


@pytest.fixture(scope="module")
def upstream_root_url():
    """A static server that serves Taskcluster's rendered schemas under /schemas/."""
    if not UPSTREAM_SCHEMAS.is_dir():
        pytest.skip("Taskcluster's rendered schemas are not available")

    class Schemas(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path):
            name = path.split("?")[0].removeprefix("/schemas/")
            return str(UPSTREAM_SCHEMAS / name)

        def log_message(self, *args):
            pass

    handler = functools.partial(Schemas, directory=str(UPSTREAM_SCHEMAS))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_taskclusters_own_schemas(upstream_root_url):
    """A deployment's schema: custom metaschema (draft-06), relative $refs fetched
    from the same root URL, cached per root URL."""
    schema = TaskSchema(upstream_root_url)
    assert type(schema.validator).__name__ == "Draft6Validator"
    assert schema.errors(tutorial_task()) == []
    bad = tutorial_task()
    bad["retries"] = 99
    bad["workerType"] = "Bad"
    bad["metadata"].pop("owner")
    paths = {tuple(e.absolute_path) for e in schema.errors(bad)}
    assert {("retries",), ("workerType",), ("metadata",)} <= paths

    async def body():
        form = TaskForm(Connection(upstream_root_url))
        await form.ready()
        assert form.schema_state == "ready" and form.valid, form.errors
        form.fields["retries"].value = "99"
        assert "49" in form.errors["retries"]
        text = json.loads(form.text.value)
        del text["metadata"]["owner"]
        form.text.value = json.dumps(text)
        assert form.errors["owner"] == "owner is required"
        again = TaskForm(Connection(upstream_root_url))
        assert again._schema is form._schema  # cached per root URL

    run(body)


def test_unreachable_schema_leaves_the_queue_to_check(tmp_path):
    """No schema at the root URL: basic checks only, and a note says so."""

    async def body():
        form = TaskForm(Connection("http://127.0.0.1:9"))
        await form.ready()
        assert form.schema_state == "unavailable" and form.valid
        assert "Could not fetch" in form.summary.value
        form.fields["maxRunTime"].value = "-1"
        assert not form.valid

    run(body)
