"""Where the Object service's bytes live, and the sandbox's own routes that
stand in for its storage backend: a PUT to a signed `putUrl` receives an
upload, a GET of a signed URL serves a finished object (the `simple` and
`getUrl` download methods). Bytes sit in the sandbox's blob directory, under
the `BlobStore`'s layout and signing key, in a corner no task can name.
"""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from .blobs import CHUNK, BlobStore, partial_path, receive
from .errors import APIError

if TYPE_CHECKING:
    from .object_service import ObjectService

OBJECT_PREFIX = "/sandbox/objects/"
# The BlobStore's (taskId, runId) under which objects are kept: not a slugid,
# so no artifact's bytes can be there.
OBJECTS_DIR = ("objects", 0)


class ObjectBlobs:
    """Object bytes in `blobs`' directory, and signed URLs to them."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    def path(self, name: str) -> Path:
        """Where the bytes of object `name` are (its name is hashed)."""
        return self.blobs.path(*OBJECTS_DIR, name)

    def url(self, method: str, name: str, seconds: int) -> str:
        """A URL to `method` (PUT or GET) the bytes of `name`, valid `seconds`."""
        expires = int(time.time()) + seconds
        signature = self.blobs.signature(method, *OBJECTS_DIR, name, expires)
        quoted = urllib.parse.quote(name, safe="")
        root = self.blobs.root_url
        return f"{root}{OBJECT_PREFIX}{quoted}?expires={expires}&signature={signature}"

    def signed_name(self, request: web.Request, method: str) -> str:
        """The object name a signed request is for; 403 when the signature
        is missing, wrong or expired."""
        raw = request.raw_path.split("?", 1)[0][len(OBJECT_PREFIX) :]
        name = urllib.parse.unquote(raw)
        self.blobs.check_signed(request, method, *OBJECTS_DIR, name)
        return name

    def write(self, name: str, data: bytes) -> None:
        """Store an object's bytes at once (a `dataInline` upload)."""
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = partial_path(path)
        partial.write_bytes(data)
        os.replace(partial, path)

    async def receive(self, request: web.Request, name: str, length: int) -> None:
        """Stream a PUT's body to the object's file; it replaces the file only
        once all `length` bytes (no more) have arrived."""
        wrong = _wrong_length(length)
        await receive(request, self.path(name), length, wrong, length, wrong)

    def remove(self, name: str) -> None:
        """Delete an object's bytes, if any."""
        self.path(name).unlink(missing_ok=True)


def _wrong_length(length: int) -> APIError:
    return APIError(
        "InputError", "The body must be {{length}} bytes, as given to createUpload", length=length
    )


Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def routes(service: ObjectService) -> tuple[Route, Route]:
    """The PUT and GET handlers of `OBJECT_PREFIX`, for `service`'s objects."""

    async def put_object(request: web.Request) -> web.StreamResponse:
        name = service.files.signed_name(request, "PUT")
        content_type, length = service.expected_upload(name)
        if request.headers.get("Content-Type", "") != content_type:
            raise APIError(
                "InputError",
                "Content-Type must be {{contentType}}, as given to createUpload",
                contentType=content_type,
            )
        await service.files.receive(request, name, length)
        return web.Response(status=200)

    async def get_object(request: web.Request) -> web.StreamResponse:
        name = service.files.signed_name(request, "GET")
        content_type = service.downloadable(name)
        path = service.files.path(name)
        if not path.exists():
            raise APIError("ResourceNotFound", "The object's bytes were never uploaded")
        return web.FileResponse(path, chunk_size=CHUNK, headers={"Content-Type": content_type})

    return put_object, get_object


def add_routes(app: web.Application, service: ObjectService) -> None:
    """Serve the object bytes' PUT and GET routes on `app`."""
    put_object, get_object = routes(service)
    app.router.add_put(OBJECT_PREFIX + r"{tail:[\s\S]*}", put_object)
    app.router.add_get(OBJECT_PREFIX + r"{tail:[\s\S]*}", get_object)
