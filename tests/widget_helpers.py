"""What the widget tests share: creating tasks and running async test bodies."""

from __future__ import annotations

import asyncio

import slugid

from tc_notebook.connection import Connection
from tc_notebook.tutorial import tutorial_task
from tc_notebook.widgets import polling


def create(conn: Connection, script: str, **changes) -> str:
    """Create a tutorial-shaped task that runs `sh -c script`; returns its taskId."""
    task = tutorial_task()
    task["payload"]["command"] = ["/bin/sh", "-c", script]
    task.update(changes)
    task_id = slugid.nice()
    conn.queue.createTask(task_id, task)
    return task_id


async def until(predicate, timeout: float = 15.0) -> None:
    """Wait (without blocking the loop) until predicate() is true."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    while not predicate():
        assert loop.time() < give_up, "condition not reached in time"
        await asyncio.sleep(0.05)


def run(coroutine_function) -> None:
    """Run an async test body on a fresh loop, closing the widgets' session."""

    async def body():
        try:
            await coroutine_function()
        finally:
            await polling.close_session()

    asyncio.run(body())
