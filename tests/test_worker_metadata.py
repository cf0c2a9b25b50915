"""Worker metadata: the task queues and workers that claimWork records, and
the entries that read and change them (listTaskQueues ... declareWorker),
with the official client."""

from __future__ import annotations

import time
import uuid

from auth_helpers import _client
from helpers import (
    ISO_MS,
    claim_one,
    expect_error,
    from_now,
    make_task,
    new_task_id,
)


def new_queue_id() -> str:
    """A task queue of a provisioner of its own (so provisioner lists are the test's)."""
    return f"p-{uuid.uuid4().hex[:10]}/w{uuid.uuid4().hex[:8]}"


def _claimed(queue, task_queue_id, worker_group="wg", worker_id="w1"):
    """Create a task on the queue and claim it as the given worker; its taskId."""
    task_id = new_task_id()
    queue.createTask(task_id, make_task(task_queue_id))
    claim = claim_one(queue, task_queue_id, worker_group, worker_id)
    assert claim["status"]["taskId"] == task_id
    return task_id


def _all_pages(call, key, **query):
    """Every item of a paged list, following continuation tokens."""
    items, token = [], None
    for _ in range(100):
        page = call(query={**query, **({"continuationToken": token} if token else {})})
        items += page[key]
        token = page.get("continuationToken")
        if not token:
            return items
    raise AssertionError("the list never ended")


def test_claim_work_records_the_queue_and_the_worker(queue):
    """After a claim, the queue, its provisioner, its worker type and the
    worker (with the run among its recent tasks) can be read back."""
    tq = new_queue_id()
    provisioner, worker_type = tq.split("/")
    task_id = _claimed(queue, tq, "group-a", "worker-1")

    record = queue.getTaskQueue(tq)
    assert record["taskQueueId"] == tq
    assert record["stability"] == "experimental" and record["description"] == ""
    assert ISO_MS.match(record["lastDateActive"]) and record["expires"] > from_now(hours=23)
    assert tq in [q["taskQueueId"] for q in _all_pages(queue.listTaskQueues, "taskQueues")]

    worker_types = queue.listWorkerTypes(provisioner)["workerTypes"]
    assert [w["workerType"] for w in worker_types] == [worker_type]
    assert queue.getWorkerType(provisioner, worker_type)["taskQueueId"] == tq
    assert queue.getProvisioner(provisioner)["provisionerId"] == provisioner
    assert provisioner in [p["provisionerId"] for p in queue.listProvisioners()["provisioners"]]

    worker = queue.getWorker(provisioner, worker_type, "group-a", "worker-1")
    assert worker["recentTasks"] == [{"taskId": task_id, "runId": 0}]
    assert (worker["provisionerId"], worker["workerType"]) == (provisioner, worker_type)
    assert worker["quarantineUntil"] < from_now(days=-3000)  # never quarantined
    listed = queue.listWorkers(provisioner, worker_type)["workers"]
    assert listed == [
        {
            "workerGroup": "group-a",
            "workerId": "worker-1",
            "firstClaim": worker["firstClaim"],
            "lastDateActive": worker["lastDateActive"],
            "latestTask": {"taskId": task_id, "runId": 0},
        }
    ]


def test_unknown_queue_worker_and_provisioner_are_404(queue):
    """Nothing seen: 404 with Taskcluster's error code for each read entry."""
    tq = new_queue_id()
    provisioner, worker_type = tq.split("/")
    expect_error(queue.getTaskQueue, tq, status=404, code="ResourceNotFound")
    expect_error(queue.getProvisioner, provisioner, status=404, code="ResourceNotFound")
    expect_error(queue.getWorkerType, provisioner, worker_type, status=404)
    expect_error(queue.getWorker, provisioner, worker_type, "g", "w", status=404)
    assert queue.listWorkers(provisioner, worker_type)["workers"] == []
    quarantine = {"quarantineUntil": from_now(hours=1)}
    expect_error(queue.quarantineWorker, provisioner, worker_type, "g", "w", quarantine,
                 status=404, code="ResourceNotFound")


