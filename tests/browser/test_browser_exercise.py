"""An exercise check in a real browser: a plausible wrong answer to 01 (the
command mentions hello but prints it to /dev/null) is rejected in the theme's
warning colour with the reason, and a right one accepted in its success colour."""

from __future__ import annotations

import pytest
from browser_helpers import CREATE, outputs, run_cells, screenshot, theme_colour
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

NOTEBOOK = "browser-exercise.ipynb"

TASKS = CREATE + """
from tc_notebook.exercises import check_hello_task
from tc_notebook.widgets import StatusBadge

wrong, right = create("echo hello world > /dev/null"), create("echo hello world")
for task_id in (wrong, right):
    await StatusBadge(conn, task_id).wait()
print("both resolved")"""

CELLS = (TASKS, "check_hello_task(conn.queue, wrong)", "check_hello_task(conn.queue, right)")


def test_exercise_rejects_a_wrong_answer_and_accepts_a_right_one(lab, page):
    panel = run_cells(page, lab, NOTEBOOK, *CELLS)
    expect(outputs(panel, 1)).to_contain_text("both resolved", timeout=90_000)

    rejected = outputs(panel, 2).locator("div", has_text="✘").last
    expect(rejected).to_contain_text("Your task printed nothing", timeout=30_000)
    expect(rejected).to_contain_text("/dev/null")
    expect(rejected).to_have_css("color", theme_colour(page, "--jp-warn-color1"))
    accepted = outputs(panel, 3).locator("div", has_text="✔").last
    expect(accepted).to_contain_text("Right", timeout=30_000)
    expect(accepted).to_have_css("color", theme_colour(page, "--jp-success-color1"))
    screenshot(page, "07-exercise-verdicts", outputs(panel, 2))
