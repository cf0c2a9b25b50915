"""The sandbox's own blob store, standing in for S3: artifact bytes are PUT
to a signed `putUrl` and fetched from a download URL (signed unless the
name is public). Bodies are streamed to and from disk, never held whole.
"""

from __future__ import annotations

import hmac
import os
import re
import time
import urllib.parse
import uuid

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from . import keys
from .errors import APIError
from .queue import QueueService
from .store import PARTIAL_SUFFIX

BLOB_PREFIX = "/sandbox/blobs/"
CHUNK = 256 * 1024


_RUN_ID = re.compile(r"[0-9]{1,9}")


def _locate(request: web.Request) -> tuple[str, int, str]:
    """(taskId, runId, name) of a blob URL; 404 when it names none."""
    raw = request.raw_path.split("?", 1)[0][len(BLOB_PREFIX) :]
    parts = raw.split("/", 2)
    if len(parts) != 3 or not _RUN_ID.fullmatch(parts[1]):
        raise _not_found()
    return parts[0], int(parts[1]), urllib.parse.unquote(parts[2])


def _not_found() -> APIError:
    return APIError("ResourceNotFound", "No such blob")


def _signature_ok(
    service: QueueService, method: str, request: web.Request, task_id: str, run_id: int, name: str
) -> bool:
    expires, signature = request.query.get("expires", ""), request.query.get("signature", "")
    if not re.fullmatch(r"[0-9]{1,12}", expires) or int(expires) < time.time():
        return False
    expected = service.blob_signature(method, task_id, run_id, name, int(expires))
    return hmac.compare_digest(expected.encode(), signature.encode())


async def put_blob(request: web.Request) -> web.StreamResponse:
    """Receive an artifact's bytes; they appear only once completely written."""
    service: QueueService = request.app[keys.SERVICE]
    where = _locate(request)
    if not _signature_ok(service, "PUT", request, *where):
        raise _denied()
    artifact = service.store.artifact(*where)
    if artifact is None or artifact["storageType"] != "s3":
        raise APIError("ResourceNotFound", "No s3 artifact by that name")
    if request.headers.get("Content-Type", "") != artifact["contentType"]:
        raise APIError(
            "InputError",
            "Content-Type must be {{contentType}}, as given to createArtifact",
            contentType=artifact["contentType"],
        )
    limit = service.settings.max_blob_bytes
    too_large = APIError("InputTooLarge", "Blob larger than {{limit}} bytes", limit=limit)
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    path = service.store.blob_path(*where)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}{PARTIAL_SUFFIX}")
    size = 0
    try:
        with open(partial, "wb") as out:
            async for chunk in request.content.iter_chunked(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise too_large
                out.write(chunk)
        if request.content_length is not None and size != request.content_length:
            raise APIError("MalformedPayload", "Body shorter than Content-Length")
        # Bytes and their length change together (no await in between), and
        # only the length: a newer createArtifact of this name keeps its row.
        os.replace(partial, path)
        service.store.set_content_length(*where, size)
    except (BadHttpMessage, ConnectionResetError) as exc:
        raise APIError("MalformedPayload", "The upload was cut short or malformed") from exc
    finally:
        partial.unlink(missing_ok=True)
    return web.Response(status=200)


async def get_blob(request: web.Request) -> web.StreamResponse:
    """Serve an artifact's bytes: public names freely, others with a signature."""
    service: QueueService = request.app[keys.SERVICE]
    where = _locate(request)
    public = where[2].startswith("public/")
    if not public and not _signature_ok(service, "GET", request, *where):
        raise _denied()
    artifact = service.store.artifact(*where)
    path = service.store.blob_path(*where)
    if artifact is None or artifact["storageType"] != "s3" or not path.exists():
        raise _not_found()
    return web.FileResponse(
        path, chunk_size=CHUNK, headers={"Content-Type": artifact["contentType"]}
    )


def _denied() -> APIError:
    return APIError("AccessDenied", "Signature missing, invalid or expired")
