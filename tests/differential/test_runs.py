"""Differential scenarios: the calls a worker makes (claimWork, reclaimTask,
reportCompleted / reportFailed / reportException), retries and reruns, and
dependencies resolved when the task they wait for is resolved."""

from __future__ import annotations

from typing import Any

import pytest
import taskcluster

from .harness import Ids, Pair, Recorder, Scenario, Target, each_scenario, wait_for_state

pytestmark = pytest.mark.differential


def claimer(t: Target, ids: Ids, tq: str, name: str = "w1") -> taskcluster.Queue:
    """A client with exactly the scopes a worker `name` of queue `tq` needs to claim."""
    worker = ids.worker(name)
    return t.queue(t.client(ids, f"claimer-{name}", [
        f"queue:claim-work:{tq}",
        f"queue:worker-id:{worker['workerGroup']}/{worker['workerId']}",
    ]))


def claim(rec: Recorder, step: str, queue: taskcluster.Queue, ids: Ids, tq: str,
          name: str = "w1") -> dict[str, Any]:
    """claimWork for one task (one is pending: no long poll); the claim."""
    body = rec(step, queue.claimWork, tq, {**ids.worker(name), "tasks": 1}).expect()
    if len(body["tasks"]) != 1:
        raise AssertionError(f"claimWork ({step}) claimed {len(body['tasks'])} tasks")
    return body["tasks"][0]


def claiming(t: Target, rec: Recorder, ids: Ids) -> None:
    """claimWork (scopes, validation), reclaimTask, resolving runs twice."""
    q = t.queue()
    tq = ids.queue("claim")
    worker = claimer(t, ids, tq)
    task_id = ids.task("a")
    rec("to claim", q.createTask, task_id, ids.definition(tq, scopes=["queue:get-artifact:x/*"]))
    rec("anonymous", t.anonymous().claimWork, tq, {**ids.worker("w1"), "tasks": 1})
    elsewhere = claimer(t, ids, ids.queue("elsewhere"), "w2")
    rec("scopes for another queue", elsewhere.claimWork, tq, {**ids.worker("w2"), "tasks": 1})
    rec("as another worker id", worker.claimWork, tq, {**ids.worker("w2"), "tasks": 1})
    rec("tasks is zero", worker.claimWork, tq, {**ids.worker("w1"), "tasks": 0})
    rec("no workerId", worker.claimWork, tq, {"workerGroup": "g", "tasks": 1})
    claimed = claim(rec, "one task", worker, ids, tq)
    run = t.queue(claimed["credentials"])
    rec("claimed", q.status, task_id)
    rec("pending count after claim", q.pendingTasks, tq)
    reclaimed = rec("with task credentials", run.reclaimTask, task_id, 0).expect()
    run = t.queue(reclaimed["credentials"])
    rec("unknown run", q.reclaimTask, task_id, 5)
    rec("unknown task", q.reclaimTask, ids.task("unknown"), 0)
    rec("anonymous", t.anonymous().reclaimTask, task_id, 0)
    rec("task credentials of another run", run.reportCompleted, task_id, 1)
    rec("unknown run", q.reportCompleted, task_id, 3)
    rec("unknown task", q.reportCompleted, ids.task("unknown"), 0)
    rec("running", run.reportCompleted, task_id, 0)
    rec("completed again", run.reportCompleted, task_id, 0)
    rec("after completed", run.reportFailed, task_id, 0)
    rec("after completed", run.reportException, task_id, 0, {"reason": "worker-shutdown"})
    rec("after completed", run.reclaimTask, task_id, 0)
    rec("completed task", q.cancelTask, task_id)
    rec("completed", q.status, task_id)


