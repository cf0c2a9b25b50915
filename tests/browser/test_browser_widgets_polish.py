"""The widgets' details in a real browser: artifact links open a new
tab as in the Taskcluster web UI (never a download), downloads are a row's
explicit action that says where the file went and offers it to the browser,
and two StatusBadges in an HBox show both chips side by side."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import (
    CREATE,
    LINKS_LIST,
    LINKS_TASK,
    assert_received,
    click_and_fetch,
    expect_completed_chip,
    listed_link,
    outputs,
    run_cells,
    screenshot,
    starting,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

NOTEBOOK = "browser-widgets-polish.ipynb"
RED = "rgb(198, 40, 40)"  # STATE_COLOURS["failed"], #c62828

BADGES = CREATE + """
import ipywidgets as widgets
from tc_notebook.widgets import StatusBadge

badges = [StatusBadge(conn, create(script)) for script in ("exit 1", "true")]
widgets.HBox(badges)  # not shown by themselves: each badge's view says when it is on the page"""

# Cells (after the kernel check): two badges in an HBox, a task with a private
# artifact and its badge, that task's ArtifactList.
CELLS = (BADGES, LINKS_TASK, LINKS_LIST)


@pytest.fixture(scope="module")
def notebook_page(module_context, lab):
    """The module's notebook, written into the lab's folder, open, Run All started."""
    page = module_context.new_page()
    return page, run_cells(page, lab, NOTEBOOK, *CELLS)


def _row(page, name: str):
    link = page.get_by_role("link", name=name, exact=True)  # (queried within each row)
    return page.locator(".tc-artifacts tr.tc-artifact").filter(has=link)


def test_two_badges_side_by_side(notebook_page):
    page, panel = notebook_page
    chips = outputs(panel, 1).locator(".tc-badge")
    expect(chips).to_have_count(2, timeout=60_000)
    failed, completed = chips.nth(0), chips.nth(1)
    expect(failed).to_have_text("FAILED", timeout=90_000)
    expect(failed).to_have_css("background-color", RED)
    expect_completed_chip(completed)
    left, right = failed.bounding_box(), completed.bounding_box()
    assert abs(left["y"] - right["y"]) < 4, (left, right)  # one row
    assert right["x"] >= left["x"] + left["width"], (left, right)  # side by side, no overlap
    screenshot(page, "06-two-badges-side-by-side", chips.first)


def test_links_open_a_new_tab_and_downloads_are_explicit(notebook_page, lab):
    page, _panel = notebook_page
    public = listed_link(page, "public/passwd.txt")
    private = listed_link(page, "private/hostname.txt")
    expect(public).to_be_visible(timeout=120_000)

    # Like the web UI: a new tab, no download attribute; public links are plain hrefs.
    for link in (public, listed_link(page, "public/logs/live.log"), private):
        expect(link).to_have_attribute("target", "_blank")
        assert link.get_attribute("download") is None
    expect(public).to_have_attribute("href", starting(lab.proxy_prefix))
    assert private.get_attribute("href") == "#"  # nothing signed before the click

    got = click_and_fetch(page, public)
    assert got.how == "window" and got.window is not None and got.window != page, got.how
    assert_received(got, "/etc/passwd")
    expect(got.window.locator("body")).to_contain_text("root:")  # shown, not saved
    got.window.close()

    got = click_and_fetch(page, listed_link(page, "public/logs/live.log"))
    assert got.how == "window", got.how
    assert got.body.startswith(b"[taskcluster "), got.body[:200]
    expect(got.window.locator("pre")).to_contain_text("[taskcluster ")  # the log as text
    got.window.close()

    got = click_and_fetch(page, private, timeout=60)
    assert got.how == "window" and got.window != page, got.how
    assert "bewit=" in got.chain[0], got.chain
    assert_received(got, "/etc/hostname")
    got.window.close()

    # Downloading is a row's own action: saved by the kernel (the notice says
    # where, in full), then offered to the browser.
    progress = page.locator(".widget-hprogress, .widget-progress")
    expect(progress).to_be_hidden()  # no empty progress bar
    _row(page, "public/passwd.txt").get_by_role("button", name="download").click()
    notice = page.locator(".tc-artifacts .tc-notice")
    expect(notice).to_contain_text("Saved public/passwd.txt", timeout=30_000)
    path = notice.locator(".tc-path")
    expect(path).to_have_text(str(lab.root_dir.resolve() / "passwd.txt"))
    # The whole path is in view: the notice does not overflow (nothing cut off).
    assert notice.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    expect(progress).to_be_hidden()
    screenshot(page, "06-artifact-saved-by-the-kernel", page.locator(".tc-artifacts"))
    with page.expect_download() as download:
        notice.get_by_role("link", name="download it in your browser too").click()
    assert_received(_Saved(download.value), "/etc/passwd")

    _row(page, "private/hostname.txt").get_by_role("button", name="download").click()
    expect(notice).to_contain_text("Saved private/hostname.txt", timeout=30_000)
    save = notice.get_by_role("link", name="download it in your browser too")
    assert save.get_attribute("href") == "#"  # signed when clicked
    with page.expect_download(timeout=60_000) as download:
        save.click()
    assert_received(_Saved(download.value), "/etc/hostname")


class _Saved:
    """A Playwright download as `assert_received` reads it."""

    def __init__(self, download) -> None:
        assert download.failure() is None, download.failure()
        self.body = Path(download.path()).read_bytes()
        self.how, self.status, self.url = "download", 200, download.url
