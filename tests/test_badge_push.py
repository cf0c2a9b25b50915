"""StatusBadge on a sandbox: it waits on the sandbox's long poll, so it shows
a resolution within milliseconds of the report (not at its next poll), both
on this kernel's sandbox and on one reached on loopback; closed, it leaves no
wait behind at the sandbox."""

from __future__ import annotations

import statistics
import time

import pytest
from helpers import create_and_claim, make_task, new_task_id, root_queue
from widget_helpers import run, until
from widget_lifecycle import displayed

from tc_notebook.connection import Connection
from tc_notebook.widgets import StatusBadge

BOUND = 0.8  # seconds; generous: the polling badge took 0.73 s (median) for this


def connection(sandbox, embedded: bool) -> Connection:
    """As `connect()` makes it: this kernel's sandbox, or a sandbox on loopback
    named by TASKCLUSTER_ROOT_URL (Binder's way)."""
    return Connection(sandbox.root_url, sandbox.credentials, sandbox if embedded else None)


@pytest.fixture
def pending(make_sandbox):
    """A sandbox without a worker (the tests claim and report) and a pending task's id."""
    sandbox = make_sandbox()
    task_id = new_task_id()
    root_queue(sandbox).createTask(task_id, make_task())
    return sandbox, task_id


REPORTS = {
    "completed": lambda worker, task_id: worker.reportCompleted(task_id, 0),
    "failed": lambda worker, task_id: worker.reportFailed(task_id, 0),
    "exception": lambda worker, task_id: worker.reportException(
        task_id, 0, {"reason": "malformed-payload"}
    ),
}


@pytest.mark.parametrize("embedded", [True, False], ids=["embedded", "on-loopback"])
def test_a_badge_shows_each_resolution_at_once(make_sandbox, embedded):
    """Resolution → badge, measured from the report call returning to the
    badge's state changing: each well under a second (a poll-only badge
    waits up to its interval, up to 2 s)."""
    sandbox = make_sandbox()
    watch = sandbox.server.status_watch
    conn = connection(sandbox, embedded)
    queue = root_queue(sandbox)
    delays = []

    async def resolve(state: str) -> None:
        task_id, _claim, worker = create_and_claim(queue, sandbox.root_url)
        badge = displayed(StatusBadge(conn, task_id))
        shown = {}
        badge.observe(lambda change: shown.setdefault(change["new"], time.monotonic()), "state")
        await until(lambda: badge.state == "running" and watch.waited_on == [task_id],
                    message="the badge waiting at the sandbox")
        REPORTS[state](worker, task_id)
        reported = time.monotonic()
        assert await badge.wait() == state
        delays.append(shown[state] - reported)
        assert badge.polls <= 3, badge.polls  # first answer, the wait for a change, and its answer

    async def body():
        for _ in range(2):
            for state in REPORTS:
                await resolve(state)

    run(body)
    assert max(delays) < BOUND, delays
    print(f"resolution → badge: median {statistics.median(delays) * 1000:.0f} ms, "
          f"max {max(delays) * 1000:.0f} ms")


def test_a_badge_sees_every_state_of_a_run_and_a_rerun(pending):
    """pending → running → completed, then a rerun's pending → running →
    failed: each shown, each from the long poll (no poll interval passes)."""
    sandbox, task_id = pending
    conn = connection(sandbox, True)
    queue = root_queue(sandbox)
    task_queue_id = queue.status(task_id)["status"]["taskQueueId"]
    claim_work = {"workerGroup": "g", "workerId": "w", "tasks": 1}

    async def body():
        badge = displayed(StatusBadge(conn, task_id))
        states = []
        badge.observe(lambda change: states.append(change["new"]), "state")
        await until(lambda: badge.state == "pending")
        for run_id, report in ((0, "reportCompleted"), (1, "reportFailed")):
            if run_id:
                queue.rerunTask(task_id)
                badge.watch()
                await until(lambda: badge.state == "pending" and badge.run_id == 1)
            claimed = queue.claimWork(task_queue_id, claim_work)["tasks"]
            assert [c["status"]["taskId"] for c in claimed] == [task_id]
            await until(lambda: badge.state == "running", timeout=BOUND)
            getattr(queue, report)(task_id, run_id)
            await until(lambda: not badge.polling, timeout=BOUND)
        assert states == ["pending", "running", "completed", "pending", "running", "failed"]

    run(body)


def test_closed_a_badge_leaves_no_wait_at_the_sandbox(pending):
    sandbox, task_id = pending
    watch = sandbox.server.status_watch

    async def body():
        badges = [displayed(StatusBadge(connection(sandbox, True), task_id)) for _ in range(3)]
        await until(lambda: watch.slots.used == 3, message="three badges waiting")
        assert watch.waited_on == [task_id]
        for badge in badges:
            badge.close()
        await until(lambda: watch.slots.used == 0 and watch.waited_on == [], timeout=5,
                    message="the sandbox to see the badges' requests go")
        assert all(badge._poller.cancelled() for badge in badges)

    run(body)


def test_a_badge_can_be_told_to_poll_only(pending):
    """`long_poll=False`: no wait at the sandbox; the badge polls `queue.status`."""
    sandbox, task_id = pending
    watch = sandbox.server.status_watch

    async def body():
        badge = StatusBadge(connection(sandbox, True), task_id, long_poll=False)
        badge.watch()
        await until(lambda: badge.polls >= 4, message="four polls")
        assert watch.slots.used == 0 and badge.state == "pending"
        badge.close()

    run(body)
