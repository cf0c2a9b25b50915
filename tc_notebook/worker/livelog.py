"""Live logs: a running task's log, served by the worker while it grows.

The worker writes each run's log to a file through a `LiveLog` and serves it
from an HTTP server of its own (`LiveLogServer`), as Taskcluster's workers
do: `GET /log/<token>` sends what is there, then each new piece as it is
written, and ends when the log is closed. The token is random per run, so the
URL is known only from the run's `public/logs/live.log` reference artifact.
Once the run is over the URL answers 404 and `live.log` links to the
complete log, `public/logs/live_backing.log`.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from aiohttp import web

from ..net import bound_socket

LOG_PATH = "/log/"
CHUNK = 64 * 1024
MAX_READERS = 128  # live-log responses streaming at once
TEXT = "text/plain; charset=utf-8"


class LiveLog:
    """One run's log file, appended to by the worker."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.token = secrets.token_urlsafe(24)
        self.closed = False
        self.version = 0  # counts the writes and the close
        self._file = open(path, "ab")  # noqa: SIM115 - closed by close()
        self._next_change = asyncio.Event()  # set by the next write or the close

    def write(self, data: bytes) -> None:
        """Append bytes and wake the readers."""
        self._file.write(data)
        self._file.flush()
        self._changed()

    def close(self) -> None:
        """No more writes: readers finish once they have read everything."""
        if not self.closed:
            self.closed = True
            self._file.close()
            self._changed()

    def _changed(self) -> None:
        """Wake every reader waiting now; later readers wait for the next change."""
        self.version += 1
        self._next_change.set()
        self._next_change = asyncio.Event()

    async def changed_since(self, version: int) -> None:
        """Return once there was a write or the close after `version` (at once
        if there already was), so that no reader misses one."""
        if self.version == version:
            await self._next_change.wait()


class LiveLogServer:
    """The worker's HTTP server for the live logs of its runs in progress.

    Binds `host:port` (port 0: any free one); `public_url` is the base URL
    put in live.log artifacts, when readers reach the server by another name
    (default `http://host:port`)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        max_readers: int = MAX_READERS,
    ) -> None:
        self.host, self.port, self.max_readers = host, port, max_readers
        self._public_url = public_url.rstrip("/") if public_url else None
        self._logs: dict[str, LiveLog] = {}
        self.readers = 0
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """The URL the logs are served under, without the trailing slash."""
        if self._public_url:
            return self._public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and serve."""
        app = web.Application()
        app.router.add_get(LOG_PATH + "{token}", self._serve)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1,
            handler_cancellation=True,
        )
        await self._runner.setup()
        try:
            sock = bound_socket(self.host, self.port)
        except OSError:
            await self._runner.cleanup()
            raise
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Stop serving; readers still streaming are cut off."""
        if self._runner:
            await self._runner.cleanup()

    def open(self, path: Path) -> LiveLog:
        """Start a run's live log, written to `path` and served at `url_of(log)`."""
        log = LiveLog(path)
        self._logs[log.token] = log
        return log

    def url_of(self, log: LiveLog) -> str:
        """Where readers find `log`."""
        return f"{self.base_url}{LOG_PATH}{log.token}"

    def forget(self, log: LiveLog) -> None:
        """Stop serving a finished log (its URL then answers 404)."""
        self._logs.pop(log.token, None)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        log = self._logs.get(request.match_info["token"])
        try:
            source = open(log.path, "rb") if log else None  # noqa: SIM115 - closed below
        except FileNotFoundError:
            source = None
        if source is None:
            return web.Response(status=404, text="No live log here (the run may have ended)\n")
        if self.readers >= self.max_readers:
            source.close()
            return web.Response(status=503, text="Too many readers; try again later\n")
        self.readers += 1
        try:
            with source:
                reply = web.StreamResponse(
                    headers={"Content-Type": TEXT, "Cache-Control": "no-cache",
                             "X-Accel-Buffering": "no"}
                )
                reply.enable_chunked_encoding()
                await reply.prepare(request)
                while True:
                    version = log.version  # before reading: a write after it is not missed
                    chunk = source.read(CHUNK)
                    if chunk:
                        await reply.write(chunk)
                        continue
                    if log.closed:
                        break
                    await log.changed_since(version)
                await reply.write_eof()
                return reply
        finally:
            self.readers -= 1
