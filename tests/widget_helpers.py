"""What the widget tests share: creating tasks, running async test bodies, and
`until` (helpers' wait for a condition, on the event loop)."""

from __future__ import annotations

import asyncio

import slugid
from helpers import until

from tc_notebook.connection import Connection
from tc_notebook.tutorial import tutorial_task
from tc_notebook.widgets import polling

__all__ = ["create", "run", "until"]


def create(conn: Connection, script: str, **changes) -> str:
    """Create a tutorial-shaped task that runs `sh -c script`; returns its taskId."""
    task = tutorial_task()
    task["payload"]["command"] = ["/bin/sh", "-c", script]
    task.update(changes)
    task_id = slugid.nice()
    conn.queue.createTask(task_id, task)
    return task_id


def run(coroutine_function) -> None:
    """Run an async test body on a fresh loop, closing the widgets' session."""

    async def body():
        try:
            await coroutine_function()
        finally:
            await polling.close_session()

    asyncio.run(body())
