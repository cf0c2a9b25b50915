"""Worker interface and the run state machine."""

from __future__ import annotations

import datetime
import json
import re
import time

import pytest
from helpers import (
    API,
    claim_one,
    create_and_claim,
    create_unscheduled,
    expect_error,
    from_now,
    make_queue,
    make_task,
    new_queue_id,
    new_task_id,
    parse_date,
    raw_request,
    wait_for_state,
    worker_queue,
)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class TestClaimWork:
    """claimWork / claimTask."""

    def test_claim_work_entry(self, queue, sandbox):
        """A claim carries status, runId, worker ids, takenUntil, task and credentials."""
        tq = new_queue_id()
        task_id = new_task_id()
        definition = make_task(tq, payload={"x": 1})
        queue.createTask(task_id, definition)
        before = _now()
        claim = claim_one(queue, tq, worker_group="my-group", worker_id="my-worker")
        assert claim["runId"] == 0
        assert claim["workerGroup"] == "my-group"
        assert claim["workerId"] == "my-worker"
        assert claim["task"]["payload"] == {"x": 1}
        assert claim["task"]["metadata"] == definition["metadata"]
        taken = parse_date(claim["takenUntil"])
        # claim_timeout of the session sandbox is 1200 s
        assert before + datetime.timedelta(seconds=1190) <= taken
        assert taken <= _now() + datetime.timedelta(seconds=1210)
        status = claim["status"]
        assert status["state"] == "running"
        run = status["runs"][0]
        assert run["state"] == "running"
        assert run["workerGroup"] == "my-group"
        assert run["workerId"] == "my-worker"
        assert run["takenUntil"] == claim["takenUntil"]
        assert "started" in run
        creds = claim["credentials"]
        assert isinstance(creds["certificate"], str)
        cert = json.loads(creds["certificate"])
        assert set(cert["scopes"]) >= {
            f"queue:reclaim-task:{task_id}/0",
            f"queue:resolve-task:{task_id}/0",
            f"queue:create-artifact:{task_id}/0",
        }
        assert re.fullmatch(
            rf"task-client/{task_id}/0/on/my-group/my-worker/until/\d+", creds["clientId"])
        assert abs(cert["expiry"] / 1000 - taken.timestamp()) < 2
        assert queue.status(task_id)["status"] == status

    def test_claim_credentials_include_task_scopes(self, queue):
        """Task scopes are added to the temporary credentials."""
        tq = new_queue_id()
        queue.createTask(new_task_id(), make_task(tq, scopes=["secrets:get:foo"]))
        cert = json.loads(claim_one(queue, tq)["credentials"]["certificate"])
        assert "secrets:get:foo" in cert["scopes"]

    def test_empty_queue_returns_empty_list(self, queue):
        """With nothing claimable, claimWork returns {tasks: []} after the long-poll."""
        start = time.monotonic()
        res = queue.claimWork(new_queue_id(), {"workerGroup": "g", "workerId": "w",
                                               "tasks": 2})
        assert res == {"tasks": []}
        assert time.monotonic() - start < 10

    def test_claim_work_long_poll_sees_new_task(self, make_sandbox):
        """A waiting claimWork returns a task created during the poll."""
        import threading

        sb = make_sandbox(claim_work_wait=10)
        q = make_queue(sb.root_url, sb.credentials)
        tq = new_queue_id()
        task_id = new_task_id()
        result = {}

        def poll():
            result["res"] = make_queue(sb.root_url, sb.credentials).claimWork(
                tq, {"workerGroup": "g", "workerId": "w", "tasks": 1})

        thread = threading.Thread(target=poll)
        start = time.monotonic()
        thread.start()
        q.createTask(task_id, make_task(tq))
        thread.join(15)
        assert not thread.is_alive()
        assert [t["status"]["taskId"] for t in result["res"]["tasks"]] == [task_id]
        assert time.monotonic() - start < 9

    def test_claims_up_to_n_tasks(self, queue):
        """claimWork returns at most `tasks` entries and each is claimed once."""
        tq = new_queue_id()
        ids = {new_task_id() for _ in range(3)}
        for tid in ids:
            queue.createTask(tid, make_task(tq))
        first = queue.claimWork(tq, {"workerGroup": "g", "workerId": "w", "tasks": 2})
        assert len(first["tasks"]) == 2
        second = queue.claimWork(tq, {"workerGroup": "g", "workerId": "w", "tasks": 2})
        assert len(second["tasks"]) == 1
        got = [t["status"]["taskId"] for t in first["tasks"] + second["tasks"]]
        assert sorted(got) == sorted(ids)

    def test_priority_then_age(self, queue):
        """Highest priority first, then oldest."""
        tq = new_queue_id()
        low = new_task_id()
        old_high = new_task_id()
        new_high = new_task_id()
        queue.createTask(low, make_task(tq, priority="low"))
        queue.createTask(old_high, make_task(tq, priority="very-high"))
        queue.createTask(new_high, make_task(tq, priority="very-high"))
        order = [claim_one(queue, tq)["status"]["taskId"] for _ in range(3)]
        assert order == [old_high, new_high, low]

    def test_tasks_out_of_range(self, queue):
        """tasks must be within 1..32 (schema)."""
        tq = new_queue_id()
        for n in (0, 33):
            expect_error(queue.claimWork, tq, {"workerGroup": "g", "workerId": "w", "tasks": n},
                         status=400, code="InputValidationError")

    def test_raw_slash_task_queue_id(self, queue, sandbox):
        """claimWork accepts the taskQueueId with a raw slash in the path."""
        tq = new_queue_id()
        task_id = new_task_id()
        queue.createTask(task_id, make_task(tq))
        url = f"{sandbox.root_url}{API}/claim-work/{tq}"
        res = raw_request("POST", url, sandbox.credentials,
                          body={"workerGroup": "g", "workerId": "w", "tasks": 1})
        assert res.status_code == 200, res.text
        assert res.headers["Content-Type"].startswith("application/json")
        assert [t["status"]["taskId"] for t in res.json()["tasks"]] == [task_id]

    def test_claim_task_deprecated(self, queue, root_url):
        """claimTask claims a specific pending run; a second claim conflicts."""
        tq = new_queue_id()
        task_id = new_task_id()
        queue.createTask(task_id, make_task(tq))
        res = queue.claimTask(task_id, 0, {"workerGroup": "g", "workerId": "w"})
        assert res["status"]["state"] == "running"
        assert res["runId"] == 0
        assert res["task"]["taskQueueId"] == tq
        worker = worker_queue(root_url, res)
        expect_error(queue.claimTask, task_id, 0, {"workerGroup": "g", "workerId": "w2"},
                     status=409, code="RequestConflict")
        worker.reportCompleted(task_id, 0)
        assert queue.status(task_id)["status"]["state"] == "completed"

    def test_claim_task_unknown(self, queue):
        """claimTask on an unknown task is 404."""
        expect_error(queue.claimTask, new_task_id(), 0, {"workerGroup": "g", "workerId": "w"},
                     status=404, code="ResourceNotFound")


