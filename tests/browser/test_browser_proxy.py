"""Artifact links through the Jupyter server only, as on Binder: JupyterLab
at a base URL, kernels told that base URL (TC_NOTEBOOK_PROXY_PREFIX), and a
browser for which every request to the sandbox's own port fails."""

from __future__ import annotations

import re
import time
import urllib.parse

import pytest
import taskcluster
from binder_helpers import block_port, create_gated_task
from browser_helpers import (
    LINKS_NOTEBOOK,
    assert_received,
    click_and_fetch,
    expect_completed_chip,
    open_notebook,
    run_all_checked,
    screenshot,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_links_work_through_jupyter_server_proxy_only(binder_lab, page, sandbox_process):
    lab = binder_lab
    blocked = block_port(page, sandbox_process.port)
    panel = open_notebook(page, lab, LINKS_NOTEBOOK)
    # The block works: the page cannot reach the sandbox directly.
    outcome = page.evaluate(
        "url => fetch(url).then(r => 'reached ' + r.status, () => 'refused')",
        f"{sandbox_process.root_url}/api/queue/v1/ping",
    )
    assert outcome == "refused" and len(blocked) == 1, (outcome, blocked)
    blocked.clear()

    run_all_checked(page, panel)
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


# Fetch a URL as an event stream (jupyter-server-proxy relays such requests as
# they come; others only once they end), reading until `wanted` arrives (60 s at most).
READ_UNTIL = """async ([url, wanted]) => {
  const read = async () => {
    const reply = await fetch(url, {headers: {Accept: "text/event-stream"}});
    if (!reply.ok) return `status ${reply.status}`;
    const reader = reply.body.getReader(), decoder = new TextDecoder();
    let text = "";
    while (!text.includes(wanted)) {
      const {done, value} = await reader.read();
      if (done) return `ended without it: ${text}`;
      text += decoder.decode(value, {stream: true});
    }
    reader.cancel();
    return text;
  };
  const timeout = new Promise(done => setTimeout(() => done("timed out"), 60000));
  return Promise.race([read(), timeout]);
}"""

def test_running_live_log_through_jupyter_server_proxy_only(binder_lab, page, sandbox_process,
                                                            gate):
    """While a task runs, its live log (the worker's own stream, which the sandbox
    relays) reaches a browser that can reach only the Jupyter server, as it grows.
    (A link's plain GET gets it whole once the run ends: jupyter-server-proxy
    relays only event-stream requests as they come.)"""
    lab = binder_lab
    lab_port = urllib.parse.urlsplit(lab.url).port
    loopback = re.compile(r"^https?://(127\.0\.0\.1|localhost|\[::1\]):\d+(/|$)")
    blocked: list[str] = []

    def only_jupyter(route):
        if urllib.parse.urlsplit(route.request.url).port == lab_port:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("connectionrefused")

    page.context.route(loopback, only_jupyter)
    page.goto(f"{lab.url}lab?token={lab.token}")  # the login cookie, for the proxy
    queue = sandbox_process.queue()
    task_id = create_gated_task(queue, gate)

    def through_proxy(url: str) -> str:
        assert url.startswith(sandbox_process.root_url + "/"), url
        return lab.proxy_prefix + url[len(sandbox_process.root_url) + 1:]

    try:
        reference = wait_for_reference(queue, task_id)
        streamed = page.evaluate(READ_UNTIL, [through_proxy(reference), "burst 42"])
        assert "burst 42" in streamed and f"task {task_id} run 0" in streamed, streamed
        assert queue.status(task_id)["status"]["state"] == "running"
    finally:
        gate.open()
    assert blocked == []  # neither the sandbox's port nor the worker's was tried


def wait_for_reference(queue, task_id: str, timeout: float = 60) -> str:
    """The URL the running task's live.log refers to, once it exists."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        try:
            return queue.latestArtifact(task_id, "public/logs/live.log")["url"]
        except taskcluster.TaskclusterRestFailure as failure:
            if failure.status_code != 404:
                raise
        time.sleep(0.05)
    raise AssertionError(f"no live.log for {task_id} in {timeout} s")
