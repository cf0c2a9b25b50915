"""Client-side validation of response bodies against the upstream rendered schemas."""

from __future__ import annotations

import json

import pytest
import requests
import taskcluster
from helpers import (
    UPSTREAM_SCHEMAS,
    claim_one,
    make_queue,
    make_task,
    new_queue_id,
    new_task_id,
    s3_artifact,
)


def _registry_and_validator_cls():
    """Build a referencing Registry of every upstream schema keyed by its $id."""
    from jsonschema import Draft6Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT6

    resources = []
    for path in sorted(UPSTREAM_SCHEMAS.rglob("*.json")):
        schema = json.loads(path.read_text())
        schema_id = schema.get("$id", "").rstrip("#")
        if not schema_id or schema_id == "/schemas/common/metaschema.json":
            continue
        schema = dict(schema)
        schema.pop("$schema", None)
        resources.append((schema_id, Resource.from_contents(schema, default_specification=DRAFT6)))
    return Registry().with_resources(resources), Draft6Validator


@pytest.fixture(scope="module")
def validate():
    """validate(entry_name, body): check body against the entry's upstream output schema."""
    if not UPSTREAM_SCHEMAS.is_dir():
        pytest.skip(f"upstream schemas not found at {UPSTREAM_SCHEMAS} "
                    "(needs ../shared/taskcluster-reference next to the repo)")
    registry, validator_cls = _registry_and_validator_cls()
    checked = []

    def check(entry: str, body):
        output = taskcluster.Queue.funcinfo[entry]["output"]
        uri = "/schemas/queue/" + output.rstrip("#")
        schema = registry.contents(uri)
        validator = validator_cls(schema, registry=registry)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{entry}: " + "; ".join(
            f"{list(e.path)}: {e.message}" for e in errors[:5])
        checked.append(entry)

    check.checked = checked
    return check


def test_registry_resolves_refs(validate):
    """The registry resolves relative $refs (task-status-response -> task-status)."""
    with pytest.raises(AssertionError):
        validate("status", {"status": {"taskId": "x"}})


def test_every_entry_conforms(validate, sandbox):
    """Drive every implemented entry and validate each response body client-side."""
    root_url = sandbox.root_url
    q = make_queue(root_url, sandbox.credentials)
    anon = make_queue(root_url)
    tq = new_queue_id()
    dep = new_task_id()
    validate("createTask", q.createTask(dep, make_task(tq)))
    child = new_task_id()
    validate("createTask", q.createTask(child, make_task(tq, dependencies=[dep],
                                                         taskGroupId=dep)))
    validate("task", anon.task(dep))
    validate("status", anon.status(child))
    validate("listTaskGroup", anon.listTaskGroup(dep))
    validate("listTaskGroup", anon.listTaskGroup(dep, query={"limit": 1}))
    validate("getTaskGroup", anon.getTaskGroup(dep))
    validate("listDependentTasks", anon.listDependentTasks(dep))

    claim_res = q.claimWork(tq, {"workerGroup": "g", "workerId": "w", "tasks": 1})
    validate("claimWork", claim_res)
    claim = claim_res["tasks"][0]
    worker = make_queue(root_url, claim["credentials"])
    reclaim = worker.reclaimTask(dep, 0)
    validate("reclaimTask", reclaim)
    worker = make_queue(root_url, reclaim["credentials"])

    expires = taskcluster.fromNowJSON("1 day")
    validate("createArtifact", worker.createArtifact(dep, 0, "public/s3.txt", {
        "storageType": "s3", "contentType": "text/plain", "expires": expires}))
    s3_artifact(worker, dep, 0, "public/s3.txt", b"s3")
    validate("createArtifact", worker.createArtifact(dep, 0, "public/ref", {
        "storageType": "reference", "url": "https://example.com/", "contentType": "text/plain",
        "expires": expires}))
    validate("createArtifact", worker.createArtifact(dep, 0, "public/link", {
        "storageType": "link", "artifact": "public/s3.txt", "expires": expires}))
    validate("createArtifact", worker.createArtifact(dep, 0, "public/err", {
        "storageType": "error", "reason": "file-missing-on-worker", "message": "gone",
        "expires": expires}))
    validate("listArtifacts", anon.listArtifacts(dep, 0))
    validate("listArtifacts", anon.listArtifacts(dep, 0, query={"limit": 2}))
    validate("listLatestArtifacts", anon.listLatestArtifacts(dep))
    validate("artifactInfo", anon.artifactInfo(dep, 0, "public/s3.txt"))
    validate("latestArtifactInfo", anon.latestArtifactInfo(dep, "public/link"))
    for name in ("public/s3.txt", "public/ref", "public/link"):
        validate("getArtifact", anon.getArtifact(dep, 0, name))
        validate("getLatestArtifact", anon.getLatestArtifact(dep, name))
    for name in ("public/s3.txt", "public/ref", "public/link", "public/err"):
        validate("artifact", anon.artifact(dep, 0, name))
        validate("latestArtifact", anon.latestArtifact(dep, name))
    validate("reportCompleted", worker.reportCompleted(dep, 0))

    other = new_task_id()
    blocker = new_task_id()
    validate("createTask", q.createTask(blocker, make_task(new_queue_id())))
    validate("createTask", q.createTask(other, make_task(tq, dependencies=[blocker])))
    validate("scheduleTask", q.scheduleTask(other))
    validate("claimTask", q.claimTask(other, 0, {"workerGroup": "g", "workerId": "w"}))
    validate("reportFailed", q.reportFailed(other, 0))
    validate("rerunTask", q.rerunTask(other))
    claim = claim_one(q, tq)
    assert claim["status"]["taskId"] in (other, child)
    validate("reportException", q.reportException(
        claim["status"]["taskId"], claim["runId"], {"reason": "worker-shutdown"}))
    validate("cancelTask", q.cancelTask(child))
    assert len(validate.checked) >= 40


def test_served_project_schemas(root_url):
    """The sandbox serves its own create-task-request and task schemas."""
    for name in ("create-task-request.json", "task.json"):
        res = requests.get(f"{root_url}/schemas/queue/v1/{name}", timeout=10)
        assert res.status_code == 200
        assert res.headers["Content-Type"].startswith("application/json")
        schema = res.json()
        assert schema["$id"].endswith(f"/schemas/queue/v1/{name}#") or \
            schema["$id"].rstrip("#").endswith(f"queue/v1/{name}")
        assert "taskQueueId" in schema["properties"]
        assert "metadata" in schema["properties"]


def test_served_create_task_schema_accepts_example(root_url):
    """A valid definition validates against the served create-task-request schema."""
    from jsonschema import Draft6Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT6

    resources = []
    for name in ("create-task-request.json", "task.json", "task-metadata.json"):
        res = requests.get(f"{root_url}/schemas/queue/v1/{name}", timeout=10)
        if res.status_code == 200:
            schema = res.json()
            schema.pop("$schema", None)
            resources.append((schema["$id"].rstrip("#"),
                              Resource.from_contents(schema, default_specification=DRAFT6)))
    registry = Registry().with_resources(resources)
    schema = registry.contents("/schemas/queue/v1/create-task-request.json") if any(
        uri.startswith("/") for uri, _ in resources) else resources[0][1].contents
    validator = Draft6Validator(schema, registry=registry)
    assert not list(validator.iter_errors(make_task()))
    assert list(validator.iter_errors(make_task(metadata=None)))
