"""Notebook 04 in Notebook 7 (`jupyter notebook`), run whole as a person does
(Run → Run All Cells), by a browser that cannot reach the sandbox's port (as
on Binder): the badge completes, and the artifact links, which the kernel
hands out direct, go through the Jupyter server's proxy once the widgets'
views have found that it relays the sandbox; public, signed, and signed at
the click by the ArtifactList."""

from __future__ import annotations

from dataclasses import dataclass

import frontend_helpers as front
import pytest
from binder_helpers import block_port
from browser_helpers import run_all
from frontend_helpers import NOTEBOOK, RUN_SECONDS, Route, listed_link, open_notebook7
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


@dataclass
class Run:
    """Notebook 04's page in Notebook 7, once Run All Cells has reached cell 30."""

    page: Page
    route: Route
    blocked: list[str]  # requests to the sandbox's own port (refused)


@pytest.fixture(scope="module")
def run_04(module_context, notebook7, sandbox_process) -> Run:
    """Notebook 04 open in Notebook 7, the sandbox's port blocked, Run All Cells
    done as far as the ArtifactList (cell 30): the rerun of cell 28 has
    completed, so "latest" is run 1 and has its artifacts."""
    page = module_context.new_page()
    blocked = block_port(page, sandbox_process.port)
    open_notebook7(page, notebook7, NOTEBOOK)
    run_all(page)
    expect(listed_link(page, "public/passwd.txt")).to_be_visible(timeout=RUN_SECONDS * 1000)
    return Run(page, Route.proxied(notebook7), blocked)


def test_notebook7_run_all_badge_completes(run_04):
    front.check_badge(run_04.page, "nb7-01-notebook-04-badge-completed")


def test_notebook7_public_link_downloads_through_the_server(run_04):
    front.check_public_link(run_04.page, run_04.route)
    assert run_04.blocked == []  # nothing tried the sandbox's port directly


def test_notebook7_signed_link_opens_through_the_server(run_04):
    front.check_signed_link(run_04.page, run_04.route, "nb7-02-signed-link")
    assert run_04.blocked == []


def test_notebook7_artifact_list_signs_private_link_at_the_click(run_04):
    front.check_listed_private_link(run_04.page, run_04.route, "nb7-03-artifact-list")
    assert run_04.blocked == []
