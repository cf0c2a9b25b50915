"""What else ends runs or adds them: cancelTask, rerunTask and scheduleTask on
tasks in every state (and the cap of 50 runs), claims that expire (with a retry
while retries are left), and deadlines that resolve pending, unscheduled and
running tasks (a fast sandbox: 2 s claims, no deadline delay).
"""

from __future__ import annotations

import datetime

import pytest
from helpers import (
    claim_one,
    create_and_claim,
    create_unscheduled,
    expect_error,
    from_now,
    make_task,
    new_queue_id,
    new_task_id,
    root_queue,
    wait_in,
    wait_state,
    worker_queue,
)

from tc_notebook.timestamps import now, parse_time


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

    @pytest.mark.parametrize("method, reason", [("rerunTask", "rerun"),
                                                ("scheduleTask", "scheduled")])
    def test_unscheduled_gets_a_pending_run(self, queue, method, reason):
        """rerunTask and scheduleTask give a task still blocked on its dependency a
        first run, pending, that says which of them made it."""
        task_id = create_unscheduled(queue)
        status = getattr(queue, method)(task_id)["status"]
        assert status["state"] == "pending"
        assert status["runs"][0]["reasonCreated"] == reason

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
        q = root_queue(fast_sandbox)
        tq = new_queue_id()
        task_id = new_task_id()
        q.createTask(task_id, make_task(tq, retries=1))
        claim = claim_one(q, tq)
        taken = parse_time(claim["takenUntil"])
        assert taken <= now() + datetime.timedelta(seconds=3)
        status = wait_state(q, task_id, lambda s: len(s["runs"]) == 2, 10, "a second run")
        assert status["runs"][0]["state"] == "exception"
        assert status["runs"][0]["reasonResolved"] == "claim-expired"
        assert status["runs"][1]["state"] == "pending"
        assert status["runs"][1]["reasonCreated"] == "retry"
        assert status["retriesLeft"] == 0
        old_worker = worker_queue(fast_sandbox.root_url, claim)
        expect_error(old_worker.reclaimTask, task_id, 0, status=409, code="RequestConflict")
        # second claim expires with no retries left: final
        claim_one(q, tq)
        status = wait_in(q, task_id, ("exception",), timeout=10)
        assert len(status["runs"]) == 2
        assert status["runs"][1]["reasonResolved"] == "claim-expired"

    def test_deadline_pending(self, fast_sandbox):
        """A pending task past its deadline becomes exception/deadline-exceeded."""
        q = root_queue(fast_sandbox)
        task_id = new_task_id()
        q.createTask(task_id, make_task(deadline=from_now(seconds=1)))
        status = wait_in(q, task_id, ("exception",), timeout=10)
        assert len(status["runs"]) == 1
        assert status["runs"][0]["reasonResolved"] == "deadline-exceeded"
        expect_error(q.rerunTask, task_id, status=409, code="RequestConflict")
        expect_error(q.cancelTask, task_id, status=409, code="RequestConflict")
        expect_error(q.scheduleTask, task_id, status=409, code="RequestConflict")

    def test_deadline_unscheduled(self, fast_sandbox):
        """An unscheduled task past its deadline gets an exception run."""
        q = root_queue(fast_sandbox)
        task_id = create_unscheduled(q, deadline=from_now(seconds=1))
        status = wait_in(q, task_id, ("exception",), timeout=10)
        run = status["runs"][0]
        assert run["reasonCreated"] == "exception"
        assert run["reasonResolved"] == "deadline-exceeded"

    def test_deadline_running_not_retried(self, fast_sandbox):
        """A running task past its deadline is resolved and never retried."""
        q = root_queue(fast_sandbox)
        tq = new_queue_id()
        task_id = new_task_id()
        q.createTask(task_id, make_task(tq, deadline=from_now(seconds=1)))
        claim = claim_one(q, tq)
        worker = worker_queue(fast_sandbox.root_url, claim)
        status = wait_in(q, task_id, ("exception",), timeout=10)
        assert len(status["runs"]) == 1
        assert status["runs"][0]["reasonResolved"] == "deadline-exceeded"
        expect_error(worker.reclaimTask, task_id, 0, status=409, code="RequestConflict")
        expect_error(worker.reportCompleted, task_id, 0, status=409, code="RequestConflict")

    def test_claim_task_past_deadline(self, fast_sandbox):
        """claimTask after the deadline is 409."""
        q = root_queue(fast_sandbox)
        task_id = new_task_id()
        q.createTask(task_id, make_task(deadline=from_now(seconds=1)))
        wait_in(q, task_id, ("exception",), timeout=10)
        expect_error(q.claimTask, task_id, 0, {"workerGroup": "g", "workerId": "w"},
                     status=409, code="RequestConflict")

    def test_deadline_unblocks_all_resolved_dependent(self, fast_sandbox):
        """deadline-exceeded counts as a resolution for all-resolved dependents."""
        q = root_queue(fast_sandbox)
        dep = new_task_id()
        q.createTask(dep, make_task(deadline=from_now(seconds=1)))
        child = new_task_id()
        q.createTask(child, make_task(dependencies=[dep], requires="all-resolved"))
        blocked = new_task_id()
        q.createTask(blocked, make_task(dependencies=[dep]))
        wait_in(q, child, ("pending",), timeout=10)
        assert q.status(blocked)["status"]["state"] == "unscheduled"
