"""ArtifactList's downloads and previews through the kernel, against a real
sandbox on 127.0.0.1; a row's buttons are simulated by handing the table the
message its JavaScript sends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import artifact_fixtures
import ipywidgets
import pytest
import requests
from artifact_fixtures import PNG, click_private_link, descendants, run, synced_state, visible
from helpers import until

from tc_notebook.terms import BACKING_LOG
from tc_notebook.widgets import ArtifactList
from tc_notebook.widgets.artifact_fetch import ArtifactError

# Fixtures from artifact_fixtures, bound here so that pytest finds them by name.
artifact_sandbox = artifact_fixtures.artifact_sandbox
conn = artifact_fixtures.conn
tasks = artifact_fixtures.tasks
task_id = artifact_fixtures.task_id


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
        url = click_private_link(al.table, notice["name"], notice["runId"])["url"]
        assert "bewit=" in url
        assert requests.get(url, timeout=10).content == path.read_bytes()

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


def test_close_stops_a_download_and_a_preview_and_closes_the_parts(
    conn, task_id, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)

    async def scenario():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        parts = descendants(al)
        al.table._handle_custom_msg({"type": "download", "name": "public/out/big.txt"}, [])
        al.table._handle_custom_msg({"type": "preview", "name": "public/out/big.txt"}, [])
        al.close()
        await until(lambda: len(al._tasks) == 0, message="the download and preview to stop")
        assert al._download_task.cancelled() and al._preview_task.cancelled()
        assert all(part.comm is None for part in parts)  # the table, progress bar, ...
        assert list(tmp_path.iterdir()) == []  # neither the file nor its .part

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
        al.table._handle_custom_msg({"type": "preview", "name": "public/out/f3.txt"}, [])
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
