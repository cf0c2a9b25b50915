"""`TaskForm`: edit a task definition in fields or as JSON/YAML, check it
against the queue's create-task-request schema, create it, follow it."""

from __future__ import annotations

import asyncio
import copy
import html
import json
import re
import shlex
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from functools import partial
from typing import Any
from urllib.parse import urldefrag, urljoin

import ipywidgets as widgets
import referencing.jsonschema
import requests
import slugid
import taskcluster
import taskcluster.exceptions
import yaml
from jsonschema import Draft7Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError, best_match, relevance
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from traitlets import Bool, Dict, List, Unicode

from ..connection import Connection
from ..tutorial import tutorial_task
from . import polling
from .taskview import TaskView

SCHEMA_PATH = "/schemas/queue/v1/create-task-request.json"
DEFAULT_DEADLINE = "2 days 3 hours"
MAX_DEADLINE = timedelta(days=5, minutes=15)  # the queue's limit, with its allowed drift
ERROR_COLOUR = "#c62828"

# Which form field shows the errors found at a path of the definition.
FIELD_PATHS: dict[tuple[str, ...], str] = {
    ("metadata", "name"): "name",
    ("metadata", "description"): "description",
    ("metadata", "owner"): "owner",
    ("metadata", "source"): "source",
    ("taskQueueId",): "taskQueueId",
    ("provisionerId",): "taskQueueId",
    ("workerType",): "taskQueueId",
    ("payload", "image"): "image",
    ("payload", "command"): "command",
    ("payload", "env"): "env",
    ("payload", "maxRunTime"): "maxRunTime",
    ("payload", "artifacts"): "artifacts",
    ("deadline",): "deadline",
    ("retries",): "retries",
}
FIELDS = (
    "name",
    "description",
    "owner",
    "source",
    "taskQueueId",
    "image",
    "command",
    "env",
    "maxRunTime",
    "artifacts",
    "deadline",
    "retries",
)

# -- the queue's schema --------------------------------------------------------------------

_format_checker = FormatChecker()


@_format_checker.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str):
        _parse_time(value)
    return True


def _parse_time(value: str) -> datetime:
    """An RFC 3339 date-time (with a zone) as an aware datetime; ValueError otherwise."""
    moment = datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", value.strip()))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return moment


def _without_dialect(contents: Any) -> Any:
    if isinstance(contents, dict):
        return {k: v for k, v in contents.items() if k != "$schema"}
    return contents


