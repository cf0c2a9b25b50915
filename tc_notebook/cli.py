"""The `tc-notebook` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import sys
from pathlib import Path

import taskcluster

from . import replay
from .lab import LabError, run_lab
from .sandbox import QueueSettings, SandboxServer
from .sandbox.store import DataDirInUse
from .tutorial import TUTORIAL_TASK_QUEUE
from .worker import Worker, WorkerSettings
from .worker.worker import ClaimRefused, WorkDirInUse


def default_data_dir(kind: str = "sandbox") -> Path:
    """`$XDG_DATA_HOME/tc-notebook/<kind>` (or under ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "tc-notebook" / kind


# Short claims, so that tasks of a sandbox that died are retried soon after
# it restarts; the worker reclaims well before they run out.
SANDBOX_CLAIM_TIMEOUT = 30.0


def _client_spec(text: str) -> tuple[str, list[str]]:
    client_id, sep, scopes = text.partition("=")
    if not sep or not client_id:
        raise argparse.ArgumentTypeError("expected CLIENT_ID=SCOPE[,SCOPE...]")
    return client_id, [s for s in scopes.split(",") if s]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tc-notebook", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    sandbox = commands.add_parser("sandbox", help="serve the embedded Taskcluster queue")
    sandbox.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; others are exposed)",
    )
    sandbox.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    sandbox.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"where state is kept (default {default_data_dir()})",
    )
    sandbox.add_argument(
        "--env-file", type=Path, help="write TASKCLUSTER_* KEY=VALUE lines here once serving"
    )
    sandbox.add_argument(
        "--client",
        type=_client_spec,
        action="append",
        default=[],
        metavar="ID=SCOPES",
        help="add a client with comma-separated scopes; scopes restrict API calls, not what"
        " a task's command can read: unless the sandbox runs as root (tasks then run as"
        " nobody), tasks run as its user and can read its data directory and root token",
    )
    sandbox.add_argument(
        "--claim-timeout",
        type=float,
        default=SANDBOX_CLAIM_TIMEOUT,
        help="seconds a claim lasts before it expires (Taskcluster: 1200)",
    )
    sandbox.add_argument(
        "--capacity",
        type=int,
        default=None,
        help="tasks run at once (default: CPU count; 0: no worker)",
    )
    sandbox.add_argument(
        "--task-queue",
        action="append",
        dest="task_queues",
        metavar="ID",
        help="a task queue the sandbox's worker serves (repeatable; default: the"
        f" tutorial's, {TUTORIAL_TASK_QUEUE}, or $TC_NOTEBOOK_TASK_QUEUE)",
    )
    sandbox.add_argument(
        "--deadline-delay",
        type=float,
        default=QueueSettings.deadline_delay,
        help="seconds after a deadline before the task is resolved",
    )
    sandbox.add_argument(
        "--log-requests",
        action="store_true",
        help="log one line per HTTP request (method, path, status, seconds) besides the"
        " tasks' transitions; off by default, as it costs the queue time on every request",
    )
    _add_worker_parser(commands)
    replay = commands.add_parser(
        "replay", help="create the tutorial's task, wait, and print its artifacts"
    )
    replay.add_argument(
        "--task-queue",
        default=TUTORIAL_TASK_QUEUE,
        help=f"task queue to use (default {TUTORIAL_TASK_QUEUE})",
    )
    lab = commands.add_parser("lab", help="open the tutorial notebooks in JupyterLab, on a sandbox")
    lab.add_argument(
        "--port",
        type=int,
        default=None,
        help="JupyterLab's port (default 8888, or a free one when 8888 is taken; 0: any)",
    )
    lab.add_argument(
        "--data-dir", type=Path, default=None, help=f"sandbox state (default {default_data_dir()})"
    )
    lab.add_argument(
        "--notebook-dir",
        type=Path,
        default=None,
        help="folder to open (default ./notebooks in a clone, else a copy of the"
        " tutorial in ./tc-notebook-tutorial)",
    )
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    return parser


