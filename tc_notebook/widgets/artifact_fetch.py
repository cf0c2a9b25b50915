"""The kernel's requests for a run's artifacts: listing them (every page,
with the reasons of error artifacts and the sizes of object artifacts),
streaming one into a file, and reading the start of one for a preview. No
widgets here: `ArtifactList` calls these."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import taskcluster.exceptions

from ..failures import NETWORK_ERRORS, first_line
from ..preallocate import preallocate
from .artifact_names import basename, is_public, sort_key

# The response's buffer: the socket is read on while the file is written.
READ_BUFFER_BYTES = 4 * 1024 * 1024
PREVIEW_IDLE_SECONDS = 3.0  # a live log still being written: show what came so far
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)
PREVIEW_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=30)
# Object artifacts list no contentLength: a listing asks the storage for the
# sizes of the first of them in display order, a few requests at a time.
SIZE_LOOKUPS = 100
SIZE_LOOKUPS_AT_ONCE = 8
SIZE_TIMEOUT = aiohttp.ClientTimeout(total=10, sock_connect=5)


class ArtifactError(Exception):
    """An artifact that cannot be fetched (error artifact, HTTP failure)."""


@dataclass
class Listing:
    """A task's status and the artifacts of one of its runs, in the UI's order."""

    status: dict[str, Any]
    run_id: int | None  # None: the task has no runs yet
    artifacts: list[dict[str, Any]]


async def list_run(
    queue: Any,
    task_id: str,
    run_id: int | None,
    page_size: int | None = None,
    session: aiohttp.ClientSession | None = None,
) -> Listing:
    """List run `run_id` (None: the latest) of the task with an asyncio Queue
    client. Each artifact: name, storageType, contentType, contentLength (as
    listed), size (contentLength, or for an object artifact what its storage
    answers, through `session`; None if unknown), expires, url (unsigned
    getArtifact), and for error artifacts reason and message. ArtifactError
    if the task has no such run."""
    status = (await queue.status(task_id))["status"]
    runs = status["runs"]
    if not runs:
        return Listing(status, None, [])
    latest = runs[-1]["runId"]
    run_id = latest if run_id is None else run_id
    if not 0 <= run_id <= latest:
        raise ArtifactError(f"Task {task_id} has no run {run_id} (runs 0 to {latest}).")
    listed: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": page_size} if page_size else {}
    while True:
        page = await queue.listArtifacts(task_id, run_id, query=query)
        listed.extend(page["artifacts"])
        if not page.get("continuationToken"):
            break
        query["continuationToken"] = page["continuationToken"]
    listed.sort(key=lambda item: sort_key(item["name"]))
    errors = [item["name"] for item in listed if item["storageType"] == "error"]
    details = await asyncio.gather(*(_error_details(queue, task_id, run_id, n) for n in errors))
    reasons = dict(zip(errors, details, strict=True))
    url_of = artifact_urls(queue, task_id, run_id)
    artifacts = []
    for item in listed:
        entry = {
            "name": item["name"],
            "storageType": item["storageType"],
            "contentType": item.get("contentType", ""),
            "contentLength": item.get("contentLength"),
            "size": item.get("contentLength"),
            "expires": item.get("expires"),
            "url": url_of(item["name"]),
        }
        if item["name"] in reasons:
            entry["reason"], entry["message"] = reasons[item["name"]]
        artifacts.append(entry)
    if session is not None:
        await _measure_objects(session, queue, task_id, run_id, artifacts)
    return Listing(status, run_id, artifacts)


async def _measure_objects(
    session: aiohttp.ClientSession,
    queue: Any,
    task_id: str,
    run_id: int,
    artifacts: list[dict[str, Any]],
) -> None:
    """Fill in `size` of the first `SIZE_LOOKUPS` object artifacts that have
    none, from the storage's answer to a one-byte range request (the body
    left unread: a download URL may be signed for GET only, so no HEAD)."""
    unsized = [e for e in artifacts if e["storageType"] == "object" and e["size"] is None]
    gate = asyncio.Semaphore(SIZE_LOOKUPS_AT_ONCE)

    async def measure(entry: dict[str, Any]) -> None:
        url = entry["url"]
        if not is_public(entry["name"]):
            try:
                url = queue.buildSignedUrl("getArtifact", task_id, run_id, entry["name"])
            except taskcluster.exceptions.TaskclusterFailure:
                return  # no credentials to sign with: size unknown
        async with gate:
            entry["size"] = await _total_size(session, url)

    await asyncio.gather(*(measure(entry) for entry in unsized[:SIZE_LOOKUPS]))


async def _total_size(session: aiohttp.ClientSession, url: str) -> int | None:
    """The size of what `url` leads to, from its headers, or None."""
    try:
        async with session.get(url, headers={"Range": "bytes=0-0"}, timeout=SIZE_TIMEOUT) as got:
            if got.status == 206:
                _, _, total = got.headers.get("Content-Range", "").rpartition("/")
                return int(total) if total.isdigit() else None
            encoded = got.headers.get("Content-Encoding", "identity") != "identity"
            return got.content_length if got.status == 200 and not encoded else None
    except NETWORK_ERRORS:
        return None


def artifact_urls(queue: Any, task_id: str, run_id: int) -> Callable[[str], str]:
    """A function giving the unsigned getArtifact URL of a name of this run,
    the very URL `queue.buildUrl` gives, without a client call per name: the
    client quotes a name as UTF-8 with no safe characters (`/` too) and puts
    it last, so its URL is the run's prefix and the quoted name."""
    probe = "x"  # quotes to itself
    url = queue.buildUrl("getArtifact", task_id, run_id, probe)
    if not url.endswith("/" + probe):  # a client that builds URLs otherwise
        return lambda name: queue.buildUrl("getArtifact", task_id, run_id, name)
    prefix = url[: -len(probe)]
    return lambda name: prefix + urllib.parse.quote(name.encode("utf-8"), safe="")