class TestResolution:
    """reclaimTask and report* with the claim's temporary credentials."""

    def test_reclaim(self, queue, root_url):
        """reclaimTask returns fresh credentials and a takenUntil not earlier than before."""
        task_id, claim, worker = create_and_claim(queue, root_url)
        res = worker.reclaimTask(task_id, 0)
        assert res["runId"] == 0
        assert res["status"]["state"] == "running"
        assert res["workerGroup"] == claim["workerGroup"]
        assert res["workerId"] == claim["workerId"]
        assert parse_date(res["takenUntil"]) >= parse_date(claim["takenUntil"])
        assert res["status"]["runs"][0]["takenUntil"] == res["takenUntil"]
        assert set(res["credentials"]) >= {"clientId", "accessToken", "certificate"}
        worker2 = worker_queue(root_url, res)
        worker2.reportCompleted(task_id, 0)
        expect_error(worker2.reclaimTask, task_id, 0, status=409, code="RequestConflict")

    def test_report_completed(self, queue, root_url):
        """reportCompleted resolves the run; repeating it is idempotent."""
        task_id, _, worker = create_and_claim(queue, root_url)
        status = worker.reportCompleted(task_id, 0)["status"]
        assert status["state"] == "completed"
        run = status["runs"][0]
        assert run["state"] == "completed"
        assert run["reasonResolved"] == "completed"
        assert "resolved" in run
        again = worker.reportCompleted(task_id, 0)["status"]
        assert again["runs"][0]["resolved"] == run["resolved"]
        expect_error(worker.reportFailed, task_id, 0, status=409, code="RequestConflict")
        expect_error(worker.reportException, task_id, 0, {"reason": "internal-error"},
                     status=409, code="RequestConflict")

    def test_report_failed(self, queue, root_url):
        """reportFailed resolves the run as failed; repeating is idempotent."""
        task_id, _, worker = create_and_claim(queue, root_url)
        status = worker.reportFailed(task_id, 0)["status"]
        assert status["state"] == "failed"
        assert status["runs"][0]["reasonResolved"] == "failed"
        assert worker.reportFailed(task_id, 0)["status"]["state"] == "failed"
        expect_error(worker.reportCompleted, task_id, 0, status=409, code="RequestConflict")

    def test_legacy_success_false(self, queue, sandbox):
        """reportCompleted with body {success: false} is treated as reportFailed."""
        task_id, claim, _ = create_and_claim(queue, sandbox.root_url)
        url = f"{sandbox.root_url}{API}/task/{task_id}/runs/0/completed"
        res = raw_request("POST", url, claim["credentials"], body={"success": False})
        assert res.status_code == 200, res.text
        assert res.json()["status"]["runs"][0]["reasonResolved"] == "failed"

    @pytest.mark.parametrize("reason,created", [
        ("worker-shutdown", "retry"),
        ("intermittent-task", "task-retry"),
    ])
    def test_exception_with_retry(self, queue, root_url, reason, created):
        """Retryable exceptions add a pending run and decrement retriesLeft."""
        task_id, _, worker = create_and_claim(queue, root_url)
        status = worker.reportException(task_id, 0, {"reason": reason})["status"]
        assert status["state"] == "pending"
        assert status["retriesLeft"] == 4
        assert [r["runId"] for r in status["runs"]] == [0, 1]
        assert status["runs"][0]["state"] == "exception"
        assert status["runs"][0]["reasonResolved"] == reason
        assert status["runs"][1]["state"] == "pending"
        assert status["runs"][1]["reasonCreated"] == created
        # same reason again on run 0 is idempotent
        again = worker.reportException(task_id, 0, {"reason": reason})["status"]
        assert len(again["runs"]) == 2
        # run 1 can be claimed; run 0 can no longer be resolved differently
        expect_error(worker.reportCompleted, task_id, 0, status=409, code="RequestConflict")

    @pytest.mark.parametrize("reason", ["malformed-payload", "resource-unavailable",
                                        "internal-error"])
    def test_exception_without_retry(self, queue, root_url, reason):
        """Non-retryable exceptions resolve the task."""
        task_id, _, worker = create_and_claim(queue, root_url)
        status = worker.reportException(task_id, 0, {"reason": reason})["status"]
        assert status["state"] == "exception"
        assert len(status["runs"]) == 1
        assert status["runs"][0]["reasonResolved"] == reason
        assert status["retriesLeft"] == 5

    def test_retries_exhausted(self, queue, root_url):
        """With retries=0 a worker-shutdown is final."""
        task_id, _, worker = create_and_claim(queue, root_url, retries=0)
        status = worker.reportException(task_id, 0, {"reason": "worker-shutdown"})["status"]
        assert status["state"] == "exception"
        assert len(status["runs"]) == 1
        assert status["retriesLeft"] == 0

    def test_retry_chain_until_exhausted(self, queue, root_url):
        """retries=1: one retry run, then the next worker-shutdown is final."""
        tq = new_queue_id()
        task_id, _, worker = create_and_claim(queue, root_url, task_queue_id=tq, retries=1)
        worker.reportException(task_id, 0, {"reason": "worker-shutdown"})
        claim = claim_one(queue, tq)
        assert claim["runId"] == 1
        worker1 = worker_queue(root_url, claim)
        status = worker1.reportException(task_id, 1, {"reason": "worker-shutdown"})["status"]
        assert status["state"] == "exception"
        assert len(status["runs"]) == 2
        assert status["retriesLeft"] == 0

    def test_invalid_exception_reason(self, queue, root_url):
        """An unknown reason (or a missing body) is a 400 InputValidationError."""
        task_id, _, worker = create_and_claim(queue, root_url)
        expect_error(worker.reportException, task_id, 0, {"reason": "canceled"},
                     status=400, code="InputValidationError")
        expect_error(worker.reportException, task_id, 0, {}, status=400,
                     code="InputValidationError")
        assert queue.status(task_id)["status"]["state"] == "running"

    def test_report_on_pending_run_conflicts(self, queue):
        """Resolving a run that was never claimed is 409."""
        task_id = new_task_id()
        queue.createTask(task_id, make_task())
        body = expect_error(queue.reportCompleted, task_id, 0, status=409,
                            code="RequestConflict")
        assert "Run 0" in body["message"]
        expect_error(queue.reclaimTask, task_id, 0, status=409, code="RequestConflict")

    def test_unknown_task_or_run(self, queue, root_url):
        """Unknown task or run is 404."""
        expect_error(queue.reportCompleted, new_task_id(), 0, status=404,
                     code="ResourceNotFound")
        task_id, _, _ = create_and_claim(queue, root_url)
        expect_error(queue.reportCompleted, task_id, 3, status=404, code="ResourceNotFound")

    def test_not_last_run_conflicts(self, queue, root_url):
        """Reclaiming a run that is not the last one is 409."""
        tq = new_queue_id()
        task_id, _, worker = create_and_claim(queue, root_url, task_queue_id=tq)
        worker.reportException(task_id, 0, {"reason": "worker-shutdown"})
        expect_error(worker.reclaimTask, task_id, 0, status=409, code="RequestConflict")

    def test_temp_credentials_are_run_specific(self, queue, root_url):
        """Claim credentials cannot resolve another task's run (403)."""
        task_a, _, worker_a = create_and_claim(queue, root_url)
        task_b, _, _ = create_and_claim(queue, root_url)
        body = expect_error(worker_a.reportCompleted, task_b, 0, status=403,
                            code="InsufficientScopes")
        assert f"queue:resolve-task:{task_b}/0" in body["message"]
        assert queue.status(task_b)["status"]["state"] == "running"
        worker_a.reportCompleted(task_a, 0)


