"""The sandbox's task page in a browser that reaches only the Jupyter server,
as on Binder: the tutorial's "Inspect it at:" link, as notebook 03 shows it,
opens the page through jupyter-server-proxy; its artifact link downloads the
artifact, its group link lists the task, and every request keeps the proxy
prefix. A running task's page streams its live log the same way."""

from __future__ import annotations

import pytest
from binder_helpers import BURST, block_port, create_gated_task
from browser_helpers import (
    expect_completed_chip,
    run_cells,
    screenshot,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

NOTEBOOK = "browser-task-page.ipynb"
# Notebook 03's lines: create the tutorial's task, then say where to inspect it.
INSPECT = """\
import slugid
from tc_notebook import connect
from tc_notebook.tutorial import tutorial_task

conn = connect()
task_id = slugid.nice()
conn.queue.createTask(task_id, tutorial_task())
print("Inspect it at:")
conn.link(f"{conn.root_url}/tasks/{task_id}")"""
DARK_BACKGROUND = "rgb(27, 29, 32)"  # the page's own dark scheme


def test_task_page_through_jupyter_server_proxy_only(binder_lab, page, sandbox_process):
    lab = binder_lab
    blocked = block_port(page, sandbox_process.port)
    panel = run_cells(page, lab, NOTEBOOK, INSPECT)
    output = panel.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea")
    expect(output).to_contain_text("Inspect it at:", timeout=60_000)
    link = output.locator("a[href*='/tasks/']")
    href = link.get_attribute("href")
    assert href.startswith(lab.proxy_prefix + "tasks/"), href
    task_id = href.rsplit("/", 1)[1]

    with page.context.expect_page() as opened:
        link.click()
    window = opened.value
    expect_completed_chip(window.locator("h1 .tc-badge"))  # the page refreshes itself
    expect(window.locator("pre.log")).to_contain_text("/usr")  # `du /usr` in the log
    assert window.url.startswith(lab.origin + lab.proxy_prefix + "tasks/"), window.url
    screenshot(window, "task-page-01-completed")

    window.locator("a.artifact", has_text="public/passwd.txt").click()
    expect(window.locator("body")).to_contain_text("root:", timeout=30_000)
    # an object artifact: the queue's 303 leads to the object's signed URL, proxied too
    assert window.url.startswith(lab.origin + lab.proxy_prefix + "sandbox/objects/"), window.url
    window.go_back()

    window.locator("nav a.group").click()
    expect(window.locator("h1")).to_have_text(task_id)
    task_link = window.locator("a.task", has_text="Tutorial: list files and publish /etc/passwd")
    expect(task_link).to_have_attribute("href", f"../../tasks/{task_id}")
    assert window.url == f"{lab.origin}{lab.proxy_prefix}tasks/groups/{task_id}", window.url
    window.emulate_media(color_scheme="dark")
    expect(window.locator("body")).to_have_css("background-color", DARK_BACKGROUND)
    screenshot(window, "task-page-02-group-dark")
    task_link.click()
    expect(window.locator("h1 .tc-badge")).to_have_text("COMPLETED")
    assert blocked == []  # nothing tried the sandbox's port directly


def test_running_task_page_streams_its_live_log_through_the_proxy(
    binder_lab, page, sandbox_process, gate
):
    """While the task runs, its page streams the live log through
    jupyter-server-proxy (its script asks for an event stream); once the log
    ends, the page reloads and shows the task resolved."""
    lab = binder_lab
    blocked = block_port(page, sandbox_process.port)
    page.goto(f"{lab.url}lab?token={lab.token}")  # the login cookie, for the proxy
    queue = sandbox_process.queue()
    task_id = create_gated_task(queue, gate)
    chip, log = page.locator("h1 .tc-badge"), page.locator("pre.log")
    try:
        page.goto(f"{lab.origin}{lab.proxy_prefix}tasks/{task_id}")
        expect(log).to_contain_text(BURST, timeout=60_000)  # pending pages reload until then
        expect(chip).to_have_text("RUNNING")
        assert queue.status(task_id)["status"]["state"] == "running"
        screenshot(page, "task-page-03-running-live-log", log)
    finally:
        gate.open()
    expect_completed_chip(chip)
    expect(log).to_contain_text(BURST)  # now the whole log, from live_backing.log
    assert page.locator("pre[data-live]").count() == 0
    assert blocked == []
