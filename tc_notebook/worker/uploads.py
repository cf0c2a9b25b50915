"""Uploading a run's files as artifacts, the way the deployment asks.

`s3` artifacts: `createArtifact` answers a `putUrl`, and the bytes are PUT
there (an S3 bucket on a deployment, the sandbox's blob store on a sandbox).
`object` artifacts: `createArtifact` answers an upload id and credentials
for the object service, and the bytes go through the official client's
upload helper, then `finishArtifact`. `choose_storage` picks `object` when
the deployment has an object service, as Taskcluster's current workers do.
"""

from __future__ import annotations

import os
from typing import BinaryIO

import aiohttp
import taskcluster.aio
import taskcluster.aio.upload

STORAGE_TYPES = ("s3", "object")


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
        async with self.session.put(url, data=body, headers=headers) as answer:
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
