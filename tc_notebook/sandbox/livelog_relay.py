"""The sandbox's door to its worker's live logs.

The worker serves each running task's log from its own port, which a browser
on Binder cannot reach (it reaches only the Jupyter server, which proxies the
sandbox's port). So the sandbox's worker is told to publish its live logs
under `<rootUrl>/sandbox/livelog/log/<token>`, and the sandbox relays those
requests to the worker's server (`/log/<token>`), as a deployment's websocktunnel does for
its workers. Only that server and only its log path can be reached this way.
"""

from __future__ import annotations

import re

import aiohttp
from aiohttp import web

from ..worker.livelog import LOG_PATH
from . import keys
from .errors import APIError
from .limits import Slots

RELAY_BASE = "/sandbox/livelog"  # the worker's server, as seen through the sandbox
MAX_READERS = 128  # live-log responses relayed at once
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


class LiveLogRelay:
    """Relays `RELAY_BASE/log/<token>` to the worker's server on 127.0.0.1:`port`."""

    route = RELAY_BASE + LOG_PATH + "{token}"

    def __init__(self, port: int) -> None:
        self.upstream = f"http://127.0.0.1:{port}{LOG_PATH}"
        self.readers = Slots("live-log readers", MAX_READERS)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the connections to the worker."""
        if self._session is not None:
            await self._session.close()

    async def relay(self, request: web.Request) -> web.StreamResponse:
        """Stream the worker's answer for one log, as it comes."""
        token = request.match_info["token"]
        if not _TOKEN.fullmatch(token):
            raise APIError("ResourceNotFound", "No live log at that address")
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=False)
        timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_read=None)
        reply: web.StreamResponse | None = None
        with self.readers.hold():
            try:
                async with self._session.get(self.upstream + token, timeout=timeout) as upstream:
                    if upstream.status != 200:
                        raise APIError(
                            "ResourceNotFound",
                            "No live log at that address (the run may have ended)",
                        )
                    reply = web.StreamResponse(
                        headers={
                            "Content-Type": upstream.headers.get("Content-Type", "text/plain"),
                            "Cache-Control": "no-cache",
                            "X-Accel-Buffering": "no",
                        }
                    )
                    reply.enable_chunked_encoding()
                    await reply.prepare(request)
                    async for chunk in upstream.content.iter_any():
                        await reply.write(chunk)
            except (aiohttp.ClientError, OSError):
                if reply is None:
                    raise APIError(
                        "ResourceNotFound", "No live log at that address (no worker serves it)"
                    ) from None
                return reply  # the worker went away mid-stream: end here
            await reply.write_eof()
            return reply


async def serve_livelog(request: web.Request) -> web.StreamResponse:
    """The route handler: relay through the application's `LiveLogRelay`."""
    return await request.app[keys.LIVELOG_RELAY].relay(request)
