"""Task payloads the worker accepts: docker-worker's and generic-worker's forms,
normalised to one shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..timestamps import parse_time


class MalformedPayload(ValueError):
    """The payload cannot be run; the message says why."""


@dataclass(frozen=True)
class ArtifactSpec:
    """One artifact to upload after the run."""

    name: str
    path: str
    type: str  # "file" or "directory"
    expires: str | None = None


@dataclass(frozen=True)
class Payload:
    """What to run: argv lists in sequence, environment, limits, artifacts."""

    commands: list[list[str]]
    max_run_time: int
    env: dict[str, str] = field(default_factory=dict)
    artifacts: list[ArtifactSpec] = field(default_factory=list)
    image: str | None = None
    form: str = "docker-worker"


def _argv(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(a, str) for a in value):
        raise MalformedPayload(f"{where} must be a non-empty list of strings")
    return value


def _artifact(name: Any, spec: Any, where: str) -> ArtifactSpec:
    if not isinstance(spec, dict):
        raise MalformedPayload(f"{where} must be an object")
    kind = spec.get("type")
    if kind not in ("file", "directory"):
        raise MalformedPayload(f"{where}.type must be 'file' or 'directory', not {kind!r}")
    path = spec.get("path")
    if not isinstance(path, str) or not path:
        raise MalformedPayload(f"{where}.path must be a non-empty string")
    name = spec.get("name", path) if name is None else name
    if not isinstance(name, str) or not name:
        raise MalformedPayload(f"{where}.name must be a non-empty string")
    expires = spec.get("expires")
    if expires is not None and not isinstance(expires, str):
        raise MalformedPayload(f"{where}.expires must be a date-time string")
    return ArtifactSpec(name=name, path=path, type=kind, expires=expires)


def _check_expiry(spec: ArtifactSpec, task_expires: str | None) -> None:
    if spec.expires is None:
        return
    try:
        expires = parse_time(spec.expires)
    except ValueError as exc:
        raise MalformedPayload(f"artifact {spec.name!r}: expires is not a date-time") from exc
    if task_expires and expires > parse_time(task_expires):
        raise MalformedPayload(
            f"artifact {spec.name!r} expires ({spec.expires}) after its task ({task_expires})"
        )


def parse_payload(payload: Any, task_expires: str | None = None) -> Payload:
    """Read a docker-worker or generic-worker payload, or raise `MalformedPayload`.
    Artifacts may not outlive the task (`task_expires`)."""
    if not isinstance(payload, dict):
        raise MalformedPayload("payload must be an object")
    command = payload.get("command")
    if not isinstance(command, list) or not command:
        raise MalformedPayload("payload.command must be a non-empty list")
    if all(isinstance(c, list) for c in command):
        form = "generic-worker"
        commands = [_argv(c, f"payload.command[{i}]") for i, c in enumerate(command)]
    else:
        form = "docker-worker"
        commands = [_argv(command, "payload.command")]

    max_run_time = payload.get("maxRunTime")
    if isinstance(max_run_time, bool) or not isinstance(max_run_time, int) or max_run_time <= 0:
        raise MalformedPayload("payload.maxRunTime must be a positive number of seconds")

    env = payload.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise MalformedPayload("payload.env must map names to strings")

    raw = payload.get("artifacts", [] if form == "generic-worker" else {})
    if isinstance(raw, dict):
        artifacts = [_artifact(n, s, f"payload.artifacts[{n!r}]") for n, s in raw.items()]
    elif isinstance(raw, list):
        artifacts = [_artifact(None, s, f"payload.artifacts[{i}]") for i, s in enumerate(raw)]
    else:
        raise MalformedPayload("payload.artifacts must be an object or a list")

    for spec in artifacts:
        _check_expiry(spec, task_expires)

    image = payload.get("image")
    return Payload(
        commands=commands,
        max_run_time=max_run_time,
        env=env,
        artifacts=artifacts,
        image=None if image is None else str(image),
        form=form,
    )
