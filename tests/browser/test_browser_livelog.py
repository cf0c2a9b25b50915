"""A LiveLog in a real browser: lines of a running task appear in the page
before the task ends."""

from __future__ import annotations

import re

import pytest
from browser_helpers import (
    LIVELOG_NOTEBOOK,
    TICKS,
    expect_completed_chip,
    outputs,
    run_notebook,
    screenshot,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


NEWEST_LINE_SHOWN = """(pre, line) => {
  const box = pre.parentElement;
  const text = pre.firstChild;
  const at = text.data.lastIndexOf(line);
  const range = document.createRange();
  range.setStart(text, at);
  range.setEnd(text, at + line.length);
  const shown = range.getBoundingClientRect(), frame = box.getBoundingClientRect();
  return {
    overflows: box.scrollHeight > box.clientHeight,
    shown: shown.top >= frame.top - 1 && shown.bottom <= frame.bottom + 1,
  };
}"""


def _ticks(text: str) -> int:
    return len(re.findall(rf"^tick \d+ of {TICKS}$", text, re.MULTILINE))


def test_live_log_shows_lines_while_the_task_runs(lab, page, sandbox_process):
    panel = run_notebook(page, lab, LIVELOG_NOTEBOOK)
    output = outputs(panel, 1)
    expect(output).to_contain_text(re.compile(r"task id: \S+"), timeout=60_000)
    task_id = re.search(r"task id: (\S+)", output.inner_text()).group(1)
    queue = sandbox_process.queue()

    log = output.locator(".widget-html pre")  # the LiveLog's body
    expect(log).to_contain_text(f"tick 3 of {TICKS}", timeout=60_000)
    first_seen = _ticks(log.inner_text())
    assert queue.status(task_id)["status"]["state"] == "running"
    assert first_seen < TICKS
    screenshot(page, "04-live-log-streaming", log, block="end")

    # More lines keep arriving, still before the task ends.
    expect(log).to_contain_text(f"tick {first_seen + 5} of {TICKS}", timeout=30_000)
    assert queue.status(task_id)["status"]["state"] == "running"

    expect(log).to_contain_text(f"tick {TICKS} of {TICKS}", timeout=60_000)
    expect_completed_chip(output.locator(".tc-badge"))
    expect(output).to_contain_text("final", timeout=30_000)  # the LiveLog's phase
    assert _ticks(log.inner_text()) == TICKS
    # "follow": the log overflows its box, and the box shows the newest line.
    seen = log.evaluate(NEWEST_LINE_SHOWN, f"tick {TICKS} of {TICKS}")
    assert seen == {"overflows": True, "shown": True}, seen
    screenshot(page, "04-live-log-final", log, block="end")
