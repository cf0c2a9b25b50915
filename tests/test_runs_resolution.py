"""Resolving runs with the claim's temporary credentials: reclaimTask,
reportCompleted, reportFailed and reportException (retries, reasons, conflicts).
"""

from __future__ import annotations

import pytest
from helpers import (
    API,
    claim_one,
    create_and_claim,
    expect_error,
    make_task,
    new_queue_id,
    new_task_id,
    raw_request,
    worker_queue,
)

from tc_notebook.timestamps import parse_time


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
        assert parse_time(res["takenUntil"]) >= parse_time(claim["takenUntil"])
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
