"""Running the sandbox: the aiohttp application, the background resolvers,
and `Sandbox`, which serves it from a thread for notebooks and tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from ..net import bound_socket, free_port
from ..timestamps import iso, now
from ..tutorial import tutorial_task_queue
from ..worker.worker import clear_previous_runs
from . import (
    api,
    blobs,
    dispatch,
    index_api,
    keys,
    object_api,
    object_blobs,
    reference,
    resolvers,
    status_watch,
    task_pages,
)
from .auth import Authenticator
from .builtin_workers import BuiltinWorkers
from .errors import APIError, error_response, internal_error
from .index_service import INDEX_CLIENT, IndexService
from .index_store import IndexStore
from .livelog_relay import RELAY_BASE, LiveLogRelay, serve_livelog
from .local_worker import CLIENT_ID as WORKER_CLIENT_ID
from .local_worker import WORKER_GROUP, WORKER_ID, LocalWorker, worker_scopes
from .queue import QueueService
from .settings import QueueSettings
from .store import ROOT_CLIENT_ID, Store


class RequestLog(AbstractAccessLogger):
    """One line per request on the `aiohttp.access` logger, when it is enabled
    at INFO: method, path (never the query, which may carry a bewit), status,
    seconds taken. Checked per request (aiohttp asks `enabled` once per
    connection), so turning the logger on counts keep-alive connections too."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            self.logger.info("%s %s %s %.3f", request.method, request.path, response.status, time)


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
        capacity: int | None = None,
        task_queues: list[str] | None = None,
        temporary: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.temporary = temporary  # the data directory goes when the sandbox does
        self.capacity = capacity
        self.task_queues = task_queues or [tutorial_task_queue()]
        self.worker: LocalWorker | None = None
        self.host, self.port = host, port
        self.settings = settings or QueueSettings()
        self.store: Store | None = None
        self.service: QueueService | None = None
        self._runner: web.AppRunner | None = None
        self._resolver: asyncio.Task | None = None
        self.builtin_workers: BuiltinWorkers | None = None

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
        clear_previous_runs(self.data_dir / "work")  # even with no worker of its own now
        try:
            sock = bound_socket(self.host, self.port)
        except OSError:
            self.store.close()
            raise
        self.port = sock.getsockname()[1]
        self.service = QueueService(self.store, self.settings, self.root_url)
        app = web.Application(
            client_max_size=self.settings.max_request_bytes, middlewares=[errors_as_json]
        )
        app[keys.SERVICE] = self.service
        app[keys.BLOBS] = self.service.blobs
        app[keys.AUTHENTICATOR] = Authenticator(self.store.client)
        app[keys.STARTED] = time.monotonic()
        self.livelog_port = free_port()  # the worker's live-log server, relayed
        self.relay = LiveLogRelay(self.livelog_port)
        app[keys.LIVELOG_RELAY] = self.relay
        app.router.add_get(LiveLogRelay.route, serve_livelog)
        dispatch.mount(app, api.TABLE, self.service)
        index_token = self.add_client(*INDEX_CLIENT)
        index = IndexService(IndexStore(self.store.db), self.service, index_token)
        dispatch.mount(app, index_api.TABLE, index)
        dispatch.mount(app, object_api.TABLE, self.service.objects)
        object_blobs.add_routes(app, self.service.objects)
        reference.add_routes(app.router)  # /references/<service>/v1/api.json
        app.router.add_put(blobs.BLOB_PREFIX + r"{tail:[\s\S]*}", blobs.put_blob)
        app.router.add_get(blobs.BLOB_PREFIX + r"{tail:[\s\S]*}", blobs.get_blob)
        task_pages.add_routes(app.router)  # the web UI's task pages
        self.status_watch = status_watch.mount(app, self.service.runs)  # the badges' long poll
        # handler_cancellation: a long poll (claimWork, a live log) ends as soon
        # as its client goes away.
        self._runner = web.AppRunner(
            app,
            access_log_class=RequestLog,
            handle_signals=False,
            shutdown_timeout=1,
            handler_cancellation=True,
        )
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self._resolver = asyncio.create_task(
            resolvers.resolve_forever(self.service.runs, self.settings)
        )
        self.builtin_workers = BuiltinWorkers(self.service.claims)
        self.builtin_workers.start()
        if self.capacity != 0:
            await self._start_worker()

    async def _start_worker(self) -> None:
        """Start `tc-notebook worker` on the task queues, as a client of a
        worker's scopes."""
        scopes = worker_scopes(self.task_queues, WORKER_GROUP, WORKER_ID)
        token = self.add_client(WORKER_CLIENT_ID, scopes)
        self.worker = LocalWorker(
            self.root_url,
            {"clientId": WORKER_CLIENT_ID, "accessToken": token},
            self.task_queues,
            self.data_dir / "work",
            self.data_dir / "worker.log",
            capacity=self.capacity,
            livelog_port=self.livelog_port,
            livelog_url=self.root_url + RELAY_BASE,
            remove_at_end=(self.data_dir,) if self.temporary else (),
        )
        await self.worker.start()

    async def stop(self) -> None:
        """Stop the worker (running tasks are reported worker-shutdown), then
        stop serving and close the data directory."""
        if self.builtin_workers:
            await self.builtin_workers.stop()
        if self.worker:
            self.service.claims.stop()
            await self.worker.stop()
        if self._resolver:
            self._resolver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._resolver
        if self._runner:
            await self._runner.cleanup()
            await self.relay.close()
        if self.store:
            self.store.close()

    def add_client(self, client_id: str, scopes: list[str]) -> str:
        """Create (or update the scopes of) a client; returns its accessToken."""
        existing = self.store.client(client_id)
        token = existing[0] if existing else secrets.token_urlsafe(33)
        self.store.set_client(client_id, list(scopes), token)
        return token


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

    The worker (`tc-notebook worker`, a child process) serves `task_queues`,
    by default the tutorial's (`tutorial_task_queue()`); tasks of other queues
    stay pending, as on a deployment with no worker pool for them.

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
                # closed here: left to the garbage collector at exit, it fails
                # on a descriptor already closed and prints a traceback
                self._loop.close()
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
