"""Task groups as a whole (sealTaskGroup, cancelTaskGroup,
changeTaskGroupPriority), changeTaskPriority, the batch reads (tasks,
statuses) and the service endpoints, with the official client."""

from __future__ import annotations

import requests
from auth_helpers import _client
from helpers import (
    API,
    claim_one,
    create_unscheduled,
    expect_error,
    from_now,
    make_task,
    new_queue_id,
    new_task_id,
    root_queue,
    wait_until,
)

from tc_notebook.timestamps import parse_time


def _group_of(queue, count, **overrides):
    """A new group with `count` pending tasks on one fresh queue: (groupId, queue id, taskIds)."""
    group, tq = new_task_id(), new_queue_id()
    task_ids = [new_task_id() for _ in range(count)]
    for task_id in task_ids:
        queue.createTask(task_id, make_task(tq, taskGroupId=group, **overrides))
    return group, tq, task_ids


def test_seal_then_no_new_task(queue):
    """A sealed group shows `sealed`, stays sealed at the first time, and
    refuses new tasks with 409."""
    group, tq, _ = _group_of(queue, 1)
    assert "sealed" not in queue.getTaskGroup(group)
    sealed = queue.sealTaskGroup(group)
    assert sealed["taskGroupId"] == group and sealed["sealed"] <= from_now(seconds=1)
    assert queue.sealTaskGroup(group)["sealed"] == sealed["sealed"]
    assert queue.getTaskGroup(group) == sealed
    late = new_task_id()
    body = expect_error(queue.createTask, late, make_task(tq, taskGroupId=group),
                        status=409, code="RequestConflict")
    assert "sealed" in body["message"]
    expect_error(queue.task, late, status=404)


def test_cancel_needs_a_sealed_group_and_cancels_the_unresolved(sandbox, queue):
    """cancelTaskGroup: 409 unsealed; then every unresolved task (pending,
    running, unscheduled) is cancelled and named, a resolved one is not."""
    group, tq, (running, done, pending) = _group_of(queue, 3)
    unscheduled = create_unscheduled(queue, taskGroupId=group)
    assert claim_one(queue, tq)["status"]["taskId"] == running  # the oldest first
    assert claim_one(queue, tq)["status"]["taskId"] == done
    queue.reportCompleted(done, 0)
    body = expect_error(queue.cancelTaskGroup, group, status=409, code="RequestConflict")
    assert "unsealed" in body["message"]
    queue.sealTaskGroup(group)
    result = queue.cancelTaskGroup(group)
    assert result["taskGroupId"] == group and result["taskGroupSize"] == 4
    assert set(result["taskIds"]) == {running, pending, unscheduled}
    assert result["cancelledCount"] == 3
    for task_id in result["taskIds"]:
        last = queue.status(task_id)["status"]["runs"][-1]
        assert (last["state"], last["reasonResolved"]) == ("exception", "canceled")
    again = queue.cancelTaskGroup(group)
    assert (again["cancelledCount"], again["taskIds"]) == (0, [])


def test_group_actions_need_the_scheduler_scope(sandbox, queue):
    """Seal and cancel a group need `queue:<verb>:<schedulerId>/<taskGroupId>`."""
    group, _, _ = _group_of(queue, 1, schedulerId="sched-x")
    _, nobody = _client(sandbox, [])
    for call, verb in ((nobody.sealTaskGroup, "seal-task-group"),
                       (nobody.changeTaskGroupPriority, "change-task-group-priority")):
        args = (group, {"newPriority": "high"}) if verb.startswith("change") else (group,)
        body = expect_error(call, *args, status=403, code="InsufficientScopes")
        assert f"queue:{verb}:sched-x/{group}" in body["message"]
    expect_error(queue.sealTaskGroup, new_task_id(), status=404, code="ResourceNotFound")


def test_change_task_priority(sandbox, queue):
    """A pending task takes a new priority (definition and status), then is
    claimed before lower ones; same priority or a resolved task: 409."""
    tq = new_queue_id()
    first, second = new_task_id(), new_task_id()
    queue.createTask(first, make_task(tq))
    queue.createTask(second, make_task(tq))
    status = queue.changeTaskPriority(second, {"newPriority": "highest"})["status"]
    assert status["priority"] == "highest" and queue.task(second)["priority"] == "highest"
    assert claim_one(queue, tq)["status"]["taskId"] == second
    expect_error(queue.changeTaskPriority, first, {"newPriority": "lowest"}, status=409)
    queue.reportCompleted(second, 0)
    expect_error(queue.changeTaskPriority, second, {"newPriority": "low"},
                 status=409, code="RequestConflict")
    expect_error(queue.changeTaskPriority, first, {"newPriority": "urgent"},
                 status=400, code="InputValidationError")
    _, by_queue = _client(sandbox, [f"queue:change-task-priority-in-queue:{tq}"])
    changed = by_queue.changeTaskPriority(first, {"newPriority": "high"})
    assert changed["status"]["priority"] == "high"


