"""The sandbox's own Queue v1 schemas against Taskcluster's: the same set,
the same constraints once written out alike, the sandbox's answers and
request bodies of a real run accepted by both, and every document spoilt
from them, or drawn from either side's schema and spoilt, judged alike
(see schema_corpus.py)."""

from __future__ import annotations

import difflib
import json
from typing import Any

import pytest
import requests
import taskcluster
from helpers import (
    UPSTREAM_SCHEMAS,
    from_now,
    make_queue,
    make_task,
    new_queue_id,
    new_task_id,
    s3_artifact,
    worker_queue,
)

if not UPSTREAM_SCHEMAS.is_dir():
    pytest.skip(
        f"Taskcluster's schemas not found at {UPSTREAM_SCHEMAS} "
        "(needs ../shared/taskcluster-reference next to the repo)",
        allow_module_level=True,
    )

from fuzz_requests import inline_refs, jsonschema_objects
from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema
from schema_corpus import (
    OWN_EXTRAS,
    SCHEMA_ID,
    constraints,
    disagreement,
    every_mutation,
    inlined,
    mutated,
    reference_entries,
    referenced_ids,
    upstream_schemas,
    verdicts,
    without_own_extras,
)

from tc_notebook.sandbox import QueueSettings, Sandbox
from tc_notebook.sandbox.schemas import own_schemas

QUEUE_IDS = sorted(i for i in own_schemas().by_id if i.startswith("/schemas/queue/"))
ENTRIES = {entry["name"]: entry for entry in reference_entries()}
TASK_ID = "/schemas/queue/v1/task.json#"


def _holds(tree: Any, part: Any) -> bool:
    """Whether `part` is `tree` or somewhere inside it."""
    children = tree.values() if isinstance(tree, dict) else tree if isinstance(tree, list) else []
    return tree == part or any(_holds(child, part) for child in children)


# Drawing from a schema that holds a whole task definition takes seconds and
# mostly draws task definitions again: task.json is drawn on its own.
DRAWN_IDS = [
    i for i in QUEUE_IDS
    if i == TASK_ID or not _holds(inline_refs(own_schemas().by_id, i),
                                  inline_refs(own_schemas().by_id, TASK_ID))
]
DRAWN = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=12,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
)


def test_one_schema_of_ours_for_each_of_taskclusters():
    """Every schema Taskcluster's queue reference uses (as input, output, or
    through a $ref) has one of ours with the same $id, and we have no other."""
    assert set(QUEUE_IDS) == referenced_ids()


