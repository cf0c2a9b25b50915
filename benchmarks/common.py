"""What the benchmarks share: a sandbox in its own process (as `tc-notebook
lab` and Binder run it), task definitions, waiting on tasks, server-side
timestamps, medians and the rows of the report.

Everything reaches the sandbox over loopback with the official `taskcluster`
client; only public interfaces are used, so the same code measures older
versions of the kit (`PYTHONPATH=<old checkout>`).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import slugid
import taskcluster

from tc_notebook.sandbox import SandboxProcess

RESOLVED = ("completed", "failed", "exception")
BENCH_QUEUE = "bench/served"  # the queue the sandbox's worker serves
IDLE_QUEUE = "bench/unserved"  # a queue no worker serves
# Taskcluster's claim timeout (the sandbox command's default is 30 s): an
# upload phase longer than a claim must not cost the run.
CLAIM_SECONDS = 1200
PRINT_TIME = "date +%s.%N"  # a command's last step, for `after_command`
_PRINTED_TIME = re.compile(r"^(\d{9,}\.\d+)$", re.MULTILINE)


@dataclass
class Row:
    """One line of the report. `met` is None when there is no goal to check."""

    measure: str
    baseline: str
    value: str
    ratio: float | None
    goal: str
    met: bool | None
    note: str = ""


@dataclass
class Options:
    """How much to measure (`quick` trades precision for time), and what the
    measures of one run share: fixtures made once, closed by `stack` at the end."""

    quick: bool = False
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    fixtures: dict[str, Any] = field(default_factory=dict)

    def pick(self, full: Any, quick: Any) -> Any:
        """`quick` in a quick run, else `full`."""
        return quick if self.quick else full

    def fixture(self, key: str, make: Callable[[Options], Any]) -> Any:
        """`make(self)` the first time `key` is asked for, the same value after
        (or the same failure: a fixture that failed is not made again)."""
        if key not in self.fixtures:
            try:
                self.fixtures[key] = make(self)
            except Exception as failure:
                self.fixtures[key] = failure
        if isinstance(self.fixtures[key], Exception):
            raise self.fixtures[key]
        return self.fixtures[key]


class BenchSandbox:
    """A sandbox (`tc-notebook sandbox`) in a child process, with its data in
    a temporary folder removed when it stops."""

    def __init__(self, process: SandboxProcess, data_dir: Path) -> None:
        self.process = process
        self.data_dir = data_dir

    @property
    def root_url(self) -> str:
        """Its root URL (loopback)."""
        return self.process.root_url

    @property
    def credentials(self) -> dict[str, str]:
        """The root client's credentials."""
        return dict(self.process.credentials)

    def options(self, **extra: Any) -> dict[str, Any]:
        """Options for an official client, as root."""
        return {"rootUrl": self.root_url, "credentials": self.credentials, **extra}

    def queue(self, **extra: Any) -> taskcluster.Queue:
        """A sync Queue client (no retries: a failure should show)."""
        return taskcluster.Queue(self.options(maxRetries=0, **extra))


@contextlib.contextmanager
def sandbox(
    capacity: int = 2, task_queues: tuple[str, ...] = (BENCH_QUEUE,)
) -> Iterator[BenchSandbox]:
    """A sandbox whose worker (none with capacity 0) serves `task_queues`."""
    data_dir = Path(tempfile.mkdtemp(prefix="tc-bench-"))
    args = ["--capacity", str(capacity), "--claim-timeout", str(CLAIM_SECONDS)]
    for task_queue_id in task_queues:
        args += ["--task-queue", task_queue_id]
    process = SandboxProcess(data_dir / "sandbox", *args)
    try:
        process.start(timeout=60)
        yield BenchSandbox(process, data_dir)
    finally:
        process.stop(timeout=40)
        shutil.rmtree(data_dir, ignore_errors=True)


