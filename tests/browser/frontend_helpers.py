"""Notebook 04 in front ends other than JupyterLab (Notebook 7, Voilà): their
pages, and the checks every one of them passes, whichever way its artifact
links should go (through the Jupyter server, or straight to the sandbox)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from browser_helpers import (
    BrowserSandbox,
    Fetched,
    Lab,
    assert_received,
    click_and_fetch,
    expect_completed_chip,
    listed_link,
    screenshot,
    starting,
)
from helpers import wait_until
from playwright.sync_api import Locator, Page, Request, expect

NOTEBOOK = "04-download-task-artifacts.ipynb"
RUN_SECONDS = 120  # the whole of notebook 04, tasks included
SIGNED = "private/hostname.txt, signed"  # cell 24's conn.link
PROBE_MS = 15_000  # for a view to ask the Jupyter server whether it relays the sandbox


def notebook7_url(server: Lab, name: str) -> str:
    """A notebook's page in Notebook 7 (the token in the URL: the server sets its login cookie)."""
    return f"{server.url}notebooks/{name}?token={server.token}"


def voila_render_url(server: Lab, name: str) -> str:
    """A notebook rendered by Voilà, the Jupyter server's extension."""
    return f"{server.url}voila/render/{name}?token={server.token}"


def open_notebook7(page: Page, server: Lab, name: str) -> None:
    """Open a notebook in Notebook 7 and wait until its kernel is idle."""
    page.goto(notebook7_url(server, name))
    expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
    # The top bar: the kernel's name, then its execution indicator.
    expect(page.locator(".jp-Toolbar-kernelName")).to_have_text(
        "Python 3 (ipykernel)", timeout=60_000
    )
    indicator = page.locator("[data-jp-item-name='executionProgress'] [data-status]")
    expect(indicator).to_have_attribute("data-status", "idle", timeout=60_000)


@dataclass(frozen=True)
class Route:
    """Where notebook 04's links must lead: `href` starts every link's href
    (once the page has settled it), `url` every URL the browser requests."""

    href: str
    url: str

    @classmethod
    def proxied(cls, server: Lab) -> Route:
        """Through the Jupyter server's proxy: `<base>proxy/<sandbox port>/`."""
        return cls(server.proxy_prefix, server.origin + server.proxy_prefix)

    @classmethod
    def direct(cls, sandbox: BrowserSandbox) -> Route:
        """Straight to the sandbox's own port."""
        return cls(sandbox.root_url + "/", sandbox.root_url + "/")


class ProxyProbes:
    """The page's requests for `<base>proxy/<port>/api/queue/v1/ping` (the
    widgets asking whether the Jupyter server relays the sandbox), and which
    of them have ended (answered, refused or failed)."""

    def __init__(self, page: Page, port: int) -> None:
        self.pattern = re.compile(rf"/proxy/{port}/api/queue/v1/ping$")
        self.started: list[str] = []
        self.ended: list[str] = []
        page.on("request", self._on_start)
        page.on("requestfinished", self._on_end)
        page.on("requestfailed", self._on_end)

    def _on_start(self, request: Request) -> None:
        if self.pattern.search(request.url):
            self.started.append(request.url)

    def _on_end(self, request: Request) -> None:
        if self.pattern.search(request.url):
            self.ended.append(request.url)

    def wait_settled(self, page: Page, timeout: float = PROBE_MS / 1000) -> None:
        """Wait until every probe made so far has ended (letting Playwright deliver events)."""

        def settled() -> bool:
            page.wait_for_timeout(50)  # poll step: events arrive while Playwright waits
            return len(self.ended) >= len(self.started)

        wait_until(
            settled, timeout=timeout, message=f"proxy probes to end: {self.started}", interval=0
        )


def shown_link(page: Page, name: str) -> Locator:
    """The first link named `name` that a cell shows with `conn.link` (not the ArtifactList's)."""
    outside_lists = "not(ancestor::*[contains(concat(' ', @class, ' '), ' tc-artifacts ')])"
    return page.locator(f"xpath=//a[normalize-space() = '{name}'][{outside_lists}]").first


def _assert_route(got: Fetched, route: Route) -> None:
    assert all(url.startswith(route.url) for url in got.chain), (route, got.chain)
    assert got.url.startswith(route.url), (route, got.url)


def check_badge(page: Page, shot: str) -> Locator:
    """Cell 2's StatusBadge, a live widget view (not its static HTML), reads
    COMPLETED in green and follows the rerun of cell 28 (run 1)."""
    chip = page.locator(".tc-badge")
    expect(chip).to_have_count(1, timeout=RUN_SECONDS * 1000)
    # A view of the widget is inside the element its JavaScript renders into;
    # the static fallback (text/html) is not.
    expect(page.locator(".tc-html .tc-badge")).to_have_count(1)
    expect(chip.locator("xpath=following-sibling::span")).to_contain_text(
        "run 1", timeout=RUN_SECONDS * 1000
    )
    expect_completed_chip(chip, timeout=RUN_SECONDS * 1000)  # run 1's state, not run 0's
    screenshot(page, shot, chip)
    return chip


def check_public_link(page: Page, route: Route) -> None:
    """Cell 6's `conn.link` to public/passwd.txt leads by `route` to /etc/passwd's bytes."""
    link = shown_link(page, "public/passwd.txt")
    expect(link).to_be_visible(timeout=RUN_SECONDS * 1000)
    expect(link).to_have_attribute("href", starting(route.href), timeout=PROBE_MS)
    got = click_and_fetch(page, link)
    assert_received(got, "/etc/passwd")
    _assert_route(got, route)


def check_signed_link(page: Page, route: Route, shot: str) -> None:
    """Cell 24's signed link (bewit) leads by `route` to /etc/hostname's
    bytes, and the URL shown under it is the one it opens."""
    link = shown_link(page, SIGNED)
    expect(link).to_be_visible(timeout=RUN_SECONDS * 1000)
    expect(link).to_have_attribute("href", starting(route.href), timeout=PROBE_MS)
    href = link.get_attribute("href")
    assert "bewit=" in href, href
    shown = page.locator("code[data-tc-url]").filter(has_text="bewit=")
    expect(shown).to_have_text(href)
    got = click_and_fetch(page, link, timeout=60)
    assert_received(got, "/etc/hostname")
    assert "bewit=" in got.chain[0], got.chain
    _assert_route(got, route)
    screenshot(page, shot, link)


def check_listed_private_link(page: Page, route: Route, shot: str) -> None:
    """The ArtifactList's private/hostname.txt, unsigned until the click, then
    opened signed (by the kernel) in a new window, by `route`."""
    link = listed_link(page, "private/hostname.txt")
    expect(link).to_be_visible(timeout=RUN_SECONDS * 1000)
    assert link.get_attribute("href") == "#"  # nothing signed before the click
    got = click_and_fetch(page, link, timeout=60)
    assert_received(got, "/etc/hostname")
    assert got.window is not None and got.window != page
    assert "bewit=" in got.chain[0], got.chain
    _assert_route(got, route)
    expect(link).not_to_have_class(re.compile(r"\btc-failed\b"))
    screenshot(page, shot, page.locator(".tc-artifacts"))
