"""ArtifactList against a real sandbox (queue and worker) on 127.0.0.1: the
listing, its links, when it asks the queue, and its runs (downloads and
previews: test_widget_artifact_actions.py).

The widgets are driven inside `asyncio.run`, as the kernel's loop would;
browser clicks are simulated by handing the table the message its
JavaScript sends (for a private link, anywidget's `_sign` command).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import artifact_fixtures
import ipywidgets
import requests
import slugid
import taskcluster
from artifact_fixtures import (
    bewit_expiry,
    click_private_link,
    requested_after,
    resolved,
    run,
    synced_state,
    visible,
)
from helpers import until
from server_requests import requests_to

from tc_notebook.terms import BACKING_LOG, LIVE_LOG, RESOLVED
from tc_notebook.tutorial import tutorial_task
from tc_notebook.widgets import ArtifactList, polling
from tc_notebook.widgets.artifact_names import ICONS, human_size, sort_key

# Fixtures from artifact_fixtures, bound here so that pytest finds them by name.
artifact_sandbox = artifact_fixtures.artifact_sandbox
conn = artifact_fixtures.conn
tasks = artifact_fixtures.tasks
task_id = artifact_fixtures.task_id


# -- listing -------------------------------------------------------------------------


def test_rows_sorted_like_the_ui_and_collapsed(conn, task_id):
    async def scenario():
        al = ArtifactList(conn, task_id, page_size=3)  # pagination: 7 pages
        al.watch()  # what displaying it, or a parent widget, does
        await until(lambda: al.artifacts, message="the first listing")
        names = al.names
        expected = conn.queue.listArtifacts(task_id, 0)["artifacts"]
        assert len(names) == len(expected) == 20
        assert names[0] == LIVE_LOG and names[1] == BACKING_LOG
        assert names[-1] == "private/secret.txt"
        public = names[2:-1]
        assert public == sorted(public) and all(n.startswith("public/") for n in public)
        assert names == sorted(names, key=sort_key)
        assert al.run_id == 0 and al.task_id == task_id
        # (a missing artifact may fail the run, as generic-worker does)
        assert al.state == conn.queue.status(task_id)["status"]["state"] in RESOLVED

        # Collapsed to 10 rows, with a "show all (20)" toggle in the view and the fallback.
        assert al.table.limit == 10 and not al.expanded
        assert al.visible_names == names[:10] and len(al.table.rows) == 20
        assert "show all (20)" in al.to_html()
        al.expanded = True
        assert al.visible_names == names and al.table.expanded
        # The view's "show all" button sets the synced trait.
        al.table.set_state({"expanded": False})
        assert len(al.visible_names) == 10

        # Plain values for scripting.
        passwd = al.entry("public/passwd.txt")
        assert set(passwd) >= {"name", "storageType", "contentType", "contentLength", "expires"}
        assert passwd["url"] == conn.queue.buildUrl("getArtifact", task_id, 0, "public/passwd.txt")
        # The sandbox's worker stores object artifacts, which list no
        # contentLength; the size is what the object's storage answers.
        assert passwd["storageType"] == "object" and passwd["contentLength"] is None
        assert passwd["size"] == Path("/etc/passwd").stat().st_size
        assert "<ArtifactList" in repr(al) and "20 artifacts" in repr(al)

    run(scenario())


def test_icons_sizes_types_and_error_reasons(conn, task_id):
    async def scenario():
        al = ArtifactList(conn, task_id)
        first, second = await asyncio.gather(al.refresh(), al.refresh())  # the later one wins
        assert first == second == al.artifacts and not al.loading
        rows = {row["name"]: row for row in al.table.rows}
        assert rows[LIVE_LOG]["icon"] == rows[BACKING_LOG]["icon"] == ICONS["log"]
        assert rows["public/out/x.json"]["icon"] == ICONS["json"]
        assert rows["public/out/dot.png"]["icon"] == ICONS["image"]
        assert rows["public/passwd.txt"]["icon"] == ICONS["text"]
        assert rows["public/out/f1.txt"]["size"] == "2 B"
        assert rows["public/out/big.txt"]["size"] == human_size(200000) == "195.3 KiB"
        assert rows["public/out/x.json"]["contentType"] == "application/json"
        assert rows["private/secret.txt"]["private"] and not rows["private/secret.txt"]["href"]
        missing = rows["public/missing.txt"]
        assert missing["icon"] == ICONS["error"] and not missing["href"]
        assert "file-missing-on-worker" in missing["error"]
        assert al.entry("public/missing.txt")["reason"] == "file-missing-on-worker"
        assert "public/missing.txt" not in al.fetchable_names  # nothing to download
        al.table._handle_custom_msg({"type": "download", "name": "public/missing.txt"}, [])
        assert al.table.notice["tone"] == "error" and "cannot be downloaded" in al.notice

        bundle = al._repr_mimebundle_()
        assert bundle["text/plain"] == repr(al)
        page = bundle["text/html"]
        assert "file-missing-on-worker" in page and ICONS["json"] in page
        assert conn.browser_url(al.entry("public/passwd.txt")["url"]) in page
        assert "private/secret.txt" in page and "bewit" not in page

    run(scenario())


def test_missing_task_shows_a_message(conn):
    async def scenario():
        missing = slugid.nice()
        al = ArtifactList(conn, missing)
        assert await al.refresh() == []
        assert "not found" in al.error and missing in al.error
        assert al.table.message == al.error and not al.table.rows
        assert "not found" in al._repr_mimebundle_()["text/html"]
        assert "not found" in repr(al)

    run(scenario())


# -- links ---------------------------------------------------------------------------


def test_public_link_downloads_in_the_browser(conn, task_id):
    async def scenario():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        return {row["name"]: row["href"] for row in al.table.rows}

    hrefs = run(scenario())
    reply = requests.get(hrefs["public/passwd.txt"], timeout=10)
    assert reply.status_code == 200
    assert reply.content == Path("/etc/passwd").read_bytes()
    assert reply.history and reply.history[0].status_code == 303
    live = requests.get(hrefs[LIVE_LOG], timeout=10)  # a link artifact, two redirects
    assert live.status_code == 200 and f"task {task_id} run 0" in live.text


def test_private_link_is_signed_at_click_time(conn, task_id):
    async def scenario():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        assert "bewit" not in synced_state(al)
        assert "bewit" not in json.dumps(al._repr_mimebundle_(), default=repr)
        assert al.signed_urls == [] and al.last_signed == {}
        row = next(r for r in al.table.rows if r["name"] == "private/secret.txt")
        assert row["href"] == "" and row["private"]

        # The click: what the JavaScript invokes.
        clicked = time.time()
        reply = click_private_link(al.table, "private/secret.txt", 0)
        assert set(reply) == {"url"} and "bewit=" in reply["url"]
        assert abs(bewit_expiry(reply["url"]) - (clicked + 900)) < 5
        assert al.last_signed["url"] == reply["url"] and al.signed_urls == [al.last_signed]
        assert al.last_signed["name"] == "private/secret.txt" and al.last_signed["runId"] == 0
        assert abs(al.last_signed["expires"] - (clicked + 900)) < 5
        assert "bewit" not in synced_state(al)  # handed out, not kept in synced state

        # Unknown names, and other runs than the one shown, are not signed.
        refused = click_private_link(al.table, "private/other", 0)
        assert refused == {"error": "private/other is not listed in run 0"}
        assert "error" in click_private_link(al.table, "private/secret.txt", 1)
        assert len(al.signed_urls) == 1
        # No run given: the run shown.
        assert "bewit=" in click_private_link(al.table, "private/secret.txt")["url"]
        assert len(al.signed_urls) == 2
        return reply["url"]

    url = run(scenario())
    reply = requests.get(url, timeout=10)
    assert reply.status_code == 200
    assert reply.content == Path("/etc/hostname").read_bytes()
    unsigned = requests.get(url.split("?")[0], timeout=10)
    assert unsigned.status_code == 403


def test_static_links_open_a_new_tab_and_never_download(conn, task_id):
    """The HTML outside a live kernel links like the Taskcluster UI: a new tab,
    no `download` attribute (the live table's links are checked in a browser,
    tests/browser/test_browser_widgets_polish.py)."""

    async def scenario():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        page = al.to_html()
        for name in ("public/passwd.txt", LIVE_LOG):
            href = conn.browser_url(al.entry(name)["url"])
            assert f"<a href='{href}' target='_blank' rel='noopener'>{name}</a>" in page
        assert " download" not in page

    run(scenario())


def test_links_go_through_the_jupyter_proxy(conn, task_id, monkeypatch):
    monkeypatch.setenv("TC_NOTEBOOK_PROXY_PREFIX", "/user/x/")
    prefix = f"/user/x/proxy/{conn.sandbox.server.port}/api/queue/v1/"

    async def scenario():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        hrefs = [row["href"] for row in al.table.rows if row["href"]]
        assert len(hrefs) == 18  # all but the private one and the error one
        assert all(href.startswith(prefix) for href in hrefs)
        assert f"href='{prefix}" in al.to_html()
        # The kernel keeps fetching from the real root URL.
        assert al.entry("public/passwd.txt")["url"].startswith(conn.root_url)
        url = click_private_link(al.table, "private/secret.txt", 0)["url"]
        assert url.startswith(prefix) and "bewit=" in url

    run(scenario())


# -- when it asks the queue ----------------------------------------------------------


def test_nothing_is_requested_until_it_is_displayed(conn, task_id):
    async def scenario():
        with requests_to(task_id) as count:
            al = ArtifactList(conn, task_id)
            al.run_id = 0  # choosing a run lists nothing yet either
            assert len(al._tasks) == 0
            assert await requested_after(conn, task_id, count) == []
            assert al.artifacts == [] and al.table.rows == []

            bundle = al._repr_mimebundle_()  # displayed (the cell's last expression)
            assert "application/vnd.jupyter.widget-view+json" in bundle
            await until(lambda: al.artifacts and not al.loading, message="the listing")
            assert al.run_id == 0 and len(al.names) == 20
            assert any(path.endswith(f"/task/{task_id}/status") for path in count.paths)
        al.close()

    run(scenario())


def test_a_view_inside_a_box_starts_the_listing(conn, task_id):
    """Inside a box, IPython never calls the list's `_repr_mimebundle_`: the
    table's view says it is on the page instead."""

    async def scenario():
        al = ArtifactList(conn, task_id)
        box = ipywidgets.HBox([al])
        box._repr_mimebundle_()
        assert len(al._tasks) == 0
        al.table._handle_custom_msg({"type": "shown"}, [])  # what render() sends
        await until(lambda: al.artifacts and not al.loading, message="the listing")
        listing = al._loading
        al.table._handle_custom_msg({"type": "shown"}, [])  # a second view: no new listing
        assert al._loading is listing and len(al._tasks) == 0
        polling.close_widgets(box)

    run(scenario())


