"""TaskForm's checks against a live sandbox: the deadline, RFC 3339 dates, the
worker's payload rules; and its schema loading against Taskcluster's own
rendered schemas, or none."""

from __future__ import annotations

import functools
import html
import http.server
import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from form_helpers import shown_error
from widget_helpers import run

from tc_notebook.connection import Connection
from tc_notebook.timestamps import iso_in
from tc_notebook.tutorial import tutorial_task
from tc_notebook.widgets import TaskForm
from tc_notebook.widgets.task_checks import problems
from tc_notebook.widgets.task_schema import TaskSchema

UPSTREAM_SCHEMAS = Path(__file__).resolve().parents[2] / "shared/taskcluster-reference/schemas/json"


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


@pytest.mark.parametrize(
    "bad", ["2026-11-30", "2026-W48-1", "2026-11-30 12:00:00Z", "2026-W48-1T12:00:00Z"]
)
def test_dates_must_be_rfc3339_date_times(conn, bad):
    """A date alone or an ISO week date is no date-time to Taskcluster: the form
    says so, naming the field, whether typed as the deadline, as `expires` in
    the text, or (were it kept) as `created`; a full date-time is accepted."""

    async def body():
        form = TaskForm(conn)
        await form.ready()
        assert form.valid

        form.fields["deadline"].value = bad
        message = shown_error(form, "deadline")
        assert "deadline" in message and bad in message and "RFC 3339" in message
        assert not form.valid and form.create_button.disabled
        tomorrow = iso_in(24 * 3600)  # like 2026-11-30T12:00:00.000Z
        form.fields["deadline"].value = tomorrow
        assert form.valid, form.errors
        assert form.definition["deadline"] == tomorrow

        text = json.loads(form.text.value)
        form.text.value = json.dumps({**text, "expires": bad})
        assert "expires" in form.errors and bad in form.errors["expires"]
        assert f"<code>expires</code>: expires &#x27;{bad}&#x27;" in form.summary.value
        assert not form.valid
        form.text.value = json.dumps({**text, "expires": iso_in(365 * 24 * 3600)})
        assert form.valid, form.errors

        # The form stamps `created` itself; its checks refuse a bad one all the same.
        found = problems({**form.definition, "created": bad}, form._schema)
        assert "created" in found and bad in found["created"]
        assert "created" not in problems(form.definition, form._schema)

    run(body)


def test_payload_rules_are_the_workers(conn):
    """The payload is checked against the worker's own payload schema, with the
    worker's wording, under the field it belongs to."""

    async def body():
        form = TaskForm(conn)
        await form.ready()
        text = json.loads(form.text.value)
        payload = text["payload"]
        cases = [
            ({**payload, "env": {"N": 1}}, "env", "payload.env.N must be a string"),
            ({**payload, "image": ""}, "image", "payload.image must not be empty"),
            ({**payload, "command": [["/bin/true"], []]}, "command", "payload.command[1]"),
            (
                {**payload, "artifacts": {"public/x": {"type": "socket", "path": "x"}}},
                "artifacts",
                "'file' or 'directory', not \"socket\"",
            ),
            (
                {**payload, "artifacts": [{"type": "file", "path": "x", "expires": "2026-11-30"}]},
                "artifacts",
                "payload.artifacts[0].expires must be a date-time",
            ),
        ]
        for changed, field, wording in cases:
            form.text.value = json.dumps({**text, "payload": changed})
            assert html.escape(wording) in shown_error(form, field), (field, form.errors)
            assert not form.valid
        late = {"type": "file", "path": "x", "expires": iso_in(400 * 24 * 3600)}
        form.text.value = json.dumps(
            {
                **text,
                "expires": iso_in(365 * 24 * 3600),
                "payload": {**payload, "artifacts": {"public/x": late}},
            }
        )
        assert "after its task" in shown_error(form, "artifacts")
        del payload["maxRunTime"]
        form.text.value = json.dumps(text)
        assert "payload.maxRunTime is required" in shown_error(form, "maxRunTime")

    run(body)


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
