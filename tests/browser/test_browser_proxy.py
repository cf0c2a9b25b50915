"""Artifact links through the Jupyter server only, as on Binder: JupyterLab
at a base URL, kernels told that base URL (TC_NOTEBOOK_PROXY_PREFIX), and a
browser for which every request to the sandbox's own port fails."""

from __future__ import annotations

import re
import sys

import pytest
from browser_helpers import (
    LINKS_NOTEBOOK,
    assert_received,
    click_and_fetch,
    expect_completed_chip,
    open_notebook,
    outputs,
    run_all,
    screenshot,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_links_work_through_jupyter_server_proxy_only(binder_lab, page, sandbox_process):
    lab = binder_lab
    direct = re.compile(rf"^https?://(127\.0\.0\.1|localhost|\[::1\]):{sandbox_process.port}(/|$)")
    blocked: list[str] = []

    def refuse(route):
        blocked.append(route.request.url)
        route.abort("connectionrefused")

    page.context.route(direct, refuse)
    panel = open_notebook(page, lab, LINKS_NOTEBOOK)
    # The block works: the page cannot reach the sandbox directly.
    outcome = page.evaluate(
        "url => fetch(url).then(r => 'reached ' + r.status, () => 'refused')",
        f"{sandbox_process.root_url}/api/queue/v1/ping",
    )
    assert outcome == "refused" and len(blocked) == 1, (outcome, blocked)
    blocked.clear()

    run_all(page)
    expect(outputs(panel, 0)).to_contain_text(f"kernel prefix: {sys.prefix}", timeout=60_000)
    table = page.locator(".tc-artifacts")
    public = table.get_by_role("link", name="public/passwd.txt", exact=True)
    private = table.get_by_role("link", name="private/hostname.txt", exact=True)
    expect(public).to_be_visible(timeout=90_000)
    expect_completed_chip(page.locator(".tc-badge"))
    assert public.get_attribute("href").startswith(lab.proxy_prefix)  # /user/learner/proxy/<port>/

    got = click_and_fetch(page, public)
    assert_received(got, "/etc/passwd")
    assert got.url.startswith(lab.origin + lab.proxy_prefix), got.url

    got = click_and_fetch(page, private, timeout=60)
    assert_received(got, "/etc/hostname")
    assert "bewit=" in got.chain[0], got.chain
    assert all(url.startswith(lab.origin + lab.proxy_prefix) for url in got.chain), got.chain

    assert blocked == []  # nothing tried the sandbox's port directly
    if got.how == "window":
        screenshot(got.window, "05-proxy-only-private-artifact-window")
    screenshot(page, "05-proxy-only-artifact-links", table)
