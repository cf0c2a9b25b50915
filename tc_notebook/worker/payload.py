"""Task payloads the worker accepts: docker-worker's and generic-worker's forms,
checked against `payload-schema.json` (the one statement of the payload's
rules, which `TaskForm` checks too) and normalised to one shape."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from ..timestamps import parse_time

SCHEMA_PATH = Path(__file__).with_name("payload-schema.json")
# generic-worker lets an artifact expire up to a second before the task's deadline
# (timestamps rounded on the way).
DEADLINE_SLACK = timedelta(seconds=1)

# "date-time" is RFC 3339 (with rfc3339-validator installed), as Taskcluster checks it.
VALIDATOR = Draft202012Validator(
    json.loads(SCHEMA_PATH.read_text()), format_checker=FormatChecker()
)


class MalformedPayload(ValueError):
    """The payload cannot be run; the message says why."""


class PayloadProblem(NamedTuple):
    """One way a payload breaks the rules."""

    path: tuple[str | int, ...]  # where in the payload, e.g. ("artifacts", 0, "path")
    message: str  # names the place: "payload.maxRunTime must be a positive whole number …"


@dataclass(frozen=True)
class ArtifactSpec:
    """One artifact to upload after the run."""

    name: str
    path: str
    type: str  # "file" or "directory"
    expires: str | None = None
    content_type: str | None = None  # None or "": guessed from the path
    content_encoding: str | None = None  # accepted, not applied
    optional: bool = False  # if missing: an error artifact, but the run does not fail


@dataclass(frozen=True)
class Payload:
    """What to run: argv lists in sequence, environment, limits, artifacts."""

    commands: list[list[str]]
    max_run_time: int
    env: dict[str, str] = field(default_factory=dict)
    artifacts: list[ArtifactSpec] = field(default_factory=list)
    image: str | None = None
    form: str = "docker-worker"
    retry_exit_codes: frozenset[int] = frozenset()  # onExitStatus.retry
    purge_caches_exit_codes: frozenset[int] = frozenset()  # onExitStatus.purgeCaches


def payload_problems(
    payload: Any, task_expires: str | None = None, task_deadline: str | None = None
) -> list[PayloadProblem]:
    """What is wrong with a payload, in the schema's order; empty if the worker can
    run it. Artifacts may not outlive the task (`task_expires`, when given) nor,
    as generic-worker checks, expire before its deadline (`task_deadline`)."""
    found = [problem for error in VALIDATOR.iter_errors(payload) for problem in _problems(error)]
    problems = list(dict.fromkeys(found))  # `required` fails once per missing key, naming all
    if problems or not (task_expires or task_deadline):
        return problems
    return list(_expiry_problems(payload, task_expires, task_deadline))


def parse_payload(
    payload: Any, task_expires: str | None = None, task_deadline: str | None = None
) -> Payload:
    """Read a docker-worker or generic-worker payload, or raise `MalformedPayload`
    listing its problems (see `payload_problems`)."""
    problems = payload_problems(payload, task_expires, task_deadline)
    if problems:
        raise MalformedPayload("; ".join(problem.message for problem in problems))
    command = payload["command"]
    several = isinstance(command[0], list)
    image = payload.get("image")
    exit_rules = payload.get("onExitStatus", {})
    return Payload(
        commands=[list(c) for c in command] if several else [list(command)],
        max_run_time=int(payload["maxRunTime"]),  # the schema's integer includes 30.0
        env=dict(payload.get("env", {})),
        artifacts=[
            ArtifactSpec(
                name=spec.get("name", spec["path"]) if isinstance(key, int) else key,
                path=spec["path"],
                type=spec["type"],
                expires=spec.get("expires"),
                content_type=spec.get("contentType"),
                content_encoding=spec.get("contentEncoding"),
                optional=spec.get("optional", False),
            )
            for key, spec in _artifacts(payload)
        ],
        image=None if image is None else str(image),
        form="generic-worker" if several else "docker-worker",
        retry_exit_codes=frozenset(int(code) for code in exit_rules.get("retry", [])),
        purge_caches_exit_codes=frozenset(int(c) for c in exit_rules.get("purgeCaches", [])),
    )


def _artifacts(payload: dict[str, Any]) -> Iterator[tuple[str | int, dict[str, Any]]]:
    """Each artifact with its key: a name (docker-worker) or a position (generic-worker)."""
    artifacts = payload.get("artifacts", {})
    yield from artifacts.items() if isinstance(artifacts, dict) else enumerate(artifacts)


def _expiry_problems(
    payload: dict[str, Any], task_expires: str | None, task_deadline: str | None
) -> Iterator[PayloadProblem]:
    for key, spec in _artifacts(payload):
        expires = spec.get("expires")
        if expires is None:
            continue
        path = ("artifacts", key, "expires")
        try:
            when = parse_time(expires)
        except ValueError:  # RFC 3339, but beyond year 9999 once in UTC
            yield PayloadProblem(path, f"{_where(path)} ({expires}) is out of range")
            continue
        where = _where(path[:2])
        if task_expires and when > parse_time(task_expires):
            message = f"{where} expires ({expires}) after its task ({task_expires})"
            yield PayloadProblem(path, message)
        elif task_deadline and when < parse_time(task_deadline) - DEADLINE_SLACK:
            message = f"{where} expires ({expires}) before its task's deadline ({task_deadline})"
            yield PayloadProblem(path, message)


def _where(path: Sequence[str | int]) -> str:
    """A place in the payload as a learner would write it: payload.artifacts['public/x'].path."""
    text = "payload"
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}"
        else:
            text += f"[{part!r}]"
    return text


def _problems(error: ValidationError) -> list[PayloadProblem]:
    """The schema's error as sentences: the place, then what it must be (the
    description of the schema it broke) and, for a short value, what it is."""
    path = tuple(error.absolute_path)
    if error.validator != "required":
        return [PayloadProblem(path, _message(error, path))]
    properties = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    problems = []
    for missing in (p for p in error.validator_value if p not in error.instance):
        wanted = properties.get(missing, {}).get("description")
        message = f"{_where([*path, missing])} is required" + (f": {wanted}" if wanted else "")
        problems.append(PayloadProblem((*path, missing), message))
    return problems


def _message(error: ValidationError, path: tuple[str | int, ...]) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if "propertyNames" in error.schema_path:
        return f"{_where(path)}: names must not be empty"
    if error.validator in ("minItems", "minLength", "minProperties") and error.validator_value == 1:
        return f"{_where(path)} must not be empty"
    if "description" in schema:
        return f"{_where(path)} must be {schema['description']}{_shown(error.instance)}"
    return f"{_where(path)}: {error.message}"


def _shown(value: Any) -> str:
    """', not <value>' for a short scalar; nothing for containers and long text."""
    if isinstance(value, (dict, list)):
        return ""
    text = json.dumps(value, default=str)
    return f", not {text}" if len(text) <= 40 else ""
