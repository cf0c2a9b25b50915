"""ArtifactList against a real sandbox (queue and worker) on 127.0.0.1.

The widgets are driven inside `asyncio.run`, as the kernel's loop would;
browser clicks are simulated by handing the widget the message its
JavaScript sends.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import urllib.parse
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import ipywidgets
import pytest
import requests
import slugid
import taskcluster

from tc_notebook.connection import Connection
from tc_notebook.sandbox import Sandbox
from tc_notebook.tutorial import tutorial_task
from tc_notebook.widgets import ArtifactList, polling
from tc_notebook.widgets.artifacts import ICONS, ArtifactError, human_size, sort_key

LIVE_LOG = "public/logs/live.log"
BACKING_LOG = "public/logs/live_backing.log"
RESOLVED = ("completed", "failed", "exception")
# A 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
COMMAND = (
    "mkdir -p out; for i in $(seq 1 12); do echo $i > out/f$i.txt; done; "
    """echo '{"a": 1}' > out/x.json; """
    f"echo {base64.b64encode(PNG).decode()} | base64 -d > out/dot.png; "
    "head -c 200000 /dev/zero | tr '\\0' a > out/big.txt"
)


# -- fixtures ------------------------------------------------------------------------


def wait_for(predicate: Callable[[], Any], timeout: float = 15, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {message or predicate}")
        time.sleep(0.05)
    return value


async def until(predicate: Callable[[], Any], timeout: float = 15, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {message or predicate}")
        await asyncio.sleep(0.05)
    return value


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a test coroutine on a fresh loop, closing the widgets' session after."""

    async def main() -> Any:
        try:
            return await coroutine
        finally:
            await polling.close_session()

    return asyncio.run(main())


def resolved(conn: Connection, task_id: str, run_id: int = 0) -> Callable[[], bool]:
    def check() -> bool:
        runs = conn.queue.status(task_id)["status"]["runs"]
        return len(runs) > run_id and runs[run_id]["state"] in RESOLVED

    return check


@pytest.fixture(scope="module")
def sandbox():
    sb = Sandbox(capacity=2).start()
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def conn(sandbox) -> Connection:
    return Connection(sandbox.root_url, sandbox.credentials, sandbox)


@pytest.fixture(scope="module")
def tasks(conn) -> dict[str, str]:
    """A resolved task with 20 artifacts (one an error artifact), and a second one
    (the plain tutorial task) for the rerun test."""
    task = tutorial_task()
    task["payload"]["command"] = ["/bin/bash", "-c", COMMAND]
    task["payload"]["artifacts"].update(
        {
            "public/out": {"type": "directory", "path": "out"},
            "private/secret.txt": {"type": "file", "path": "/etc/hostname"},
            "public/missing.txt": {"type": "file", "path": "nowhere.txt"},
        }
    )
    main, rerun = slugid.nice(), slugid.nice()
    conn.queue.createTask(main, task)
    conn.queue.createTask(rerun, tutorial_task())
    wait_for(resolved(conn, main), message="the artifacts task")
    wait_for(resolved(conn, rerun), message="the rerun task")
    return {"main": main, "rerun": rerun}


@pytest.fixture
def task_id(tasks) -> str:
    return tasks["main"]


def synced_state(widget: ipywidgets.Widget) -> str:
    """Every synced trait of the widget and its descendants, as JSON text."""
    seen: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, ipywidgets.Widget):
            state = value.get_state()
            seen.append(state)
            for item in state.values():
                walk(item)
            for trait in value.keys:
                walk(getattr(value, trait))
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(widget)
    return json.dumps(seen, default=repr)


def bewit_expiry(url: str) -> int:
    bewit = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["bewit"][0]
    decoded = base64.urlsafe_b64decode(bewit + "=" * (-len(bewit) % 4)).decode()
    return int(decoded.split("\\")[1])


# -- listing -------------------------------------------------------------------------


