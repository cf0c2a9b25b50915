"""The task definition a `TaskForm` edits, apart from any widget: a template
(the definition without `created` and `deadline`) plus the deadline as typed,
how each form field shows and writes its part, and the JSON/YAML text."""

from __future__ import annotations

import copy
import json
import re
import shlex
from datetime import date, datetime, timezone
from typing import Any

import taskcluster
import yaml

from .task_checks import resolve_deadline

DELETE = object()  # a field left empty removes its key
METADATA_FIELDS = ("name", "description", "owner", "source")


def as_text(value: Any) -> str:
    """A value as a text field shows it: strings as they are, the rest as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def command_text(value: Any) -> str:
    """A command as shell words; generic-worker's list of commands one a line."""
    if isinstance(value, list) and all(isinstance(a, str) for a in value):
        return shlex.join(value)
    if (
        isinstance(value, list)
        and value
        and all(isinstance(c, list) and all(isinstance(a, str) for a in c) for c in value)
    ):
        return "\n".join(shlex.join(c) for c in value)
    return as_text(value)


def env_text(value: Any) -> str:
    """An env object as NAME=value lines."""
    if isinstance(value, dict):
        return "\n".join(f"{k}={as_text(v)}" for k, v in value.items())
    return as_text(value)


def parse_whole(what: str, text: str) -> tuple[Any, str | None]:
    """A whole-number field: (the number, None), (DELETE, None) if empty, or (text, problem)."""
    stripped = text.strip()
    if not stripped:
        return DELETE, None
    if re.fullmatch(r"[+-]?\d+", stripped):
        return int(stripped), None
    return text, f"{what} must be a whole number"


def parse_env(text: str) -> tuple[Any, str | None]:
    """NAME=value lines as an env object (DELETE if none), or (text, problem)."""
    env: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            return text, f"line {number}: write NAME=value, one variable a line"
        env[name.strip()] = value
    return (env or DELETE), None


def parse_command(text: str, several: bool) -> tuple[Any, str | None]:
    """Shell words as an argument list, or one list a line for generic-worker's form."""
    try:
        if several:
            return [shlex.split(line) for line in text.splitlines() if line.strip()], None
        return shlex.split(text), None
    except ValueError as problem:
        return text, f"cannot split the command into arguments: {problem}"


