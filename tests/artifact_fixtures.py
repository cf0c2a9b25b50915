"""What the ArtifactList tests share: a sandbox with a worker, a resolved task
with 20 artifacts, running widgets on a fresh loop, and simulated browser clicks
(the messages the table's JavaScript sends).

The fixtures are bound by name in each test module (see test_widget_artifacts.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.parse
from collections.abc import Callable, Coroutine
from typing import Any

import ipywidgets
import pytest
import slugid
from helpers import until, wait_until

from tc_notebook.connection import Connection
from tc_notebook.sandbox import Sandbox
from tc_notebook.terms import RESOLVED
from tc_notebook.tutorial import tutorial_task
from tc_notebook.widgets import polling
from tc_notebook.widgets.artifact_table import ArtifactTable

# A 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
COMMAND = (
    "mkdir -p out; for i in $(seq 1 12); do echo $i > out/f$i.txt; done; "
    """echo '{"a": 1}' > out/x.json; """
    f"echo {base64.b64encode(PNG).decode()} | base64 -d > out/dot.png; "
    "head -c 200000 /dev/zero | tr '\\0' a > out/big.txt"
)


# -- running widgets ------------------------------------------------------------------------


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a test coroutine on a fresh loop, closing the widgets' session after."""

    async def main() -> Any:
        try:
            return await coroutine
        finally:
            await polling.close_session()

    return asyncio.run(main())


def resolved(conn: Connection, task_id: str, run_id: int = 0) -> Callable[[], bool]:
    def check() -> bool:
        runs = conn.queue.status(task_id)["status"]["runs"]
        return len(runs) > run_id and runs[run_id]["state"] in RESOLVED

    return check


@pytest.fixture(scope="module")
def artifact_sandbox():
    """A sandbox of the module's own, with a worker (two tasks at a time)."""
    sb = Sandbox(capacity=2).start()
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def conn(artifact_sandbox) -> Connection:
    """A connection to it with root credentials."""
    return Connection(artifact_sandbox.root_url, artifact_sandbox.credentials, artifact_sandbox)


@pytest.fixture(scope="module")
def tasks(conn) -> dict[str, str]:
    """A resolved task with 20 artifacts (one an error artifact), and a second one
    (the plain tutorial task) for the rerun test."""
    task = tutorial_task()
    task["payload"]["command"] = ["/bin/bash", "-c", COMMAND]
    task["payload"]["artifacts"].update(
        {
            "public/out": {"type": "directory", "path": "out"},
            "private/secret.txt": {"type": "file", "path": "/etc/hostname"},
            "public/missing.txt": {"type": "file", "path": "nowhere.txt"},
        }
    )
    main, rerun = slugid.nice(), slugid.nice()
    conn.queue.createTask(main, task)
    conn.queue.createTask(rerun, tutorial_task())
    wait_until(resolved(conn, main), message="the artifacts task")
    wait_until(resolved(conn, rerun), message="the rerun task")
    return {"main": main, "rerun": rerun}


@pytest.fixture
def task_id(tasks) -> str:
    """The task with 20 artifacts."""
    return tasks["main"]


def synced_state(widget: ipywidgets.Widget) -> str:
    """Every synced trait of the widget and its descendants, as JSON text."""
    seen: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, ipywidgets.Widget):
            state = value.get_state()
            seen.append(state)
            for item in state.values():
                walk(item)
            for trait in value.keys:
                walk(getattr(value, trait))
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(widget)
    return json.dumps(seen, default=repr)


def click_private_link(table: ArtifactTable, name: str, run_id: int | None = None) -> dict:
    """A click on a private link: the `_sign` command as anywidget's front end
    sends it. Returns the kernel's answer ({url} or {error})."""
    replies: list[tuple[dict[str, Any], Any]] = []
    table.send = lambda content, buffers=None: replies.append((content, buffers))
    command = {"name": name, "runId": run_id}
    try:
        table._handle_custom_msg(
            {"kind": "anywidget-command", "id": "click-1", "name": "_sign", "msg": command}, []
        )
    finally:
        del table.send
    [(reply, buffers)] = replies
    assert reply["kind"] == "anywidget-command-response" and reply["id"] == "click-1"
    assert not buffers
    return reply["response"]


async def requested_after(conn: Connection, task_id: str, count: Any) -> list[str]:
    """The requests for the task that `count` saw, once the sandbox has logged
    one made now (the task's definition, which the widget never asks for)."""
    await conn.aio_queue(polling.session()).task(task_id)
    await until(lambda: any(p.endswith(f"/task/{task_id}") for p in count.paths))
    return [p for p in count.paths if not p.endswith(f"/task/{task_id}")]


def bewit_expiry(url: str) -> int:
    bewit = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["bewit"][0]
    decoded = base64.urlsafe_b64decode(bewit + "=" * (-len(bewit) % 4)).decode()
    return int(decoded.split("\\")[1])


def visible(widget: ipywidgets.Widget) -> bool:
    return widget.layout.display != "none"


def descendants(widget: ipywidgets.Widget) -> list[ipywidgets.Widget]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += descendants(child)
    return found
