"""Notebook 04 as a Voilà app, which runs the notebook itself when its page
is opened, two ways:

- standalone (`voila 04-….ipynb`): no Jupyter server behind the page, so no
  proxy; the browser reaches the sandbox, and the links must stay direct,
  on the sandbox's own port;
- through the Jupyter server (Notebook 7's `/voila/render/…`, the voila
  server extension), with the sandbox's port blocked for the browser (as on
  Binder): the links must go through the server's proxy.

Each way: the badge is a live widget view and completes, cell 6's public
link yields /etc/passwd, cell 24's signed link and the ArtifactList's
private row (signed by the kernel at the click) yield /etc/hostname."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from binder_helpers import block_port
from browser_helpers import REPO, browser_context
from frontend_helpers import (
    NOTEBOOK,
    RUN_SECONDS,
    ProxyProbes,
    Route,
    check_badge,
    check_listed_private_link,
    check_public_link,
    check_signed_link,
    listed_link,
    voila_render_url,
)
from frontend_servers import start_voila, stop
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def voila_standalone(tmp_path_factory, sandbox_process) -> Iterator[str]:
    """`voila 04-….ipynb` on a free port: the URL of the page that runs it."""
    process, url = start_voila(
        tmp_path_factory.mktemp("voila"),
        sandbox_process,
        REPO / "notebooks" / NOTEBOOK,
        "voila-standalone",
    )
    try:
        yield url
    finally:
        stop(process)


@dataclass
class Rendered:
    """Notebook 04's Voilà page, every cell run and the widgets shown."""

    page: Page
    route: Route
    blocked: list[str]  # requests to the sandbox's own port (refused), when blocked
    name: str  # for screenshots


@pytest.fixture(scope="module", params=["standalone", "server"])
def rendered(request, browser, sandbox_process) -> Iterator[Rendered]:
    """The page of one way (in a browser context of its own: blocking the
    port is context-wide), loaded once the notebook has run, its links settled."""
    with browser_context(browser) as context:
        page = context.new_page()
        probes = ProxyProbes(page, sandbox_process.port)
        if request.param == "standalone":
            url, blocked = request.getfixturevalue("voila_standalone"), []
            route = Route.direct(sandbox_process)
        else:
            server = request.getfixturevalue("notebook7")
            blocked = block_port(page, sandbox_process.port)
            url, route = voila_render_url(server, NOTEBOOK), Route.proxied(server)
        # Voilà answers once it has run every cell: the page then loads.
        page.goto(url, timeout=RUN_SECONDS * 1000)
        expect(listed_link(page, "public/passwd.txt")).to_be_visible(timeout=RUN_SECONDS * 1000)
        # Every view has asked whether the server relays the sandbox (one
        # question per page): the links are where they will stay.
        probes.wait_settled(page)
        yield Rendered(page, route, blocked, f"voila-{request.param}")


def test_voila_badge_is_live_and_completes(rendered):
    check_badge(rendered.page, f"{rendered.name}-01-badge-completed")


def test_voila_public_link_downloads(rendered):
    check_public_link(rendered.page, rendered.route)
    assert rendered.blocked == []  # through the server: nothing tried the sandbox's port


def test_voila_signed_link_opens(rendered):
    check_signed_link(rendered.page, rendered.route, f"{rendered.name}-02-signed-link")
    assert rendered.blocked == []


def test_voila_artifact_list_signs_private_link_at_the_click(rendered):
    check_listed_private_link(rendered.page, rendered.route, f"{rendered.name}-03-artifact-list")
    assert rendered.blocked == []
