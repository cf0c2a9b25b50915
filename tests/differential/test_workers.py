"""Differential scenarios for the entries beyond the tutorial's: worker
metadata (task queues, provisioners, worker types, workers, quarantine,
declareWorker, a queue's counts and lists), task groups as a whole (seal,
cancel, priorities), the batch reads, the service endpoints, and a report
on an older run after a rerun."""

from __future__ import annotations

import pytest
import taskcluster

from .harness import Ids, Pair, Recorder, Scenario, Target, each_scenario, poll, wait_for_state
from .test_runs import claim, claimer

pytestmark = pytest.mark.differential


def _own_queue(ids: Ids) -> tuple[str, str, str]:
    """A task queue of a provisioner of the scenario's own (the rig keeps
    every queue it has seen): (taskQueueId, provisionerId, workerType)."""
    provisioner = f"tcnb-{ids.tag}"
    return f"{provisioner}/workers", provisioner, "workers"


def _refused(q: taskcluster.Queue, task_id: str) -> bool:
    """Whether a new priority for a resolved task is refused yet. Taskcluster
    marks a task resolved for this in its dependency resolver, a moment after
    the report (the sandbox at once); each try that is not refused sets a
    different priority than the last."""
    for priority in ("lowest", "very-low"):
        try:
            q.changeTaskPriority(task_id, {"newPriority": priority})
        except taskcluster.TaskclusterRestFailure as refusal:
            if refusal.status_code != 409:
                raise
        else:
            return False
    return True


def worker_records(t: Target, rec: Recorder, ids: Ids) -> None:
    """What claimWork records, the read entries, quarantine and declareWorker."""
    q, anon = t.queue(), t.anonymous()
    tq, prov, wtype = _own_queue(ids)
    worker = ids.worker("w1")
    group, wid = worker["workerGroup"], worker["workerId"]
    rec("unknown queue", q.getTaskQueue, tq)
    rec("unknown provisioner", anon.getProvisioner, prov)
    rec("unknown worker type", anon.getWorkerType, prov, wtype)
    rec("unknown worker", anon.getWorker, prov, wtype, group, wid)
    rec("nobody yet", anon.listWorkers, prov, wtype)
    for name in ("a", "b", "c"):
        rec(name, q.createTask, ids.task(name), ids.definition(tq)).expect()
    rec("three pending", q.taskQueueCounts, tq)
    rec("three pending", q.listPendingTasks, tq, query={"limit": "2"})
    claim(rec, "one", claimer(t, ids, tq), ids, tq)
    rec("one claimed", q.taskQueueCounts, tq)
    rec("one claimed", q.listClaimedTasks, tq)
    rec("seen", q.getTaskQueue, tq)
    rec.http("slash unencoded", "getTaskQueue", t.api_url(f"/task-queues/{tq}"))
    rec("seen", anon.getProvisioner, prov)
    rec("seen", anon.listWorkerTypes, prov)
    rec("seen", anon.getWorkerType, prov, wtype)
    rec("seen", anon.listWorkers, prov, wtype)
    rec("seen", anon.getWorker, prov, wtype, group, wid)
    rec("no scope", anon.listTaskQueues)
    until = ids.later(hours=2)
    rec("unknown worker", q.quarantineWorker, prov, wtype, group, "w9",
        {"quarantineUntil": until})
    rec("no scope", anon.quarantineWorker, prov, wtype, group, wid, {"quarantineUntil": until})
    rec("quarantine", q.quarantineWorker, prov, wtype, group, wid,
        {"quarantineUntil": until, "quarantineInfo": "diff"})
    rec("quarantined=true", anon.listWorkers, prov, wtype, query={"quarantined": "true"})
    rec("quarantined=false", anon.listWorkers, prov, wtype, query={"quarantined": "false"})
    rec("quarantined=maybe", anon.listWorkers, prov, wtype, query={"quarantined": "maybe"})
    rec("lift", q.quarantineWorker, prov, wtype, group, wid,
        {"quarantineUntil": ids.later(hours=-1)})
    declared = {"expires": ids.later(days=3)}
    scope = f"queue:declare-worker:{prov}/{wtype}/{group}/w2#expires"
    rec("no scope", t.queue(t.client(ids, "declarer-none", [])).declareWorker,
        prov, wtype, group, "w2", declared)
    rec("declare", t.queue(t.client(ids, "declarer", [scope])).declareWorker,
        prov, wtype, group, "w2", declared)
    rec("declared", anon.getWorker, prov, wtype, group, "w2")
    rec("bad workerType", anon.getWorkerType, prov, "no.dots")


