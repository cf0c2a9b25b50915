"""Running the sandbox: the aiohttp application, the background resolvers,
and `Sandbox`, which serves it from a thread for notebooks and tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from . import api, blobs, keys
from .auth import Authenticator
from .errors import APIError, error_response, internal_error
from .livelog import LIVELOG_PREFIX, LiveLogs, serve_livelog
from .queue import QueueService, QueueSettings
from .schemas import SchemaSet
from .store import ROOT_CLIENT_ID, Store, iso, now
from .worker import PENDING_QUEUES_PATH, Worker, clear_previous_runs

log = logging.getLogger(__name__)


def root_url_for(host: str, port: int) -> str:
    """The root URL clients use for a server bound to host:port."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class SandboxServer:
    """Queue API, blob store and resolvers on the running event loop."""

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: QueueSettings | None = None,
        output_schema_dir: Path | None = None,
        capacity: int | None = None,
        task_queues: list[str] | None = None,
        temporary: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.temporary = temporary  # the data directory goes when the sandbox does
        self.capacity, self.task_queues = capacity, task_queues
        self.livelogs = LiveLogs()
        self.worker: Worker | None = None
        self._worker_task: asyncio.Task | None = None
        self.host, self.port = host, port
        self.settings = settings or QueueSettings()
        self.output_schemas = SchemaSet(output_schema_dir) if output_schema_dir else None
        self.store: Store | None = None
        self.service: QueueService | None = None
        self._runner: web.AppRunner | None = None
        self._resolver: asyncio.Task | None = None

    @property
    def root_url(self) -> str:
        """`http://host:port` once started."""
        return root_url_for(self.host, self.port)

    @property
    def credentials(self) -> dict[str, str]:
        """The root client's credentials (scope `*`)."""
        return {"clientId": ROOT_CLIENT_ID, "accessToken": self.store.root_token}

    async def start(self) -> None:
        """Open the data directory, bind, and start serving."""
        self.store = Store(self.data_dir)
        clear_previous_runs(self.data_dir / "work")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            self.store.close()
            raise
        self.port = sock.getsockname()[1]
        self.service = QueueService(self.store, self.settings, self.root_url)
        app = web.Application(
            client_max_size=self.settings.max_request_bytes, middlewares=[errors_as_json]
        )
        app[keys.SERVICE] = self.service
        app[keys.AUTHENTICATOR] = Authenticator(self.store.client)
        app[keys.OUTPUT_SCHEMAS] = self.output_schemas
        app[keys.STARTED] = time.monotonic()
        # `[\s\S]*`, not `.*`: a path may hold a (percent-encoded) newline,
        # which must reach the handlers' own checks rather than a bare 404.
        app.router.add_route("*", api.API_PREFIX + r"/{tail:[\s\S]*}", api.dispatch)
        app.router.add_get(api.SCHEMA_PREFIX + r"{name:[\s\S]*}", api.serve_schema)
        app.router.add_put(blobs.BLOB_PREFIX + r"{tail:[\s\S]*}", blobs.put_blob)
        app.router.add_get(blobs.BLOB_PREFIX + r"{tail:[\s\S]*}", blobs.get_blob)
        app[keys.LIVELOGS] = self.livelogs
        app.router.add_get(LIVELOG_PREFIX + r"{tail:[\s\S]*}", serve_livelog)
        app.router.add_get(PENDING_QUEUES_PATH, pending_queues)
        # handler_cancellation: a long poll (claimWork, pending-queues, a live
        # log) ends as soon as its client goes away.
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1,
            handler_cancellation=True,
        )
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self._resolver = asyncio.create_task(self._resolve_forever())
        if self.capacity != 0:
            self.worker = Worker(
                self.root_url,
                self.credentials,
                self.livelogs,
                self.data_dir / "work",
                capacity=self.capacity,
                task_queues=self.task_queues,
                remove_at_end=(self.data_dir,) if self.temporary else (),
            )
            self._worker_task = asyncio.create_task(self.worker.run())

    async def _resolve_forever(self) -> None:
        while True:
            try:
                self.service.expire_claims()
                self.service.resolve_deadlines()
            except Exception:
                log.exception("resolver pass failed")
            await asyncio.sleep(self.settings.resolver_interval)

    async def stop(self) -> None:
        """Stop the worker (running tasks are reported worker-shutdown), then
        stop serving and close the data directory."""
        if self.worker:
            self.worker.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker_task
        if self._resolver:
            self._resolver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._resolver
        if self._runner:
            await self._runner.cleanup()
        if self.store:
            self.store.close()

    def add_client(self, client_id: str, scopes: list[str]) -> str:
        """Create (or update the scopes of) a client; returns its accessToken."""
        existing = self.store.client(client_id)
        token = existing[0] if existing else secrets.token_urlsafe(33)
        self.store.set_client(client_id, list(scopes), token)
        return token