def resolving(t: Target, rec: Recorder, ids: Ids) -> None:
    """reportFailed, reportException (retrying and not), rerunTask, cancelTask of a run."""
    q = t.queue()
    tq = ids.queue("resolve")
    worker = claimer(t, ids, tq)
    failing, retried, canceled = ids.task("failing"), ids.task("retried"), ids.task("canceled")

    rec("to fail", q.createTask, failing, ids.definition(tq)).expect()
    claimed = claim(rec, "to fail", worker, ids, tq)
    run = t.queue(claimed["credentials"])
    rec("running", run.reportFailed, failing, 0)
    rec("failed again", run.reportFailed, failing, 0)
    rec("after failed", run.reportCompleted, failing, 0)
    rec("failed task", q.rerunTask, failing)
    claimed = claim(rec, "rerun", worker, ids, tq)
    rec("rerun", t.queue(claimed["credentials"]).reportCompleted, failing, 1)
    rec("failed, then rerun and completed", q.status, failing)

    rec("to retry", q.createTask, retried, ids.definition(tq, retries=1)).expect()
    claimed = claim(rec, "to retry", worker, ids, tq)
    run = t.queue(claimed["credentials"])
    rec("bad reason", run.reportException, retried, 0, {"reason": "tired"})
    rec("worker-shutdown", run.reportException, retried, 0, {"reason": "worker-shutdown"})
    rec("worker-shutdown again", run.reportException, retried, 0, {"reason": "worker-shutdown"})
    rec("other reason after worker-shutdown", run.reportException, retried, 0,
        {"reason": "malformed-payload"})
    rec("retry pending", q.status, retried)
    claimed = claim(rec, "the retry", worker, ids, tq)
    run = t.queue(claimed["credentials"])
    rec("worker-shutdown, no retries left", run.reportException, retried, 1,
        {"reason": "worker-shutdown"})
    rec("no retries left", q.status, retried)

    rec("to cancel while running", q.createTask, canceled, ids.definition(tq)).expect()
    claimed = claim(rec, "to cancel", worker, ids, tq)
    run = t.queue(claimed["credentials"])
    rec("running task", q.cancelTask, canceled)
    rec("canceled run", run.reclaimTask, canceled, 0)
    rec("canceled run", run.reportCompleted, canceled, 0)
    rec("reason canceled (not one a worker gives)", run.reportException, canceled, 0,
        {"reason": "canceled"})
    rec("canceled while running", q.status, canceled)


def depending(t: Target, rec: Recorder, ids: Ids) -> None:
    """Dependent tasks stay unscheduled until what they wait for is resolved
    (the rig's dependency resolver takes a second or few: polled for)."""
    q = t.queue()
    tq, tq2 = ids.queue("depend"), ids.queue("depend-second")
    worker, worker2 = claimer(t, ids, tq), claimer(t, ids, tq2, "w2")
    first, second = ids.task("first"), ids.task("second")
    after_first, after_both = ids.task("after-first"), ids.task("after-both")
    resolved_after, completed_after = ids.task("resolved-after"), ids.task("completed-after")
    rec("first", q.createTask, first, ids.definition(tq)).expect()
    rec("second", q.createTask, second, ids.definition(tq2)).expect()
    rec("after first", q.createTask, after_first,
        ids.definition(tq, dependencies=[first])).expect()
    rec("after both", q.createTask, after_both,
        ids.definition(tq, dependencies=[first, second])).expect()
    rec("second resolved after", q.createTask, resolved_after,
        ids.definition(tq, dependencies=[second], requires="all-resolved")).expect()
    rec("second completed after", q.createTask, completed_after,
        ids.definition(tq, dependencies=[second])).expect()
    rec("waiting for first", q.status, after_first)

    claimed = claim(rec, "first", worker, ids, tq)
    rec("first", t.queue(claimed["credentials"]).reportCompleted, claimed["status"]["taskId"], 0)
    wait_for_state(q, after_first, ("pending",))
    rec("first completed", q.status, after_first)
    rec("after both, only first done", q.status, after_both)

    claimed = claim(rec, "second", worker2, ids, tq2, "w2")
    rec("second", t.queue(claimed["credentials"]).reportFailed, claimed["status"]["taskId"], 0)
    wait_for_state(q, resolved_after, ("pending",))
    rec("all-resolved after failed", q.status, resolved_after)
    rec("all-completed after failed", q.status, completed_after)
    rec("one of two failed", q.status, after_both)
    rec("dependency already completed", q.createTask, ids.task("late"),
        ids.definition(tq, dependencies=[first])).expect()
    rec("dependency already failed", q.createTask, ids.task("late-too"),
        ids.definition(tq, dependencies=[second])).expect()


@each_scenario(claiming, resolving, depending)
def test_worker_calls(pair: Pair, scenario: Scenario) -> None:
    """Claiming (claimWork, reclaimTask, reporting a completed run), resolving
    (failed, exception with and without retry, rerun, cancel) and depending
    (dependencies satisfied by completion or by any resolution) answer alike."""
    pair.run(scenario)
