"""The checks a `TaskForm` makes on a task definition: the queue's schema, and
what the schema leaves to the queue (the task queue, the dates) or to the
worker (the payload, against the kit's worker's payload schema). Each problem
is reported under the form field it belongs to."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import taskcluster
from jsonschema.exceptions import ValidationError

from ..timestamps import now, parse_time
from ..worker.payload import payload_problems
from .task_schema import FORMATS, TaskSchema

DEFAULT_DEADLINE = "2 days 3 hours"
MAX_DEADLINE = timedelta(days=5, minutes=15)  # the queue's limit, with its allowed drift
DATE_TIME_EXAMPLE = "2030-01-31T12:00:00.000Z"

# Which form field shows the problems found at a path of the definition.
FIELD_PATHS: dict[tuple[str, ...], str] = {
    **{("metadata", key): key for key in ("name", "description", "owner", "source")},
    **{(key,): "taskQueueId" for key in ("taskQueueId", "provisionerId", "workerType")},
    **{("payload", key): key for key in ("image", "command", "env", "maxRunTime", "artifacts")},
    ("deadline",): "deadline",
    ("retries",): "retries",
}


def field_of(path: list[Any]) -> str:
    """The form field for a path in the definition, or the dotted path itself."""
    for length in range(len(path), 0, -1):
        key = tuple(path[:length])
        if key in FIELD_PATHS:
            return FIELD_PATHS[key]
    return ".".join(str(p) for p in path) or "definition"


def is_date_time(value: Any) -> bool:
    """An RFC 3339 date-time, as Taskcluster's schemas take it (not `2026-11-30`)."""
    return isinstance(value, str) and FORMATS.conforms(value, "date-time")


def _not_a_date_time(name: str, value: Any) -> str:
    return (
        f"{name} {value!r} is not an RFC 3339 date-time (date, time and time zone), "
        f"like {DATE_TIME_EXAMPLE}"
    )


def resolve_deadline(text: str) -> tuple[str | None, str | None]:
    """The deadline field's text (a duration from now, or a date-time) as
    `(date-time, None)`, or `(None, problem)`."""
    stripped = text.strip()
    if not stripped:
        return None, f"a deadline is required, e.g. {DEFAULT_DEADLINE}"
    if re.match(r"[0-9]{4}-", stripped):
        if is_date_time(stripped):
            return stripped, None
        return None, _not_a_date_time("the deadline", stripped)
    try:
        return taskcluster.fromNowJSON(stripped), None
    except ValueError:
        return None, (
            f"the deadline {stripped!r} is neither a duration like '{DEFAULT_DEADLINE}' "
            f"nor a date-time like {DATE_TIME_EXAMPLE}"
        )


def problems(definition: dict[str, Any], schema: TaskSchema | None) -> dict[str, str]:
    """The first problem of each field (or definition path): the checks below,
    then the queue's schema if it is known."""
    found: dict[str, str] = {}
    for key, message in basic_problems(definition):
        found.setdefault(key, message)
    for error in schema.errors(definition) if schema is not None else []:
        key, message = schema_problem(error)
        found.setdefault(key, message)
    return found


def basic_problems(definition: dict[str, Any]) -> list[tuple[str, str]]:
    """What the queue's schema leaves to the queue or the worker, and what
    matters even without it: the task queue, the dates, and the payload (as
    the kit's worker checks it). Returns (field, message) pairs."""
    found = _queue_problems(definition)
    moments, date_problems = _dates(definition)
    found += date_problems
    expires = definition.get("expires") if "expires" in moments else None
    for problem in payload_problems(definition.get("payload"), expires):
        found.append((field_of(["payload", *problem.path]), problem.message))
    return found


def schema_problem(error: ValidationError) -> tuple[str, str]:
    """A schema validation error as (field, message)."""
    path = list(error.absolute_path)
    message = error.message
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [p for p in error.validator_value if p not in error.instance]
        if missing:
            path.append(missing[0])
            message = f"{missing[0]} is required"
    return field_of(path), message


def _queue_problems(definition: dict[str, Any]) -> list[tuple[str, str]]:
    queue_id = definition.get("taskQueueId")
    provisioner, worker_type = definition.get("provisionerId"), definition.get("workerType")
    if (provisioner and worker_type) or (queue_id and not provisioner and not worker_type):
        if queue_id and provisioner and queue_id != f"{provisioner}/{worker_type}":
            return [("taskQueueId", "taskQueueId must match provisionerId/workerType")]
        return []
    if queue_id or provisioner or worker_type:
        return [("taskQueueId", "give a taskQueueId or both provisionerId and workerType")]
    return [("taskQueueId", "a task queue (provisionerId/workerType) is required")]


def _dates(definition: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The task's dates that are date-times, as datetimes, and the problems with them."""
    moments, found = {}, []
    for key in ("created", "deadline", "expires"):
        value = definition.get(key)
        if value is None:
            continue  # the schema (or the deadline field) says it is required
        if not is_date_time(value):
            found.append((key, _not_a_date_time(key, value)))
            continue
        try:
            moments[key] = parse_time(value)
        except ValueError:
            found.append((key, f"{key} {value!r} is beyond the year 9999 in UTC"))
    deadline, current = moments.get("deadline"), now()
    if deadline is None:
        return moments, found
    if deadline <= current:
        found.append(("deadline", "the deadline is in the past"))
    elif deadline > current + MAX_DEADLINE:
        found.append(("deadline", "the deadline can be at most 5 days from now"))
    if "expires" in moments and moments["expires"] < deadline:
        found.append(("expires", "expires must not be before the deadline"))
    return moments, found
