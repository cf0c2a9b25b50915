"""What the browser tests that act as Binder does share: a browser that
reaches only the Jupyter server (the sandbox's port blocked), and a task that
prints a line and then waits for a gate, to be watched while it runs."""

from __future__ import annotations

import re

import slugid
import taskcluster
from playwright.sync_api import Page

from tc_notebook.tutorial import tutorial_task

BURST = "burst 42"  # what the gated task prints (its command says `$((6 * 7))`)


def create_gated_task(queue: taskcluster.Queue, gate) -> str:
    """Create the tutorial's task printing BURST, then waiting for `gate` to
    open (tests/conftest.py `Gate`); its taskId."""
    task = tutorial_task()
    task["payload"]["command"] = ["/bin/sh", "-c", gate.wait('echo "burst $((6 * 7))"')]
    task_id = slugid.nice()
    queue.createTask(task_id, task)
    return task_id


def block_port(page: Page, port: int) -> list[str]:
    """Make the page's context fail every request to `port` on loopback, as a
    browser on Binder that reaches only the Jupyter server; returns the list
    that the refused URLs are added to."""
    direct = re.compile(rf"^https?://(127\.0\.0\.1|localhost|\[::1\]):{port}(/|$)")
    blocked: list[str] = []

    def refuse(route) -> None:
        blocked.append(route.request.url)
        route.abort("connectionrefused")

    page.context.route(direct, refuse)
    return blocked
