"""`true` through the sandbox, createTask → resolved, against spawning `true`
directly and waiting for it.

The sandbox's figure runs from just before createTask to the run's
`resolved` time as the queue recorded it (so the status polling that notices
it adds nothing); the baseline is `true` spawned and reaped with
`subprocess`. The two alternate, one task at a time, on a sandbox of capacity
2 whose worker has run a task already (warm). Goal: at most 10 ms more.

    python benchmarks/run.py --only task_latency [--quick]
"""

from __future__ import annotations

import subprocess
import time

from common import (
    Options,
    Row,
    create,
    interleaved,
    median,
    run_times,
    sandbox,
    spread,
    task,
    wait_resolved,
)

GOAL_MS = 10.0


def spawn_seconds() -> float:
    """Seconds to spawn `true` and reap it."""
    started = time.time()
    subprocess.run(["true"], check=True, stdin=subprocess.DEVNULL)
    return time.time() - started


def measure(options: Options) -> list[Row]:
    """The latency row."""
    runs = options.pick(30, 10)
    with sandbox(capacity=2) as box:
        queue = box.queue()
        wait_resolved(queue, create(queue, task("true")))  # warm: first claim, first process

        def sandbox_seconds() -> float:
            started = time.time()
            task_id = create(queue, task("true"))
            _, resolved = run_times(wait_resolved(queue, task_id, interval=0.02))
            return resolved - started

        boxed, direct = interleaved(runs, sandbox_seconds, spawn_seconds)
    box_ms, base_ms = median(boxed) * 1000, median(direct) * 1000
    extra = box_ms - base_ms
    return [
        Row(
            "`true`, createTask → resolved vs spawning `true`",
            f"{base_ms:.1f} ms",
            f"{box_ms:.1f} ms (+{extra:.1f} ms)",
            box_ms / base_ms,
            f"≤ +{GOAL_MS:g} ms",
            extra <= GOAL_MS,
            f"{runs} alternating runs; sandbox {spread([s * 1000 for s in boxed])} ms",
        )
    ]
