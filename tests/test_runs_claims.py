"""Claiming runs: claimWork (its entries, credentials, long poll, order, limits)
and the deprecated claimTask.
"""

from __future__ import annotations

import datetime
import json
import re
import time

from helpers import (
    API,
    claim_one,
    expect_error,
    make_task,
    new_queue_id,
    new_task_id,
    raw_request,
    root_queue,
    worker_queue,
)

from tc_notebook.timestamps import now, parse_time


class TestClaimWork:
    """claimWork / claimTask."""

    def test_claim_work_entry(self, queue, sandbox):
        """A claim carries status, runId, worker ids, takenUntil, task and credentials."""
        tq = new_queue_id()
        task_id = new_task_id()
        definition = make_task(tq, payload={"x": 1})
        queue.createTask(task_id, definition)
        before = now()
        claim = claim_one(queue, tq, worker_group="my-group", worker_id="my-worker")
        assert claim["runId"] == 0
        assert claim["workerGroup"] == "my-group"
        assert claim["workerId"] == "my-worker"
        assert claim["task"]["payload"] == {"x": 1}
        assert claim["task"]["metadata"] == definition["metadata"]
        taken = parse_time(claim["takenUntil"])
        # claim_timeout of the session sandbox is 1200 s
        assert before + datetime.timedelta(seconds=1190) <= taken
        assert taken <= now() + datetime.timedelta(seconds=1210)
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
        q = root_queue(sb)
        tq = new_queue_id()
        task_id = new_task_id()
        result = {}

        def poll():
            result["res"] = root_queue(sb).claimWork(
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
        # The same worker again (a retry): the same claim, fresh credentials, as Taskcluster.
        again = queue.claimTask(task_id, 0, {"workerGroup": "g", "workerId": "w"})
        assert again["takenUntil"] == res["takenUntil"] and again["runId"] == 0
        assert again["credentials"]["clientId"] == res["credentials"]["clientId"]
        assert all(not key.startswith("_") for key in again["status"]["runs"][0])
        worker.reportCompleted(task_id, 0)
        assert queue.status(task_id)["status"]["state"] == "completed"
        expect_error(queue.claimTask, task_id, 0, {"workerGroup": "g", "workerId": "w"},
                     status=409, code="RequestConflict")

    def test_claim_task_after_claim_work_conflicts(self, queue, running):
        """A run claimWork handed out is not claimTask's to claim again, even
        by the same worker (Taskcluster's claimWork claims carry a hint)."""
        task_id, _, _ = running
        expect_error(queue.claimTask, task_id, 0, {"workerGroup": "wg", "workerId": "w1"},
                     status=409, code="RequestConflict")

    def test_claim_task_unknown(self, queue):
        """claimTask on an unknown task is 404."""
        expect_error(queue.claimTask, new_task_id(), 0, {"workerGroup": "g", "workerId": "w"},
                     status=404, code="ResourceNotFound")
