"""The baselines' server: a bare aiohttp application, in a child process on
loopback, as a sandbox runs. It serves one folder as static files (sendfile,
as a plain file server would) under /files/, and answers
`GET /api/queue/v1/task/<taskId>/status` with a fixed JSON document, with no
authentication, database or checks.

`bare_server(static_dir, status)` starts it and yields its base URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiohttp import web


def application(static_dir: str, status: dict[str, Any]) -> web.Application:
    """The bare application."""

    async def task_status(_request: web.Request) -> web.Response:
        return web.json_response(status)

    app = web.Application()
    app.router.add_get("/api/queue/v1/task/{taskId}/status", task_status)
    app.router.add_static("/files/", static_dir)
    return app


@contextlib.contextmanager
def bare_server(static_dir: Path, status: dict[str, Any]) -> Iterator[str]:
    """Run the bare server in a child process; yields `http://127.0.0.1:<port>`."""
    with tempfile.TemporaryDirectory(prefix="tc-bench-bare-") as folder:
        status_file = Path(folder) / "status.json"
        status_file.write_text(json.dumps(status))
        port_file = Path(folder) / "port"
        command = [sys.executable, __file__, str(static_dir), str(status_file), str(port_file)]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        try:
            give_up = time.monotonic() + 30
            while not port_file.exists() or not port_file.read_text().strip():
                if process.poll() is not None or time.monotonic() > give_up:
                    raise RuntimeError("the bare server did not start")
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port_file.read_text().strip()}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def serve(static_dir: str, status_file: str, port_file: str) -> None:
    """Serve until terminated; the chosen port is written to `port_file`."""
    status = json.loads(Path(status_file).read_text())

    async def run() -> None:
        runner = web.AppRunner(application(static_dir, status), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        written = Path(port_file + ".tmp")
        written.write_text(str(runner.addresses[0][1]))
        written.rename(port_file)
        await asyncio.Event().wait()  # until SIGTERM ends the process

    asyncio.run(run())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the baselines' bare server")
    parser.add_argument("static_dir")
    parser.add_argument("status_file")
    parser.add_argument("port_file")
    arguments = parser.parse_args()
    serve(arguments.static_dir, arguments.status_file, arguments.port_file)
