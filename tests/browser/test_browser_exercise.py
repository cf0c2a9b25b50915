"""An exercise check in a real browser: a plausible wrong answer to 01 (the
command mentions hello but prints it to /dev/null) is rejected in orange with
the reason, and a right one accepted in green."""

from __future__ import annotations

import sys

import nbformat
import pytest
from browser_helpers import KERNEL_CHECK, code_notebook, open_notebook, outputs, run_all, screenshot
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

NOTEBOOK = "browser-exercise.ipynb"
ORANGE, GREEN = "rgb(239, 108, 0)", "rgb(46, 125, 50)"  # the Verdict's colours

TASKS = """\
import slugid
from tc_notebook import connect
from tc_notebook.exercises import check_hello_task
from tc_notebook.tutorial import tutorial_task
from tc_notebook.widgets import StatusBadge

conn = connect()

def run(script):
    task = tutorial_task()
    task["payload"]["command"] = ["/bin/sh", "-c", script]
    task_id = slugid.nice()
    conn.queue.createTask(task_id, task)
    return task_id

wrong, right = run("echo hello world > /dev/null"), run("echo hello world")
for task_id in (wrong, right):
    await StatusBadge(conn, task_id).wait()
print("both resolved")"""

CELLS = (KERNEL_CHECK, TASKS, "check_hello_task(conn.queue, wrong)",
         "check_hello_task(conn.queue, right)")


def test_exercise_rejects_a_wrong_answer_and_accepts_a_right_one(lab, page):
    nbformat.write(code_notebook(*CELLS), lab.root_dir / NOTEBOOK)
    panel = open_notebook(page, lab, NOTEBOOK)
    run_all(page)
    expect(outputs(panel, 0)).to_contain_text(f"kernel prefix: {sys.prefix}", timeout=60_000)
    expect(outputs(panel, 1)).to_contain_text("both resolved", timeout=90_000)

    rejected = outputs(panel, 2).locator("div", has_text="✘").last
    expect(rejected).to_contain_text("Your task printed nothing", timeout=30_000)
    expect(rejected).to_contain_text("/dev/null")
    expect(rejected).to_have_css("color", ORANGE)
    accepted = outputs(panel, 3).locator("div", has_text="✔").last
    expect(accepted).to_contain_text("Right", timeout=30_000)
    expect(accepted).to_have_css("color", GREEN)
    screenshot(page, "07-exercise-verdicts", outputs(panel, 2))