def test_rows_sorted_like_the_ui_and_collapsed(conn, task_id):
    async def scenario():
        al = ArtifactList(conn, task_id, page_size=3)  # pagination: 7 pages
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
        assert passwd["contentLength"] == Path("/etc/passwd").stat().st_size
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
        sent: list[dict[str, Any]] = []
        al.table.send = lambda content, buffers=None: sent.append(content)
        assert "bewit" not in synced_state(al)
        assert "bewit" not in json.dumps(al._repr_mimebundle_(), default=repr)
        assert al.signed_urls == [] and al.last_signed == {}
        row = next(r for r in al.table.rows if r["name"] == "private/secret.txt")
        assert row["href"] == "" and row["private"]

        # The click: what the JavaScript sends.
        clicked = time.time()
        al.table._handle_custom_msg(
            {"type": "sign", "name": "private/secret.txt", "runId": 0, "id": "c1"}, []
        )
        assert len(sent) == 1
        reply = sent[0]
        assert reply["type"] == "signed" and reply["id"] == "c1"
        assert reply["name"] == "private/secret.txt"
        assert "bewit=" in reply["url"]
        assert abs(bewit_expiry(reply["url"]) - (clicked + 900)) < 5
        assert al.last_signed["url"] == reply["url"] and al.signed_urls == [al.last_signed]
        assert abs(al.last_signed["expires"] - (clicked + 900)) < 5
        assert "bewit" not in synced_state(al)  # handed out, not kept in synced state

        # Unknown names are not signed.
        al.table._handle_custom_msg({"type": "sign", "name": "private/other", "id": "c2"}, [])
        assert sent[1]["type"] == "sign-error" and len(al.signed_urls) == 1
        # Same message through the ArtifactList itself (brief's protocol, no id).
        al._handle_custom_msg({"type": "sign", "name": "private/secret.txt"}, [])
        assert sent[2]["type"] == "signed" and len(al.signed_urls) == 2
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
        sent: list[dict[str, Any]] = []
        al.table.send = lambda content, buffers=None: sent.append(content)
        hrefs = [row["href"] for row in al.table.rows if row["href"]]
        assert len(hrefs) == 18  # all but the private one and the error one
        assert all(href.startswith(prefix) for href in hrefs)
        assert f"href='{prefix}" in al.to_html()
        # The kernel keeps fetching from the real root URL.
        assert al.entry("public/passwd.txt")["url"].startswith(conn.root_url)
        al.table._handle_custom_msg({"type": "sign", "name": "private/secret.txt", "id": 1}, [])
        assert sent[0]["url"].startswith(prefix) and "bewit=" in sent[0]["url"]

    run(scenario())


# -- through the kernel --------------------------------------------------------------


def visible(widget: ipywidgets.Widget) -> bool:
    return widget.layout.display != "none"


def descendants(widget: ipywidgets.Widget) -> list[ipywidgets.Widget]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += descendants(child)
    return found