async def pending_queues(request: web.Request) -> web.StreamResponse:
    """Sandbox-only long poll for the worker: `{taskQueueIds}` with pending work."""
    wanted = {q for q in request.query.get("taskQueueIds", "").split(",") if q}
    wait_text = request.query.get("wait", "20")
    if not re.fullmatch(r"[0-9]{1,2}(\.[0-9]{1,3})?", wait_text) or float(wait_text) > 60:
        raise APIError("InvalidRequestArguments", "wait must be a number of seconds from 0 to 60")
    service: QueueService = request.app[keys.SERVICE]
    queues = await service.wait_for_pending_queues(float(wait_text), wanted or None)
    return web.json_response({"taskQueueIds": queues})


# Codes for the errors aiohttp itself raises; a wrong method is a 404, as in
# Taskcluster's services, and any other 4xx a 400.
_CODE_BY_STATUS = {404: "ResourceNotFound", 405: "ResourceNotFound", 413: "InputTooLarge"}


@web.middleware
async def errors_as_json(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every error of every route in Taskcluster's format, and no traceback
    outside the log: the API's own errors are already shaped so."""
    moment = iso(now())
    try:
        return await handler(request)
    except APIError as error:
        return error_response(error, request.method, moment)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _CODE_BY_STATUS.get(exc.status, "InvalidRequestArguments")
        reason = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        error = APIError(code, "{{reason}}", reason=reason.strip())
        return error_response(error, request.method, moment)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        error = internal_error(f"{request.method} {request.path}")
        return error_response(error, request.method, moment)


class Sandbox:
    """A sandbox (queue and, unless `capacity=0`, a worker) served from a
    background thread with its own event loop.

    >>> with Sandbox() as sandbox:
    ...     queue = taskcluster.Queue(sandbox.client_options())
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: QueueSettings | None = None,
        output_schema_dir: str | Path | None = None,
        capacity: int | None = None,
        task_queues: list[str] | None = None,
    ) -> None:
        self._temporary = data_dir is None
        data_dir = Path(tempfile.mkdtemp(prefix="tc-sandbox-")) if data_dir is None else data_dir
        self.server = SandboxServer(
            Path(data_dir),
            host=host,
            port=port,
            settings=settings,
            output_schema_dir=output_schema_dir,
            capacity=capacity,
            task_queues=task_queues,
            temporary=self._temporary,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def data_dir(self) -> Path:
        """Where tasks, artifacts and credentials are kept."""
        return self.server.data_dir

    @property
    def root_url(self) -> str:
        """The root URL to give a Taskcluster client."""
        return self.server.root_url

    @property
    def credentials(self) -> dict[str, str]:
        """The root client's `{clientId, accessToken}`."""
        return self.server.credentials

    def client_options(self, credentials: bool = True) -> dict[str, Any]:
        """Options for `taskcluster.Queue(...)`, with root credentials unless told not to."""
        options: dict[str, Any] = {"rootUrl": self.root_url}
        if credentials:
            options["credentials"] = self.credentials
        return options

    def start(self) -> Sandbox:
        """Serve in a background thread; returns once the server answers."""
        ready: asyncio.Future = asyncio.Future(loop=asyncio.new_event_loop())
        self._loop = ready.get_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self.server.start())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                started.set()
                return
            started.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self.server.stop())
            leftovers = asyncio.all_tasks(self._loop)
            for task in leftovers:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="tc-sandbox", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]
        return self

    def call(self, function: Any, *args: Any) -> Any:
        """Run `function(*args)` on the server's loop and return its result."""

        async def run() -> Any:
            return function(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    def add_client(self, client_id: str, scopes: list[str]) -> str:
        """Create a client with the given scopes; returns its accessToken."""
        return self.call(self.server.add_client, client_id, scopes)

    def stop(self) -> None:
        """Stop serving; a temporary data directory is removed."""
        if self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        if self._temporary:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