class TestCancelRerunSchedule:
    """cancelTask, rerunTask, scheduleTask."""

    def test_cancel_pending(self, queue):
        """Cancelling a pending task resolves run 0 as exception/canceled."""
        task_id = new_task_id()
        queue.createTask(task_id, make_task())
        status = queue.cancelTask(task_id)["status"]
        assert status["state"] == "exception"
        assert status["runs"][0]["reasonResolved"] == "canceled"
        assert status["runs"][0]["reasonCreated"] == "scheduled"

    def test_cancel_running(self, queue, root_url):
        """Cancelling a running task; the worker then gets 409 on report/reclaim."""
        task_id, _, worker = create_and_claim(queue, root_url)
        status = queue.cancelTask(task_id)["status"]
        assert status["runs"][0]["state"] == "exception"
        assert status["runs"][0]["reasonResolved"] == "canceled"
        expect_error(worker.reportCompleted, task_id, 0, status=409, code="RequestConflict")
        expect_error(worker.reclaimTask, task_id, 0, status=409, code="RequestConflict")

    def test_cancel_unscheduled(self, queue):
        """Cancelling an unscheduled task adds an exception run."""
        task_id = create_unscheduled(queue)
        status = queue.cancelTask(task_id)["status"]
        assert status["state"] == "exception"
        assert len(status["runs"]) == 1
        run = status["runs"][0]
        assert run["reasonCreated"] == "exception"
        assert run["reasonResolved"] == "canceled"
        assert run["scheduled"] == run["resolved"]

    def test_cancel_resolved_is_noop(self, queue, root_url):
        """Cancelling a completed task returns the unchanged status."""
        task_id, _, worker = create_and_claim(queue, root_url)
        completed = worker.reportCompleted(task_id, 0)["status"]
        assert queue.cancelTask(task_id)["status"] == completed

    def test_cancel_unknown(self, queue):
        """cancelTask of an unknown task is 404."""
        expect_error(queue.cancelTask, new_task_id(), status=404, code="ResourceNotFound")

    def test_rerun_completed(self, queue, root_url):
        """rerunTask adds a pending run with reasonCreated rerun."""
        tq = new_queue_id()
        task_id, _, worker = create_and_claim(queue, root_url, task_queue_id=tq)
        worker.reportCompleted(task_id, 0)
        status = queue.rerunTask(task_id)["status"]
        assert status["state"] == "pending"
        assert status["runs"][1]["reasonCreated"] == "rerun"
        assert status["runs"][1]["runId"] == 1
        assert status["retriesLeft"] == 5
        assert claim_one(queue, tq)["runId"] == 1

    def test_rerun_pending_is_noop(self, queue):
        """rerunTask on a pending task returns the current status unchanged."""
        task_id = new_task_id()
        queue.createTask(task_id, make_task())
        status = queue.rerunTask(task_id)["status"]
        assert len(status["runs"]) == 1
        assert status["state"] == "pending"

    def test_rerun_unscheduled(self, queue):
        """rerunTask works on unscheduled tasks whatever their dependencies."""
        dep = new_task_id()
        queue.createTask(dep, make_task())
        task_id = new_task_id()
        queue.createTask(task_id, make_task(dependencies=[dep]))
        status = queue.rerunTask(task_id)["status"]
        assert status["state"] == "pending"
        assert status["runs"][0]["reasonCreated"] == "rerun"

    def test_max_runs(self, queue):
        """At most 50 runs; retriesLeft = min(retries, 50 - lastRunId - 2)."""
        task_id = new_task_id()
        queue.createTask(task_id, make_task())
        for expected_run in range(1, 50):
            queue.cancelTask(task_id)
            status = queue.rerunTask(task_id)["status"]
            assert len(status["runs"]) == expected_run + 1
            assert status["retriesLeft"] == min(5, 50 - (expected_run - 1) - 2)
        queue.cancelTask(task_id)
        body = expect_error(queue.rerunTask, task_id, status=409, code="RequestConflict")
        assert "Maximum number of runs reached" in body["message"]
        assert len(queue.status(task_id)["status"]["runs"]) == 50

    def test_schedule_unscheduled(self, queue):
        """scheduleTask on a blocked task adds a pending run."""
        dep = new_task_id()
        queue.createTask(dep, make_task())
        task_id = new_task_id()
        queue.createTask(task_id, make_task(dependencies=[dep]))
        status = queue.scheduleTask(task_id)["status"]
        assert status["runs"][0]["reasonCreated"] == "scheduled"
        assert status["state"] == "pending"

    def test_schedule_with_runs_is_noop(self, queue, root_url):
        """scheduleTask on a task that has runs returns the current status."""
        task_id, _, _ = create_and_claim(queue, root_url)
        status = queue.scheduleTask(task_id)["status"]
        assert status["state"] == "running"
        assert len(status["runs"]) == 1

    def test_unknown_is_404(self, queue):
        """schedule/rerun on unknown tasks are 404."""
        expect_error(queue.scheduleTask, new_task_id(), status=404, code="ResourceNotFound")
        expect_error(queue.rerunTask, new_task_id(), status=404, code="ResourceNotFound")


