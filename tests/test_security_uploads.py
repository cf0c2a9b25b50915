"""Uploads stay consistent: a late PUT keeps a newer createArtifact, interleaved
PUTs leave one whole upload stored, and an upload cut by a crash (kill -9)
leaves neither a partial file nor bytes to serve. The queue records no length
it was not told (as Taskcluster: contentLength is what createArtifact declared).
"""

from __future__ import annotations

import threading

import requests
import slugid
import taskcluster
from helpers import create_and_claim, make_queue, make_task, new_queue_id, root_queue, wait_until
from security_helpers import assert_error

from tc_notebook.sandbox import SandboxProcess


def test_late_put_keeps_a_newer_create_artifact(sandbox, queue):
    """A PUT that finishes after a newer createArtifact of the same name does
    not write the older row back."""
    task_id, claim, worker = create_and_claim(queue, sandbox.root_url)
    name = "public/late.txt"
    first = worker.createArtifact(task_id, 0, name, {
        "storageType": "s3", "contentType": "text/plain",
        "expires": taskcluster.fromNowJSON("1 day")})
    later = taskcluster.fromNowJSON("2 days")
    worker.createArtifact(task_id, 0, name, {
        "storageType": "s3", "contentType": "text/plain", "expires": later})
    put = requests.put(first["putUrl"], data=b"12345", timeout=10,
                       headers={"Content-Type": "text/plain"})
    assert put.status_code == 200, put.text
    info = queue.artifactInfo(task_id, 0, name)
    assert info["expires"] == later[:23] + "Z"  # stored to the millisecond
    assert "contentLength" not in info  # none declared, none measured


def test_concurrent_puts_leave_one_whole_upload(sandbox, queue):
    """Two uploads to one artifact, interleaved: the stored bytes are one of
    them, whole."""
    task_id, claim, worker = create_and_claim(queue, sandbox.root_url)
    name = "public/raced.bin"
    reply = worker.createArtifact(task_id, 0, name, {
        "storageType": "s3", "contentType": "application/octet-stream",
        "expires": taskcluster.fromNowJSON("1 day")})
    turns = [threading.Event() for _ in range(6)]

    def body(size: int, mine: range):
        for turn in mine:
            assert turns[turn].wait(10)
            yield b"a" * size
            if turn + 1 < len(turns):
                turns[turn + 1].set()

    results: dict[str, int] = {}

    def upload(label: str, size: int, mine: range) -> None:
        res = requests.put(reply["putUrl"], data=body(size, mine), timeout=30,
                           headers={"Content-Type": "application/octet-stream"})
        results[label] = res.status_code

    threads = [threading.Thread(target=upload, args=("big", 70000, range(0, 6, 2))),
               threading.Thread(target=upload, args=("small", 10, range(1, 6, 2)))]
    for thread in threads:
        thread.start()
    turns[0].set()
    for thread in threads:
        thread.join(30)
    assert results == {"big": 200, "small": 200}
    stored = requests.get(queue.buildUrl("getArtifact", task_id, 0, name), timeout=10).content
    assert stored in (b"a" * 3 * 70000, b"a" * 3 * 10)
    assert "contentLength" not in queue.artifactInfo(task_id, 0, name)


def test_upload_cut_by_a_crash_leaves_nothing(tmp_path):
    """kill -9 during an upload: after the restart no `.partial` file is left
    and the artifact has no bytes to serve."""
    data_dir = tmp_path / "data"
    sandbox = SandboxProcess(data_dir, "--capacity", "0").start()
    try:
        queue = root_queue(sandbox)
        task_queue_id = new_queue_id()
        task_id = slugid.nice()
        queue.createTask(task_id, make_task(task_queue_id))
        claim = queue.claimWork(task_queue_id, {"workerGroup": "g", "workerId": "w",
                                                "tasks": 1})["tasks"][0]
        worker = make_queue(sandbox.root_url, claim["credentials"])
        reply = worker.createArtifact(task_id, 0, "public/cut.bin", {
            "storageType": "s3", "contentType": "application/octet-stream",
            "expires": taskcluster.fromNowJSON("1 day")})
        release = threading.Event()

        def body():
            yield b"x" * 100_000
            release.wait(20)
            yield b"y"

        upload = threading.Thread(target=lambda: _ignore_errors(
            requests.put, reply["putUrl"], data=body(), timeout=30,
            headers={"Content-Type": "application/octet-stream"}))
        upload.start()
        wait_until(lambda: list(data_dir.glob("blobs/*/*/.*.partial")), 10,
                   message="the upload's partial file")
        sandbox.kill()
        release.set()
        upload.join(30)
        assert list(data_dir.glob("blobs/*/*/.*.partial"))  # what the crash left
        sandbox.start()
        assert not list(data_dir.glob("blobs/*/*/.*.partial"))
        url = make_queue(sandbox.root_url).buildUrl("getArtifact", task_id, 0, "public/cut.bin")
        res = requests.get(url, timeout=10)
        assert_error(res, 404, "ResourceNotFound")
    finally:
        sandbox.stop()


def _ignore_errors(function, *args, **kwargs) -> None:
    try:
        function(*args, **kwargs)
    except requests.RequestException:
        pass
