"""Task latency of the sandbox worker against running the same command directly.

Starts a sandbox (capacity 2) in a temporary directory and, for the payloads
`true` and `sleep 1`, measures N sequential runs of createTask -> `completed`
(status polled every 10 ms, so each figure includes up to ~10 ms of polling
slack). The baseline is the same command spawned and waited for directly with
asyncio's subprocess support, in the same process. Prints the medians, their
ratio (sandbox / baseline) and the overhead in ms.

    python benchmarks/task_latency.py [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import slugid
import taskcluster

try:
    from tc_notebook.sandbox import QueueSettings, Sandbox
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tc_notebook.sandbox import QueueSettings, Sandbox

POLL_SECONDS = 0.01
COMMANDS = {"true": ["true"], "sleep 1": ["sleep", "1"]}
RESOLVED = ("completed", "failed", "exception")
TASK_QUEUE = "benchmark/latency"  # the queue the sandbox's worker serves


def task_for(argv: list[str]) -> dict:
    """A docker-worker-style task running argv on the benchmark's queue."""
    return {
        "taskQueueId": TASK_QUEUE,
        "created": taskcluster.fromNowJSON("0 seconds"),
        "deadline": taskcluster.fromNowJSON("1 hour"),
        "payload": {"command": argv, "maxRunTime": 60},
        "metadata": {
            "name": f"latency: {' '.join(argv)}",
            "description": "benchmarks/task_latency.py",
            "owner": "benchmark@example.com",
            "source": "https://example.com/tc-notebook/benchmarks/task_latency.py",
        },
    }


def sandbox_seconds(queue: taskcluster.Queue, argv: list[str]) -> float:
    """Seconds from createTask until the status says completed."""
    task_id = slugid.nice()
    definition = task_for(argv)
    started = time.perf_counter()
    queue.createTask(task_id, definition)
    while True:
        state = queue.status(task_id)["status"]["state"]
        if state == "completed":
            return time.perf_counter() - started
        if state in RESOLVED:
            raise RuntimeError(f"task {task_id} ({' '.join(argv)}) resolved {state}")
        time.sleep(POLL_SECONDS)


async def direct_seconds(argv: list[str]) -> float:
    """Seconds to spawn argv with asyncio and wait for it."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    await process.communicate()
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {process.returncode}")
    return elapsed


def measure(runs: int) -> dict[str, tuple[list[float], list[float]]]:
    """{label: (sandbox seconds, baseline seconds)} for each command."""
    results: dict[str, tuple[list[float], list[float]]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="tc-latency-") as data_dir,
        Sandbox(Path(data_dir), port=0, settings=QueueSettings(), capacity=2,
                task_queues=[TASK_QUEUE]) as sandbox,
    ):
        queue = taskcluster.Queue({**sandbox.client_options(), "maxRetries": 0})
        sandbox_seconds(queue, ["true"])  # warm-up: first claim, first process
        for label, argv in COMMANDS.items():
            sandboxed = [sandbox_seconds(queue, argv) for _ in range(runs)]
            results[label] = (sandboxed, [])
    for label, argv in COMMANDS.items():
        asyncio.run(direct_seconds(argv))  # warm-up

        async def baseline(argv: list[str] = argv) -> list[float]:
            return [await direct_seconds(argv) for _ in range(runs)]

        results[label][1].extend(asyncio.run(baseline()))
    return results


def report(results: dict[str, tuple[list[float], list[float]]], runs: int) -> str:
    """The table of medians, ratios and overheads."""
    header = (
        f"{'payload':<10} {'sandbox ms':>11} {'baseline ms':>12} {'ratio':>8} {'overhead ms':>12}"
    )
    lines = [
        f"task latency, median of {runs} sequential runs (sandbox capacity 2, "
        f"status polled every {POLL_SECONDS * 1000:.0f} ms)",
        header,
        "-" * len(header),
    ]
    for label, (sandboxed, direct) in results.items():
        box, base = statistics.median(sandboxed) * 1000, statistics.median(direct) * 1000
        lines.append(
            f"{label:<10} {box:>11.1f} {base:>12.1f} {box / base:>7.2f}x {box - base:>12.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per payload (default 20)")
    args = parser.parse_args(argv)
    print(report(measure(args.runs), args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
