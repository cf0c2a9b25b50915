"""StatusBadge: the time from a task's resolution to the badge's `state`
showing it, against the tutorial's loop (`queue.status` every 2 s) watching
the same task.

The resolution moment is the run's `resolved` time as the queue recorded it.
The badge is a real `StatusBadge` on an asyncio loop (outside a kernel
ipywidgets gives it a stand-in comm, so `watch()` polls as in a notebook);
the moment it shows the resolution is when its `state` trait changes to a
resolved state. The loop, on the same event loop and started at the same
time, asks `queue.status` (official async client), and sleeps 2 s until the
answer is resolved. Both follow the same tasks: a batch of 1 s tasks and a
batch of 4–6 s tasks, created together (the worker runs them all at once).
"""

from __future__ import annotations

import asyncio
import time

import taskcluster.aio
from common import (
    RESOLVED,
    BenchSandbox,
    Options,
    Row,
    create,
    epoch,
    median,
    sandbox,
    spread,
    task,
    wait_resolved,
)

from tc_notebook import Connection
from tc_notebook.widgets import StatusBadge, polling

LOOP_SECONDS = 2.0
GOAL = 0.2


async def tutorial_loop(queue: taskcluster.aio.Queue, task_id: str) -> float:
    """The tutorial's loop: status, then 2 s of sleep, until resolved; when it saw it."""
    while True:
        status = (await queue.status(task_id))["status"]
        if status["state"] in RESOLVED:
            return time.time()
        await asyncio.sleep(LOOP_SECONDS)


async def badge_moment(conn: Connection, task_id: str) -> float:
    """When a watched StatusBadge's `state` showed the resolution."""
    badge = StatusBadge(conn, task_id)
    seen = asyncio.get_running_loop().create_future()

    def on_state(change: dict) -> None:
        if change["new"] in RESOLVED and not seen.done():
            seen.set_result(time.time())

    badge.observe(on_state, "state")
    badge.watch()  # what displaying it does
    try:
        return await asyncio.wait_for(seen, 120)
    finally:
        badge.close()


async def follow(box: BenchSandbox, scripts: list[str]) -> tuple[list[float], list[float]]:
    """Create one task per script; (badge lags, loop lags) in seconds."""
    conn = Connection(box.root_url, box.credentials)
    queue = conn.aio_queue(polling.session(), maxRetries=0)
    task_ids = [create(conn.queue, task(script)) for script in scripts]
    badges = asyncio.gather(*(badge_moment(conn, task_id) for task_id in task_ids))
    loops = asyncio.gather(*(tutorial_loop(queue, task_id) for task_id in task_ids))
    badge_seen, loop_seen = await asyncio.gather(badges, loops)
    resolved = []
    for task_id in task_ids:
        status = wait_resolved(conn.queue, task_id)
        resolved.append(epoch(status["runs"][-1]["resolved"]))
    badge_lags = [seen - at for seen, at in zip(badge_seen, resolved, strict=True)]
    loop_lags = [seen - at for seen, at in zip(loop_seen, resolved, strict=True)]
    return badge_lags, loop_lags


async def batches(box: BenchSandbox, groups: dict[str, list[str]]) -> dict:
    """{label: (badge lags, loop lags)}, one batch after the other."""
    try:
        return {label: await follow(box, scripts) for label, scripts in groups.items()}
    finally:
        await polling.close_session()


def measure(options: Options) -> list[Row]:
    """One row per task length."""
    per_batch = options.pick(8, 4)
    short = ["sleep 1"] * per_batch
    long = [f"sleep {4 + 2 * i / max(per_batch - 1, 1):.2f}" for i in range(per_batch)]
    with sandbox(capacity=per_batch) as box:
        queue = box.queue()
        wait_resolved(queue, create(queue, task("true")))  # warm
        found = asyncio.run(batches(box, {"1 s": short, "4–6 s": long}))
    rows = []
    for label, (badge_lags, loop_lags) in found.items():
        badge, loop = median(badge_lags) * 1000, median(loop_lags) * 1000
        rows.append(
            Row(
                f"StatusBadge: resolution → `state` shows it, {label} tasks",
                f"{loop:.0f} ms (2 s loop)",
                f"{badge:.0f} ms",
                badge / loop,
                f"≤ {GOAL:g}× (≤ 200 ms)",
                badge / loop <= GOAL and badge <= 200,
                f"{len(badge_lags)} tasks; badge {spread([x * 1000 for x in badge_lags])} ms, "
                f"loop {spread([x * 1000 for x in loop_lags])} ms",
            )
        )
    return rows
