"""Trivial tasks (`true`) from 4 concurrent clients: tasks completed per second,
with the sandbox's worker at capacity 2 and at capacity 4.

Each of 4 threads, with its own official client, creates its share of the
tasks (one task group) as fast as the queue accepts them; the figure is the
number of tasks over the time from the first createTask to the last run's
`resolved` time as the queue recorded it. The end is noticed by polling
`taskQueueCounts` every 0.25 s, then one `listTaskGroup` (which also checks
that every task completed).

Baseline: the goal itself, 100 tasks/s (nothing else on this machine does the
same job), so the ratio is tasks/s ÷ 100. The two capacities run on two
sandboxes started together and alternate, repeat by repeat.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import slugid
import taskcluster
from common import (
    BENCH_QUEUE,
    BenchSandbox,
    Options,
    Row,
    create,
    epoch,
    interleaved,
    median,
    sandbox,
    spread,
    task,
    wait_resolved,
)

CLIENTS = 4
GOAL_PER_SECOND = 100.0


def list_group(queue: taskcluster.Queue, group_id: str) -> list[dict]:
    """Every task of the group, all pages."""
    tasks: list[dict] = []
    query: dict = {}
    while True:
        page = queue.listTaskGroup(group_id, query=query)
        tasks.extend(page["tasks"])
        if not page.get("continuationToken"):
            return tasks
        query = {"continuationToken": page["continuationToken"]}


def wait_drained(queue: taskcluster.Queue, timeout: float = 300) -> None:
    """Until the bench queue has nothing pending or claimed."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        counts = queue.taskQueueCounts(BENCH_QUEUE)
        if counts["pendingTasks"] == 0 and counts["claimedTasks"] == 0:
            return
        time.sleep(0.25)
    raise TimeoutError("the worker did not drain the queue")


def completed_per_second(box: BenchSandbox, per_client: int) -> float:
    """Create CLIENTS × per_client `true` tasks concurrently; tasks/s to the last resolution."""
    group_id = slugid.nice()

    def client(_index: int) -> None:
        queue = box.queue()
        for _ in range(per_client):
            create(queue, task("true", taskGroupId=group_id))

    started = time.time()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    queue = box.queue()
    wait_drained(queue)
    tasks = list_group(queue, group_id)
    states = {entry["status"]["state"] for entry in tasks}
    if states != {"completed"} or len(tasks) != CLIENTS * per_client:
        raise RuntimeError(f"throughput: {len(tasks)} tasks, states {states}")
    last = max(epoch(entry["status"]["runs"][-1]["resolved"]) for entry in tasks)
    return len(tasks) / (last - started)


def measure(options: Options) -> list[Row]:
    """One row per capacity."""
    per_client = options.pick(75, 25)
    repeats = options.pick(2, 1)
    with sandbox(capacity=2) as two, sandbox(capacity=4) as four:
        for box in (two, four):  # warm: the worker's first claim and process
            queue = box.queue()
            wait_resolved(queue, create(queue, task("true")))
        rates = interleaved(
            repeats,
            lambda: completed_per_second(two, per_client),
            lambda: completed_per_second(four, per_client),
        )
    rows = []
    for capacity, values in zip((2, 4), rates, strict=True):
        rate = median(values)
        rows.append(
            Row(
                f"`true` tasks from {CLIENTS} clients, completed/s (capacity {capacity})",
                f"{GOAL_PER_SECOND:g}/s (the goal)",
                f"{rate:.1f}/s",
                rate / GOAL_PER_SECOND,
                "≥ 1×",
                rate >= GOAL_PER_SECOND,
                f"{CLIENTS}×{per_client} tasks, {repeats} repeats: {spread(values)}/s",
            )
        )
    return rows
