"""Differential scenarios: creating tasks, reading them, task groups,
scheduling, cancelling and rerunning (no worker involved)."""

from __future__ import annotations

import pytest

from .harness import Ids, Pair, Recorder, Scenario, Target, each_scenario

pytestmark = pytest.mark.differential


def creating(t: Target, rec: Recorder, ids: Ids) -> None:
    """createTask: created, idempotent, conflicting, invalid, unauthorized."""
    q = t.queue()
    tq = ids.queue("create")
    task_id = ids.task("a")
    definition = ids.definition(tq)
    rec("alive", q.ping)
    rec("new task", q.createTask, task_id, definition).expect()
    rec("same definition again", q.createTask, task_id, definition)
    rec("other definition, same taskId", q.createTask, task_id, {**definition, "retries": 1})
    rec("unknown property", q.createTask, ids.task("bad"), {**definition, "colour": "red"})
    no_metadata = {k: v for k, v in definition.items() if k != "metadata"}
    rec("no metadata", q.createTask, ids.task("bad"), no_metadata)
    rec("deadline before created", q.createTask, ids.task("bad"),
        {**definition, "deadline": ids.later(minutes=-10)})
    rec("missing dependency", q.createTask, ids.task("orphan"),
        {**definition, "dependencies": [ids.task("never-created")]})
    # A client that may create tasks in another queue only.
    limited = t.queue(t.client(ids, "creator", [
        f"queue:create-task:lowest:{ids.queue('other')}",
        "queue:scheduler-id:tcnb-diff",
        "queue:create-task:project:none",
    ]))
    rec("scope for another queue only", limited.createTask, ids.task("denied"), definition)
    rec("task scopes the caller lacks", limited.createTask, ids.task("denied"),
        {**definition, "taskQueueId": ids.queue("other"), "scopes": ["secrets:get:x"]})
    wrong_token = t.queue({"clientId": t.credentials["clientId"], "accessToken": "x" * 44})
    rec("wrong accessToken", wrong_token.createTask, ids.task("denied"), definition)
    nobody = t.queue({"clientId": f"tc-notebook-diff/{ids.tag}/nobody", "accessToken": "x" * 44})
    rec("unknown clientId", nobody.createTask, ids.task("denied"), definition)
    rec("anonymous", t.anonymous().createTask, ids.task("denied"), definition)


def reading(t: Target, rec: Recorder, ids: Ids) -> None:
    """task, status, pendingTasks, listTaskGroup (paged), listDependentTasks (paged)."""
    q = t.queue()
    anon = t.anonymous()
    tq = ids.queue("read")
    group = ids.task("group")
    first, second, third = ids.task("first"), ids.task("second"), ids.task("third")
    rec("first", q.createTask, first, ids.definition(tq, taskGroupId=group)).expect()
    for name, task_id in (("second", second), ("third", third)):
        rec(f"{name}, depends on first", q.createTask, task_id,
            ids.definition(tq, taskGroupId=group, dependencies=[first],
                           priority="high", routes=["tcnb.diff"], tags={"kind": "test"})).expect()
    rec("definition", anon.task, first)
    rec("definition with defaults filled in", anon.task, second)
    rec("unknown task", anon.task, ids.task("unknown"))
    rec("pending", anon.status, first)
    rec("unscheduled", anon.status, second)
    rec("unknown task", anon.status, ids.task("unknown"))
    rec("one pending", anon.pendingTasks, tq)
    rec("empty queue", anon.pendingTasks, ids.queue("empty"))
    rec("whole group", anon.listTaskGroup, group)
    page = rec("first page", anon.listTaskGroup, group, query={"limit": 2}).expect()
    rec("second page", anon.listTaskGroup, group,
        query={"limit": 2, "continuationToken": page["continuationToken"]})
    rec("unknown group", anon.listTaskGroup, ids.task("no-group"))
    rec("limit not a number", anon.listTaskGroup, group, query={"limit": "two"})
    rec("two dependents", anon.listDependentTasks, first)
    page = rec("first page", anon.listDependentTasks, first, query={"limit": 1}).expect()
    rec("second page", anon.listDependentTasks, first,
        query={"limit": 1, "continuationToken": page["continuationToken"]})
    rec("no dependents", anon.listDependentTasks, third)
    rec("unknown task", anon.listDependentTasks, ids.task("unknown"))


def scheduling(t: Target, rec: Recorder, ids: Ids) -> None:
    """scheduleTask, cancelTask and rerunTask in each state, and without scopes."""
    q = t.queue()
    anon = t.anonymous()
    tq = ids.queue("schedule")
    blocker = ids.task("blocker")
    waiting, canceled_early = ids.task("waiting"), ids.task("canceled-early")
    rec("blocker", q.createTask, blocker, ids.definition(tq)).expect()
    for name, task_id in (("waiting", waiting), ("canceled early", canceled_early)):
        rec(name, q.createTask, task_id, ids.definition(tq, dependencies=[blocker])).expect()
    rec("anonymous", anon.scheduleTask, waiting)
    rec("unscheduled task", q.scheduleTask, waiting)
    rec("already pending", q.scheduleTask, waiting)
    rec("unknown task", q.scheduleTask, ids.task("unknown"))
    rec("anonymous", anon.cancelTask, blocker)
    rec("unscheduled task", q.cancelTask, canceled_early)
    rec("pending task", q.cancelTask, blocker)
    rec("already canceled", q.cancelTask, blocker)
    rec("unknown task", q.cancelTask, ids.task("unknown"))
    rec("canceled while unscheduled", q.scheduleTask, canceled_early)
    rec("anonymous", anon.rerunTask, blocker)
    rec("canceled task", q.rerunTask, blocker)
    rec("pending task", q.rerunTask, blocker)
    rec("unknown task", q.rerunTask, ids.task("unknown"))
    rec("after rerun", anon.status, blocker)
    # scopes of the project and of the scheduler/group/task forms
    in_project = t.queue(t.client(ids, "project-canceler", ["queue:cancel-task-in-project:none"]))
    rec("scope for the project", in_project.cancelTask, waiting)
    other_project = t.queue(t.client(ids, "other-canceler", ["queue:cancel-task-in-project:x"]))
    rec("scope for another project", other_project.cancelTask, blocker)


@each_scenario(creating, reading, scheduling)
def test_task_calls(pair: Pair, scenario: Scenario) -> None:
    """createTask (errors included), reading tasks, groups and dependents (pages
    included), and scheduleTask / cancelTask / rerunTask in every state answer alike."""
    pair.run(scenario)
