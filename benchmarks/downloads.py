"""The kit's own download (`ArtifactList.download`) of a 512 MiB artifact,
against `curl` fetching the same bytes from a plain static file server (a
bare aiohttp application, sendfile) to the same disk.

A task publishes the file once (`uploads.upload_task`); the list is made and
listed (`refresh()`) before the clock starts; each download is then timed
alone, alternating with curl. For context the notes also give curl fetching
the artifact from the sandbox itself (following its redirect).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

from bare_server import bare_server
from common import BenchSandbox, Options, Row, median, ratio_row, sandbox, scratch
from uploads import MIB, NAME, SIZE, big_file, upload_task

from tc_notebook import Connection
from tc_notebook.widgets import ArtifactList, polling

GOAL = 0.8


def saved(path: Path, by: str) -> None:
    """Check that `by` saved the whole file at `path`, and remove it."""
    size = path.stat().st_size
    path.unlink()
    if size != SIZE:
        raise RuntimeError(f"{by} saved {size} bytes of {SIZE}")


def curl_seconds(url: str, target: Path) -> float:
    """Seconds `curl` takes to save `url` to `target` (removed after); dirty
    pages are written out first, as before the kit's downloads."""
    os.sync()
    started = time.perf_counter()
    subprocess.run(["curl", "-sSfL", "-o", str(target), url], check=True)
    elapsed = time.perf_counter() - started
    saved(target, f"curl {url}")
    return elapsed


async def alternate(
    box: BenchSandbox, task_id: str, static_url: str, target: Path, repeats: int
) -> tuple[list[float], list[float], list[float]]:
    """On an event loop, as in a notebook: one ArtifactList, listed once, then
    its timed downloads alternating with curl of the static file; then curl
    of the artifact from the sandbox. Seconds of each: (kit, static, sandbox)."""
    artifacts = ArtifactList(Connection(box.root_url, box.credentials), task_id)
    await artifacts.refresh()
    artifact_url = box.queue().buildUrl("getArtifact", task_id, 0, NAME)

    async def kit_once() -> float:
        os.sync()
        started = time.perf_counter()
        path = await artifacts.download(NAME, target)
        elapsed = time.perf_counter() - started
        saved(path, "ArtifactList.download")
        return elapsed

    async def curl_once(url: str) -> float:
        return await asyncio.to_thread(curl_seconds, url, target)

    kit: list[float] = []
    static: list[float] = []
    direct: list[float] = []
    try:
        for round_number in range(repeats):
            steps = [(kit, kit_once), (static, lambda: curl_once(static_url))]
            for results, step in steps[:: -1 if round_number % 2 else 1]:
                results.append(await step())
            direct.append(await curl_once(artifact_url))
    finally:
        artifacts.close()
        await polling.close_session()
    return kit, static, direct


def measure(options: Options) -> list[Row]:
    """The download row."""
    repeats = options.pick(3, 1)
    with scratch() as folder, sandbox(capacity=2) as box:
        served = folder / "served"  # the static server's folder: the file alone
        served.mkdir(mode=0o755)
        source = big_file(served)
        task_id, _ = upload_task(box, source)
        target = folder / "downloaded.bin"
        with bare_server(served, {}) as bare:
            static_url = f"{bare}/files/{source.name}"
            curl_seconds(static_url, target)  # warm
            kit, static, direct = asyncio.run(alternate(box, task_id, static_url, target, repeats))
    size_mib = SIZE / MIB
    kit_rate, static_rate = size_mib / median(kit), size_mib / median(static)
    return [
        ratio_row(
            "`ArtifactList.download` of 512 MiB vs curl from a static server",
            static_rate,
            kit_rate,
            "MiB/s",
            GOAL,
            higher_is_better=True,
            note=(
                f"{repeats} repeats; kit {', '.join(f'{size_mib / s:.0f}' for s in kit)} MiB/s, "
                f"static {', '.join(f'{size_mib / s:.0f}' for s in static)} MiB/s; curl of "
                f"the sandbox's own artifact URL {size_mib / median(direct):.0f} MiB/s"
            ),
        )
    ]
