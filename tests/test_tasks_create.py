"""createTask and reading tasks back: ping, the initial status, the definition
with its defaults and normalized dates, 404s, queue identity
(provisionerId/workerType and taskQueueId), idempotency, and the checks on
dates, scopes and the schema.
"""

from __future__ import annotations

import datetime

import pytest
import taskcluster
from helpers import (
    ISO_MS,
    claim_one,
    expect_error,
    from_now,
    make_queue,
    make_task,
    new_queue_id,
    new_task_id,
)

from tc_notebook.timestamps import parse_time


def test_ping(queue, anon, sandbox):
    """ping answers {alive, uptime} with and without (even bad) credentials."""
    for client in (queue, anon):
        res = client.ping()
        assert res["alive"] is True
        assert isinstance(res["uptime"], (int, float)) and res["uptime"] >= 0
    bad = make_queue(sandbox.root_url, {"clientId": "root", "accessToken": "wrong"})
    assert bad.ping()["alive"] is True


def test_create_task_initial_status(queue):
    """A task without dependencies gets a pending run 0 with reasonCreated scheduled."""
    task_id = new_task_id()
    tq = new_queue_id()
    status = queue.createTask(task_id, make_task(tq))["status"]
    assert status["taskId"] == task_id
    assert status["taskQueueId"] == tq
    assert (status["provisionerId"], status["workerType"]) == tuple(tq.split("/"))
    assert status["schedulerId"] == "-"
    assert status["projectId"] == "none"
    assert status["taskGroupId"] == task_id
    assert status["retriesLeft"] == 5
    assert status["state"] == "pending"
    assert len(status["runs"]) == 1
    run = status["runs"][0]
    assert run["runId"] == 0
    assert run["state"] == "pending"
    assert run["reasonCreated"] == "scheduled"
    assert "scheduled" in run and "resolved" not in run and "takenUntil" not in run
    assert queue.status(task_id)["status"] == status


def test_task_definition_defaults(queue):
    """task() returns the definition with schema defaults filled in and folded identity."""
    task_id = new_task_id()
    tq = new_queue_id()
    definition = make_task(tq)
    queue.createTask(task_id, definition)
    task = queue.task(task_id)
    assert task["taskQueueId"] == tq
    assert task["provisionerId"] + "/" + task["workerType"] == tq
    assert task["schedulerId"] == "-"
    assert task["projectId"] == "none"
    assert task["taskGroupId"] == task_id
    assert task["dependencies"] == []
    assert task["requires"] == "all-completed"
    assert task["routes"] == []
    assert task["priority"] == "lowest"
    assert task["retries"] == 5
    assert task["scopes"] == []
    assert task["tags"] == {}
    assert task["extra"] == {}
    assert task["payload"] == {}
    assert task["metadata"] == definition["metadata"]
    for key in ("created", "deadline", "expires"):
        assert ISO_MS.match(task[key]), task[key]
    drift = parse_time(task["deadline"]) - parse_time(definition["deadline"])
    assert abs(drift) < datetime.timedelta(milliseconds=1)
    expires = parse_time(task["expires"])
    deadline = parse_time(task["deadline"])
    # expires defaults to deadline + 1 year
    assert datetime.timedelta(days=365) <= expires - deadline <= datetime.timedelta(days=366)