def plain_dates(node: Any) -> Any:
    """YAML reads unquoted timestamps as datetimes; a task definition wants strings."""
    if isinstance(node, dict):
        return {k: plain_dates(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain_dates(v) for v in node]
    if isinstance(node, datetime):
        return taskcluster.stringDate(node if node.tzinfo else node.replace(tzinfo=timezone.utc))
    if isinstance(node, date):
        return node.isoformat()
    return node


def parse_text(text: str, text_format: str) -> tuple[dict[str, Any] | None, str | None]:
    """The text tab's JSON or YAML as a definition, or (None, problem)."""
    kind = "YAML" if text_format == "yaml" else "JSON"
    try:
        parsed = plain_dates(yaml.safe_load(text)) if kind == "YAML" else json.loads(text)
    except json.JSONDecodeError as problem:
        return None, f"JSON: {problem.msg} (line {problem.lineno}, column {problem.colno})"
    except yaml.YAMLError as problem:
        return None, "YAML: " + " ".join(str(problem).split())
    if not isinstance(parsed, dict):
        return None, f"{kind}: the task definition must be an object"
    return parsed, None


class TaskDraft:
    """A definition being edited. `created` and a deadline given as a duration
    are stamped when it is resolved (shown, checked or sent)."""

    def __init__(self) -> None:
        self.template: dict[str, Any] = {}
        self.deadline_text = ""
        self.rendered_deadline: Any = None  # the deadline the text showed last
        self.artifacts_as_list = False  # generic-worker's form, kept when all are removed

    def resolved(self) -> dict[str, Any]:
        """The definition now: `created` now, the deadline resolved, in the template's order."""
        template = copy.deepcopy(self.template)
        deadline, problem = resolve_deadline(self.deadline_text)
        stamps = {
            "created": taskcluster.fromNowJSON("0 seconds"),
            "deadline": self.deadline_text if problem else deadline,
        }
        resolved: dict[str, Any] = {}
        for key, value in template.items():
            if key in ("payload", "metadata") and "created" not in resolved:
                resolved.update(stamps)
            resolved[key] = value
        for key, value in stamps.items():
            resolved.setdefault(key, value)
        return resolved

    def load(self, definition: Any, deadline: str | None = None, from_text: bool = False) -> None:
        """Take a whole definition; `deadline` (a duration or a date-time) replaces its own.
        From the text, an unchanged deadline keeps a duration a duration."""
        if not isinstance(definition, dict):
            raise TypeError("a task definition is a dict")
        template = copy.deepcopy(definition)
        template.pop("created", None)
        given = template.pop("deadline", None)
        if deadline is not None:
            self.deadline_text = deadline
        elif not (from_text and given == self.rendered_deadline):
            self.deadline_text = as_text(given)
        self.template = template
        self.artifacts_as_list = isinstance(self.get("payload", "artifacts"), list)

    def get(self, *path: str) -> Any:
        """The value at a path of the template, or None."""
        node: Any = self.template
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def set(self, path: tuple[str, ...], value: Any) -> None:
        """Set (or, with DELETE, remove) the value at a path of the template."""
        node = self.template
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                if value is DELETE:
                    return
                node[part] = {}
            node = node[part]
        if value is DELETE:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value

    # -- the fields ------------------------------------------------------------------------

    def field_texts(self) -> dict[str, str]:
        """What each text field shows."""
        queue_id = self.get("taskQueueId")
        if queue_id is None and ("provisionerId" in self.template or "workerType" in self.template):
            queue_id = f"{as_text(self.get('provisionerId'))}/{as_text(self.get('workerType'))}"
        texts = {key: as_text(self.get("metadata", key)) for key in METADATA_FIELDS}
        return {
            **texts,
            "taskQueueId": as_text(queue_id),
            "image": as_text(self.get("payload", "image")),
            "command": command_text(self.get("payload", "command")),
            "env": env_text(self.get("payload", "env")),
            "maxRunTime": as_text(self.get("payload", "maxRunTime")),
            "retries": as_text(self.get("retries")),
            "deadline": self.deadline_text,
        }

    def artifact_entries(self) -> list[tuple[str, Any]]:
        """The payload's artifacts as (name, spec) pairs, in either form."""
        artifacts = self.get("payload", "artifacts")
        if isinstance(artifacts, dict):
            return list(artifacts.items())
        if isinstance(artifacts, list):
            return [(a.get("name", "") if isinstance(a, dict) else "", a) for a in artifacts]
        return []

    def write_field(self, key: str, text: str) -> str | None:
        """Write a text field's value into the template; the problem reading it, if any."""
        problem: str | None = None
        if key in METADATA_FIELDS:
            self.set(("metadata", key), text)
        elif key == "taskQueueId":
            problem = self._write_queue(text.strip())
        elif key == "image":
            self.set(("payload", "image"), text if text.strip() else DELETE)
        elif key == "command":
            current = self.get("payload", "command")
            several = bool(current) and isinstance(current, list)
            several = several and all(isinstance(c, list) for c in current)
            value, problem = parse_command(text, several)
            self.set(("payload", "command"), value)
        elif key == "env":
            value, problem = parse_env(text)
            self.set(("payload", "env"), value)
        elif key in ("maxRunTime", "retries"):
            value, problem = parse_whole(key, text)
            self.set(("payload", key) if key == "maxRunTime" else (key,), value)
        elif key == "deadline":
            self.deadline_text = text  # resolved when checked and when sent
        return problem

    def write_artifacts(self, entries: list[tuple[str, dict[str, Any]]]) -> None:
        """Replace the payload's artifacts, in the form the definition came with."""
        if not entries:
            value: Any = DELETE
        elif self.artifacts_as_list:
            value = [{"name": name, **spec} for name, spec in entries]
        else:
            value = dict(entries)
        self.set(("payload", "artifacts"), value)

    def _write_queue(self, text: str) -> str | None:
        if "provisionerId" in self.template or "workerType" in self.template:
            provisioner, _, worker_type = text.partition("/")
            self.template["provisionerId"], self.template["workerType"] = provisioner, worker_type
            if "taskQueueId" in self.template:
                self.template["taskQueueId"] = text
        else:
            self.template["taskQueueId"] = text
        if not text:
            return "a task queue is required, like provisioner/worker-type"
        if "/" not in text:
            return "a task queue looks like <provisionerId>/<workerType>"
        return None

    # -- the text --------------------------------------------------------------------------

    def dump(self, text_format: str) -> str:
        """The resolved definition as JSON or YAML text (remembering the deadline shown)."""
        definition = self.resolved()
        self.rendered_deadline = definition.get("deadline")
        if text_format == "yaml":
            return yaml.safe_dump(definition, sort_keys=False, allow_unicode=True, width=100)
        return json.dumps(definition, indent=2, ensure_ascii=False)
