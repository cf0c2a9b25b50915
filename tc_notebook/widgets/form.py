"""`TaskForm`: edit a task definition in fields or as JSON/YAML, check it
against the queue's create-task-request schema, create it, follow it."""

from __future__ import annotations

import asyncio
import html
import json
from functools import partial
from typing import Any

import ipywidgets as widgets
import slugid
from taskcluster.exceptions import TaskclusterRestFailure
from traitlets import Bool, Dict, List, Unicode

from ..connection import Connection
from ..failures import error_code, queue_message
from ..theme import MUTED
from ..tutorial import tutorial_task
from . import form_html, polling
from .artifact_editor import ArtifactEditor
from .shown import ShownHTML
from .static_copy import StaticCopy
from .task_checks import DEFAULT_DEADLINE, problems, resolve_deadline
from .task_draft import TaskDraft, as_text, parse_text
from .task_schema import TaskSchema, fetched_task_schema, task_schema
from .taskview import TaskView


class TaskForm(StaticCopy, widgets.VBox):
    """A task definition as form fields and as JSON/YAML text, validated as
    you type against the queue's create-task-request schema; Create sends
    `createTask` and shows the task's `TaskView` below the form, following
    the task; `close()` stops that and everything else the form started.

    >>> form = TaskForm(conn)      # the tutorial's task by default
    >>> form.fields["command"].value = "/bin/sh -c 'echo hello'"
    >>> form.errors, form.valid    # ({}, True)
    """

    valid = Bool(False, help="True when the definition passes every check (Create is enabled).")
    errors = Dict(help="Problems by field (name, command, maxRunTime, ...) or definition path.")
    sending = Bool(False, help="True while a createTask call is under way.")
    schema_state = Unicode("loading", help="loading, ready or unavailable.")
    text_format = Unicode("json", help="json or yaml: how the text tab shows the definition.")
    created_task_ids = List(Unicode(), help="Tasks this form has created, oldest first.")
    queue_error = Unicode("", help="The last error from the queue, as text.")

    def __init__(
        self,
        conn: Connection,
        definition: dict[str, Any] | None = None,
        deadline: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._loader: asyncio.Task | None = None  # fetching the schema
        self._sender: asyncio.Task | None = None  # sending createTask
        self.conn = conn
        self.draft = TaskDraft()
        self._parse_errors: dict[str, str] = {}  # fields whose text could not be read
        self._syncing = False  # showing the draft in the fields: not an edit
        self._schema: TaskSchema | None = None
        self._schema_note = ""
        self.last_exception: BaseException | None = None

        self.fields: dict[str, widgets.Widget] = {}
        self.field_errors: dict[str, widgets.HTML] = {}
        self.artifacts_editor = ArtifactEditor(self._on_artifacts)
        self.add_artifact_button = self.artifacts_editor.add_button
        wide = widgets.Layout(width="36em")
        rows = [
            self._row("name", "Name", widgets.Text(layout=wide)),
            self._row("description", "Description", widgets.Textarea(rows=2, layout=wide)),
            self._row("owner", "Owner", widgets.Text(layout=wide)),
            self._row("source", "Source", widgets.Text(layout=wide)),
            self._row("taskQueueId", "Task queue", widgets.Text(placeholder="provisioner/worker")),
            self._row("image", "Image", widgets.Text(placeholder="ubuntu:latest")),
            self._row("command", "Command", widgets.Textarea(rows=2, layout=wide)),
            self._row(
                "env",
                "Env",
                widgets.Textarea(rows=2, placeholder="NAME=value, one a line", layout=wide),
            ),
            self._row("maxRunTime", "maxRunTime (s)", widgets.Text(placeholder="600")),
            self._row("artifacts", "Artifacts", self.artifacts_editor),
            self._row(
                "deadline",
                "Deadline",
                widgets.Text(placeholder=f"{DEFAULT_DEADLINE}, or 2030-01-31T12:00:00Z"),
            ),
            self._row("retries", "Retries", widgets.Text(placeholder="5")),
        ]
        for key, field in self.fields.items():
            if key != "artifacts":
                field.observe(partial(self._on_field, key), names="value")

        self.format_toggle = widgets.ToggleButtons(options=[("JSON", "json"), ("YAML", "yaml")])
        self.text = widgets.Textarea(
            rows=26, continuous_update=False, layout=widgets.Layout(width="100%")
        )
        self.text_error = widgets.HTML()
        note = widgets.HTML(
            f'<small style="color:{MUTED}">Edits here update the fields when the text loses '
            "focus. <code>created</code> (and a deadline given as a duration) are set when you "
            "click Create.</small>"
        )
        widgets.link((self.format_toggle, "value"), (self, "text_format"))
        self.observe(self._on_format, names="text_format")
        self.text.observe(self._on_text, names="value")

        self.tabs = widgets.Tab(
            [
                widgets.VBox(rows),
                widgets.VBox([self.format_toggle, self.text, self.text_error, note]),
            ],
            titles=("Fields", "JSON / YAML"),
        )
        self.summary = widgets.HTML()
        self.create_button = widgets.Button(
            description="Create task", button_style="primary", icon="play", disabled=True
        )
        self.create_button.on_click(self._on_create)
        self.status_line = ShownHTML()  # tells the kernel the form is on a page
        self.queue_error_box = widgets.HTML()
        self.views = widgets.VBox()
        super().__init__(
            children=[
                self.tabs,
                self.summary,
                widgets.HBox([self.create_button, self.status_line]),
                self.queue_error_box,
                self.views,
            ],
            **kwargs,
        )
        self.observe(self._on_gate, names=["valid", "sending"])

        start = tutorial_task() if definition is None else definition
        if deadline is None and (definition is None or "deadline" not in definition):
            deadline = DEFAULT_DEADLINE
        self._load(start, deadline=deadline)
        self._render_text()
        self._start_schema()

    def _row(self, key: str, label: str, field: widgets.Widget) -> widgets.VBox:
        error = widgets.HTML(layout=widgets.Layout(display="none", margin="0 0 4px 9.5em"))
        self.fields[key], self.field_errors[key] = field, error
        caption = widgets.Label(label, layout=widgets.Layout(width="9em"))
        return widgets.VBox([widgets.HBox([caption, field]), error])

    # -- plain values ----------------------------------------------------------------------

    @property
    def definition(self) -> dict[str, Any]:
        """The definition Create would send now (created now, deadline resolved)."""
        return self.draft.resolved()

    @definition.setter
    def definition(self, value: dict[str, Any]) -> None:
        self._load(value)
        self._render_text()

    @property
    def task_views(self) -> list[TaskView]:
        """The views of the tasks created here, oldest first."""
        return list(self.views.children)

    # -- the draft ↔ the fields and the text -----------------------------------------------

    def _load(self, definition: Any, deadline: str | None = None, from_text: bool = False) -> None:
        """Take a whole definition (from the constructor, the setter or the text)."""
        self.draft.load(definition, deadline=deadline, from_text=from_text)
        self._parse_errors.clear()
        self._syncing = True
        try:
            for key, text in self.draft.field_texts().items():
                self.fields[key].value = text
            self.artifacts_editor.show(self.draft.artifact_entries())
        finally:
            self._syncing = False
        self._validate()

    def _on_field(self, key: str, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        self._note_problem(key, self.draft.write_field(key, change["new"]))
        self._render_text()
        self._validate()

    def _on_artifacts(self) -> None:
        if self._syncing:
            return
        entries, problem = self.artifacts_editor.entries()
        self.draft.write_artifacts(entries)
        self._note_problem("artifacts", problem)
        self._render_text()
        self._validate()

    def _note_problem(self, key: str, problem: str | None) -> None:
        if problem:
            self._parse_errors[key] = problem
        else:
            self._parse_errors.pop(key, None)

    def _render_text(self) -> None:
        self._syncing = True
        try:
            self.text.value = self.draft.dump(self.text_format)
        finally:
            self._syncing = False
        self._parse_errors.pop("text", None)
        self.text_error.value = ""

    def _on_format(self, _change: Any) -> None:
        self._render_text()
        self._validate()

    def _on_text(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        parsed, problem = parse_text(change["new"], self.text_format)
        if parsed is not None:
            self._load(parsed, from_text=True)
            self.text_error.value = ""
            return
        self._parse_errors["text"] = problem
        self.text_error.value = form_html.field_error(problem)
        self._validate()

    # -- validation ------------------------------------------------------------------------

    def _start_schema(self) -> None:
        fetched = fetched_task_schema(self.conn.root_url)
        if fetched is not None:
            self._schema_loaded(fetched, None)
            return
        self._loader = polling.spawn(self._fetch_schema())
        if self._loader is None:  # no event loop (a script): fetch now
            try:
                self._schema_loaded(task_schema(self.conn.root_url), None)
            except Exception as problem:
                self._schema_loaded(None, problem)

    async def _fetch_schema(self) -> None:
        try:
            schema = await asyncio.to_thread(task_schema, self.conn.root_url)
        except Exception as problem:
            self._schema_loaded(None, problem)
        else:
            self._schema_loaded(schema, None)

    def _schema_loaded(self, schema: TaskSchema | None, problem: BaseException | None) -> None:
        self._schema = schema
        if schema is not None:
            self.schema_state, self._schema_note = "ready", ""
        else:
            self.schema_state = "unavailable"
            first = " ".join(str(problem).split())[:300]
            self._schema_note = (
                f"Could not fetch the queue's schema ({first}); only basic checks were made, "
                "the queue checks the rest."
            )
        self._validate()

    async def ready(self) -> None:
        """Wait until the schema is loaded (or known to be unavailable)."""
        if self._loader is not None:
            await asyncio.shield(self._loader)

    def _validate(self) -> None:
        found = dict(self._parse_errors)
        _, problem = resolve_deadline(self.draft.deadline_text)
        if problem:
            found.setdefault("deadline", problem)
        for key, message in problems(self.draft.resolved(), self._schema).items():
            found.setdefault(key, message)
        self.errors = found
        self.valid = not found and self.schema_state != "loading"
        self._show_errors()

    def _show_errors(self) -> None:
        for key, box in self.field_errors.items():
            message = self.errors.get(key, "")
            box.value = form_html.field_error(message) if message else ""
            box.layout.display = None if message else "none"
        loose = {k: m for k, m in self.errors.items() if k not in self.field_errors}
        self.summary.value = form_html.summary(
            loose, len(self.errors), self.schema_state, self._schema_note
        )

    def _on_gate(self, _change: Any = None) -> None:
        self.create_button.disabled = self.sending or not self.valid

    # -- creating the task -----------------------------------------------------------------

    def _on_create(self, _button: Any = None) -> None:
        if self.sending:
            return  # a second click while the first is being sent
        self._validate()
        if not self.valid:
            return
        task_id, definition = slugid.nice(), self.draft.resolved()
        self.sending = True
        self.status_line.value = f"<small>creating <code>{task_id}</code>…</small>"
        self._sender = polling.spawn(self._send(task_id, definition))
        if self._sender is None:  # no event loop (a script): the sync client
            try:
                self.conn.queue.createTask(task_id, definition)
            except Exception as failure:
                self._failed(failure)
            else:
                self._created(task_id)
            finally:
                self.sending = False

    async def _send(self, task_id: str, definition: dict[str, Any]) -> None:
        try:
            queue = self.conn.aio_queue(polling.session())
            await queue.createTask(task_id, definition)
        except Exception as failure:  # shown in the form
            self._failed(failure)
        else:
            self._created(task_id)
        finally:
            self.sending = False

    async def wait_sent(self) -> None:
        """Wait for a createTask call under way, if any."""
        if self._sender is not None:
            await asyncio.shield(self._sender)

    def _created(self, task_id: str) -> None:
        self.last_exception = None
        self.queue_error, self.queue_error_box.value = "", ""
        self.created_task_ids = [*self.created_task_ids, task_id]
        self.status_line.value = f"<small>created <code>{task_id}</code></small>"
        try:
            view = TaskView(self.conn, task_id)
            view.watch()  # asked for by the click: follow it (a script: load it once)
        except Exception as failure:  # the task exists; say why it cannot be shown
            self.last_exception = failure
            self.status_line.value += form_html.cannot_show(failure)
            return
        self.views.children = (*self.views.children, view)

    def _failed(self, failure: BaseException) -> None:
        self.last_exception = failure
        if isinstance(failure, TaskclusterRestFailure):  # the queue answered
            code = f"{failure.status_code} {error_code(failure)}"
            headline = f"createTask failed: {code}".rstrip()
        else:
            headline = f"createTask failed: {type(failure).__name__}"
        message = queue_message(failure)
        self.queue_error = f"{headline}\n{message}"
        self.status_line.value = ""
        self.queue_error_box.value = form_html.queue_error(headline, message)

    # -- the end ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop fetching the schema and sending, close the task views this form
        created (which stops their polling), and remove the form from the page."""
        for task in (self._loader, self._sender):
            if task is not None:
                task.cancel()
        if self.comm is not None:  # once (ipywidgets' __del__ closes again)
            polling.close_widgets(*self.children)
        super().close()

    # -- outside a live kernel -------------------------------------------------------------

    def static_html(self) -> str:
        """The definition and its problems, then the tasks created, each as its view shows it."""
        return (
            "<div><strong>Task definition</strong>"
            + form_html.problem_list(self.errors)
            + f"<pre>{html.escape(json.dumps(self.definition, indent=2))}</pre>"
            + self.status_line.value
            + self.queue_error_box.value
            + "".join(view.static_html() for view in self.views.children)
            + "</div>"
        )

    @property
    def view_shown(self) -> bool:
        """True once a view has reached a page."""
        return self.status_line.view_shown

    def __repr__(self) -> str:
        name = as_text(self.draft.get("metadata", "name"))
        state = "valid" if self.valid else f"{len(self.errors)} problem(s)"
        if self.schema_state == "loading" and not self.errors:
            state = "checking"
        created = f", created {', '.join(self.created_task_ids)}" if self.created_task_ids else ""
        return f"<TaskForm {name!r}: {state}{created}>"
