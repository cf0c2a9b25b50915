"""The answers that lead a client to an artifact's bytes: getArtifact's 303
to its URL (a 424 for an error artifact) and the 200 JSON of `artifact` (for
an object artifact: credentials to download its object)."""

from __future__ import annotations

from aiohttp import web

from . import keys
from .dispatch import Call

STORAGE_TYPE_HEADER = "x-taskcluster-artifact-storage-type"


def redirect_location(root_url: str, url: str) -> str:
    """A redirect's Location for `url`: root-relative when it is on the sandbox
    itself, so that a proxy in front of the sandbox (jupyter-server-proxy on
    Binder) can rewrite it."""
    return url[len(root_url) :] if url.startswith(root_url + "/") else url


def see_other(root_url: str, url: str) -> web.Response:
    """A plain-text 303 to `url` (findArtifactFromTask, the Object service's download)."""
    location = redirect_location(root_url, url)
    return web.Response(
        status=303, text=f"See Other. Redirecting to {location}", headers={"Location": location}
    )


def redirect_to_artifact(call: Call, run_id: int | None) -> web.StreamResponse:
    """The 303 (or 424 for error artifacts) of getArtifact / getLatestArtifact."""
    artifact = call.service.artifacts.resolve_artifact(
        call.params["taskId"], run_id, call.params["name"], call.authorize
    )
    headers = {STORAGE_TYPE_HEADER: artifact["storageType"]}
    if artifact["storageType"] == "error":
        body = {"reason": artifact["details"]["reason"], "message": artifact["details"]["message"]}
        return web.json_response(body, status=424, headers=headers)
    url = call.service.artifacts.download_url(artifact)
    headers["Location"] = redirect_location(call.service.root_url, url)
    reply = web.json_response(
        {"storageType": artifact["storageType"], "url": url}, status=303, headers=headers
    )
    reply[keys.VALIDATE_BODY] = True
    return reply


def artifact_content(call: Call, run_id: int | None) -> web.StreamResponse:
    """The 200 JSON of artifact / latestArtifact."""
    artifact = call.service.artifacts.resolve_artifact(
        call.params["taskId"], run_id, call.params["name"], call.authorize
    )
    kind = artifact["storageType"]
    if kind == "error":
        body = {"storageType": kind, **artifact["details"]}
    elif kind == "object":
        body = call.service.artifacts.object_download(artifact)
    else:
        body = {"storageType": kind, "url": call.service.artifacts.download_url(artifact)}
    reply = web.json_response(body)  # no storage-type header here, unlike the 303
    reply[keys.VALIDATE_BODY] = True
    return reply