class TestTimers:
    """Claim expiry and deadline resolution (fast sandbox: 2 s claims, deadlineDelay 0)."""

    def test_claim_expiry_retries(self, fast_sandbox):
        """An expired claim becomes exception/claim-expired plus a retry run."""
        q = make_queue(fast_sandbox.root_url, fast_sandbox.credentials)
        tq = new_queue_id()
        task_id = new_task_id()
        q.createTask(task_id, make_task(tq, retries=1))
        claim = claim_one(q, tq)
        taken = parse_date(claim["takenUntil"])
        assert taken <= _now() + datetime.timedelta(seconds=3)
        status = wait_for_state(q, task_id, lambda s: len(s["runs"]) == 2, timeout=10)
        assert status["runs"][0]["state"] == "exception"
        assert status["runs"][0]["reasonResolved"] == "claim-expired"
        assert status["runs"][1]["state"] == "pending"
        assert status["runs"][1]["reasonCreated"] == "retry"
        assert status["retriesLeft"] == 0
        old_worker = worker_queue(fast_sandbox.root_url, claim)
        expect_error(old_worker.reclaimTask, task_id, 0, status=409, code="RequestConflict")
        # second claim expires with no retries left: final
        claim_one(q, tq)
        status = wait_for_state(q, task_id, lambda s: s["state"] == "exception", timeout=10)
        assert len(status["runs"]) == 2
        assert status["runs"][1]["reasonResolved"] == "claim-expired"

    def test_deadline_pending(self, fast_sandbox):
        """A pending task past its deadline becomes exception/deadline-exceeded."""
        q = make_queue(fast_sandbox.root_url, fast_sandbox.credentials)
        task_id = new_task_id()
        q.createTask(task_id, make_task(deadline=from_now(seconds=1)))
        status = wait_for_state(q, task_id, lambda s: s["state"] == "exception", timeout=10)
        assert len(status["runs"]) == 1
        assert status["runs"][0]["reasonResolved"] == "deadline-exceeded"
        expect_error(q.rerunTask, task_id, status=409, code="RequestConflict")
        expect_error(q.cancelTask, task_id, status=409, code="RequestConflict")
        expect_error(q.scheduleTask, task_id, status=409, code="RequestConflict")

    def test_deadline_unscheduled(self, fast_sandbox):
        """An unscheduled task past its deadline gets an exception run."""
        q = make_queue(fast_sandbox.root_url, fast_sandbox.credentials)
        task_id = create_unscheduled(q, deadline=from_now(seconds=1))
        status = wait_for_state(q, task_id, lambda s: s["state"] == "exception", timeout=10)
        run = status["runs"][0]
        assert run["reasonCreated"] == "exception"
        assert run["reasonResolved"] == "deadline-exceeded"

    def test_deadline_running_not_retried(self, fast_sandbox):
        """A running task past its deadline is resolved and never retried."""
        q = make_queue(fast_sandbox.root_url, fast_sandbox.credentials)
        tq = new_queue_id()
        task_id = new_task_id()
        q.createTask(task_id, make_task(tq, deadline=from_now(seconds=1)))
        claim = claim_one(q, tq)
        worker = worker_queue(fast_sandbox.root_url, claim)
        status = wait_for_state(q, task_id, lambda s: s["state"] == "exception", timeout=10)
        assert len(status["runs"]) == 1
        assert status["runs"][0]["reasonResolved"] == "deadline-exceeded"
        expect_error(worker.reclaimTask, task_id, 0, status=409, code="RequestConflict")
        expect_error(worker.reportCompleted, task_id, 0, status=409, code="RequestConflict")

    def test_claim_task_past_deadline(self, fast_sandbox):
        """claimTask after the deadline is 409."""
        q = make_queue(fast_sandbox.root_url, fast_sandbox.credentials)
        task_id = new_task_id()
        q.createTask(task_id, make_task(deadline=from_now(seconds=1)))
        wait_for_state(q, task_id, lambda s: s["state"] == "exception", timeout=10)
        expect_error(q.claimTask, task_id, 0, {"workerGroup": "g", "workerId": "w"},
                     status=409, code="RequestConflict")

    def test_deadline_unblocks_all_resolved_dependent(self, fast_sandbox):
        """deadline-exceeded counts as a resolution for all-resolved dependents."""
        q = make_queue(fast_sandbox.root_url, fast_sandbox.credentials)
        dep = new_task_id()
        q.createTask(dep, make_task(deadline=from_now(seconds=1)))
        child = new_task_id()
        q.createTask(child, make_task(dependencies=[dep], requires="all-resolved"))
        blocked = new_task_id()
        q.createTask(blocked, make_task(dependencies=[dep]))
        wait_for_state(q, child, lambda s: s["state"] == "pending", timeout=10)
        assert q.status(blocked)["status"]["state"] == "unscheduled"