def task(
    script: str,
    task_queue_id: str = BENCH_QUEUE,
    artifacts: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A task running `sh -c script` on `task_queue_id`."""
    payload: dict[str, Any] = {"command": ["/bin/sh", "-c", script], "maxRunTime": 600}
    if artifacts:
        payload["artifacts"] = artifacts
    return {
        "taskQueueId": task_queue_id,
        "created": taskcluster.fromNowJSON("0 seconds"),
        "deadline": taskcluster.fromNowJSON("1 day"),
        "expires": taskcluster.fromNowJSON("2 days"),
        "payload": payload,
        "metadata": {
            "name": f"benchmark: {script[:60]}",
            "description": "tc-notebook benchmarks",
            "owner": "benchmark@example.com",
            "source": "https://example.com/tc-notebook/benchmarks",
        },
        **extra,
    }


def artifact(path: str, kind: str = "file") -> dict[str, Any]:
    """A payload artifact entry (expiring in a day)."""
    return {"type": kind, "path": path, "expires": taskcluster.fromNowJSON("1 day")}


def create(queue: taskcluster.Queue, definition: dict[str, Any]) -> str:
    """createTask; returns the new taskId."""
    task_id = slugid.nice()
    queue.createTask(task_id, definition)
    return task_id


def wait_resolved(
    queue: taskcluster.Queue, task_id: str, timeout: float = 300, interval: float = 0.05
) -> dict[str, Any]:
    """Poll the status until the task is resolved; returns the status.
    RuntimeError unless it completed."""
    give_up = time.monotonic() + timeout
    while True:
        status = queue.status(task_id)["status"]
        if status["state"] in RESOLVED:
            if status["state"] != "completed":
                reasons = [run.get("reasonResolved") for run in status["runs"]]
                raise RuntimeError(f"task {task_id} resolved {status['state']}: runs {reasons}")
            return status
        if time.monotonic() > give_up:
            raise TimeoutError(f"task {task_id} still {status['state']} after {timeout} s")
        time.sleep(interval)


def epoch(stamp: str) -> float:
    """A Taskcluster date-time as seconds since the epoch."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def run_times(status: dict[str, Any]) -> tuple[float, float]:
    """(started, resolved) of the last run, seconds since the epoch (server side)."""
    last = status["runs"][-1]
    return epoch(last["started"]), epoch(last["resolved"])


def after_command(queue: taskcluster.Queue, task_id: str) -> float:
    """Seconds from the last time the task's command printed (`date +%s.%N`
    as its last step) to its run's `resolved` time: the worker's uploads and
    report. The task must have completed."""
    _, resolved = run_times(wait_resolved(queue, task_id, interval=0.02))
    log_url = queue.buildUrl("getArtifact", task_id, 0, "public/logs/live_backing.log")
    answer = requests.get(log_url, timeout=60)
    answer.raise_for_status()
    printed = _PRINTED_TIME.findall(answer.text)
    if not printed:
        raise RuntimeError(f"task {task_id}: no time in its log")
    return resolved - float(printed[-1])


def interleaved(repeats: int, *steps: Callable[[], float]) -> list[list[float]]:
    """Run each step `repeats` times, alternating them (the order flips on
    every round, so neither always goes first); one list of results per step."""
    results: list[list[float]] = [[] for _ in steps]
    for round_number in range(repeats):
        order = list(enumerate(steps))
        if round_number % 2:
            order.reverse()
        for index, step in order:
            results[index].append(step())
    return results


def median(values: list[float]) -> float:
    """The median."""
    return statistics.median(values)


def spread(values: list[float]) -> str:
    """min–max of the values, for the notes."""
    return f"{min(values):.3g}–{max(values):.3g}"


def ratio_row(
    measure: str,
    baseline: float,
    value: float,
    unit: str,
    goal: float,
    *,
    higher_is_better: bool = False,
    note: str = "",
) -> Row:
    """A row whose goal is a bound on value / baseline."""
    ratio = value / baseline
    met = ratio >= goal if higher_is_better else ratio <= goal
    bound = "≥" if higher_is_better else "≤"
    return Row(
        measure,
        f"{baseline:.4g} {unit}",
        f"{value:.4g} {unit}",
        ratio,
        f"{bound} {goal:g}×",
        met,
        note,
    )


@contextlib.contextmanager
def scratch(prefix: str = "tc-bench-") -> Iterator[Path]:
    """A temporary folder, world-readable (tasks run as `nobody` under root)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