def _host_worker_id() -> str:
    """This machine's name as a workerId (letters, digits, - and _; at most 38)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:38] or "local"


def _add_worker_parser(commands: argparse._SubParsersAction) -> None:
    worker = commands.add_parser(
        "worker",
        help="serve task queues of any Taskcluster deployment (TASKCLUSTER_* variables)",
        description="A Taskcluster worker running tasks as local processes. It reads"
        " TASKCLUSTER_ROOT_URL, TASKCLUSTER_CLIENT_ID and TASKCLUSTER_ACCESS_TOKEN and"
        " needs the scopes queue:claim-work:<each task queue> and"
        " queue:worker-id:<worker group>/<worker id>. SIGTERM or Ctrl-C stops it; running"
        " tasks are reported worker-shutdown, so the queue retries them.",
    )
    worker.add_argument(
        "--task-queue",
        action="append",
        dest="task_queues",
        required=True,
        metavar="PROV/TYPE",
        help="a task queue to claim work from (repeatable)",
    )
    worker.add_argument("--worker-group", default="tc-notebook", help="default tc-notebook")
    worker.add_argument(
        "--worker-id", default=_host_worker_id(), help="default this machine's name"
    )
    worker.add_argument(
        "--capacity", type=int, default=os.cpu_count() or 1, help="tasks run at once"
        " (default: CPU count)"
    )
    worker.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help=f"where runs' files and logs are kept (default {default_data_dir('worker')})",
    )
    worker.add_argument(
        "--artifacts",
        choices=("auto", "s3", "object"),
        default="auto",
        help="how artifacts are stored (default auto: object when the deployment has an"
        " object service, else s3)",
    )
    worker.add_argument(
        "--livelog-host", default="127.0.0.1", help="address the live logs are served on"
    )
    worker.add_argument("--livelog-port", type=int, default=0, help="0 picks a free one")
    worker.add_argument(
        "--livelog-url",
        default=None,
        help="base URL readers reach the live-log server by (default http://HOST:PORT)",
    )
    worker.add_argument(
        "--remove-at-end",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="remove DIR once the worker and its tasks are gone (a temporary sandbox's data)",
    )


def _env_lines(server: SandboxServer) -> list[tuple[str, str]]:
    return [
        ("TASKCLUSTER_ROOT_URL", server.root_url),
        ("TASKCLUSTER_CLIENT_ID", server.credentials["clientId"]),
        ("TASKCLUSTER_ACCESS_TOKEN", server.credentials["accessToken"]),
    ]


def log_transition(event: str, status: dict) -> None:
    """One line per run change; a retry also logs how the run before it ended."""
    log = logging.getLogger("tc_notebook.transitions")
    runs = status["runs"]
    shown = runs[-2:] if event == "task-retried" else runs[-1:]
    if not shown:
        log.info("task %s %s", status["taskId"], status["state"])
    for run in shown:
        reason = run.get("reasonResolved") or run.get("reasonCreated")
        log.info("task %s run %s %s (%s)", status["taskId"], run["runId"], run["state"], reason)


def write_env_file(path: Path, pairs: list[tuple[str, str]]) -> None:
    """Write KEY=VALUE lines atomically, readable by the owner only."""
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.writelines(f"{key}={value}\n" for key, value in pairs)
    os.replace(partial, path)


async def _serve_sandbox(args: argparse.Namespace) -> int:
    requests_level = logging.INFO if args.log_requests else logging.WARNING
    logging.getLogger("aiohttp.access").setLevel(requests_level)
    settings = QueueSettings(claim_timeout=args.claim_timeout, deadline_delay=args.deadline_delay)
    server = SandboxServer(
        args.data_dir or default_data_dir(),
        host=args.host,
        port=args.port,
        settings=settings,
        capacity=args.capacity,
        task_queues=args.task_queues,
    )
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving on {args.host}: other machines can reach this sandbox",
            file=sys.stderr,
        )
    await server.start()
    server.service.transition_listeners.append(log_transition)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        for client_id, scopes in args.client:
            token = server.add_client(client_id, scopes)
            print(f"# client {client_id}: accessToken {token}")
        pairs = _env_lines(server)
        for key, value in pairs:
            print(f"export {key}={value}")
        print(f"# data directory: {server.data_dir}", flush=True)
        if args.env_file:
            write_env_file(args.env_file, pairs)
        await stop.wait()
    finally:
        await server.stop()
    return 0


async def _serve_worker(args: argparse.Namespace) -> int:
    options = taskcluster.optionsFromEnvironment()
    if not options.get("rootUrl"):
        raise UsageError("set TASKCLUSTER_ROOT_URL (and the client's id and access token)")
    credentials = options.get("credentials") or None
    settings = WorkerSettings(
        task_queues=args.task_queues,
        work_dir=args.work_dir or default_data_dir("worker"),
        worker_group=args.worker_group,
        worker_id=args.worker_id,
        capacity=args.capacity,
        artifact_storage=args.artifacts,
        livelog_host=args.livelog_host,
        livelog_port=args.livelog_port,
        livelog_url=args.livelog_url,
        remove_at_end=tuple(args.remove_at_end),
    )
    try:
        worker = Worker(options["rootUrl"], credentials, settings)
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, worker.stop)
    with contextlib.suppress(asyncio.CancelledError):
        await worker.run()
    return 0


class UsageError(Exception):
    """A command's arguments or environment do not allow it to start."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of `tc-notebook`."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        return _run(args)
    except DataDirInUse as exc:
        print(
            f"tc-notebook: {exc} (is another tc-notebook running?); stop it,"
            " or pass --data-dir to use another folder",
            file=sys.stderr,
        )
    except ClaimRefused as exc:
        print(f"tc-notebook worker: {exc}", file=sys.stderr)
    except WorkDirInUse as exc:
        print(f"tc-notebook: {exc}; stop it, or pass --work-dir", file=sys.stderr)
    except (LabError, UsageError) as exc:
        print(f"tc-notebook: {exc}", file=sys.stderr)
    return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "sandbox":
        return asyncio.run(_serve_sandbox(args))
    if args.command == "worker":
        return asyncio.run(_serve_worker(args))
    if args.command == "replay":
        return replay.main(args.task_queue)
    if args.command == "lab":
        return run_lab(
            args.data_dir or default_data_dir(),
            args.notebook_dir,
            args.port,
            not args.no_browser,
            SANDBOX_CLAIM_TIMEOUT,
        )
    return 2