def _refs(node: Any):
    """Every `$ref` string in a schema document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


class TaskSchema:
    """The create-task-request schema served at a root URL, with the schemas it
    refers to (fetched from the same root URL), ready to validate definitions.

    Taskcluster's own schemas name a custom metaschema
    (`/schemas/common/metaschema.json#`, itself draft-06) and use relative
    `$ref`s such as `task.json#/properties/x`; the sandbox's are 2020-12.
    """

    def __init__(self, root_url: str, timeout: float = 15.0) -> None:
        self.root_url = root_url.rstrip("/")
        self.timeout = timeout
        self._documents: dict[str, Any] = {}
        self._lock = threading.Lock()
        schema = self._fetch(SCHEMA_PATH)
        base = urldefrag(schema.get("$id") or SCHEMA_PATH)[0]
        cls = self._validator_class(schema, base)
        dialect = cls.META_SCHEMA.get("$id") or cls.META_SCHEMA.get("id", "")
        self.specification = referencing.jsonschema.specification_with(
            dialect, default=referencing.jsonschema.DRAFT7
        )
        root = _without_dialect(schema)
        registry: Registry = Registry(retrieve=self._retrieve).with_resource(
            base, self.specification.create_resource(root)
        )
        registry = self._crawl(registry, base, root)
        self.validator = cls(root, registry=registry, format_checker=_format_checker)

    def _fetch(self, uri: str) -> Any:
        """A JSON document by root-relative path or absolute URL on the root URL."""
        url = self.root_url + uri if uri.startswith("/") else uri
        if not url.startswith(self.root_url + "/"):
            raise NoSuchResource(ref=uri)  # schemas come from the root URL only
        with self._lock:
            if url in self._documents:
                return self._documents[url]
        response = requests.get(url, timeout=self.timeout, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
        with self._lock:
            self._documents[url] = document
        return document

    def _retrieve(self, uri: str) -> Resource:
        return self.specification.create_resource(_without_dialect(self._fetch(uri)))

    def _validator_class(self, schema: dict[str, Any], base: str) -> Any:
        found = validators.validator_for(schema, default=None)
        dialect = schema.get("$schema")
        if found is None and isinstance(dialect, str):
            try:  # a deployment's own metaschema names the draft it extends
                meta = self._fetch(urldefrag(urljoin(base, dialect))[0])
                found = validators.validator_for(meta, default=None)
            except Exception:
                found = None
        return found or Draft7Validator

    @staticmethod
    def _crawl(registry: Registry, base: str, root: Any) -> Registry:
        """Fetch every referenced document now, so validating never waits on the network."""
        pending, seen = [(base, root)], {base}
        while pending:
            where, contents = pending.pop()
            for ref in _refs(contents):
                uri = urldefrag(urljoin(where, ref))[0]
                if not uri or uri in seen:
                    continue
                seen.add(uri)
                retrieved = registry.get_or_retrieve(uri)
                registry = retrieved.registry
                pending.append((uri, retrieved.value.contents))
        return registry

    def errors(self, definition: Any) -> list[ValidationError]:
        """Validation errors, most relevant first (each reduced to its best cause)."""
        found = [best_match([e]) for e in self.validator.iter_errors(definition)]
        return sorted(found, key=relevance, reverse=True)


_schemas: dict[str, TaskSchema] = {}
_schemas_lock = threading.Lock()


def task_schema(root_url: str) -> TaskSchema:
    """The create-task-request schema of a root URL, fetched once per root URL."""
    key = root_url.rstrip("/")
    with _schemas_lock:
        if key not in _schemas:
            _schemas[key] = TaskSchema(key)
        return _schemas[key]


# -- checks the schema does not make -------------------------------------------------------


def resolve_deadline(text: str) -> tuple[str | None, str | None]:
    """The deadline field's text (a duration from now, or a date-time) as
    `(date-time, None)`, or `(None, problem)`."""
    stripped = text.strip()
    if not stripped:
        return None, f"a deadline is required, e.g. {DEFAULT_DEADLINE}"
    if re.match(r"^\d{4}-\d{2}-\d{2}", stripped):
        try:
            _parse_time(stripped)
        except ValueError:
            return None, (
                f"{stripped!r} is not a date-time with a time zone, like 2030-01-31T12:00:00Z"
            )
        return stripped, None
    try:
        return taskcluster.fromNowJSON(stripped), None
    except ValueError:
        return None, (
            f"{stripped!r} is neither a duration like '{DEFAULT_DEADLINE}' "
            "nor a date-time like 2030-01-31T12:00:00Z"
        )


def basic_problems(definition: dict[str, Any]) -> list[tuple[str, str]]:
    """What the queue's schema leaves to the queue or the worker: the task
    queue, the dates, and the payload's command, maxRunTime, env, image and
    artifacts. Returns (field, message) pairs."""
    problems: list[tuple[str, str]] = []
    queue_id = definition.get("taskQueueId")
    provisioner, worker_type = definition.get("provisionerId"), definition.get("workerType")
    if not ((provisioner and worker_type) or (queue_id and not provisioner and not worker_type)):
        if queue_id or provisioner or worker_type:
            problems.append(
                ("taskQueueId", "give a taskQueueId or both provisionerId and workerType")
            )
        else:
            problems.append(("taskQueueId", "a task queue (provisionerId/workerType) is required"))
    elif queue_id and provisioner and queue_id != f"{provisioner}/{worker_type}":
        problems.append(("taskQueueId", "taskQueueId must match provisionerId/workerType"))

    problems.extend(_date_problems(definition))

    payload = definition.get("payload")
    if not isinstance(payload, dict):
        problems.append(("payload", "the payload must be an object"))
        return problems
    command = payload.get("command")
    if command in (None, [], ""):
        problems.append(("command", "the command must not be empty"))
    elif not isinstance(command, list):
        problems.append(("command", "the command must be a list of arguments"))
    elif all(isinstance(c, list) for c in command):
        if not all(c and all(isinstance(a, str) for a in c) for c in command):
            problems.append(("command", "each command must be a non-empty list of strings"))
    elif not all(isinstance(a, str) for a in command):
        problems.append(("command", "every argument of the command must be a string"))

    seconds = payload.get("maxRunTime")
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
        problems.append(("maxRunTime", "maxRunTime must be a positive whole number of seconds"))

    env = payload.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        problems.append(("env", "env must map names to string values"))

    image = payload.get("image", "-")
    if image == "" or not isinstance(image, (str, dict)):
        problems.append(("image", "the image must be a non-empty name"))

    artifacts = payload.get("artifacts", {})
    if isinstance(artifacts, dict):
        entries = list(artifacts.items())
    elif isinstance(artifacts, list):
        entries = [(a.get("name") if isinstance(a, dict) else None, a) for a in artifacts]
    else:
        entries = None
        problems.append(("artifacts", "artifacts must be an object (or a list)"))
    for number, (name, spec) in enumerate(entries or [], 1):
        label = f"artifact {number} ({name})" if name else f"artifact {number}"
        if not isinstance(spec, dict):
            problems.append(("artifacts", f"{label} must be an object"))
        elif spec.get("type") not in ("file", "directory"):
            problems.append(("artifacts", f"{label}: the type must be file or directory"))
        elif not isinstance(spec.get("path"), str) or not spec["path"]:
            problems.append(("artifacts", f"{label}: the path must not be empty"))
        else:
            continue
        break
    return problems


def _date_problems(definition: dict[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    moment = datetime.now(timezone.utc)
    try:
        deadline = _parse_time(definition["deadline"])
    except (KeyError, TypeError, ValueError):
        return problems  # the schema (or the deadline field) reports it
    if deadline <= moment:
        problems.append(("deadline", "the deadline is in the past"))
    elif deadline > moment + MAX_DEADLINE:
        problems.append(("deadline", "the deadline can be at most 5 days from now"))
    expires = definition.get("expires")
    if isinstance(expires, str):
        try:
            if _parse_time(expires) < deadline:
                problems.append(("expires", "expires must not be before the deadline"))
        except ValueError:
            pass
    return problems


def field_of(path: list[Any]) -> str:
    """The form field for a path in the definition, or the dotted path itself."""
    for length in range(len(path), 0, -1):
        key = tuple(path[:length])
        if key in FIELD_PATHS:
            return FIELD_PATHS[key]
    return ".".join(str(p) for p in path) or "definition"


def _schema_problem(error: ValidationError) -> tuple[str, str]:
    path = list(error.absolute_path)
    message = error.message
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [p for p in error.validator_value if p not in error.instance]
        if missing:
            path.append(missing[0])
            message = f"{missing[0]} is required"
    return field_of(path), message


# -- how fields show values ----------------------------------------------------------------

_DELETE = object()  # a field left empty removes its key


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _command_text(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(a, str) for a in value):
        return shlex.join(value)
    if (
        isinstance(value, list)
        and value
        and all(isinstance(c, list) and all(isinstance(a, str) for a in c) for c in value)
    ):
        return "\n".join(shlex.join(c) for c in value)  # generic-worker: one command a line
    return _as_text(value)


def _env_text(value: Any) -> str:
    if isinstance(value, dict):
        return "\n".join(f"{k}={_as_text(v)}" for k, v in value.items())
    return _as_text(value)


def _parse_whole(what: str, text: str) -> tuple[Any, str | None]:
    stripped = text.strip()
    if not stripped:
        return _DELETE, None
    if re.fullmatch(r"[+-]?\d+", stripped):
        return int(stripped), None
    return text, f"{what} must be a whole number"


def _parse_env(text: str) -> tuple[Any, str | None]:
    env: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            return text, f"line {number}: write NAME=value, one variable a line"
        env[name.strip()] = value
    return (env or _DELETE), None


def _plain_dates(node: Any) -> Any:
    """YAML reads unquoted timestamps as datetimes; a task definition wants strings."""
    if isinstance(node, dict):
        return {k: _plain_dates(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain_dates(v) for v in node]
    if isinstance(node, datetime):
        return taskcluster.stringDate(node if node.tzinfo else node.replace(tzinfo=timezone.utc))
    if isinstance(node, date):
        return node.isoformat()
    return node


def _error_html(message: str) -> str:
    return (
        f'<div class="tc-field-error" style="color:{ERROR_COLOUR};font:12px sans-serif">'
        f"{html.escape(message)}</div>"
    )


class _ArtifactRow(widgets.HBox):
    """One artifact: name, path, type, and a remove button; other keys kept as they were."""

    def __init__(self, name: str, spec: Any, on_change: Callable, on_remove: Callable) -> None:
        spec = spec if isinstance(spec, dict) else {}
        self.extra = {k: v for k, v in spec.items() if k not in ("name", "path", "type")}
        kind = spec.get("type", "file")
        options = ["file", "directory"] + ([] if kind in ("file", "directory") else [str(kind)])
        self.name = widgets.Text(_as_text(name), placeholder="public/name.txt")
        self.path = widgets.Text(_as_text(spec.get("path", "")), placeholder="path in the task")
        self.kind = widgets.Dropdown(
            options=options, value=str(kind), layout=widgets.Layout(width="8em")
        )
        self.remove = widgets.Button(
            icon="trash", tooltip="remove this artifact", layout=widgets.Layout(width="3em")
        )
        super().__init__([self.name, self.path, self.kind, self.remove])
        for part in (self.name, self.path, self.kind):
            part.observe(on_change, names="value")
        self.remove.on_click(lambda _button: on_remove(self))


class TaskForm(widgets.VBox):
    """A task definition as form fields and as JSON/YAML text, validated as
    you type against the queue's create-task-request schema; Create sends
    `createTask` and shows the task's `TaskView` below the form.

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
        self.conn = conn
        self._template: dict[str, Any] = {}
        self._deadline_text = ""
        self._rendered_deadline: Any = None
        self._parse_errors: dict[str, str] = {}
        self._syncing = False
        self._schema: TaskSchema | None = None
        self._schema_note = ""
        self._loader: asyncio.Task | None = None
        self._sender: asyncio.Task | None = None
        self.last_exception: BaseException | None = None

        self.fields: dict[str, widgets.Widget] = {}
        self.field_errors: dict[str, widgets.HTML] = {}
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
        ]
        self._artifact_rows: list[_ArtifactRow] = []
        self._artifacts_as_list = False
        self._artifact_box = widgets.VBox()
        self.add_artifact_button = widgets.Button(description="artifact", icon="plus")
        self.add_artifact_button.on_click(self._on_add_artifact)
        rows.append(
            self._row(
                "artifacts",
                "Artifacts",
                widgets.VBox([self._artifact_box, self.add_artifact_button]),
            )
        )
        rows.append(
            self._row(
                "deadline",
                "Deadline",
                widgets.Text(placeholder=f"{DEFAULT_DEADLINE}, or 2030-01-31T12:00:00Z"),
            )
        )
        rows.append(self._row("retries", "Retries", widgets.Text(placeholder="5")))
        for key, field in self.fields.items():
            if key != "artifacts":
                field.observe(partial(self._on_field, key), names="value")

        self.format_toggle = widgets.ToggleButtons(options=[("JSON", "json"), ("YAML", "yaml")])
        self.text = widgets.Textarea(
            rows=26, continuous_update=False, layout=widgets.Layout(width="100%")
        )
        self.text_error = widgets.HTML()
        note = widgets.HTML(
            '<small style="color:#555">Edits here update the fields when the text loses focus. '
            "<code>created</code> (and a deadline given as a duration) are set when you click "
            "Create.</small>"
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
        self.status_line = widgets.HTML()
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
        return self._resolved()

    @definition.setter
    def definition(self, value: dict[str, Any]) -> None:
        self._load(value)
        self._render_text()

    @property
    def task_views(self) -> list[TaskView]:
        """The views of the tasks created here, oldest first."""
        return list(self.views.children)

    # -- the model: a template plus the deadline text --------------------------------------

    def _resolved(self) -> dict[str, Any]:
        template = copy.deepcopy(self._template)
        deadline, problem = resolve_deadline(self._deadline_text)
        stamps = {
            "created": taskcluster.fromNowJSON("0 seconds"),
            "deadline": self._deadline_text if problem else deadline,
        }
        resolved: dict[str, Any] = {}
        for key, value in template.items():
            if key in ("payload", "metadata") and "created" not in resolved:
                resolved.update(stamps)
            resolved[key] = value
        for key, value in stamps.items():
            resolved.setdefault(key, value)
        return resolved

    def _load(self, definition: Any, deadline: str | None = None, from_text: bool = False) -> None:
        """Take a whole definition (from the constructor, the setter or the text)."""
        if not isinstance(definition, dict):
            raise TypeError("a task definition is a dict")
        template = copy.deepcopy(definition)
        template.pop("created", None)
        given = template.pop("deadline", None)
        if deadline is not None:
            self._deadline_text = deadline
        elif from_text and given == self._rendered_deadline:
            pass  # unchanged in the text: keep a duration as a duration
        else:
            self._deadline_text = _as_text(given)
        self._template = template
        self._parse_errors.clear()
        self._sync_fields()
        self._validate()

    def _get(self, *path: str) -> Any:
        node: Any = self._template
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def _set(self, path: tuple[str, ...], value: Any) -> None:
        node = self._template
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                if value is _DELETE:
                    return
                node[part] = {}
            node = node[part]
        if value is _DELETE:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value

    def _sync_fields(self) -> None:
        """Show the template in the fields (without writing back)."""
        self._syncing = True
        try:
            for key in ("name", "description", "owner", "source"):
                self.fields[key].value = _as_text(self._get("metadata", key))
            queue_id = self._get("taskQueueId")
            if queue_id is None and (
                "provisionerId" in self._template or "workerType" in self._template
            ):
                queue_id = (
                    f"{_as_text(self._get('provisionerId'))}/{_as_text(self._get('workerType'))}"
                )
            self.fields["taskQueueId"].value = _as_text(queue_id)
            self.fields["image"].value = _as_text(self._get("payload", "image"))
            self.fields["command"].value = _command_text(self._get("payload", "command"))
            self.fields["env"].value = _env_text(self._get("payload", "env"))
            self.fields["maxRunTime"].value = _as_text(self._get("payload", "maxRunTime"))
            self.fields["retries"].value = _as_text(self._get("retries"))
            self.fields["deadline"].value = self._deadline_text
            artifacts = self._get("payload", "artifacts")
            self._artifacts_as_list = isinstance(artifacts, list)
            if isinstance(artifacts, dict):
                entries = list(artifacts.items())
            elif isinstance(artifacts, list):
                entries = [(a.get("name", "") if isinstance(a, dict) else "", a) for a in artifacts]
            else:
                entries = []
            self._artifact_rows = [
                _ArtifactRow(name, spec, self._on_artifact_change, self._on_remove_artifact)
                for name, spec in entries
            ]
            self._artifact_box.children = self._artifact_rows
        finally:
            self._syncing = False

    # -- fields → template -----------------------------------------------------------------

    def _on_field(self, key: str, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        self._write_field(key, change["new"])
        self._render_text()
        self._validate()

    def _write_field(self, key: str, text: str) -> None:
        problem: str | None = None
        if key in ("name", "description", "owner", "source"):
            self._set(("metadata", key), text)
        elif key == "taskQueueId":
            problem = self._write_queue(text.strip())
        elif key == "image":
            self._set(("payload", "image"), text if text.strip() else _DELETE)
        elif key == "command":
            value, problem = self._parse_command(text)
            self._set(("payload", "command"), value)
        elif key == "env":
            value, problem = _parse_env(text)
            self._set(("payload", "env"), value)
        elif key == "maxRunTime":
            value, problem = _parse_whole("maxRunTime", text)
            self._set(("payload", "maxRunTime"), value)
        elif key == "retries":
            value, problem = _parse_whole("retries", text)
            self._set(("retries",), value)
        elif key == "deadline":
            self._deadline_text = text  # resolved when validated and when sent
        if problem:
            self._parse_errors[key] = problem
        else:
            self._parse_errors.pop(key, None)

    def _write_queue(self, text: str) -> str | None:
        if "provisionerId" in self._template or "workerType" in self._template:
            provisioner, _, worker_type = text.partition("/")
            self._template["provisionerId"], self._template["workerType"] = provisioner, worker_type
            if "taskQueueId" in self._template:
                self._template["taskQueueId"] = text
        else:
            self._template["taskQueueId"] = text
        if not text:
            return "a task queue is required, like provisioner/worker-type"
        if "/" not in text:
            return "a task queue looks like <provisionerId>/<workerType>"
        return None

    def _parse_command(self, text: str) -> tuple[Any, str | None]:
        current = self._get("payload", "command")
        several = (
            bool(current)
            and isinstance(current, list)
            and all(isinstance(c, list) for c in current)
        )
        try:
            if several:  # generic-worker's form: one command a line
                return [shlex.split(line) for line in text.splitlines() if line.strip()], None
            return shlex.split(text), None
        except ValueError as problem:
            return text, f"cannot split the command into arguments: {problem}"

    def _on_artifact_change(self, _change: Any = None) -> None:
        if self._syncing:
            return
        entries, problem = [], None
        seen: set[str] = set()
        for number, row in enumerate(self._artifact_rows, 1):
            name, path = row.name.value, row.path.value
            if problem is None:
                if not name.strip():
                    problem = f"artifact {number}: the name is empty"
                elif name in seen:
                    problem = f"artifact {number}: the name {name} is used twice"
                elif not path.strip():
                    problem = f"artifact {number} ({name}): the path is empty"
            seen.add(name)
            entries.append((name, {"type": row.kind.value, "path": path, **row.extra}))
        if not entries:
            value: Any = _DELETE
        elif self._artifacts_as_list:
            value = [{"name": name, **spec} for name, spec in entries]
        else:
            value = dict(entries)
        self._set(("payload", "artifacts"), value)
        if problem:
            self._parse_errors["artifacts"] = problem
        else:
            self._parse_errors.pop("artifacts", None)
        self._render_text()
        self._validate()

    def _on_add_artifact(self, _button: Any = None) -> None:
        row = _ArtifactRow(
            "public/",
            {"type": "file", "path": ""},
            self._on_artifact_change,
            self._on_remove_artifact,
        )
        self._artifact_rows.append(row)
        self._artifact_box.children = self._artifact_rows
        self._on_artifact_change()

    def _on_remove_artifact(self, row: _ArtifactRow) -> None:
        if row in self._artifact_rows:
            self._artifact_rows.remove(row)
            self._artifact_box.children = self._artifact_rows
            self._on_artifact_change()

    # -- template ↔ text -------------------------------------------------------------------

    def _dump(self, definition: dict[str, Any]) -> str:
        if self.text_format == "yaml":
            return yaml.safe_dump(definition, sort_keys=False, allow_unicode=True, width=100)
        return json.dumps(definition, indent=2, ensure_ascii=False)

    def _render_text(self) -> None:
        definition = self._resolved()
        self._rendered_deadline = definition.get("deadline")
        self._syncing = True
        try:
            self.text.value = self._dump(definition)
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
        kind = "YAML" if self.text_format == "yaml" else "JSON"
        try:
            if self.text_format == "yaml":
                parsed = _plain_dates(yaml.safe_load(change["new"]))
            else:
                parsed = json.loads(change["new"])
        except json.JSONDecodeError as problem:
            message = f"JSON: {problem.msg} (line {problem.lineno}, column {problem.colno})"
        except yaml.YAMLError as problem:
            message = "YAML: " + " ".join(str(problem).split())
        else:
            if isinstance(parsed, dict):
                self._load(parsed, from_text=True)
                self.text_error.value = ""
                return
            message = f"{kind}: the task definition must be an object"
        self._parse_errors["text"] = message
        self.text_error.value = _error_html(message)
        self._validate()

    # -- validation ------------------------------------------------------------------------

    def _start_schema(self) -> None:
        cached = _schemas.get(self.conn.root_url)
        if cached is not None:
            self._schema_loaded(cached, None)
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
        definition = self._resolved()
        found = dict(self._parse_errors)
        _, problem = resolve_deadline(self._deadline_text)
        if problem:
            found.setdefault("deadline", problem)
        for key, message in basic_problems(definition):
            found.setdefault(key, message)
        if self._schema is not None:
            for error in self._schema.errors(definition):
                key, message = _schema_problem(error)
                found.setdefault(key, message)
        self.errors = found
        self.valid = not found and self.schema_state != "loading"
        self._show_errors()

    def _show_errors(self) -> None:
        for key, box in self.field_errors.items():
            message = self.errors.get(key, "")
            box.value = _error_html(message) if message else ""
            box.layout.display = None if message else "none"
        loose = {k: m for k, m in self.errors.items() if k not in self.field_errors}
        items = "".join(
            f"<li><code>{html.escape(k)}</code>: {html.escape(m)}</li>" for k, m in loose.items()
        )
        parts = []
        if items:
            parts.append(f'<ul style="color:{ERROR_COLOUR};margin:4px 0">{items}</ul>')
        if self.schema_state == "loading":
            parts.append("<small>Fetching the queue's create-task-request schema…</small>")
        elif self._schema_note:
            parts.append(f'<small style="color:#b26a00">{html.escape(self._schema_note)}</small>')
        if self.errors and not items:
            count = len(self.errors)
            parts.append(
                f'<small style="color:{ERROR_COLOUR}">{count} problem{"s" * (count != 1)} '
                "to fix (shown under the fields).</small>"
            )
        self.summary.value = "".join(parts)

    def _on_gate(self, _change: Any = None) -> None:
        self.create_button.disabled = self.sending or not self.valid

    # -- creating the task -----------------------------------------------------------------

    def _on_create(self, _button: Any = None) -> None:
        if self.sending:
            return  # a second click while the first is being sent
        self._validate()
        if not self.valid:
            return
        task_id, definition = slugid.nice(), self._resolved()
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
        except Exception as failure:  # the task exists; say why it cannot be shown
            self.last_exception = failure
            self.status_line.value += (
                f' <small style="color:{ERROR_COLOUR}">(cannot show it: '
                f"{html.escape(type(failure).__name__)}: {html.escape(str(failure))})</small>"
            )
            return
        self.views.children = (*self.views.children, view)

    def _failed(self, failure: BaseException) -> None:
        self.last_exception = failure
        if isinstance(failure, taskcluster.exceptions.TaskclusterRestFailure):
            body = failure.body if isinstance(failure.body, dict) else {}
            code = body.get("code") or ""
            message = str(body.get("message") or failure)
            headline = f"createTask failed: {failure.status_code} {code}".rstrip()
        else:
            headline = f"createTask failed: {type(failure).__name__}"
            message = str(failure)
        message = message.split("\n\n---")[0].strip()
        self.queue_error = f"{headline}\n{message}"
        self.status_line.value = ""
        self.queue_error_box.value = (
            f'<div class="tc-queue-error" style="border-left:4px solid {ERROR_COLOUR};'
            f'padding:4px 8px;margin:4px 0"><b style="color:{ERROR_COLOUR}">'
            f"{html.escape(headline)}</b>"
            f'<pre style="white-space:pre-wrap;font-size:12px;margin:4px 0">'
            f"{html.escape(message)}</pre></div>"
        )

    # -- outside a live kernel -------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        problems = "".join(
            f"<li><code>{html.escape(k)}</code>: {html.escape(m)}</li>"
            for k, m in self.errors.items()
        )
        bundle["text/html"] = (
            "<div><strong>Task definition</strong>"
            + (f'<ul style="color:{ERROR_COLOUR}">{problems}</ul>' if problems else "")
            + f"<pre>{html.escape(json.dumps(self.definition, indent=2))}</pre>"
            + self.queue_error_box.value
            + "</div>"
        )
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        name = _as_text(self._get("metadata", "name"))
        state = "valid" if self.valid else f"{len(self.errors)} problem(s)"
        if self.schema_state == "loading" and not self.errors:
            state = "checking"
        created = f", created {', '.join(self.created_task_ids)}" if self.created_task_ids else ""
        return f"<TaskForm {name!r}: {state}{created}>"
