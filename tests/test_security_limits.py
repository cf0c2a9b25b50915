"""Bounded resources: each entry's own body limit and the blob size limit (a 413
in the error format, nothing stored), and the worker's live-log readers, counted,
capped, released when they go away, and never left asleep by a write.
"""

from __future__ import annotations

import asyncio
import urllib.parse

import requests
import taskcluster
from helpers import API, create_and_claim, make_task, new_task_id, raw_request, root_queue, until
from security_helpers import assert_error

from tc_notebook.worker.livelog import LiveLog, LiveLogServer


def test_each_entry_has_its_own_body_limit(sandbox, queue):
    """reportCompleted takes no input: a 100 KiB body is a 413 in the error
    format, while createTask takes a 1 MiB task."""
    task_id, claim, worker = create_and_claim(queue, sandbox.root_url)
    url = f"{sandbox.root_url}{API}/task/{task_id}/runs/0/completed"
    res = raw_request("POST", url, sandbox.credentials, body={"pad": "x" * 100_000})
    assert_error(res, 413, "InputTooLarge")
    assert queue.status(task_id)["status"]["state"] == "running"
    big = new_task_id()
    queue.createTask(big, make_task(payload={"pad": "x" * 1024 * 1024}))
    assert len(queue.task(big)["payload"]["pad"]) == 1024 * 1024


def test_blob_over_the_limit_is_413(make_sandbox):
    """An upload over max_blob_bytes: 413 in the error format, nothing stored."""
    sandbox = make_sandbox(max_blob_bytes=1000)
    queue = root_queue(sandbox)
    task_id, claim, worker = create_and_claim(queue, sandbox.root_url)
    reply = worker.createArtifact(task_id, 0, "public/big.bin", {
        "storageType": "s3", "contentType": "application/octet-stream",
        "expires": taskcluster.fromNowJSON("1 day")})

    def chunks():
        for _ in range(10):
            yield b"z" * 500

    res = requests.put(reply["putUrl"], data=chunks(), timeout=10,
                       headers={"Content-Type": "application/octet-stream"})
    assert_error(res, 413, "InputTooLarge")
    res = requests.get(queue.buildUrl("getArtifact", task_id, 0, "public/big.bin"), timeout=10)
    assert_error(res, 404, "ResourceNotFound")


def test_live_log_readers_are_counted_and_released(tmp_path):
    """The worker's live-log server: a reader that goes away frees its place at
    once; past the cap a reader gets a 503; unknown or malformed tokens a 404."""

    async def scenario() -> None:
        server = LiveLogServer(max_readers=3)
        await server.start()
        log = server.open(tmp_path / "run.log")
        log.write(b"first line\n")
        path = urllib.parse.urlsplit(server.url_of(log)).path

        async def reader(target: str) -> tuple[asyncio.StreamWriter, bytes]:
            stream, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            return writer, await stream.read(4096)

        try:
            readers = [await reader(path) for _ in range(3)]
            assert all(head.startswith(b"HTTP/1.1 200") for _, head in readers)
            await until(lambda: server.readers == 3, 5, "3 live-log readers")
            extra, head = await reader(path)
            assert head.startswith(b"HTTP/1.1 503"), head
            extra.close()
            for bad in ("/log/", "/log/%0A", f"/log/{'x' * 5000}", f"{path}/more", "/log/..%2F"):
                writer, head = await reader(bad)
                assert head.startswith(b"HTTP/1.1 404"), (bad, head)
                writer.close()
            for writer, _ in readers:
                writer.close()
            await until(lambda: server.readers == 0, 5, "the readers to be released")
        finally:
            log.close()
            await server.stop()

    asyncio.run(scenario())


def test_live_log_readers_miss_no_write(tmp_path):
    """Every reader waiting on a live log wakes for a write, and one that read
    before a write it has not waited for yet sees it at once (none stays asleep)."""

    async def scenario() -> None:
        log = LiveLog(tmp_path / "run.log")
        try:
            before = log.version
            waiting = [asyncio.create_task(log.changed_since(before)) for _ in range(3)]
            await asyncio.sleep(0)  # let them wait
            late_reader_saw = log.version  # read the file, found nothing, not waiting yet
            log.write(b"one line\n")
            await asyncio.wait_for(asyncio.gather(*waiting), 2)
            await asyncio.wait_for(log.changed_since(late_reader_saw), 2)
            current = log.version
            closing = asyncio.create_task(log.changed_since(current))
            await asyncio.sleep(0)
            assert not closing.done()
            log.close()
            await asyncio.wait_for(closing, 2)
        finally:
            log.close()

    asyncio.run(scenario())
