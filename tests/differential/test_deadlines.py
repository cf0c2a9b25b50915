"""Differential scenario: deadlines. Taskcluster resolves a task whose deadline
has passed about a minute late (deadlineDelay 60 s, then a resolver polling
every 5 s), so the tasks are created when the session starts (the
`deadlines` fixture of conftest.py) and checked by the last test, which
waits for the resolution on both targets: the wait overlaps the other tests."""

from __future__ import annotations

import datetime
import time

import pytest

from .harness import Comparison, Ids, Recorder, Target, poll
from .test_runs import claim, claimer

pytestmark = pytest.mark.differential

DEADLINE_IN = 8.0  # seconds: time enough to create every task on both targets
RESOLVED_WITHIN = 110.0  # seconds after the deadline: 60 s delay, 5 s polling, a loaded machine


def before_deadline(t: Target, rec: Recorder, ids: Ids) -> None:
    """A pending, a running and an unscheduled task, each with a deadline seconds away."""
    q = t.queue()
    tq = ids.queue("deadline")
    short = {"deadline": ids.later(seconds=DEADLINE_IN)}
    worker = claimer(t, ids, tq)
    rec("to be running", q.createTask, ids.task("running"), ids.definition(tq, **short)).expect()
    claimed = claim(rec, "to be running", worker, ids, tq)
    rec.state["run"] = t.queue(claimed["credentials"])
    rec("pending", q.createTask, ids.task("pending"), ids.definition(tq, **short)).expect()
    rec("blocker", q.createTask, ids.task("blocker"),
        ids.definition(ids.queue("blocker"))).expect()
    rec("unscheduled", q.createTask, ids.task("unscheduled"),
        ids.definition(tq, dependencies=[ids.task("blocker")], **short)).expect()
    rec.state["deadline"] = (ids.now + datetime.timedelta(seconds=DEADLINE_IN)).timestamp()


def after_deadline(t: Target, rec: Recorder, ids: Ids) -> None:
    """Past the deadline every change is refused, resolved or not yet; then the
    resolver ends each task as exception/deadline-exceeded."""
    q = t.queue()
    poll(lambda: time.time() > rec.state["deadline"] + 0.5, "the deadline to pass", 30)
    running, pending, unscheduled = (ids.task(n) for n in ("running", "pending", "unscheduled"))
    run = rec.state["run"]
    rec("past the deadline", run.reclaimTask, running, 0)
    rec("past the deadline", q.cancelTask, pending)
    rec("past the deadline", q.rerunTask, pending)
    rec("past the deadline", q.scheduleTask, unscheduled)
    rec("past the deadline", run.createArtifact, running, 0, "public/late",
        {"storageType": "reference", "url": "https://example.com/late",
         "contentType": "text/plain", "expires": ids.later(hours=2)})
    for task_id in (running, pending, unscheduled):
        poll(lambda task_id=task_id: q.status(task_id)["status"]["state"] == "exception",
             f"task {task_id} to be resolved by its deadline",
             rec.state["deadline"] + RESOLVED_WITHIN - time.time())
    rec("running, resolved by deadline", q.status, running)
    rec("pending, resolved by deadline", q.status, pending)
    rec("unscheduled, resolved by deadline", q.status, unscheduled)
    rec("after deadline-exceeded", run.reportCompleted, running, 0)


def test_deadlines(deadlines: Comparison) -> None:
    """Deadlines refuse changes and resolve tasks alike."""
    deadlines.then(after_deadline).check()
