"""`ArtifactList` of a task with 10,000 artifacts: the time until it is ready,
as a notebook makes it (`ArtifactList(conn, task_id)`, then
`await artifacts.refresh()`), against the bare `listArtifacts` paging calls
of the official async client for the same run (same session, same loop).

The task is `directory_artifact`'s (10,000 files in one directory artifact,
plus the two logs). The two alternate on one event loop.
"""

from __future__ import annotations

import asyncio
import time

from common import Options, Row, median, spread
from directory_artifact import DirectoryTask, directory_task

from tc_notebook import Connection
from tc_notebook.widgets import ArtifactList, polling

GOAL_MS = 500.0


async def bare_listing(conn: Connection, task_id: str) -> tuple[float, int]:
    """(seconds, artifacts) for listArtifacts of run 0, every page."""
    queue = conn.aio_queue(polling.session(), maxRetries=0)
    started = time.perf_counter()
    count, query = 0, {}
    while True:
        page = await queue.listArtifacts(task_id, 0, query=query)
        count += len(page["artifacts"])
        if not page.get("continuationToken"):
            return time.perf_counter() - started, count
        query = {"continuationToken": page["continuationToken"]}


async def widget_listing(conn: Connection, task_id: str) -> tuple[float, int]:
    """(seconds, artifacts) for a new ArtifactList until its first refresh is done."""
    started = time.perf_counter()
    artifacts = ArtifactList(conn, task_id)
    await artifacts.refresh()
    elapsed = time.perf_counter() - started
    count = len(artifacts.artifacts)
    artifacts.close()
    return elapsed, count


async def alternate(made: DirectoryTask, repeats: int) -> tuple[list[float], list[float]]:
    """(widget seconds, bare seconds), alternating."""
    conn = Connection(made.box.root_url, made.box.credentials)
    widget, bare = [], []
    try:
        await bare_listing(conn, made.task_id)  # warm the session
        for round_number in range(repeats):
            steps = [(widget, widget_listing), (bare, bare_listing)]
            for results, step in steps[:: -1 if round_number % 2 else 1]:
                seconds, count = await step(conn, made.task_id)
                if count < made.files:
                    raise RuntimeError(f"listed {count} artifacts of {made.files}")
                results.append(seconds)
    finally:
        await polling.close_session()
    return widget, bare


def measure(options: Options) -> list[Row]:
    """The listing row."""
    made = directory_task(options)
    repeats = options.pick(3, 2)
    widget, bare = asyncio.run(alternate(made, repeats))
    widget_ms, bare_ms = median(widget) * 1000, median(bare) * 1000
    return [
        Row(
            f"`ArtifactList` of a {made.files:,}-artifact task, ready",
            f"{bare_ms:.0f} ms (bare listArtifacts)",
            f"{widget_ms:.0f} ms",
            widget_ms / bare_ms,
            f"< {GOAL_MS:g} ms",
            widget_ms < GOAL_MS,
            f"{repeats} repeats; widget {spread([s * 1000 for s in widget])} ms, "
            f"bare {spread([s * 1000 for s in bare])} ms",
        )
    ]
