"""createTask p50 on a sandbox holding 50,000 pending tasks (on a queue no
worker serves) with its worker running (on another queue), against the same
on a sandbox whose queue is empty.

The pending tasks go in through the API, as any client would add them:
createTask from 2 processes with 8 requests in flight each (official async
client); the notes say how long that took. Then createTask calls (on the
unserved queue, one client per sandbox) go in blocks of 25 made back to back,
the blocks alternating between the two sandboxes; each call is timed by the
client. Back to back, so that work a call leaves behind on the server (a
worker woken up) weighs on the next call, as when a notebook creates tasks
in a loop.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import aiohttp
import slugid
import taskcluster.aio
from common import (
    IDLE_QUEUE,
    BenchSandbox,
    Options,
    Row,
    create,
    interleaved,
    median,
    ratio_row,
    sandbox,
    task,
    wait_resolved,
)

PROCESSES = 2
IN_FLIGHT = 8
BLOCK = 25  # calls in a row on one sandbox: work a call leaves behind slows the next
GOAL = 1.2


def flood(options: dict[str, Any], count: int) -> int:
    """Create `count` pending tasks on IDLE_QUEUE, IN_FLIGHT at a time (in a child process)."""

    async def run() -> int:
        async with aiohttp.ClientSession() as session:
            queue = taskcluster.aio.Queue(options, session=session)
            definition = task("true", IDLE_QUEUE)
            shares = [count // IN_FLIGHT + (i < count % IN_FLIGHT) for i in range(IN_FLIGHT)]

            async def sender(share: int) -> None:
                for _ in range(share):
                    await queue.createTask(slugid.nice(), definition)

            await asyncio.gather(*(sender(share) for share in shares))
        return count

    return asyncio.run(run())


def fill(box: BenchSandbox, count: int) -> float:
    """Put `count` pending tasks in the sandbox; the seconds it took."""
    options = box.options(maxRetries=5)
    shares = [count // PROCESSES + (i < count % PROCESSES) for i in range(PROCESSES)]
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        created = sum(pool.map(flood, [options] * PROCESSES, shares))
    elapsed = time.perf_counter() - started
    pending = box.queue().taskQueueCounts(IDLE_QUEUE)["pendingTasks"]
    if created != count or pending < count:
        raise RuntimeError(f"{pending} tasks pending, {count} wanted")
    return elapsed


def block_seconds(queue: taskcluster.Queue) -> list[float]:
    """Seconds of each of BLOCK createTask calls made back to back (client side)."""
    definition = task("true", IDLE_QUEUE)
    seconds = []
    for _ in range(BLOCK):
        started = time.perf_counter()
        create(queue, definition)
        seconds.append(time.perf_counter() - started)
    return seconds


def measure(options: Options) -> list[Row]:
    """The pending-load row."""
    count = options.pick(50_000, 5_000)
    calls = options.pick(200, 50)  # a multiple of BLOCK
    with sandbox(capacity=2) as loaded, sandbox(capacity=2) as empty:
        for box in (loaded, empty):  # the workers are up and have claimed once
            queue = box.queue()
            wait_resolved(queue, create(queue, task("true")))
        setup = fill(loaded, count)
        time.sleep(1)  # let the worker's wake-ups from the flood pass
        to_loaded, to_empty = loaded.queue(), empty.queue()
        blocks = interleaved(
            calls // BLOCK, lambda: block_seconds(to_loaded), lambda: block_seconds(to_empty)
        )
    with_load, without = ([s for block in side for s in block] for side in blocks)
    return [
        ratio_row(
            f"createTask p50, {count:,} pending + a worker vs an empty queue",
            median(without) * 1000,
            median(with_load) * 1000,
            "ms",
            GOAL,
            note=(
                f"{calls} calls, in alternating blocks of {BLOCK} back to back; "
                f"setup: {count:,} createTask in {setup:.0f} s "
                f"({count / setup:.0f}/s, {PROCESSES} processes × {IN_FLIGHT} in flight)"
            ),
        )
    ]
