"""The Object v1 API: the entries of Taskcluster's reference, in its order,
with their handlers; the handlers call the `ObjectService`. Served under
`/api/object/v1` by `dispatch`."""

from __future__ import annotations

from . import index_api
from .dispatch import ApiTable, Call, Entry, Reply, declarer
from .downloads import see_other

ENTRIES: list[Entry] = []
"""The table, in declaration order (which is also the order routes are matched in)."""

# Any printable ASCII character, as in Taskcluster (the client sends `/` as %2F).
PARAMS = {"name": r"^[\x20-\x7e]+$"}
TABLE = ApiTable("/api/object/v1", "/schemas/object/", ENTRIES, PARAMS)

UPLOAD_SCOPES = "object:upload:<projectId>:<name>"
DOWNLOAD_SCOPES = "object:download:<name>"

declare = declarer(ENTRIES)


# The monitoring entries answer as the index's.
declare("ping", "GET", "/ping", None)(index_api.ping)
declare("lbheartbeat", "GET", "/__lbheartbeat__", None)(index_api.heartbeat)
declare("heartbeat", "GET", "/__heartbeat__", None)(index_api.heartbeat)


@declare(
    "createUpload",
    "PUT",
    "/upload/<name>",
    UPLOAD_SCOPES,
    input="v1/create-upload-request.json#",
    output="v1/create-upload-response.json#",
    one_segment=("name",),
)
async def create_upload(call: Call) -> Reply:
    """Begin (or repeat) an upload, choosing one of the proposed methods."""
    call.authorize(projectId=call.payload["projectId"])
    return call.service.create_upload(call.params["name"], call.payload)


@declare(
    "finishUpload",
    "POST",
    "/finish-upload/<name>",
    UPLOAD_SCOPES,
    input="v1/finish-upload-request.json#",
    one_segment=("name",),
)
async def finish_upload(call: Call) -> Reply:
    """Mark an upload as complete."""
    call.authorize(projectId=call.payload["projectId"])
    call.service.finish_upload(call.params["name"], call.payload)
    return {}


@declare(
    "startDownload",
    "PUT",
    "/start-download/<name>",
    DOWNLOAD_SCOPES,
    input="v1/download-object-request.json#",
    output="v1/download-object-response.json#",
)
async def start_download(call: Call) -> Reply:
    """Where and how to download an object, by one of the accepted methods."""
    return call.service.start_download(call.params["name"], call.payload["acceptDownloadMethods"])


@declare(
    "object",
    "GET",
    "/metadata/<name>",
    DOWNLOAD_SCOPES,
    output="v1/get-object-response.json#",
)
async def metadata(call: Call) -> Reply:
    """An object's projectId, expiry and hashes."""
    return call.service.metadata(call.params["name"])


@declare("download", "GET", "/download/<name>", DOWNLOAD_SCOPES)
async def download(call: Call) -> Reply:
    """303 to the object's bytes (the `simple` method's URL)."""
    return see_other(call.service.root_url, call.service.download_url(call.params["name"]))
