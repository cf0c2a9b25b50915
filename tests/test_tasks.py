"""createTask, task, status, task groups and dependencies."""

from __future__ import annotations

import datetime
import re

import pytest
import taskcluster
from helpers import (
    claim_one,
    create_and_claim,
    expect_error,
    from_now,
    make_queue,
    make_task,
    new_queue_id,
    new_task_id,
    parse_date,
)

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


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
    drift = parse_date(task["deadline"]) - parse_date(definition["deadline"])
    assert abs(drift) < datetime.timedelta(milliseconds=1)
    expires = parse_date(task["expires"])
    deadline = parse_date(task["deadline"])
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


class TestTaskGroups:
    """Task groups: implicit creation, schedulerId, listing, pagination."""

    def test_get_task_group(self, queue):
        """getTaskGroup returns {taskGroupId, schedulerId, expires}."""
        group = new_task_id()
        queue.createTask(new_task_id(), make_task(taskGroupId=group, schedulerId="sched-a"))
        res = queue.getTaskGroup(group)
        assert res["taskGroupId"] == group
        assert res["schedulerId"] == "sched-a"
        assert ISO_MS.match(res["expires"]) or parse_date(res["expires"])

    def test_unknown_group_is_404(self, queue):
        """Unknown groups answer 404 for getTaskGroup and listTaskGroup."""
        group = new_task_id()
        expect_error(queue.getTaskGroup, group, status=404, code="ResourceNotFound")
        expect_error(queue.listTaskGroup, group, status=404, code="ResourceNotFound")

    def test_scheduler_id_conflict(self, queue):
        """All tasks in a group must share schedulerId (409 otherwise)."""
        group = new_task_id()
        queue.createTask(new_task_id(), make_task(taskGroupId=group, schedulerId="sched-a"))
        other = new_task_id()
        expect_error(queue.createTask, other, make_task(taskGroupId=group,
                                                        schedulerId="sched-b"),
                     status=409, code="RequestConflict")
        expect_error(queue.status, other, status=404)

    def test_list_task_group_pagination(self, queue):
        """listTaskGroup pages with limit; continuationToken is absent on the last page."""
        group = new_task_id()
        ids = set()
        for _ in range(5):
            tid = new_task_id()
            ids.add(tid)
            queue.createTask(tid, make_task(taskGroupId=group))
        seen = []
        pages = 0
        token = None
        while True:
            query = {"limit": 2}
            if token:
                query["continuationToken"] = token
            res = queue.listTaskGroup(group, query=query)
            pages += 1
            assert res["taskGroupId"] == group
            assert res["schedulerId"] == "-"
            assert len(res["tasks"]) <= 2
            for item in res["tasks"]:
                assert set(item) == {"status", "task"}
                assert item["task"]["taskGroupId"] == group
                seen.append(item["status"]["taskId"])
            token = res.get("continuationToken")
            if not token:
                assert "continuationToken" not in res
                break
            assert pages < 10
        assert pages == 3
        assert sorted(seen) == sorted(ids)
        full = queue.listTaskGroup(group)
        assert "continuationToken" not in full
        assert {t["status"]["taskId"] for t in full["tasks"]} == ids

    def test_list_task_group_pagination_handler(self, queue):
        """The client's paginationHandler loop terminates and sees every task."""
        group = new_task_id()
        ids = {new_task_id() for _ in range(3)}
        for tid in ids:
            queue.createTask(tid, make_task(taskGroupId=group))
        seen = []
        queue.listTaskGroup(group, paginationHandler=lambda r: seen.extend(
            t["status"]["taskId"] for t in r["tasks"]), paginationLimit=1)
        assert sorted(seen) == sorted(ids)

    def test_bad_continuation_token(self, queue):
        """An undecodable listTaskGroup token is a 400 InputError."""
        group = new_task_id()
        queue.createTask(new_task_id(), make_task(taskGroupId=group))
        expect_error(queue.listTaskGroup, group, query={"continuationToken": "!!not-valid!!"},
                     status=400, code="InputError")

    def test_limit_must_be_numeric(self, queue):
        """limit must match ^[0-9]+$."""
        group = new_task_id()
        queue.createTask(new_task_id(), make_task(taskGroupId=group))
        expect_error(queue.listTaskGroup, group, query={"limit": "ten"}, status=400,
                     code="InvalidRequestArguments")


