"""The sandbox's own blob store, standing in for S3: artifact bytes are PUT
to a signed `putUrl` and fetched from a download URL (signed unless the
name is public). Bodies are streamed to and from disk, never held whole.
"""

from __future__ import annotations

import hmac
import os
import time
import urllib.parse
import uuid

from aiohttp import web

from . import keys
from .queue import QueueService

BLOB_PREFIX = "/sandbox/blobs/"
CHUNK = 256 * 1024


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n")


def _locate(request: web.Request) -> tuple[str, int, str] | None:
    raw = request.raw_path.split("?", 1)[0][len(BLOB_PREFIX) :]
    parts = raw.split("/", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), urllib.parse.unquote(parts[2])


def _signature_ok(
    service: QueueService, method: str, request: web.Request, task_id: str, run_id: int, name: str
) -> bool:
    expires, signature = request.query.get("expires", ""), request.query.get("signature", "")
    if not expires.isdigit() or int(expires) < time.time():
        return False
    expected = service.blob_signature(method, task_id, run_id, name, int(expires))
    return hmac.compare_digest(expected, signature)


async def put_blob(request: web.Request) -> web.StreamResponse:
    """Receive an artifact's bytes; they appear only once completely written."""
    service: QueueService = request.app[keys.SERVICE]
    where = _locate(request)
    if where is None or not _signature_ok(service, "PUT", request, *where):
        return _text(403, "Signature missing, invalid or expired")
    artifact = service.store.artifact(*where)
    if artifact is None or artifact["storageType"] != "s3":
        return _text(404, "No s3 artifact by that name")
    if request.headers.get("Content-Type", "") != artifact["contentType"]:
        return _text(
            400, f"Content-Type must be {artifact['contentType']!r}, as given to createArtifact"
        )
    limit = service.settings.max_blob_bytes
    if request.content_length is not None and request.content_length > limit:
        return _text(413, f"Blob larger than {limit} bytes")
    path = service.store.blob_path(*where)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    size = 0
    try:
        with open(partial, "wb") as out:
            async for chunk in request.content.iter_chunked(CHUNK):
                size += len(chunk)
                if size > limit:
                    return _text(413, f"Blob larger than {limit} bytes")
                out.write(chunk)
        if request.content_length is not None and size != request.content_length:
            return _text(400, "Body shorter than Content-Length")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    artifact["contentLength"] = size
    service.store.put_artifact(artifact)
    return web.Response(status=200)


async def get_blob(request: web.Request) -> web.StreamResponse:
    """Serve an artifact's bytes: public names freely, others with a signature."""
    service: QueueService = request.app[keys.SERVICE]
    where = _locate(request)
    if where is None:
        return _text(404, "No such blob")
    public = where[2].startswith("public/")
    if not public and not _signature_ok(service, "GET", request, *where):
        return _text(403, "Signature missing, invalid or expired")
    artifact = service.store.artifact(*where)
    path = service.store.blob_path(*where)
    if artifact is None or artifact["storageType"] != "s3" or not path.exists():
        return _text(404, "No such blob")
    return web.FileResponse(
        path, chunk_size=CHUNK, headers={"Content-Type": artifact["contentType"]}
    )
