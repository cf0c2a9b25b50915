"""The artifact paths' shortcuts give what the long way gives: URLs built
without a client call per name, browser links mapped from the root URL once,
file uploads handed to sendfile, downloads streamed in the pieces the socket
gives, and a directory artifact's entries uploaded a few at a time."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import urllib.parse
from pathlib import Path, PurePosixPath

import aiohttp
import pytest
import requests
import taskcluster
import taskcluster.aio
from helpers import create_and_claim, make_queue, wait_until

from tc_notebook.connection import Connection
from tc_notebook.widgets import ArtifactList, polling
from tc_notebook.widgets.artifact_fetch import artifact_urls, download
from tc_notebook.widgets.artifact_names import basename
from tc_notebook.worker import artifacts as worker_artifacts
from tc_notebook.worker.artifacts import all_or_none
from tc_notebook.worker.opener import Opener
from tc_notebook.worker.payload import ArtifactSpec
from tc_notebook.worker.uploads import FileBody, Uploader

TASK_ID = "fN1SgnruTcqN23ibgsEc5A"
ROOT_URLS = ["https://tc.example.com", "http://127.0.0.1:8080", "https://taskcluster.net"]
NAMES = [
    "public/with space.txt",
    "public/ünïcødé/ß.txt",
    "public/a/b/c/d.txt",
    "public/100%.txt",
    "public/what?x=1&y=2",
    "public/#anchor",
    "private/plus+semi;colon:at@~tilde",
    "public/./dot/../dots",
    "x",
    "",
]


@pytest.mark.parametrize("root_url", ROOT_URLS)
@pytest.mark.parametrize("client", [taskcluster.Queue, taskcluster.aio.Queue])
def test_artifact_urls_are_the_clients_own(root_url, client):
    """Every name gives the very URL `buildUrl("getArtifact", ...)` gives."""
    queue = client({"rootUrl": root_url})
    for run_id in (0, 7):
        url_of = artifact_urls(queue, TASK_ID, run_id)
        for name in NAMES:
            assert url_of(name) == queue.buildUrl("getArtifact", TASK_ID, run_id, name), name


def test_browser_links_are_connections_own(monkeypatch):
    """The list's links, root mapped once, are `Connection.browser_url`'s, behind
    jupyter-server-proxy or not, for URLs under the root URL and elsewhere."""
    conn = Connection("http://127.0.0.1:8765", {"clientId": "c", "accessToken": "t"})
    queue = taskcluster.Queue({"rootUrl": conn.root_url})
    urls = [queue.buildUrl("getArtifact", TASK_ID, 0, name) for name in NAMES]
    urls += ["https://elsewhere.example.com/x", "http://127.0.0.1:87650/y"]
    for prefix in ("/user/me/", ""):
        monkeypatch.setenv("TC_NOTEBOOK_PROXY_PREFIX", prefix)
        to_browser = ArtifactList(conn, TASK_ID)._browser_urls()
        assert [to_browser(url) for url in urls] == [conn.browser_url(url) for url in urls]
        assert to_browser(urls[0]).startswith(prefix + "proxy/8765/" if prefix else "http")


def test_basename_is_pathlibs():
    for name in [*NAMES, "a/b/", "a/.", ".", "..", "a/..", "/x", "a//b", "a/./"]:
        assert basename(name) == PurePosixPath(name).name, name


# -- bytes up and down ---------------------------------------------------------------------


def random_file(path: Path, size: int) -> str:
    """Write `size` random bytes at `path`; their sha256."""
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_upload_goes_through_sendfile_and_arrives_whole(sandbox, queue, tmp_path, monkeypatch):
    """The worker's s3 upload hands the file to the loop's sendfile (no reads
    in Python), and the blob served back is the file, byte for byte."""
    source = tmp_path / "up.bin"
    digest = random_file(source, 3 * 1024 * 1024 + 17)
    task_id, claim, _ = create_and_claim(queue, sandbox.root_url)
    sent: list[int] = []
    real_sendfile = asyncio.BaseEventLoop.sendfile

    async def counting(loop, transport, file, offset=0, count=None, **kwargs):
        sent.append(count)
        return await real_sendfile(loop, transport, file, offset, count, **kwargs)

    monkeypatch.setattr(asyncio.BaseEventLoop, "sendfile", counting)

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            worker = taskcluster.aio.Queue(
                {"rootUrl": sandbox.root_url, "credentials": claim["credentials"]},
                session=session,
            )
            with open(source, "rb") as body:
                size = await Uploader("s3", sandbox.root_url, session).upload(
                    worker, task_id, 0, "public/up.bin", body, "application/x-test",
                    taskcluster.fromNowJSON("1 day"),
                )
            assert size == source.stat().st_size

    asyncio.run(scenario())
    assert sent == [source.stat().st_size]
    url = make_queue(sandbox.root_url).buildUrl("getArtifact", task_id, 0, "public/up.bin")
    target = tmp_path / "down.bin"

    progress: list[tuple[int, int | None]] = []

    async def fetch() -> int:
        try:
            return await download(
                polling.session(), url, "public/up.bin", target,
                lambda received, total: progress.append((received, total)),
            )
        finally:
            await polling.close_session()

    size = source.stat().st_size
    assert asyncio.run(fetch()) == size
    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest
    assert progress[0] == (0, size) and progress[-1] == (size, size)
    assert not target.with_name("down.bin.part").exists()


def test_file_body_without_a_transport_is_read_as_aiohttp_reads_it(tmp_path):
    """Where sendfile cannot go (no plain transport), the body is written in chunks."""
    source = tmp_path / "small.bin"
    random_file(source, 300_000)

    class Collect:
        transport = None

        def __init__(self) -> None:
            self.data = bytearray()

        async def write(self, chunk: bytes) -> None:
            self.data += chunk

    async def scenario() -> bytes:
        writer = Collect()
        with open(source, "rb") as body:
            await FileBody(body).write_with_length(writer, None)
        return bytes(writer.data)

    assert asyncio.run(scenario()) == source.read_bytes()


# -- directory artifacts -------------------------------------------------------------------


def test_all_or_none_stops_the_rest_at_the_first_failure():
    finished, cancelled = [], []

    async def step(number: int) -> None:
        try:
            await asyncio.sleep(0 if number == 3 else 0.5)
            if number == 3:
                raise OSError("number 3 failed")
            finished.append(number)
        except asyncio.CancelledError:
            cancelled.append(number)
            raise

    async def scenario() -> None:
        with pytest.raises(OSError, match="number 3 failed"):
            await all_or_none(step(n) for n in range(6))

    asyncio.run(scenario())
    assert finished == [] and sorted(cancelled) == [0, 1, 2, 4, 5]


def test_directory_entries_go_a_few_at_a_time(tmp_path, monkeypatch):
    """Every file of a nested directory is uploaded once, under its name, with
    never more than UPLOADS_AT_ONCE at once (and more than one)."""
    monkeypatch.setattr(worker_artifacts, "UPLOADS_AT_ONCE", 4)
    for folder in ("out", "out/a", "out/a/b", "out/c"):
        (tmp_path / folder).mkdir()
        for number in range(9):
            (tmp_path / folder / f"f{number}.txt").write_text(str(number))
    running, most, uploaded = 0, 0, []

    class Run:
        directory = tmp_path
        task = {"expires": "2100-01-01T00:00:00.000Z"}

        class worker:  # noqa: N801 (what TaskRun.worker offers the uploads)
            opener = Opener()

        async def upload(self, name: str, body, expires: str, content_type: str) -> None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.01)
            uploaded.append((name, body.read().decode()))
            running -= 1

    spec = ArtifactSpec(name="public/out", path="out", type="directory")
    assert asyncio.run(worker_artifacts.RunArtifacts(Run(), "generic-worker").upload([spec]))
    expected = {
        (f"public/{folder}/f{number}.txt", str(number))
        for folder in ("out", "out/a", "out/a/b", "out/c")
        for number in range(9)
    }
    assert sorted(uploaded) == sorted(expected)
    assert 1 < most <= 4



def test_a_put_cut_short_of_its_length_leaves_no_blob(make_sandbox, tmp_path):
    """A PUT announcing 1 MiB (its blob reserved at that size) whose client goes
    away after 100 kB: no bytes are served, and no partial file stays behind."""
    box = make_sandbox(tmp_path / "data")
    queue = make_queue(box.root_url, box.credentials)
    task_id, claim, _ = create_and_claim(queue, box.root_url)
    worker = make_queue(box.root_url, claim["credentials"])
    reply = worker.createArtifact(task_id, 0, "public/cut.bin", {
        "storageType": "s3", "contentType": "application/octet-stream",
        "expires": taskcluster.fromNowJSON("1 day"), "contentLength": 1 << 20})
    target = urllib.parse.urlsplit(reply["putUrl"])
    with socket.create_connection((target.hostname, target.port), timeout=10) as raw:
        raw.sendall(
            f"PUT {target.path}?{target.query} HTTP/1.1\r\nHost: {target.netloc}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {1 << 20}\r\n\r\n"
            .encode() + b"x" * 100_000
        )
        wait_until(lambda: list(box.data_dir.glob("blobs/*/*/.*.partial")), 10,
                   message="the upload's partial file")
    wait_until(lambda: not list(box.data_dir.glob("blobs/*/*/.*")), 10,
               message="the partial file removed")
    url = queue.buildUrl("getArtifact", task_id, 0, "public/cut.bin")
    assert requests.get(url, timeout=10).status_code == 404
