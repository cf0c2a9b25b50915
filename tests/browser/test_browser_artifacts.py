"""Notebook 04 in a real browser: Run All Cells, the StatusBadge turns green,
the ArtifactList lists the run's artifacts, and its links, followed by the
browser with its Jupyter cookie, yield the files (a private one signed at
the click, by the kernel). And an ArtifactList inside a box, never refreshed
by the notebook, lists once its table is on the page, in the theme's colours."""

from __future__ import annotations

import re

import nbformat
import pytest
from browser_helpers import (
    KERNEL_CHECK,
    LINKS_TASK,
    assert_received,
    click_and_fetch,
    code_notebook,
    expect_completed_chip,
    listed_link,
    open_notebook,
    outputs,
    run_all,
    run_all_checked,
    screenshot,
    starting,
    theme_colour,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

NOTEBOOK = "04-download-task-artifacts.ipynb"
LISTED = ("public/logs/live.log", "public/passwd.txt", "private/hostname.txt")
BOXED_NOTEBOOK = "browser-artifacts-in-a-box.ipynb"
BOXED_LIST = """\
import ipywidgets as widgets
await badge.wait()
widgets.VBox([ArtifactList(conn, task_id)])"""


@pytest.fixture(scope="module")
def notebook_page(module_context, lab):
    """Notebook 04 open, Run All Cells started (the tests of this module share it)."""
    page = module_context.new_page()
    open_notebook(page, lab, NOTEBOOK)
    run_all(page)
    return page


def test_run_all_badge_completed_and_artifacts_listed(notebook_page):
    page = notebook_page
    # The list is the last widget: it appears once the rerun (run 1) completed.
    for name in LISTED:
        expect(listed_link(page, name)).to_be_visible(timeout=120_000)
    chip = page.locator(".tc-badge")
    expect(chip).to_have_count(1)
    expect_completed_chip(chip)
    expect(chip.locator("xpath=following-sibling::span")).to_contain_text("run 1")
    expect(listed_link(page, "public/passwd.txt")).to_have_attribute(
        "href", re.compile(r"/runs/1/artifacts/public%2Fpasswd\.txt$")
    )
    screenshot(page, "01-notebook-04-badge-completed-artifacts-listed", chip)
    screenshot(page, "01-notebook-04-artifact-list", page.locator(".tc-artifacts"))


def test_artifact_links_yield_the_files(notebook_page, lab):
    page = notebook_page
    public = listed_link(page, "public/passwd.txt")
    expect(public).to_be_visible(timeout=120_000)
    # Kernels told nothing of a proxy (as `tc-notebook lab` starts them): the page
    # asks the Jupyter server, which relays the sandbox, and links through it.
    expect(public).to_have_attribute("href", starting(lab.proxy_prefix))
    got = click_and_fetch(page, public)
    assert_received(got, "/etc/passwd")
    assert got.url.startswith(lab.origin + lab.proxy_prefix), got.url

    got = click_and_fetch(page, listed_link(page, "public/logs/live.log"))
    assert got.body.startswith(b"[taskcluster "), got.body[:200]  # the run's complete log
    assert got.url.startswith(lab.origin + lab.proxy_prefix), got.url

    private = listed_link(page, "private/hostname.txt")
    assert private.get_attribute("href") == "#"  # nothing signed before the click
    got = click_and_fetch(page, private, timeout=60)
    assert_received(got, "/etc/hostname")
    assert got.window is not None and got.window != page
    assert "bewit=" in got.chain[0], got.chain
    assert all(url.startswith(lab.origin + lab.proxy_prefix) for url in got.chain), got.chain
    expect(private).not_to_have_class("tc-failed")
    if got.how == "window":
        screenshot(got.window, "02-private-artifact-signed-window")
    screenshot(page, "02-artifact-links-followed", page.locator(".tc-artifacts"))


def test_a_list_inside_a_box_lists_in_the_theme_colours(module_context, lab):
    notebook = code_notebook(KERNEL_CHECK, LINKS_TASK, BOXED_LIST)
    nbformat.write(notebook, lab.root_dir / BOXED_NOTEBOOK)
    page = module_context.new_page()
    panel = open_notebook(page, lab, BOXED_NOTEBOOK)
    run_all_checked(page, panel)
    table = outputs(panel, 2).locator(".tc-artifacts")
    for name in LISTED:  # listed although nothing awaited refresh(): the view asked
        expect(table.get_by_role("link", name=name, exact=True)).to_be_visible(timeout=120_000)
    size = table.locator("tr", has_text="public/passwd.txt").locator(".tc-size")
    expect(size).to_have_css("color", theme_colour(page, "--jp-ui-font-color2"))
    kind = table.locator("tr", has_text="public/passwd.txt").locator(".tc-type")
    expect(kind).to_have_css("color", theme_colour(page, "--jp-ui-font-color3"))
    screenshot(page, "03-artifact-list-in-a-box", table)
    page.close()