class TestDependencies:
    """Dependencies, requires and listDependentTasks."""

    def test_all_completed_waits_for_completion(self, queue, root_url):
        """An all-completed dependent is scheduled only when the dependency completes."""
        tq = new_queue_id()
        dep_id, claim, worker = create_and_claim(queue, root_url, task_queue_id=tq)
        child = new_task_id()
        status = queue.createTask(child, make_task(tq, dependencies=[dep_id]))["status"]
        assert status["state"] == "unscheduled"
        assert status["runs"] == []
        worker.reportCompleted(dep_id, 0)
        status = queue.status(child)["status"]
        assert status["state"] == "pending"
        assert status["runs"][0]["reasonCreated"] == "scheduled"

    def test_all_completed_blocked_by_failure(self, queue, root_url):
        """A failed dependency leaves an all-completed dependent unscheduled."""
        tq = new_queue_id()
        dep_id, _, worker = create_and_claim(queue, root_url, task_queue_id=tq)
        child = new_task_id()
        queue.createTask(child, make_task(tq, dependencies=[dep_id]))
        worker.reportFailed(dep_id, 0)
        assert queue.status(child)["status"]["state"] == "unscheduled"

    def test_all_resolved_scheduled_by_failure(self, queue, root_url):
        """An all-resolved dependent is scheduled by any resolution."""
        tq = new_queue_id()
        dep_id, _, worker = create_and_claim(queue, root_url, task_queue_id=tq)
        child = new_task_id()
        queue.createTask(child, make_task(tq, dependencies=[dep_id], requires="all-resolved"))
        assert queue.status(child)["status"]["state"] == "unscheduled"
        worker.reportFailed(dep_id, 0)
        status = queue.status(child)["status"]
        assert status["state"] == "pending"
        assert status["runs"][0]["reasonCreated"] == "scheduled"

    def test_retried_exception_is_not_a_resolution(self, queue, root_url):
        """worker-shutdown with retries left does not unblock all-resolved dependents."""
        tq = new_queue_id()
        dep_id, _, worker = create_and_claim(queue, root_url, task_queue_id=tq)
        child = new_task_id()
        queue.createTask(child, make_task(tq, dependencies=[dep_id], requires="all-resolved"))
        worker.reportException(dep_id, 0, {"reason": "worker-shutdown"})
        assert queue.status(dep_id)["status"]["state"] == "pending"
        assert queue.status(child)["status"]["state"] == "unscheduled"

    def test_waits_for_all_dependencies(self, queue, root_url):
        """A dependent with two dependencies waits for both."""
        tq = new_queue_id()
        a, claim_a, worker_a = create_and_claim(queue, root_url, task_queue_id=tq)
        b, claim_b, worker_b = create_and_claim(queue, root_url, task_queue_id=tq)
        child = new_task_id()
        queue.createTask(child, make_task(tq, dependencies=[a, b]))
        worker_a.reportCompleted(a, 0)
        assert queue.status(child)["status"]["state"] == "unscheduled"
        worker_b.reportCompleted(b, 0)
        assert queue.status(child)["status"]["state"] == "pending"

    def test_created_after_dependency_completed(self, queue, root_url):
        """Depending on an already completed task schedules immediately."""
        dep_id, _, worker = create_and_claim(queue, root_url)
        worker.reportCompleted(dep_id, 0)
        child = new_task_id()
        status = queue.createTask(child, make_task(dependencies=[dep_id]))["status"]
        assert status["state"] == "pending"

    def test_missing_dependency(self, queue):
        """An unknown dependency is a 400 InputError and the task is not kept."""
        child = new_task_id()
        expect_error(queue.createTask, child, make_task(dependencies=[new_task_id()]),
                     status=400, code="InputError")
        expect_error(queue.status, child, status=404)

    def test_dependency_expiring_before_deadline(self, queue):
        """A dependency with expires < this deadline is a 400 InputError."""
        dep = new_task_id()
        queue.createTask(dep, make_task(deadline=from_now(hours=1), expires=from_now(hours=1)))
        child = new_task_id()
        expect_error(queue.createTask, child,
                     make_task(dependencies=[dep], deadline=from_now(hours=2)),
                     status=400, code="InputError")
        expect_error(queue.status, child, status=404)

    def test_self_dependency_needs_schedule_task(self, queue):
        """A task depending on itself stays unscheduled until scheduleTask."""
        task_id = new_task_id()
        status = queue.createTask(task_id, make_task(dependencies=[task_id]))["status"]
        assert status["state"] == "unscheduled"
        assert status["runs"] == []
        status = queue.scheduleTask(task_id)["status"]
        assert status["state"] == "pending"
        assert status["runs"][0]["reasonCreated"] == "scheduled"

    def test_list_dependent_tasks_pagination(self, queue):
        """listDependentTasks pages with limit and continuationToken."""
        dep = new_task_id()
        queue.createTask(dep, make_task())
        children = set()
        for _ in range(3):
            child = new_task_id()
            children.add(child)
            queue.createTask(child, make_task(dependencies=[dep]))
        res = queue.listDependentTasks(dep)
        assert res["taskId"] == dep
        assert "continuationToken" not in res
        assert {t["status"]["taskId"] for t in res["tasks"]} == children
        for item in res["tasks"]:
            assert item["task"]["dependencies"] == [dep]
        first = queue.listDependentTasks(dep, query={"limit": 2})
        assert len(first["tasks"]) == 2
        assert first.get("continuationToken")
        second = queue.listDependentTasks(
            dep, query={"limit": 2, "continuationToken": first["continuationToken"]})
        assert len(second["tasks"]) == 1
        assert "continuationToken" not in second
        assert {t["status"]["taskId"] for t in first["tasks"] + second["tasks"]} == children

    def test_list_dependent_tasks_empty_and_unknown(self, queue):
        """No dependents gives an empty list; an unknown task is 404."""
        task_id = new_task_id()
        queue.createTask(task_id, make_task())
        assert queue.listDependentTasks(task_id)["tasks"] == []
        expect_error(queue.listDependentTasks, new_task_id(), status=404,
                     code="ResourceNotFound")


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