@pytest.mark.parametrize("schema_id", QUEUE_IDS)
def test_our_schema_is_our_own(schema_id: str):
    """Draft 2020-12, every $ref resolves, and the description is not
    Taskcluster's (ours are written anew; titles mostly echo the $id)."""
    ours, theirs = own_schemas().by_id[schema_id], upstream_schemas().by_id[schema_id]
    assert ours["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert inline_refs(own_schemas().by_id, schema_id)
    assert ours.get("description") != theirs.get("description")


@pytest.mark.parametrize("schema_id", QUEUE_IDS)
def test_same_constraints(schema_id: str):
    """Written out (refs inlined, annotations dropped, one spelling for each
    constraint), ours and Taskcluster's are the same tree, but for the
    constraints the sandbox adds on purpose (schema_corpus.OWN_EXTRAS)."""
    ours = without_own_extras(schema_id, constraints(own_schemas().by_id, schema_id))
    theirs = constraints(upstream_schemas().by_id, schema_id)
    if ours != theirs:
        left, right = json.dumps(theirs, indent=1, sort_keys=True), json.dumps(ours, indent=1,
                                                                                sort_keys=True)
        diff = difflib.unified_diff(left.splitlines(), right.splitlines(), "theirs", "ours",
                                    lineterm="")
        pytest.fail("\n".join(list(diff)[:60]))
    assert {extra_id for extra_id, _, _ in OWN_EXTRAS} <= set(QUEUE_IDS)


def test_schemas_are_served(sandbox):
    """Each schema is served at its $id, as the sandbox reads it."""
    for schema_id in QUEUE_IDS:
        answer = requests.get(sandbox.root_url + schema_id.removesuffix("#"), timeout=10)
        assert answer.status_code == 200, schema_id
        assert answer.json() == own_schemas().by_id[schema_id]


class Recorder:
    """Calls the official client and keeps each body sent and answered, with
    the $id of the schema the reference gives it."""

    def __init__(self) -> None:
        self.documents: list[tuple[str, Any]] = []

    def __call__(self, queue: taskcluster.Queue, name: str, *args: Any) -> Any:
        entry = ENTRIES[name]
        answer = getattr(queue, name)(*args)
        if entry.get("input"):
            self.documents.append((SCHEMA_ID.format(entry["input"].removesuffix("#")), args[-1]))
        if entry.get("output"):
            self.documents.append((SCHEMA_ID.format(entry["output"].removesuffix("#")), answer))
        return answer


def _artifact_bodies() -> dict[str, dict]:
    expires = taskcluster.fromNowJSON("1 day")
    return {
        "public/ref": {"storageType": "reference", "expires": expires,
                       "url": "https://example.com/x", "contentType": "text/plain"},
        "public/link": {"storageType": "link", "expires": expires, "artifact": "public/ref"},
        "public/err": {"storageType": "error", "expires": expires,
                       "reason": "file-missing-on-worker", "message": "not there"},
    }


def _run_scenario(root_url: str, queue: taskcluster.Queue, record: Recorder) -> None:
    """Tasks created, claimed both ways, with artifacts of each kind, resolved."""
    tq = new_queue_id()
    first, second, third = new_task_id(), new_task_id(), new_task_id()
    record(queue, "createTask", first, make_task(tq, routes=["a.b"], tags={"k": "v"},
                                                 extra={"x": [1]}, priority="lowest"))
    record(queue, "createTask", second, make_task(tq, dependencies=[first], taskGroupId=first,
                                                  requires="all-resolved"))
    record(queue, "task", first)
    record(queue, "status", second)
    record(queue, "listDependentTasks", first)
    record(queue, "pendingTasks", tq)
    claim = record(queue, "claimWork", tq, {"workerGroup": "wg", "workerId": "w1", "tasks": 1})
    worker = worker_queue(root_url, claim["tasks"][0])
    record(worker, "reclaimTask", first, 0)
    s3 = s3_artifact(worker, first, 0, "public/s3.txt", b"hello")
    record.documents.append((SCHEMA_ID.format("v1/post-artifact-response.json"), s3))
    for name, body in _artifact_bodies().items():
        record(worker, "createArtifact", first, 0, name, body)
    record(queue, "listArtifacts", first, 0)
    record(queue, "latestArtifactInfo", first, "public/s3.txt")
    for name in ("public/s3.txt", "public/ref", "public/err"):
        record(queue, "artifact", first, 0, name)
    record(worker, "reportCompleted", first, 0)
    record(queue, "listTaskGroup", first)
    record(queue, "getTaskGroup", first)
    record(queue, "createTask", third, make_task(tq))
    record(queue, "claimTask", third, 0, {"workerGroup": "wg", "workerId": "w2"})
    record(queue, "reportException", third, 0, {"reason": "worker-shutdown"})


def _run_queue_scenario(queue: taskcluster.Queue, record: Recorder) -> None:
    """Tasks looked up in bulk, counted, listed, reprioritised and cancelled;
    the queue's provisioners, worker types, task queues and workers."""
    tq, group = new_queue_id(), new_task_id()
    provisioner, worker_type = tq.split("/")
    tasks = [new_task_id() for _ in range(3)]
    for task_id in tasks:
        record(queue, "createTask", task_id, make_task(tq, taskGroupId=group))
    record(queue, "tasks", {"taskIds": tasks[:2]})
    record(queue, "statuses", {"taskIds": tasks})
    record(queue, "listPendingTasks", tq)
    record(queue, "claimWork", tq, {"workerGroup": "wg", "workerId": "w1", "tasks": 1})
    record(queue, "taskQueueCounts", tq)
    record(queue, "listClaimedTasks", tq)
    record(queue, "changeTaskPriority", tasks[2], {"newPriority": "high"})
    record(queue, "changeTaskGroupPriority", group, {"newPriority": "low"})
    record(queue, "sealTaskGroup", group)
    record(queue, "cancelTaskGroup", group)
    worker = (provisioner, worker_type, "wg", "w1")
    record(queue, "quarantineWorker", *worker, {"quarantineUntil": from_now(hours=1),
                                                "quarantineInfo": "under test"})
    record(queue, "declareWorker", *worker, {"expires": from_now(days=2)})
    record(queue, "getWorker", *worker)
    record(queue, "listWorkers", provisioner, worker_type)
    for name, args in [("listProvisioners", ()), ("getProvisioner", (provisioner,)),
                       ("listWorkerTypes", (provisioner,)),
                       ("getWorkerType", (provisioner, worker_type)),
                       ("listTaskQueues", ()), ("getTaskQueue", (tq,))]:
        record(queue, name, *args)


@pytest.fixture(scope="module")
def sandbox_documents(tmp_path_factory) -> list[tuple[str, Any]]:
    """Bodies sent to and answered by a live sandbox in a short scenario: a
    sandbox of its own, so that its lists (task queues, provisioners) hold
    only this scenario's items, whatever else the session did."""
    settings = QueueSettings(claim_work_wait=1)
    data_dir = tmp_path_factory.mktemp("schema-sandbox")
    with Sandbox(data_dir, settings=settings, capacity=0) as sandbox:
        record = Recorder()
        queue = make_queue(sandbox.root_url, sandbox.credentials)
        _run_scenario(sandbox.root_url, queue, record)
        _run_queue_scenario(queue, record)
    return record.documents


def test_sandbox_documents_are_valid_on_both_sides(sandbox_documents):
    """What the sandbox was sent and answered passes both sides' schemas."""
    assert len({schema_id for schema_id, _ in sandbox_documents}) >= 35
    for schema_id, document in sandbox_documents:
        assert verdicts(schema_id, document) == (True, True), (schema_id, document)


def _largest_of_each(documents: list[tuple[str, Any]]) -> dict[str, Any]:
    """The longest document of each schema (the one with the most to spoil)."""
    largest: dict[str, Any] = {}
    for schema_id, document in documents:
        if len(json.dumps(document)) > len(json.dumps(largest.get(schema_id))):
            largest[schema_id] = document
    return largest


def test_spoilt_sandbox_documents_get_the_same_verdict(sandbox_documents):
    """Each document spoilt in every single way (a key dropped or added, a
    value of the wrong type, out of range or off pattern) is judged alike."""
    problems, rejected = [], 0
    for schema_id, document in _largest_of_each(sandbox_documents).items():
        for spoilt in every_mutation(document):
            problems.append(disagreement(schema_id, spoilt))
            rejected += not verdicts(schema_id, spoilt)[1]
    found = [p for p in problems if p]
    assert not found, f"{len(found)} disagreements, e.g.:\n" + "\n".join(found[:5])
    assert rejected > len(problems) // 2  # most spoilt documents are invalid


# hypothesis-jsonschema compiles the strings it draws for `format: regex` (metadata.source)
@pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")
@pytest.mark.parametrize("side", ["ours", "theirs"])
@pytest.mark.parametrize("schema_id", DRAWN_IDS)
def test_drawn_documents_get_the_same_verdict(schema_id: str, side: str):
    """Documents drawn from one side's schema, then spoilt or not, are judged
    alike by both sides."""
    schemas = (own_schemas() if side == "ours" else upstream_schemas()).by_id
    drawn = from_schema(inlined(schemas, schema_id))
    seen = []

    @DRAWN
    @given(document=drawn.flatmap(mutated))
    def case(document: Any) -> None:
        problem = disagreement(schema_id, document)
        assert problem is None, problem
        seen.append(verdicts(schema_id, document)[1])

    with jsonschema_objects():
        case()
    assert True in seen  # some of the drawn documents were valid