def test_a_closed_list_requests_nothing_more(conn, task_id):
    async def scenario():
        # Closed while its first listing is under way: the listing stops.
        with requests_to(task_id) as count:
            al = ArtifactList(conn, task_id)
            al._repr_mimebundle_()
            listing = al._loading
            al.close()
            await until(lambda: listing.done(), message="the listing to stop")
            assert listing.cancelled() and len(al._tasks) == 0
            assert await requested_after(conn, task_id, count) == []

        # Closed after listing: choosing a run or starting again lists nothing.
        al = ArtifactList(conn, task_id)
        al._repr_mimebundle_()
        await until(lambda: al.artifacts and not al.loading, message="the listing")
        al.close()
        with requests_to(task_id) as count:
            al.run_id = None  # the latest run again (open: a new listing)
            al.watch()
            al.table._handle_custom_msg({"type": "shown"}, [])
            assert len(al._tasks) == 0
            assert await requested_after(conn, task_id, count) == []

    run(scenario())


# -- runs ----------------------------------------------------------------------------


def test_run_selector_switches_runs(conn, tasks):
    task_id = tasks["rerun"]

    async def scenario():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        assert al.run_id == 0 and al.run_selector.options == (("run 0 · completed", 0),)
        assert al.run_selector.layout.display != "none"

        conn.queue.rerunTask(task_id)
        await until(resolved(conn, task_id, 1), message="run 1")
        await al.refresh()  # what the TaskView does when the task resolves
        assert al.run_id == 1
        assert [label for label, _ in al.run_selector.options] == [
            "run 0 · completed",
            "run 1 · completed",
        ]
        assert al.run_selector.value == 1
        assert all("/runs/1/" in entry["url"] for entry in al.artifacts)

        # The dropdown switches to run 0 ...
        al.run_selector.value = 0
        assert al.run_id == 0
        await until(
            lambda: al.artifacts and all("/runs/0/" in e["url"] for e in al.artifacts),
            message="the listing of run 0",
        )
        assert {row["runId"] for row in al.table.rows} == {0}
        assert "run 0" in al.heading.value
        # ... and stays there on refresh (a chosen run is kept).
        await al.refresh()
        assert al.run_id == 0
        log = await al.preview(BACKING_LOG)
        assert "run 0" in log

        # The trait switches runs too.
        al.run_id = 1
        await until(
            lambda: al.artifacts and all("/runs/1/" in e["url"] for e in al.artifacts),
            message="the listing of run 1",
        )
        assert al.run_selector.value == 1

    run(scenario())


