"""Uploading a run's files as artifacts, the way the deployment asks.

`s3` artifacts: `createArtifact` answers a `putUrl`, and the bytes are PUT
there (an S3 bucket on a deployment, the sandbox's blob store on a sandbox).
`object` artifacts: `createArtifact` answers an upload id and credentials
for the object service, and the bytes go through the official client's
upload helper, then `finishArtifact`. `choose_storage` picks `object` when
the deployment has an object service, as Taskcluster's current workers do.
"""

from __future__ import annotations

import asyncio
import os
from typing import BinaryIO

import aiohttp
import aiohttp.abc
import aiohttp.payload
import taskcluster.aio
import taskcluster.aio.upload

STORAGE_TYPES = ("s3", "object")
READ_AT_ONCE_BYTES = 256 * 1024


async def choose_storage(root_url: str, session: aiohttp.ClientSession) -> str:
    """`object` if the deployment's object service answers its ping, else `s3`."""
    service = taskcluster.aio.Object({"rootUrl": root_url, "maxRetries": 0}, session=session)
    try:
        await service.ping()
    except (aiohttp.ClientError, OSError, taskcluster.exceptions.TaskclusterFailure):
        return "s3"
    return "object"


class Uploader:
    """Uploads one file as an artifact of a run, with the run's credentials."""

    def __init__(self, storage: str, root_url: str, session: aiohttp.ClientSession) -> None:
        if storage not in STORAGE_TYPES:
            raise ValueError(f"artifact storage must be one of {STORAGE_TYPES}, not {storage!r}")
        self.storage, self.root_url, self.session = storage, root_url, session

    async def upload(
        self,
        queue: taskcluster.aio.Queue,
        task_id: str,
        run_id: int,
        name: str,
        body: BinaryIO,
        content_type: str,
        expires: str,
    ) -> int:
        """Create artifact `name` from the open file `body`; returns its size."""
        size = os.fstat(body.fileno()).st_size
        request = {"storageType": self.storage, "contentType": content_type, "expires": expires}
        if self.storage == "s3":
            # Not for object artifacts: Taskcluster v106 then fails finishArtifact
            # with a 500 (its artifact-created message refuses contentLength).
            request["contentLength"] = size
        reply = await queue.createArtifact(task_id, run_id, name, request)
        if self.storage == "s3":
            await self._put(reply["putUrl"], body, size, content_type)
        else:
            await self._through_object_service(reply, body, size, content_type)
            await queue.finishArtifact(task_id, run_id, name, {"uploadId": reply["uploadId"]})
        return size

    async def _put(self, url: str, body: BinaryIO, size: int, content_type: str) -> None:
        headers = {"Content-Type": content_type, "Content-Length": str(size)}
        # A small file goes with its head in one write, read here at once (a
        # page or two, quicker than a thread or sendfile); a large one by sendfile.
        data = body.read(size) if size <= READ_AT_ONCE_BYTES else FileBody(body)
        async with self.session.put(url, data=data, headers=headers) as answer:
            answer.raise_for_status()

    async def _through_object_service(
        self, reply: dict, body: BinaryIO, size: int, content_type: str
    ) -> None:
        service = taskcluster.aio.Object(
            {"rootUrl": self.root_url, "credentials": reply["credentials"]}, session=self.session
        )
        await taskcluster.aio.upload.uploadFromFile(
            projectId=reply["projectId"],
            name=reply["name"],
            contentType=content_type,
            contentLength=size,
            expires=reply["expires"],
            uploadId=reply["uploadId"],
            objectService=service,
            file=body,
        )


class FileBody(aiohttp.payload.BufferedReaderPayload):
    """An open file as a request body, handed to the kernel with `sendfile`
    on a plain TCP connection: the bytes never pass through Python. Over TLS
    (an S3 bucket), or where the loop cannot, aiohttp reads it as usual."""

    async def write_with_length(
        self, writer: aiohttp.abc.AbstractStreamWriter, content_length: int | None
    ) -> None:
        """Send the file from where it stood when the body was made (again on a retry)."""
        transport = getattr(writer, "transport", None)
        send_headers = getattr(writer, "send_headers", None)
        size = self.size
        if transport is None or send_headers is None or size is None:
            await super().write_with_length(writer, content_length)
            return
        self._set_or_restore_start_position()
        count = size if content_length is None else min(size, content_length)
        send_headers()  # the request's head goes first, the file after it
        try:
            await asyncio.get_running_loop().sendfile(
                transport, self._value, self._value.tell(), count, fallback=False
            )
        except (RuntimeError, asyncio.SendfileNotAvailableError):  # nothing was sent
            await super().write_with_length(writer, content_length)
