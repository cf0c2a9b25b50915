"""Live logs: a running task's log, readable over HTTP while it grows.

The worker writes each run's log to a file through a `LiveLog`; the sandbox
serves `/sandbox/livelog/<taskId>/<runId>` as a chunked response that sends
what is there, then each new piece as it is written, and ends when the log
is closed. This is what the `public/logs/live.log` reference points at.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from aiohttp import web

from . import keys
from .errors import APIError
from .limits import Slots

LIVELOG_PREFIX = "/sandbox/livelog/"
CHUNK = 64 * 1024
MAX_READERS = 128  # live-log responses streaming at once
_PATH = re.compile(r"([A-Za-z0-9_-]{22})/([0-9]{1,9})")


class LiveLog:
    """One run's log file, appended to by the worker."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.closed = False
        self._file = open(path, "ab")  # noqa: SIM115 - closed by close()
        self._changed = asyncio.Event()

    def write(self, data: bytes) -> None:
        """Append bytes and wake the readers."""
        self._file.write(data)
        self._file.flush()
        self._changed.set()

    def close(self) -> None:
        """No more writes: readers finish once they have read everything."""
        if not self.closed:
            self.closed = True
            self._file.close()
            self._changed.set()

    async def changed(self) -> None:
        """Wait for the next write or the close."""
        await self._changed.wait()
        self._changed.clear()


class LiveLogs:
    """The live logs of the runs in progress, by (taskId, runId)."""

    def __init__(self) -> None:
        self._logs: dict[tuple[str, int], LiveLog] = {}
        self.readers = Slots("live-log readers", MAX_READERS)

    def open(self, task_id: str, run_id: int, path: Path) -> LiveLog:
        """Start the live log of a run, written to `path`."""
        log = LiveLog(path)
        self._logs[(task_id, run_id)] = log
        return log

    def get(self, task_id: str, run_id: int) -> LiveLog | None:
        """The live log of a run, if this sandbox has one."""
        return self._logs.get((task_id, run_id))

    def forget(self, task_id: str, run_id: int) -> None:
        """Drop a finished log (its URL then answers 404)."""
        self._logs.pop((task_id, run_id), None)


async def serve_livelog(request: web.Request) -> web.StreamResponse:
    """Stream a run's log as it is written; ends when the run's log closes."""
    found = _PATH.fullmatch(request.path[len(LIVELOG_PREFIX) :])
    livelogs: LiveLogs = request.app[keys.LIVELOGS]
    log = livelogs.get(found[1], int(found[2])) if found else None
    try:
        source = open(log.path, "rb") if log else None  # noqa: SIM115 - closed below
    except FileNotFoundError:
        source = None
    if source is None:
        raise APIError("ResourceNotFound", "No live log for that run (it may have finished)")
    with source, livelogs.readers.hold():
        reply = web.StreamResponse(
            headers={
                "Content-Type": "text/plain; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        reply.enable_chunked_encoding()
        await reply.prepare(request)
        while True:
            chunk = source.read(CHUNK)
            if chunk:
                await reply.write(chunk)
                continue
            if log.closed:
                break
            await log.changed()
        await reply.write_eof()
    return reply
