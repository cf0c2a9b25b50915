"""The sandbox's own blob store, standing in for S3: where artifact bytes
live on disk, the signed URLs that reach them, and the two routes that
receive them (PUT to a signed putUrl) and serve them (GET, signed unless the
name is public). Bodies are streamed to and from disk, never held whole.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time
import urllib.parse
import uuid
from datetime import timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from ..preallocate import preallocate
from ..timestamps import iso, now
from . import keys
from .errors import APIError
from .store import Store

BLOB_PREFIX = "/sandbox/blobs/"
CHUNK = 256 * 1024
PARTIAL_SUFFIX = ".partial"  # uploads in progress; never served
PUT_URL_SECONDS = 45 * 60
SIGNED_GET_SECONDS = 30 * 60

_RUN_ID = re.compile(r"[0-9]{1,9}")

Where = tuple[str, int, str]
"""(taskId, runId, name): the artifact a blob belongs to."""


def is_public(name: str) -> bool:
    """Names under `public/` are downloaded without a signature."""
    return name.startswith("public/")


class BlobStore:
    """Artifact bytes under `<data dir>/blobs`, and the URLs that reach them."""

    def __init__(self, store: Store, root_url: str, max_bytes: int) -> None:
        self.store = store
        self.root_url = root_url
        self.max_bytes = max_bytes
        self.directory = store.data_dir / "blobs"
        self.directory.mkdir(exist_ok=True)
        self._key = hashlib.sha256(b"blobs\n" + store.root_token.encode()).digest()
        # Uploads cut short by a crash: their bytes never became a blob.
        for partial in self.directory.glob(f"*/*/.*{PARTIAL_SUFFIX}"):
            partial.unlink(missing_ok=True)

    def path(self, task_id: str, run_id: int, name: str) -> Path:
        """Where an artifact's bytes live. The name is hashed, so no artifact
        name can point outside the data directory."""
        digest = hashlib.sha256(name.encode()).hexdigest()
        return self.directory / task_id / str(run_id) / digest

    def signature(self, method: str, task_id: str, run_id: int, name: str, expires: int) -> str:
        """HMAC that authorizes one method on one blob until `expires` (epoch s)."""
        message = f"{method}\n{task_id}\n{run_id}\n{name}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def _url(self, task_id: str, run_id: int, name: str, method: str, seconds: int | None) -> str:
        """A URL of a blob, signed for `method` during `seconds` unless that is None."""
        # Slashes stay readable unless a segment is `.` or `..`, which clients
        # and browsers would collapse before sending.
        dot_segment = any(part in (".", "..") for part in name.split("/"))
        quoted = urllib.parse.quote(name, safe="" if dot_segment else "/")
        url = f"{self.root_url}{BLOB_PREFIX}{task_id}/{run_id}/{quoted}"
        if seconds is None:
            return url
        expires = int(time.time()) + seconds
        signature = self.signature(method, task_id, run_id, name, expires)
        return f"{url}?expires={expires}&signature={signature}"

    def put_url(self, task_id: str, run_id: int, name: str) -> tuple[str, str]:
        """The signed URL an artifact's bytes are PUT to, and when it expires."""
        expires = iso(now() + timedelta(seconds=PUT_URL_SECONDS))
        return self._url(task_id, run_id, name, "PUT", PUT_URL_SECONDS), expires

    def get_url(self, task_id: str, run_id: int, name: str) -> str:
        """Where an artifact's bytes are downloaded from: signed unless public."""
        seconds = None if is_public(name) else SIGNED_GET_SECONDS
        return self._url(task_id, run_id, name, "GET", seconds)

    def locate(self, request: web.Request, method: str) -> Where:
        """The blob a request is for; 404 when its URL names none, 403 when a
        signature is needed and missing, wrong or expired."""
        raw = request.raw_path.split("?", 1)[0][len(BLOB_PREFIX) :]
        parts = raw.split("/", 2)
        if len(parts) != 3 or not _RUN_ID.fullmatch(parts[1]):
            raise _not_found()
        where = parts[0], int(parts[1]), urllib.parse.unquote(parts[2])
        if method == "GET" and is_public(where[2]):
            return where
        self.check_signed(request, method, *where)
        return where

    def check_signed(
        self, request: web.Request, method: str, task_id: str, run_id: int, name: str
    ) -> None:
        """403 unless the request's `expires` and `signature` authorize `method`
        on that blob now."""
        expires, signature = request.query.get("expires", ""), request.query.get("signature", "")
        if not re.fullmatch(r"[0-9]{1,12}", expires) or int(expires) < time.time():
            raise _denied()
        expected = self.signature(method, task_id, run_id, name, int(expires))
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise _denied()


def partial_path(path: Path) -> Path:
    """A fresh name beside `path` for bytes still being written (never served)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}{PARTIAL_SUFFIX}")


async def receive(
    request: web.Request,
    path: Path,
    limit: int,
    too_long: APIError,
    expected: int | None,
    incomplete: APIError,
) -> None:
    """Write a request's body to `path` through a reserved partial file,
    renamed into place only once complete: `too_long` past `limit` bytes,
    `incomplete` when it is not the `expected` length (if known)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(path)
    size = 0
    try:
        with open(partial, "wb") as out:
            preallocate(out, expected)
            # Each piece as it came off the socket, written at once (no copy
            # into chunks of a fixed size first).
            async for chunk in request.content.iter_any():
                size += len(chunk)
                if size > limit:
                    raise too_long
                out.write(chunk)
        if expected is not None and size != expected:
            raise incomplete
        os.replace(partial, path)
    except (BadHttpMessage, ConnectionResetError) as exc:
        raise APIError("MalformedPayload", "The upload was cut short or malformed") from exc
    finally:
        partial.unlink(missing_ok=True)


def _not_found() -> APIError:
    return APIError("ResourceNotFound", "No such blob")


def _denied() -> APIError:
    return APIError("AccessDenied", "Signature missing, invalid or expired")


async def put_blob(request: web.Request) -> web.StreamResponse:
    """Receive an artifact's bytes; they appear only once completely written."""
    blobs = request.app[keys.BLOBS]
    where = blobs.locate(request, "PUT")
    artifact = blobs.store.artifact(*where)
    if artifact is None or artifact["storageType"] != "s3":
        raise APIError("ResourceNotFound", "No s3 artifact by that name")
    if request.headers.get("Content-Type", "") != artifact["contentType"]:
        raise APIError(
            "InputError",
            "Content-Type must be {{contentType}}, as given to createArtifact",
            contentType=artifact["contentType"],
        )
    limit = blobs.max_bytes
    too_large = APIError("InputTooLarge", "Blob larger than {{limit}} bytes", limit=limit)
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    # The artifact's contentLength stays what createArtifact declared, if
    # anything, as in Taskcluster: the queue never measures an upload.
    shorter = APIError("MalformedPayload", "Body shorter than Content-Length")
    await receive(request, blobs.path(*where), limit, too_large, request.content_length, shorter)
    return web.Response(status=200)


async def get_blob(request: web.Request) -> web.StreamResponse:
    """Serve an artifact's bytes: public names freely, others with a signature."""
    blobs = request.app[keys.BLOBS]
    where = blobs.locate(request, "GET")
    artifact = blobs.store.artifact(*where)
    path = blobs.path(*where)
    if artifact is None or artifact["storageType"] != "s3" or not path.exists():
        raise _not_found()
    return web.FileResponse(
        path, chunk_size=CHUNK, headers={"Content-Type": artifact["contentType"]}
    )
