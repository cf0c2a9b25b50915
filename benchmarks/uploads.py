"""The worker's upload of a 512 MiB file artifact, against `cp` of the same
file to the same disk.

The task copies a prepared file (random bytes) into its folder, `sync`s,
prints the time, and exits; the worker then uploads the file as `public/big.bin`. The
upload step is the run's `resolved` time (as the queue recorded it) minus the
time the command printed last: it covers the upload, the log's own upload and
reportCompleted. The baseline is `cp` of the prepared file into the
sandbox's data folder, timed as a process. The two alternate.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from common import (
    PRINT_TIME,
    BenchSandbox,
    Options,
    Row,
    after_command,
    artifact,
    create,
    interleaved,
    median,
    ratio_row,
    sandbox,
    scratch,
    spread,
    task,
)

MIB = 1024 * 1024
SIZE = 512 * MIB
NAME = "public/big.bin"
GOAL = 1.5


def big_file(folder: Path, size: int = SIZE) -> Path:
    """A file of `size` bytes (1 MiB of random bytes, repeated), readable by all."""
    path = folder / "big.bin"
    block = os.urandom(MIB)
    with open(path, "wb") as out:
        for _ in range(size // MIB):
            out.write(block)
    path.chmod(0o644)
    return path


def upload_task(box: BenchSandbox, source: Path) -> tuple[str, float]:
    """Run a task publishing a copy of `source` as NAME: (taskId, upload seconds)."""
    queue = box.queue()
    script = f"cp {source} big.bin && sync && {PRINT_TIME}"
    task_id = create(queue, task(script, artifacts={NAME: artifact("big.bin")}))
    return task_id, after_command(queue, task_id)


def cp_seconds(source: Path, target: Path) -> float:
    """Seconds `cp source target` takes (dirty pages written out first); the
    copy is removed after."""
    os.sync()
    started = time.perf_counter()
    subprocess.run(["cp", str(source), str(target)], check=True)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def measure(options: Options) -> list[Row]:
    """The upload row."""
    repeats = options.pick(3, 1)
    with scratch() as folder, sandbox(capacity=2) as box:
        source = big_file(folder)
        cp_seconds(source, box.data_dir / "warm.bin")  # the source in the page cache
        uploads, copies = interleaved(
            repeats,
            lambda: upload_task(box, source)[1],
            lambda: cp_seconds(source, box.data_dir / "copy.bin"),
        )
    return [
        ratio_row(
            "worker upload of 512 MiB vs `cp`",
            median(copies),
            median(uploads),
            "s",
            GOAL,
            note=f"{repeats} repeats; upload {spread(uploads)} s, cp {spread(copies)} s",
        )
    ]