async def _error_details(queue: Any, task_id: str, run_id: int, name: str) -> tuple[str, str]:
    """(reason, message) of an error artifact; listArtifacts leaves them out."""
    try:
        body = await queue.artifact(task_id, run_id, name)
    except (taskcluster.exceptions.TaskclusterRestFailure, *NETWORK_ERRORS):
        return "error", ""
    return body.get("reason", "error"), body.get("message", "")


async def _raise_for(response: aiohttp.ClientResponse, name: str) -> None:
    """ArtifactError with the service's message for an HTTP error answer."""
    if response.status < 400:
        return
    body = await response.content.read(4096)
    try:
        message = json.loads(body).get("message", "")
    except (ValueError, AttributeError):
        message = body.decode("utf-8", "replace")
    raise ArtifactError(
        f"fetching {name} failed with HTTP {response.status}: {first_line(message)}"
    )


def download_target(name: str, path: str | Path | None) -> Path:
    """Where `download` saves artifact `name`: `path` (a file, or a directory
    to put the artifact's base name in; default the working directory), absolute."""
    target = Path(path).expanduser() if path is not None else Path.cwd()
    if target.is_dir():
        target = target / basename(name)
    return target.resolve()


async def download(
    session: aiohttp.ClientSession,
    url: str,
    name: str,
    target: Path,
    on_progress: Callable[[int, int | None], None],
    expected: int | None = None,
) -> int:
    """Stream `url` (artifact `name`) into `target` through `target.part`,
    renamed once complete and removed on any failure; returns the bytes
    received. `on_progress(received, total)` follows every chunk, starting
    at 0; total is the Content-Length, else `expected`, else None."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    received = 0
    try:
        async with session.get(
            url, timeout=DOWNLOAD_TIMEOUT, read_bufsize=READ_BUFFER_BYTES
        ) as response:
            await _raise_for(response, name)
            total = response.content_length if response.content_length is not None else expected
            on_progress(0, total)
            with open(partial, "wb") as out:
                preallocate(out, response.content_length)
                # Each piece as it came off the socket, written at once: no
                # copy into chunks of a fixed size, no thread hop per piece.
                async for chunk in response.content.iter_any():
                    out.write(chunk)
                    received += len(chunk)
                    on_progress(received, total)
                out.truncate(received)  # a body decoded shorter than announced
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return received


@dataclass
class Head:
    """The start of an artifact, as read for a preview."""

    data: bytes
    more: bool  # the artifact is longer than what was read
    streaming: bool  # the server went quiet: a live log still being written


async def read_head(session: aiohttp.ClientSession, url: str, name: str, limit: int) -> Head:
    """Up to `limit` bytes of `url` (artifact `name`); stops early when the
    server sends nothing for `PREVIEW_IDLE_SECONDS`."""
    chunks: list[bytes] = []
    size, streaming = 0, False
    async with session.get(url, timeout=PREVIEW_TIMEOUT) as response:
        await _raise_for(response, name)
        while size <= limit:
            try:
                chunk = await asyncio.wait_for(
                    response.content.read(limit + 1 - size), PREVIEW_IDLE_SECONDS
                )
            except asyncio.TimeoutError:
                streaming = True
                break
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    data = b"".join(chunks)
    return Head(data[:limit], len(data) > limit, streaming)