def test_dates_are_normalized(queue):
    """created/deadline without milliseconds are re-serialized with .000Z."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    created = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    deadline = (now + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    task_id = new_task_id()
    queue.createTask(task_id, make_task(created=created, deadline=deadline))
    task = queue.task(task_id)
    assert task["created"] == created[:-1] + ".000Z"
    assert task["deadline"] == deadline[:-1] + ".000Z"
    status = queue.status(task_id)["status"]
    assert status["deadline"] == task["deadline"]
    assert status["expires"] == task["expires"]


def test_unknown_task_is_404(queue):
    """task/status of an unknown taskId answer 404 ResourceNotFound."""
    task_id = new_task_id()
    expect_error(queue.task, task_id, status=404, code="ResourceNotFound")
    expect_error(queue.status, task_id, status=404, code="ResourceNotFound")


class TestQueueIdentity:
    """provisionerId/workerType <-> taskQueueId folding."""

    def test_only_task_queue_id(self, queue):
        """Only taskQueueId: provisionerId/workerType are derived."""
        task_id = new_task_id()
        tq = new_queue_id()
        queue.createTask(task_id, make_task(tq))
        task = queue.task(task_id)
        assert (task["provisionerId"], task["workerType"]) == tuple(tq.split("/"))

    def test_only_provisioner_and_worker_type(self, queue):
        """Only provisionerId+workerType: taskQueueId is derived, and claimWork finds it."""
        task_id = new_task_id()
        tq = new_queue_id()
        prov, wt = tq.split("/")
        status = queue.createTask(task_id, make_task(taskQueueId=None, provisionerId=prov,
                                                     workerType=wt))["status"]
        assert status["taskQueueId"] == tq
        assert queue.task(task_id)["taskQueueId"] == tq
        claim = claim_one(queue, tq)
        assert claim["status"]["taskId"] == task_id
        assert claim["task"]["taskQueueId"] == tq
        assert claim["task"]["provisionerId"] == prov
        assert claim["task"]["workerType"] == wt

    def test_all_three_matching(self, queue):
        """All three fields given and consistent are accepted."""
        tq = new_queue_id()
        prov, wt = tq.split("/")
        task_id = new_task_id()
        queue.createTask(task_id, make_task(tq, provisionerId=prov, workerType=wt))
        assert queue.task(task_id)["taskQueueId"] == tq

    def test_mismatch_is_input_error(self, queue):
        """taskQueueId != provisionerId/workerType is a 400 InputError; nothing is stored."""
        task_id = new_task_id()
        tq = new_queue_id()
        body = expect_error(queue.createTask, task_id,
                            make_task(tq, provisionerId="other", workerType="thing"),
                            status=400, code="InputError")
        assert "taskQueueId must match" in body["message"]
        expect_error(queue.status, task_id, status=404)

    def test_none_is_input_error(self, queue):
        """No queue identity at all is a 400 InputError."""
        task_id = new_task_id()
        body = expect_error(queue.createTask, task_id, make_task(taskQueueId=None),
                            status=400, code="InputError")
        assert "at least a provisionerId and a workerType or a taskQueueId" in body["message"]
        expect_error(queue.task, task_id, status=404)

    def test_only_provisioner_is_input_error(self, queue):
        """provisionerId without workerType (and no taskQueueId) is rejected."""
        task_id = new_task_id()
        expect_error(queue.createTask, task_id,
                     make_task(taskQueueId=None, provisionerId="sbx-test"),
                     status=400, code="InputError")


class TestIdempotency:
    """Repeated createTask calls."""

    def test_same_definition_returns_current_status(self, queue, root_url):
        """Re-sending the same definition returns 200 with the *current* status."""
        tq = new_queue_id()
        task_id = new_task_id()
        definition = make_task(tq)
        queue.createTask(task_id, definition)
        claim_one(queue, tq)
        again = queue.createTask(task_id, definition)["status"]
        assert again["state"] == "running"
        assert again["runs"][0]["state"] == "running"
        assert len(again["runs"]) == 1

    def test_equal_after_defaults_and_folding(self, queue):
        """Explicit defaults and the provisionerId/workerType form count as the same task."""
        tq = new_queue_id()
        prov, wt = tq.split("/")
        task_id = new_task_id()
        definition = make_task(tq)
        queue.createTask(task_id, definition)
        explicit = make_task(taskQueueId=None, provisionerId=prov, workerType=wt,
                             created=definition["created"], deadline=definition["deadline"],
                             priority="lowest", retries=5, schedulerId="-", projectId="none",
                             requires="all-completed", routes=[], scopes=[], tags={},
                             extra={}, dependencies=[], taskGroupId=task_id)
        assert queue.createTask(task_id, explicit)["status"]["taskId"] == task_id

    def test_different_definition_conflicts(self, queue):
        """A different definition for an existing taskId is a 409 RequestConflict."""
        tq = new_queue_id()
        task_id = new_task_id()
        definition = make_task(tq)
        queue.createTask(task_id, definition)
        changed = dict(definition, payload={"command": ["true"]})
        body = expect_error(queue.createTask, task_id, changed, status=409,
                            code="RequestConflict")
        assert task_id in body["message"]
        assert queue.task(task_id)["payload"] == {}


class TestDateChecks:
    """created/deadline/expires validation (400 InputError, nothing stored)."""

    @pytest.mark.parametrize("fields", [
        pytest.param(lambda: {"created": from_now(minutes=-20)}, id="created-too-old"),
        pytest.param(lambda: {"created": from_now(minutes=20), "deadline": from_now(hours=1)},
                     id="created-in-future"),
        pytest.param(lambda: {"created": from_now(minutes=5), "deadline": from_now(minutes=2)},
                     id="deadline-before-created"),
        pytest.param(lambda: {"created": from_now(minutes=-10), "deadline": from_now(minutes=-1)},
                     id="deadline-in-past"),
        pytest.param(lambda: {"deadline": from_now(days=6)}, id="deadline-too-far"),
        pytest.param(lambda: {"deadline": from_now(hours=2), "expires": from_now(hours=1)},
                     id="expires-before-deadline"),
    ])
    def test_rejected(self, queue, fields):
        """Each bad date combination is a 400 InputError and creates nothing."""
        task_id = new_task_id()
        expect_error(queue.createTask, task_id, make_task(**fields()), status=400,
                     code="InputError")
        expect_error(queue.status, task_id, status=404)

    @pytest.mark.parametrize("fields", [
        pytest.param(lambda: {"created": from_now(minutes=-10)}, id="created-10-min-ago"),
        pytest.param(lambda: {"created": from_now(minutes=10), "deadline": from_now(hours=1)},
                     id="created-10-min-ahead"),
        pytest.param(lambda: {"deadline": from_now(days=5)}, id="deadline-5-days"),
        pytest.param(lambda: {"expires": None}, id="expires-default"),
    ])
    def test_accepted(self, queue, fields):
        """Dates inside the allowed windows are accepted."""
        task_id = new_task_id()
        assert queue.createTask(task_id, make_task(**fields()))["status"]["state"] == "pending"


def test_scope_ending_in_double_star_rejected(queue):
    """Task scopes ending in ** are a 400 InputError."""
    task_id = new_task_id()
    expect_error(queue.createTask, task_id, make_task(scopes=["queue:get-artifact:**"]),
                 status=400, code="InputError")
    expect_error(queue.task, task_id, status=404)


@pytest.mark.parametrize("patch", [
    pytest.param({"metadata": None}, id="missing-metadata"),
    pytest.param({"payload": None}, id="missing-payload"),
    pytest.param({"retries": 50}, id="retries-too-high"),
    pytest.param({"priority": "urgent"}, id="bad-priority"),
    pytest.param({"unknownField": 1}, id="additional-property"),
    pytest.param({"requires": "some-completed"}, id="bad-requires"),
])
def test_schema_violation(queue, patch):
    """Schema violations are 400 InputValidationError and create nothing."""
    task_id = new_task_id()
    expect_error(queue.createTask, task_id, make_task(**patch), status=400,
                 code="InputValidationError")
    expect_error(queue.status, task_id, status=404)


def test_from_now_json_definition_roundtrip(queue):
    """A definition built with taskcluster.fromNowJSON round-trips through task()."""
    task_id = new_task_id()
    definition = make_task(payload={"command": ["echo", "hi"], "maxRunTime": 60},
                           tags={"kind": "test"}, extra={"x": [1, 2]},
                           routes=["index.example"], priority="high", retries=2,
                           expires=taskcluster.fromNowJSON("2 days"))
    queue.createTask(task_id, definition)
    task = queue.task(task_id)
    for key in ("payload", "tags", "extra", "routes", "priority", "retries", "metadata"):
        assert task[key] == definition[key]
    assert queue.status(task_id)["status"]["retriesLeft"] == 2
