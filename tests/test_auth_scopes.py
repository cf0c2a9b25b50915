"""Scopes: what anonymous callers may do (the anonymous role), and what clients
with limited scopes may do, checked before or after the task lookup.
"""

from __future__ import annotations

import pytest
from auth_helpers import _client
from helpers import (
    claim_one,
    create_and_claim,
    create_unscheduled,
    expect_error,
    make_task,
    new_queue_id,
    new_task_id,
    s3_artifact,
)


class TestAnonymous:
    """Requests without credentials get the anonymous role's scopes."""

    def test_read_only_endpoints(self, anon, queue, root_url):
        """status, task, group and artifact listings work anonymously."""
        tid, _, worker = create_and_claim(queue, root_url)
        s3_artifact(worker, tid, 0, "public/p.txt", b"p")
        assert anon.status(tid)["status"]["taskId"] == tid
        assert anon.task(tid)["taskGroupId"] == tid
        assert anon.listTaskGroup(tid)["tasks"][0]["status"]["taskId"] == tid
        assert anon.getTaskGroup(tid)["taskGroupId"] == tid
        assert anon.listDependentTasks(tid)["tasks"] == []
        assert anon.listArtifacts(tid, 0)["artifacts"][0]["name"] == "public/p.txt"
        assert anon.listLatestArtifacts(tid)["artifacts"][0]["name"] == "public/p.txt"
        assert anon.artifactInfo(tid, 0, "public/p.txt")["name"] == "public/p.txt"
        assert anon.latestArtifactInfo(tid, "public/p.txt")["name"] == "public/p.txt"

    def test_writes_forbidden(self, anon, task_id):
        """createTask/cancel/claimWork without credentials are 403 naming the scopes
        needed (as Taskcluster does for anonymous callers: the whole expression)."""
        tq = new_queue_id()
        body = expect_error(anon.createTask, new_task_id(), make_task(tq), status=403,
                            code="InsufficientScopes")
        assert "needs credentials" in body["message"]
        assert f"queue:create-task:lowest:{tq}" in body["message"]
        expect_error(anon.cancelTask, task_id, status=403, code="InsufficientScopes")
        expect_error(anon.scheduleTask, task_id, status=403, code="InsufficientScopes")
        expect_error(anon.rerunTask, task_id, status=403, code="InsufficientScopes")
        body = expect_error(anon.claimWork, tq, {"workerGroup": "g", "workerId": "w",
                                                 "tasks": 1}, status=403,
                            code="InsufficientScopes")
        assert f"queue:claim-work:{tq}" in body["message"]
        assert queue_state(anon, task_id) == "pending"

    def test_middleware_scopes_before_lookup(self, anon, queue):
        """URL-only scope expressions are checked before the task lookup."""
        missing = new_task_id()
        body = expect_error(anon.reportCompleted, missing, 0, status=403,
                            code="InsufficientScopes")
        assert f"queue:resolve-task:{missing}/0" in body["message"]
        expect_error(anon.reclaimTask, missing, 0, status=403, code="InsufficientScopes")
        expect_error(queue.reclaimTask, missing, 0, status=404, code="ResourceNotFound")

    def test_handler_scopes_after_lookup(self, anon):
        """schedule/rerun/cancel look the task up first (404 for unknown tasks)."""
        for method in (anon.scheduleTask, anon.rerunTask, anon.cancelTask):
            expect_error(method, new_task_id(), status=404, code="ResourceNotFound")


def queue_state(client, task_id):
    """Current state of a task."""
    return client.status(task_id)["status"]["state"]


class TestClientScopes:
    """A client created with add_client and limited scopes."""

    def test_create_task_priority_hierarchy(self, sandbox):
        """queue:create-task:high:<q> allows high and lower priorities only."""
        tq = new_queue_id()
        _, learner = _client(sandbox, [f"queue:create-task:high:{tq}", "queue:scheduler-id:-",
                                       "queue:create-task:project:none"])
        for priority in ("lowest", "medium", "high"):
            tid = new_task_id()
            assert learner.createTask(tid, make_task(tq, priority=priority))["status"]
        tid = new_task_id()
        body = expect_error(learner.createTask, tid, make_task(tq, priority="very-high"),
                            status=403, code="InsufficientScopes")
        assert f"queue:create-task:very-high:{tq}" in body["message"]
        expect_error(learner.status, tid, status=404)
        expect_error(learner.createTask, new_task_id(), make_task(new_queue_id()),
                     status=403, code="InsufficientScopes")

    @pytest.mark.parametrize("extra,missing", [
        ({"scopes": ["secrets:get:thing"]}, "secrets:get:thing"),
        ({"routes": ["index.my.route"]}, "queue:route:index.my.route"),
        ({"projectId": "proj-x"}, "queue:create-task:project:proj-x"),
        ({"schedulerId": "sched-x"}, "queue:scheduler-id:sched-x"),
    ])
    def test_create_task_needs_all_scopes(self, sandbox, extra, missing):
        """task scopes, routes, projectId and schedulerId all need scopes."""
        tq = new_queue_id()
        creds, learner = _client(sandbox, [f"queue:create-task:lowest:{tq}",
                                           "queue:scheduler-id:-",
                                           "queue:create-task:project:none"])
        body = expect_error(learner.createTask, new_task_id(), make_task(tq, **extra),
                            status=403, code="InsufficientScopes")
        assert missing in body["message"]
        assert creds["clientId"] in body["message"]

    def test_cancel_in_project(self, sandbox, queue, task_id):
        """queue:cancel-task-in-project:<projectId> allows cancelTask."""
        _, nobody = _client(sandbox, [])
        # authenticated clients also get the anonymous role's scopes
        assert nobody.status(task_id)["status"]["taskId"] == task_id
        expect_error(nobody.cancelTask, task_id, status=403, code="InsufficientScopes")
        _, canceller = _client(sandbox, ["queue:cancel-task-in-project:none"])
        assert canceller.cancelTask(task_id)["status"]["state"] == "exception"

    def test_schedule_specific_task(self, sandbox, queue):
        """queue:schedule-task:<schedulerId>/<taskGroupId>/<taskId> allows scheduleTask."""
        tid = create_unscheduled(queue)
        _, scheduler = _client(sandbox, [f"queue:schedule-task:-/{tid}/{tid}"])
        assert scheduler.scheduleTask(tid)["status"]["state"] == "pending"

    def test_claim_work_scopes(self, sandbox, queue):
        """claimWork needs queue:claim-work:<q> and queue:worker-id:<group>/<id>."""
        tq = new_queue_id()
        queue.createTask(new_task_id(), make_task(tq))
        _, half = _client(sandbox, [f"queue:claim-work:{tq}"])
        body = expect_error(half.claimWork, tq, {"workerGroup": "g", "workerId": "w",
                                                 "tasks": 1}, status=403,
                            code="InsufficientScopes")
        assert "queue:worker-id:g/w" in body["message"]
        _, worker = _client(sandbox, [f"queue:claim-work:{tq}", "queue:worker-id:g/*"])
        assert len(claim_one(worker, tq, "g", "w")["credentials"]["accessToken"]) > 0
