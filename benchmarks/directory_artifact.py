"""A `directory` artifact of 10,000 small files uploaded by the worker.

The task writes 10,000 files of a few bytes with awk, prints the time and
exits; the figure is the run's `resolved` time minus that (the uploads, the
log's and the report). The baseline is the old code's figure for the same
task, as the goal is a speed-up over it: 3.8 ms a file, the figure of issue
15 for commit 61b9460, the lower (stricter) of it and this script's own run
of 61b9460 (4.6 ms a file); the notes give the same step for the task with
one file, for scale.

The 10,000-artifact task is also the one `artifact_list` lists: it is a
fixture of the run, made once.
"""

from __future__ import annotations

from dataclasses import dataclass

from common import (
    PRINT_TIME,
    BenchSandbox,
    Options,
    Row,
    after_command,
    artifact,
    create,
    sandbox,
    task,
)

NAME = "public/many"
OLD_MS_PER_FILE = 3.8  # 61b9460 on this machine, see the module's docstring
GOAL = 0.25  # at least 4× faster


@dataclass
class DirectoryTask:
    """A completed task with a directory artifact of `files` files, on `box`."""

    box: BenchSandbox
    task_id: str
    files: int
    seconds: float  # its upload step
    one_file_seconds: float  # the same step with a single file


def script(files: int) -> str:
    """Write `files` small files under many/, then print the time."""
    awk = (
        f"BEGIN {{ for (i = 0; i < {files}; i++) "
        '{ f = sprintf("many/f%05d.txt", i); print i > f; close(f) } }'
    )
    return f"mkdir many && awk '{awk}' && {PRINT_TIME}"


def directory_run(box: BenchSandbox, files: int) -> tuple[str, float]:
    """(taskId, upload step seconds) of a directory task of `files` files."""
    queue = box.queue()
    definition = task(script(files), artifacts={NAME: artifact("many", "directory")})
    task_id = create(queue, definition)
    return task_id, after_command(queue, task_id)


def make_fixture(options: Options) -> DirectoryTask:
    """The run's directory task, on a sandbox that lives until the run ends."""
    files = options.pick(10_000, 2_000)
    box = options.stack.enter_context(sandbox(capacity=2))
    _, one_file = directory_run(box, 1)  # also warms the worker
    task_id, seconds = directory_run(box, files)
    return DirectoryTask(box, task_id, files, seconds, one_file)


def directory_task(options: Options) -> DirectoryTask:
    """The run's directory task (made on first use)."""
    return options.fixture("directory_task", make_fixture)


def measure(options: Options) -> list[Row]:
    """The directory row."""
    made = directory_task(options)
    old = OLD_MS_PER_FILE * made.files / 1000
    ratio = made.seconds / old
    return [
        Row(
            f"a `directory` artifact of {made.files:,} files, upload step",
            f"{old:.1f} s (61b9460: {OLD_MS_PER_FILE:g} ms/file)",
            f"{made.seconds:.2f} s ({made.seconds / made.files * 1000:.2f} ms/file)",
            ratio,
            f"≤ {GOAL:g}× (≥ 4× faster)",
            ratio <= GOAL,
            f"one run; the same step with 1 file: {made.one_file_seconds * 1000:.0f} ms",
        )
    ]