def test_change_task_group_priority(queue):
    """Every never-resolved task of the group whose priority differs gets it."""
    group, tq, task_ids = _group_of(queue, 3)
    queue.changeTaskPriority(task_ids[0], {"newPriority": "high"})
    claim = claim_one(queue, tq)
    queue.reportCompleted(claim["status"]["taskId"], 0)  # task_ids[0], the highest
    result = queue.changeTaskGroupPriority(group, {"newPriority": "high"})
    assert set(result.pop("taskIds")) == set(task_ids[1:])
    assert result == {
        "taskGroupId": group,
        "schedulerId": "-",
        "newPriority": "high",
        "tasksAffected": 2,
    }
    assert [queue.task(t)["priority"] for t in task_ids[1:]] == ["high", "high"]


def test_tasks_and_statuses_in_batches(queue):
    """tasks / statuses: each known taskId (unknown ones left out), paged."""
    known = [new_task_id() for _ in range(3)]
    for task_id in known:
        queue.createTask(task_id, make_task())
    asked = {"taskIds": [*known, new_task_id()]}
    page = queue.tasks(payload=asked, query={"limit": 2})
    assert [t["taskId"] for t in page["tasks"]] == known[:2]
    rest = queue.tasks(payload=asked, query={"continuationToken": page["continuationToken"]})
    assert [t["taskId"] for t in rest["tasks"]] == known[2:] and "continuationToken" not in rest
    assert rest["tasks"][0]["task"] == queue.task(known[2])
    statuses = queue.statuses(asked)["statuses"]
    assert [s["status"]["state"] for s in statuses] == ["pending"] * 3
    assert queue.tasks({"taskIds": []}) == {"tasks": []}


def test_group_expires_an_hour_after_its_last_task(queue):
    """As in Taskcluster, a group expires an hour after the task that made it so."""
    group = new_task_id()
    expires = from_now(days=2)
    queue.createTask(new_task_id(), make_task(taskGroupId=group, expires=expires))
    got = parse_time(queue.getTaskGroup(group)["expires"]) - parse_time(expires)
    assert got.total_seconds() == 3600


def test_report_on_an_older_run_is_a_conflict(sandbox, queue):
    """After a rerun, reporting the earlier (completed) run again is a 409."""
    tq = new_queue_id()
    task_id = new_task_id()
    queue.createTask(task_id, make_task(tq))
    claim_one(queue, tq)
    queue.reportCompleted(task_id, 0)
    assert queue.reportCompleted(task_id, 0)["status"]["state"] == "completed"  # same again
    queue.rerunTask(task_id)
    expect_error(queue.reportCompleted, task_id, 0, status=409, code="RequestConflict")
    body = expect_error(queue.reportFailed, task_id, 0, status=409)
    assert "not running or failed" in body["message"]


def test_claim_work_skips_tasks_past_their_deadline(make_sandbox):
    """A pending task whose deadline passed is not handed out (the deadline
    resolver, a minute late here, ends it later), while a live one is."""
    sandbox = make_sandbox(deadline_delay=600)
    queue = root_queue(sandbox)
    tq = new_queue_id()
    late, live = new_task_id(), new_task_id()
    deadline = from_now(seconds=1.5)
    queue.createTask(late, make_task(tq, deadline=deadline, priority="high"))
    queue.createTask(live, make_task(tq))
    wait_until(lambda: from_now() > deadline, timeout=5, message="the deadline to pass")
    assert claim_one(queue, tq)["status"]["taskId"] == live
    assert queue.status(late)["status"]["state"] == "pending"


def test_service_endpoints(sandbox):
    """__heartbeat__, __lbheartbeat__ and __version__ answer as Taskcluster's."""
    for path in ("__heartbeat__", "__lbheartbeat__"):
        answer = requests.get(f"{sandbox.root_url}{API}/{path}", timeout=5)
        assert (answer.status_code, answer.json()) == (200, {})
    version = requests.get(f"{sandbox.root_url}{API}/__version__", timeout=5).json()
    assert set(version) == {"version", "commit", "source", "build"} and version["version"]