def test_task_without_runs_yet(conn):
    async def scenario():
        dependency, blocked = slugid.nice(), slugid.nice()
        sleeper = tutorial_task()
        sleeper["payload"]["command"] = ["/bin/bash", "-c", "sleep 60"]
        conn.queue.createTask(dependency, sleeper)
        task = tutorial_task()
        task["dependencies"] = [dependency]
        conn.queue.createTask(blocked, task)
        try:
            al = ArtifactList(conn, blocked)
            await al.refresh()
            assert al.run_id is None and al.artifacts == [] and al.state == "unscheduled"
            assert "no runs yet" in al.table.message
            assert al.run_selector.layout.display == "none"
            assert al.fetchable_names == [] and not visible(al.progress)
        finally:
            conn.queue.cancelTask(dependency)

    run(scenario())


def test_one_artifact_is_one_artifact(conn):
    """A run with a single artifact says "1 artifact" (not "1 artifacts")."""
    task_id = slugid.nice()
    conn.queue.createTask(task_id, tutorial_task("tutorial/nobody-serves-this"))
    claim = conn.queue.claimWork(
        "tutorial/nobody-serves-this", {"workerGroup": "tests", "workerId": "me", "tasks": 1}
    )
    assert [t["status"]["taskId"] for t in claim["tasks"]] == [task_id]
    reply = conn.queue.createArtifact(
        task_id,
        0,
        "public/only.txt",
        {
            "storageType": "s3",
            "contentType": "text/plain",
            "expires": taskcluster.fromNowJSON("1 day"),
            "contentLength": 3,
        },
    )
    headers = {"Content-Type": "text/plain"}
    requests.put(reply["putUrl"], data=b"one", headers=headers, timeout=10).raise_for_status()

    async def scenario():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        assert al.names == ["public/only.txt"]
        assert "1 artifact<" in al.heading.value or al.heading.value.endswith("1 artifact")
        assert "1 artifacts" not in al.heading.value and "1 artifacts" not in al.to_html()
        assert repr(al) == f"<ArtifactList {task_id} run 0: 1 artifact>"

    try:
        run(scenario())
    finally:
        conn.queue.reportCompleted(task_id, 0)
