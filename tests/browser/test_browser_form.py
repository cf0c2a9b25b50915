"""A TaskForm in a real browser: an invalid value shows its error inline and
disables Create; once fixed, Create makes the task and its TaskView follows
it to COMPLETED."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from browser_helpers import (
    FORM_NOTEBOOK,
    click_and_fetch,
    expect_completed_chip,
    field,
    field_error,
    open_notebook,
    outputs,
    run_all,
    screenshot,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_task_form_errors_then_create(lab, page):
    panel = open_notebook(page, lab, FORM_NOTEBOOK)
    run_all(page)
    expect(outputs(panel, 0)).to_contain_text(f"kernel prefix: {sys.prefix}", timeout=60_000)
    expect(outputs(panel, 0)).to_contain_text("tc_notebook from:")

    create = page.get_by_role("button", name="Create task")
    expect(create).to_be_enabled(timeout=60_000)  # the tutorial's task, once the schema is in

    max_run_time, max_run_time_error = (
        field(page, "maxRunTime (s)"),
        field_error(page, "maxRunTime (s)"),
    )
    queue, queue_error = field(page, "Task queue"), field_error(page, "Task queue")
    expect(max_run_time).to_have_value("600")
    expect(max_run_time_error).to_be_hidden()

    max_run_time.fill("-1")
    expect(max_run_time_error).to_be_visible()
    expect(max_run_time_error).to_contain_text("maxRunTime must be a positive")
    expect(create).to_be_disabled()

    queue.fill("no-slash-here")
    expect(queue_error).to_be_visible()
    expect(queue_error).to_contain_text("<provisionerId>/<workerType>")
    expect(create).to_be_disabled()
    screenshot(page, "03-task-form-invalid-values-create-disabled", max_run_time)

    max_run_time.fill("600")
    expect(max_run_time_error).to_be_hidden()
    expect(create).to_be_disabled()  # the task queue is still wrong
    queue.fill("aws-provisioner-v1/tutorial")
    expect(queue_error).to_be_hidden()
    expect(create).to_be_enabled()

    create.click()
    chip = page.locator(".tc-badge").first
    expect_completed_chip(chip)
    expect(page.locator(".tc-view-message, .tc-queue-error")).to_have_count(0)
    # The TaskView's artifact tab: its links work too.
    passwd = page.locator(".tc-artifacts").get_by_role("link", name="public/passwd.txt", exact=True)
    expect(passwd).to_be_visible(timeout=30_000)
    assert click_and_fetch(page, passwd).body == Path("/etc/passwd").read_bytes()
    screenshot(page, "03-task-form-created-taskview-completed", chip, block="start")