def task_groups(t: Target, rec: Recorder, ids: Ids) -> None:
    """Sealing and cancelling a group, and priorities of tasks and groups."""
    q = t.queue()
    tq = ids.queue("groups")
    group = ids.task("group")
    for name in ("a", "b", "c"):
        rec(name, q.createTask, ids.task(name), ids.definition(tq, taskGroupId=group)).expect()
    rec("b to high", q.changeTaskPriority, ids.task("b"), {"newPriority": "high"})
    rec("b to high again", q.changeTaskPriority, ids.task("b"), {"newPriority": "high"})
    rec("unknown priority", q.changeTaskPriority, ids.task("b"), {"newPriority": "urgent"})
    rec("unknown task", q.changeTaskPriority, ids.task("nope"), {"newPriority": "high"})
    rec("no scope", t.anonymous().changeTaskPriority, ids.task("b"), {"newPriority": "low"})
    claimed = claim(rec, "the high one", claimer(t, ids, tq), ids, tq)
    t.queue(claimed["credentials"]).reportCompleted(ids.task("b"), 0)
    wait_for_state(q, ids.task("b"), ("completed",))
    poll(lambda: _refused(q, ids.task("b")), "the resolution to reach the task's group")
    rec("completed", q.changeTaskPriority, ids.task("b"), {"newPriority": "low"})
    rec("to very-low", q.changeTaskGroupPriority, group, {"newPriority": "very-low"})
    rec("after", q.task, ids.task("a"))
    rec("unknown group", q.changeTaskGroupPriority, ids.task("nope"), {"newPriority": "low"})
    rec("unsealed", q.cancelTaskGroup, group)
    rec("no scope", t.anonymous().sealTaskGroup, group)
    rec("seal", q.sealTaskGroup, group)
    rec("seal again", q.sealTaskGroup, group)
    rec("sealed", q.getTaskGroup, group)
    rec("into a sealed group", q.createTask, ids.task("late"),
        ids.definition(tq, taskGroupId=group))
    rec("refused in a sealed group", q.status, ids.task("late"))
    rec("cancel", q.cancelTaskGroup, group)
    rec("cancel again", q.cancelTaskGroup, group)
    rec("unknown group", q.sealTaskGroup, ids.task("nope"))


def batches(t: Target, rec: Recorder, ids: Ids) -> None:
    """tasks and statuses: known tasks only, paged; their scopes. (With more
    than one known task, Taskcluster's order is its database's: one here.)"""
    q = t.queue()
    tq = ids.queue("batch")
    rec("a", q.createTask, ids.task("a"), ids.definition(tq)).expect()
    asked = {"taskIds": [ids.task("unknown"), ids.task("a"), ids.task("a")]}
    rec("one of two", q.tasks, payload=asked)
    rec("one of two", q.statuses, payload=asked)
    rec("limit 1", q.statuses, payload=asked, query={"limit": "1"})
    rec("none", q.tasks, payload={"taskIds": []})
    rec("bad body", q.tasks, payload={"taskIds": "a"})
    rec("anonymous", t.anonymous().statuses, payload=asked)
    rec("anonymous", t.anonymous().tasks, payload=asked)


def service(t: Target, rec: Recorder, ids: Ids) -> None:
    """The service endpoints every Taskcluster service has."""
    rec.http("up", "heartbeat", t.api_url("/__heartbeat__"))
    rec.http("up", "lbheartbeat", t.api_url("/__lbheartbeat__"))
    rec.http("keys", "version", t.api_url("/__version__"))


def older_run(t: Target, rec: Recorder, ids: Ids) -> None:
    """Reports on a run that a rerun left behind."""
    q = t.queue()
    tq = ids.queue("older")
    task_id = ids.task("a")
    rec("a", q.createTask, task_id, ids.definition(tq)).expect()
    claimed = claim(rec, "first run", claimer(t, ids, tq), ids, tq)
    run = t.queue(claimed["credentials"])
    rec("first run", run.reportCompleted, task_id, 0)
    rec("first run again", run.reportCompleted, task_id, 0)
    rec("rerun", q.rerunTask, task_id)
    rec("first run after rerun", q.reportCompleted, task_id, 0)
    rec("first run after rerun", q.reportFailed, task_id, 0)


@each_scenario(worker_records, task_groups, batches, service, older_run)
def test_more_of_the_queue(pair: Pair, scenario: Scenario) -> None:
    """The rest of Queue v1 answers as Taskcluster's."""
    pair.run(scenario)