def test_download_action_says_where_and_offers_a_browser_download(
    conn, task_id, tmp_path, monkeypatch
):
    """A row's "download": a progress bar only while it runs, then the full
    path of the saved file and a link that downloads it in the browser."""
    monkeypatch.chdir(tmp_path)

    async def scenario():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        assert not visible(al.progress) and al.notice == ""  # no empty progress bar
        shown: list[bool] = []
        al.progress.layout.observe(lambda change: shown.append(visible(al.progress)), "display")
        notices: list[dict[str, Any]] = []
        al.table.observe(lambda change: notices.append(change["new"]), "notice")

        # The row's action (what its JavaScript sends).
        al.table._handle_custom_msg({"type": "download", "name": "public/passwd.txt"}, [])
        await until(lambda: al.table.notice.get("tone") == "done", message="the download")
        target = (tmp_path / "passwd.txt").resolve()
        assert target.read_bytes() == Path("/etc/passwd").read_bytes()
        # The bar showed while the download ran, and only then.
        assert shown == [True, False] and not visible(al.progress) and not al.downloading
        assert notices[0] == {"tone": "info", "text": "Downloading public/passwd.txt…", "path": ""}
        assert al.progress.value == 100 and al.progress.bar_style == "success"
        assert not list(tmp_path.glob("*.part"))
        # Where it went: the whole path, on the kernel's machine.
        notice = al.table.notice
        assert notice["tone"] == "done" and notice["path"] == str(target)
        assert "on the kernel's machine" in notice["text"]
        assert al.notice.endswith(str(target))
        # The offer of a browser download: public, a plain link.
        assert notice["offer"] and notice["basename"] == "passwd.txt"
        assert notice["href"] == conn.browser_url(al.entry("public/passwd.txt")["url"])
        page = al.to_html()
        assert str(target) in page and "download it in your browser" in page
        assert requests.get(notice["href"], timeout=10).content == target.read_bytes()

        # A private artifact: saved by the kernel, its browser download signed at the click.
        (tmp_path / "sub").mkdir()
        path = await al.download("private/secret.txt", tmp_path / "sub")
        assert path == (tmp_path / "sub" / "secret.txt").resolve()
        assert path.read_bytes() == Path("/etc/hostname").read_bytes()
        notice = al.table.notice
        assert notice["offer"] and notice["href"] == "" and notice["name"] == "private/secret.txt"
        assert "bewit" not in synced_state(al)
        sent: list[dict[str, Any]] = []
        al.table.send = lambda content, buffers=None: sent.append(content)
        al.table._handle_custom_msg(
            {"type": "sign", "name": notice["name"], "runId": notice["runId"], "id": "s1"}, []
        )
        assert sent[0]["type"] == "signed" and "bewit=" in sent[0]["url"]
        assert requests.get(sent[0]["url"], timeout=10).content == path.read_bytes()

        big = await al.download("public/out/big.txt", tmp_path / "big-copy.txt")
        assert big.read_bytes() == b"a" * 200000 and al.progress.value == 100

        # Failures raise from code, and are explained in the notice from a row.
        with pytest.raises(ArtifactError, match="file-missing-on-worker"):
            await al.download("public/missing.txt")
        assert al.table.notice["tone"] == "error" and not visible(al.progress)
        assert await al._quietly(al.download, "public/nothing-here") is None
        assert "no artifact 'public/nothing-here'" in al.notice
        al.table._handle_custom_msg({"type": "download", "name": "public/out/f1.txt"}, [])
        await until(lambda: (tmp_path / "f1.txt").exists(), message="the second download")
        await until(lambda: not al.downloading)

    run(scenario())


def test_close_stops_a_download_and_closes_the_parts(conn, task_id, tmp_path):
    async def scenario():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        parts = descendants(al)
        al.table._handle_custom_msg({"type": "download", "name": "public/out/big.txt"}, [])
        al.close()
        await until(lambda: al._download_task.done(), message="the download to stop")
        assert al._download_task.cancelled() and len(al._tasks) == 0
        assert all(part.comm is None for part in parts)  # the table, progress bar, ...
        assert not list(tmp_path.glob("*.part"))

    run(scenario())


def test_preview_text_json_and_images(conn, task_id):
    async def scenario():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        # One way to preview: each row's action. No artifact dropdown, no preview button.
        parts = descendants(al)
        assert [p for p in parts if isinstance(p, ipywidgets.Dropdown)] == [al.run_selector]
        assert [p.description for p in parts if isinstance(p, ipywidgets.Button)] == ["refresh"]
        text = await al.preview("public/passwd.txt")
        assert text == Path("/etc/passwd").read_text()
        shown = al.preview_box.children
        assert "public/passwd.txt" in shown[0].value and "root:" in shown[1].value

        assert await al.preview("public/out/x.json") == '{\n  "a": 1\n}'
        assert "&quot;a&quot;: 1" in al.preview_box.children[1].value

        big = await al.preview("public/out/big.txt")
        assert big == "a" * 64 * 1024
        assert "first 64.0 KiB" in al.preview_box.children[0].value

        image = await al.preview("public/out/dot.png")
        assert image == PNG
        widget = al.preview_box.children[1]
        assert isinstance(widget, ipywidgets.Image) and widget.format == "png"
        assert widget.value == PNG

        log = await al.preview(BACKING_LOG)
        assert f"task {task_id} run 0" in log

        # The row's preview action (its JavaScript's message).
        al._handle_custom_msg({"type": "preview", "name": "public/out/f3.txt"}, [])
        await until(
            lambda: (
                len(al.preview_box.children) > 1
                and al.preview_box.children[1].value
                and "3\n" in al.preview_box.children[1].value
            ),
            message="the preview from a row",
        )
        assert "public/out/f3.txt" in al.preview_box.children[0].value

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
