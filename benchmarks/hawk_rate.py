"""Hawk-signed `queue.status` requests per second on the sandbox, against a
bare aiohttp handler answering the same path with the same JSON document
(no authentication, no database), both in a child process on loopback.

Both are driven the same way, from 2 child processes at once: the official
async client (which signs every request; the bare server ignores the
signature), 4 requests in flight per process on one session, for a fixed
time after a warm-up; the figure is the sum of the processes' rates. (One
driver process alone saturates near the sandbox's rate once it is fast.) The
two servers alternate.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import aiohttp
import taskcluster.aio
from bare_server import bare_server
from common import (
    Options,
    Row,
    create,
    interleaved,
    median,
    ratio_row,
    sandbox,
    scratch,
    spread,
    task,
    wait_resolved,
)

DRIVERS = 2  # processes: one alone, signing every request, cannot keep up with either
IN_FLIGHT = 4  # requests in flight per driver
GOAL = 0.7


def requests_per_second(options: dict, task_id: str, seconds: float) -> float:
    """status requests per second against `options["rootUrl"]`."""

    async def run() -> float:
        async with aiohttp.ClientSession() as session:
            queue = taskcluster.aio.Queue({**options, "maxRetries": 0}, session=session)
            for _ in range(20):  # warm: connections open
                await queue.status(task_id)
            done = 0
            stop = time.perf_counter() + seconds

            async def client() -> None:
                nonlocal done
                while time.perf_counter() < stop:
                    answer = await queue.status(task_id)
                    if answer["status"]["taskId"] != task_id:
                        raise RuntimeError(f"a wrong answer: {answer}")
                    done += 1

            started = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(IN_FLIGHT)))
            return done / (time.perf_counter() - started)

    return asyncio.run(run())


def measure(options: Options) -> list[Row]:
    """The Hawk row."""
    repeats = options.pick(3, 1)
    seconds = options.pick(3.0, 1.5)
    spawn = multiprocessing.get_context("spawn")
    with (
        sandbox(capacity=2) as box,
        scratch() as empty,
        ProcessPoolExecutor(DRIVERS, mp_context=spawn) as drivers,
    ):
        queue = box.queue()
        task_id = create(queue, task("true"))
        status = wait_resolved(queue, task_id)

        def driven(client_options: dict) -> float:
            """The drivers' requests per second, together."""
            each = [client_options] * DRIVERS, [task_id] * DRIVERS, [seconds] * DRIVERS
            return sum(drivers.map(requests_per_second, *each))

        with bare_server(empty, {"status": status}) as bare_url:
            bare_options = {**box.options(), "rootUrl": bare_url}
            signed, bare = interleaved(
                repeats, lambda: driven(box.options()), lambda: driven(bare_options)
            )
    return [
        ratio_row(
            "Hawk-signed `status` requests/s vs a bare aiohttp handler",
            median(bare),
            median(signed),
            "req/s",
            GOAL,
            higher_is_better=True,
            note=(
                f"{repeats} × {seconds:g} s, {DRIVERS} driver processes × {IN_FLIGHT} in flight; "
                f"sandbox {spread(signed)}, bare {spread(bare)} req/s"
            ),
        )
    ]
