"""Notebook 04's static export (`jupyter nbconvert --to html --execute`, the
default command) opened from a file:// URL in Chromium with the network off:
every http(s) request is refused, and recorded. A person sees the badge
COMPLETED in green, the counting task's last lines in the live log, and a
public/passwd.txt link whose address is absolute, on the sandbox's loopback
port (a relative `/proxy/…` would become `file:///proxy/…` here).

The export is the one tests/test_static_export.py checks (one run per session).
"""

from __future__ import annotations

import pytest
from browser_helpers import SCREENSHOTS, expect_completed_chip, screenshot
from playwright.sync_api import expect
from static_exports import artifact_name, task_lines

pytestmark = pytest.mark.browser
NOTEBOOK = "04-download-task-artifacts"
LOG_END_SHOWN = """pre => {
  const box = pre.parentElement.getBoundingClientRect(), end = pre.getBoundingClientRect().bottom;
  return end > box.top && end <= box.bottom + 1;
}"""


@pytest.fixture
def offline(context) -> list[str]:
    """The test's browser context with every http(s) request refused: the URLs asked for."""
    refused: list[str] = []

    def refuse(route) -> None:
        refused.append(route.request.url)
        route.abort()

    context.route(lambda url: url.startswith(("http://", "https://")), refuse)
    return refused


def code_cell(page, snippet: str):
    """The exported page's code cell whose source shows `snippet`."""
    cell = page.locator(".jp-CodeCell").filter(has_text=snippet)
    expect(cell).to_have_count(1)
    return cell


def test_04_static_export_offline_shows_the_final_state(exports, context, offline):
    exported = exports[NOTEBOOK]
    assert exported.returncode == 0, exported.failure()
    root = exported.page.sandbox_root()
    page = context.new_page()
    page.goto(exported.html_path.as_uri(), wait_until="load")

    chip = code_cell(page, "badge = StatusBadge(conn, task_id)").locator(
        ".jp-OutputArea-output .tc-badge"
    )
    expect(chip).to_be_visible()
    expect_completed_chip(chip, timeout=5_000)

    log = code_cell(page, "live = LiveLog(conn, counter_id)").locator(".jp-OutputArea-output pre")
    expect(log).to_be_visible()
    text = log.inner_text()
    assert task_lines(text)[-3:] == ["6", "7", "8"], text  # counting_task(8)
    # The log's end (its last lines) is inside the scroll box's visible part.
    assert log.evaluate(LOG_END_SHOWN), "the log box shows its first lines, not its last"

    link = code_cell(page, 'display(conn.link(url, "public/passwd.txt"').get_by_role(
        "link", name="public/passwd.txt"
    )
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    resolved = link.evaluate("a => a.href")  # what a click opens, resolved against file://
    assert resolved.startswith(root + "/"), (href, resolved, root)
    assert artifact_name(resolved, root) == "public/passwd.txt", resolved

    for name, target in (("badge", chip), ("live-log", log)):
        shot = screenshot(page, f"static-export-04-offline-{name}", target)
        assert shot.is_file() and shot.stat().st_size > 0
    (SCREENSHOTS / "static-export-04-offline-refused.txt").write_text("\n".join(offline) + "\n")
    asked = [url for url in offline if url.startswith(root)]
    assert not asked, f"the saved page needs the sandbox to show itself: {asked}"
