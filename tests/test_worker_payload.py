"""The worker's payload rules (`payload-schema.json`, which the task form checks
too): what is accepted, what it becomes, and how a refusal reads to a learner."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest
from jsonschema import Draft202012Validator

from tc_notebook.timestamps import iso_in
from tc_notebook.worker.payload import (
    ArtifactSpec,
    MalformedPayload,
    parse_payload,
    payload_problems,
)

RUNS = {"command": ["true"], "maxRunTime": 30}  # a payload the worker runs


def test_the_schema_ships_with_the_package_and_is_valid():
    schema = json.loads(files("tc_notebook.worker").joinpath("payload-schema.json").read_text())
    Draft202012Validator.check_schema(schema)


def test_docker_worker_form():
    """One argv list; artifacts by name."""
    payload = parse_payload(
        {
            "image": "ubuntu:latest",
            "command": ["/bin/sh", "-c", "echo hi"],
            "maxRunTime": 30,
            "env": {"A": "1"},
            "artifacts": {"public/a.txt": {"type": "file", "path": "a.txt"}},
            "features": {"ignored": True},
        }
    )
    assert payload.form == "docker-worker" and payload.commands == [["/bin/sh", "-c", "echo hi"]]
    assert (payload.max_run_time, payload.env, payload.image) == (30, {"A": "1"}, "ubuntu:latest")
    assert payload.artifacts == [ArtifactSpec("public/a.txt", "a.txt", "file")]


def test_generic_worker_exit_rules_and_artifact_fields():
    """onExitStatus's lists and an artifact's contentType, contentEncoding, optional."""
    payload = parse_payload(
        {
            "command": [["true"]],
            "maxRunTime": 86400,
            "onExitStatus": {"retry": [3, 4], "purgeCaches": [4]},
            "artifacts": [
                {"type": "file", "path": "a", "contentType": "text/html",
                 "contentEncoding": "gzip", "optional": True},
            ],
        }
    )
    assert (payload.retry_exit_codes, payload.purge_caches_exit_codes) == ({3, 4}, {4})
    assert payload.artifacts == [ArtifactSpec("a", "a", "file", None, "text/html", "gzip", True)]
    assert parse_payload(RUNS).retry_exit_codes == frozenset()


def test_generic_worker_form():
    """A list of argv lists, run in turn; a list of artifacts, named by their path if unnamed."""
    expires = iso_in(3600)
    payload = parse_payload(
        {
            "command": [["true"], ["echo", "two"]],
            "maxRunTime": 30,
            "artifacts": [
                {"type": "directory", "path": "out"},
                {"type": "file", "path": "x", "name": "public/x", "expires": expires},
            ],
        },
        task_expires=iso_in(7200),
    )
    assert payload.form == "generic-worker" and payload.commands == [["true"], ["echo", "two"]]
    assert payload.artifacts == [
        ArtifactSpec("out", "out", "directory"),
        ArtifactSpec("public/x", "x", "file", expires),
    ]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("run this", "payload must be an object"),
        ({"command": ["true"]}, "payload.maxRunTime is required: a positive whole number"),
        (
            {"command": "true", "maxRunTime": 30},
            "payload.command must be a non-empty list of arguments, or a non-empty list of such "
            'lists (run in turn), not "true"',
        ),
        ({"command": [], "maxRunTime": 30}, "payload.command must not be empty"),
        ({"command": [["true"], []], "maxRunTime": 30}, "payload.command[1] must not be empty"),
        ({"command": ["echo", 1], "maxRunTime": 30}, "payload.command[1] must be a string, not 1"),
        ({"command": ["true"], "maxRunTime": 0}, "payload.maxRunTime must be a positive whole"),
        ({"command": ["true"], "maxRunTime": True}, "at most 86400 (a day), not true"),
        ({**RUNS, "env": {"N": 1}}, "payload.env.N must be a string, not 1"),
        ({**RUNS, "image": 5}, "payload.image must be a non-empty image name"),
        (
            {**RUNS, "artifacts": {"public/x": {"type": "socket", "path": "x"}}},
            "payload.artifacts['public/x'].type must be 'file' or 'directory', not \"socket\"",
        ),
        (
            {**RUNS, "artifacts": [{"type": "file"}]},
            "payload.artifacts[0].path is required: a non-empty path",
        ),
        (
            {**RUNS, "artifacts": {"": {"type": "file", "path": "x"}}},
            "payload.artifacts: names must not be empty",
        ),
        ({"command": ["true"], "maxRunTime": 86401}, "at most 86400 (a day), not 86401"),
        (
            {**RUNS, "onExitStatus": {"retry": [0]}},
            "payload.onExitStatus.retry[0] must be a whole number from 1 up, not 0",
        ),
        (
            {**RUNS, "onExitStatus": {"purgeCaches": [3, 3]}},
            "payload.onExitStatus.purgeCaches must be a list of distinct exit codes",
        ),
        (
            {**RUNS, "artifacts": [{"type": "file", "path": "x", "contentEncoding": "br"}]},
            "payload.artifacts[0].contentEncoding must be 'identity' or 'gzip', not \"br\"",
        ),
        (
            {**RUNS, "artifacts": [{"type": "file", "path": "x", "optional": "yes"}]},
            "payload.artifacts[0].optional must be true or false",
        ),
    ],
)
def test_refusals_say_where_and_why(payload, message):
    with pytest.raises(MalformedPayload) as refusal:
        parse_payload(payload)
    assert message in str(refusal.value)


@pytest.mark.parametrize("bad", ["2026-11-30", "2026-W48-1", "2026-11-30 12:00:00Z"])
def test_artifact_expires_is_an_rfc3339_date_time(bad):
    """As Taskcluster's workers check it: a date alone or a week date is refused."""
    payload = {
        "command": ["true"],
        "maxRunTime": 30,
        "artifacts": {"public/x": {"type": "file", "path": "x", "expires": bad}},
    }
    [problem] = payload_problems(payload)
    assert problem.path == ("artifacts", "public/x", "expires")
    assert problem.message == (
        f"payload.artifacts['public/x'].expires must be a date-time like "
        f'2030-01-31T12:00:00.000Z, not "{bad}"'
    )


def test_every_problem_is_listed_and_an_artifact_may_not_outlive_its_task():
    problems = payload_problems({"command": [], "maxRunTime": -1, "artifacts": [{}]})
    assert [p.path for p in problems] == [
        ("command",),
        ("maxRunTime",),
        ("artifacts", 0, "type"),
        ("artifacts", 0, "path"),
    ]
    late = {"type": "file", "path": "x", "expires": iso_in(7200)}
    payload = {"command": ["true"], "maxRunTime": 30, "artifacts": {"public/x": late}}
    [problem] = payload_problems(payload, task_expires=iso_in(3600))
    assert "payload.artifacts['public/x'] expires" in problem.message
    assert "after its task" in problem.message
    assert payload_problems(payload, task_expires=iso_in(9000)) == []


def test_an_artifact_may_not_expire_before_the_deadline():
    """As generic-worker checks (a second's slack for rounding)."""
    early = {"type": "file", "path": "x", "expires": iso_in(600)}
    payload = {"command": ["true"], "maxRunTime": 30, "artifacts": {"public/x": early}}
    [problem] = payload_problems(payload, task_expires=iso_in(9000), task_deadline=iso_in(3600))
    assert problem.path == ("artifacts", "public/x", "expires")
    assert "payload.artifacts['public/x'] expires" in problem.message
    assert "before its task's deadline" in problem.message
    assert payload_problems(payload, task_deadline=iso_in(600)) == []