def test_quarantined_worker_gets_no_work(sandbox, queue):
    """A quarantined worker's claimWork waits and answers no task, though one
    is pending; lifting the quarantine (a past time) gives it the task."""
    tq = new_queue_id()
    provisioner, worker_type = tq.split("/")
    _claimed(queue, tq, "g", "w")
    until = from_now(hours=2)
    worker = queue.quarantineWorker(provisioner, worker_type, "g", "w",
                                    {"quarantineUntil": until, "quarantineInfo": "flaky disk"})
    assert worker["quarantineUntil"] == until
    assert queue.listWorkers(provisioner, worker_type, query={"quarantined": "true"})[
        "workers"][0]["quarantineUntil"] == until
    assert queue.listWorkers(provisioner, worker_type, query={"quarantined": "false"})[
        "workers"] == []

    task_id = new_task_id()
    queue.createTask(task_id, make_task(tq))
    started = time.monotonic()
    answer = queue.claimWork(tq, {"workerGroup": "g", "workerId": "w", "tasks": 1})
    assert answer == {"tasks": []}
    assert time.monotonic() - started >= 0.9  # the whole claimWork wait (1 s in tests)
    assert queue.status(task_id)["status"]["state"] == "pending"

    queue.quarantineWorker(provisioner, worker_type, "g", "w",
                           {"quarantineUntil": from_now(seconds=-1)})
    assert claim_one(queue, tq, "g", "w")["status"]["taskId"] == task_id


def test_declare_worker_creates_the_records(sandbox):
    """declareWorker needs a scope per property it sets; it creates the
    worker and its queue, expiring when declared."""
    tq = new_queue_id()
    provisioner, worker_type = tq.split("/")
    expires = from_now(days=3)
    scope = f"queue:declare-worker:{provisioner}/{worker_type}/g/w#expires"
    _, weak = _client(sandbox, [scope.replace("#expires", "#other")])
    body = expect_error(weak.declareWorker, provisioner, worker_type, "g", "w",
                        {"expires": expires}, status=403, code="InsufficientScopes")
    assert scope in body["message"]
    _, allowed = _client(sandbox, [scope])
    worker = allowed.declareWorker(provisioner, worker_type, "g", "w", {"expires": expires})
    assert worker["expires"] == expires and worker["recentTasks"] == []
    assert (worker["workerGroup"], worker["workerId"]) == ("g", "w")
    _, reader = _client(sandbox, [f"queue:get-task-queue:{tq}"])
    assert reader.getTaskQueue(tq)["expires"] == expires


def test_read_entries_need_their_scopes(sandbox, anon):
    """Each read entry outside the anonymous role answers 403 naming its
    scope to a client without it; those inside answer anyone."""
    tq = new_queue_id()
    provisioner, worker_type = tq.split("/")
    _, nobody = _client(sandbox, [])
    calls = [
        (nobody.listTaskQueues, (), "queue:list-task-queues"),
        (nobody.getTaskQueue, (tq,), f"queue:get-task-queue:{tq}"),
        (nobody.taskQueueCounts, (tq,), f"queue:claimed-count:{tq}"),
        (nobody.listPendingTasks, (tq,), f"queue:pending-list:{tq}"),
        (nobody.listClaimedTasks, (tq,), f"queue:claimed-list:{tq}"),
    ]
    for call, args, scope in calls:
        body = expect_error(call, *args, status=403, code="InsufficientScopes")
        assert scope in body["message"], (call.__name__, body["message"])
    assert "provisioners" in anon.listProvisioners()
    assert anon.listWorkerTypes(provisioner) == {"workerTypes": []}
    assert anon.listWorkers(provisioner, worker_type) == {"workers": []}
    assert anon.pendingTasks(tq)["pendingTasks"] == 0


def test_counts_and_lists_of_a_queue(queue):
    """taskQueueCounts, listPendingTasks and listClaimedTasks follow the
    queue's tasks as they are created and claimed; the lists page."""
    tq = new_queue_id()
    pending = [new_task_id() for _ in range(3)]
    for task_id in pending:
        queue.createTask(task_id, make_task(tq))
    assert queue.taskQueueCounts(tq) == {
        "provisionerId": tq.split("/")[0],
        "workerType": tq.split("/")[1],
        "taskQueueId": tq,
        "pendingTasks": 3,
        "claimedTasks": 0,
    }
    listed = _all_pages(lambda query: queue.listPendingTasks(tq, query=query), "tasks", limit=2)
    assert [t["taskId"] for t in listed] == pending
    assert all(t["runId"] == 0 and ISO_MS.match(t["inserted"]) for t in listed)
    assert listed[0]["task"] == queue.task(pending[0])

    claim = claim_one(queue, tq, "g", "w")
    counts = queue.taskQueueCounts(tq)
    assert (counts["pendingTasks"], counts["claimedTasks"]) == (2, 1)
    claimed = queue.listClaimedTasks(tq)["tasks"]
    assert [(c["taskId"], c["workerGroup"], c["workerId"]) for c in claimed] == [
        (claim["status"]["taskId"], "g", "w")
    ]
    assert ISO_MS.match(claimed[0]["claimed"])
    assert queue.pendingTasks(tq)["pendingTasks"] == 2
