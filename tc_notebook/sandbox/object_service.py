"""The Object service: objects uploaded once (by `dataInline` or to a
`putUrl`), finished, then downloaded (by `simple` or `getUrl`) until they
expire, with Taskcluster's rules on uploadIds and hashes.

The rules, as Taskcluster's: the first createUpload of a name fixes its
projectId, uploadId and expiry; repeating it with the same values is allowed
(to pick another method or renew a URL) until the upload is finished, and any
other value is a conflict. Hashes may be added by createUpload and
finishUpload, never changed. finishUpload is idempotent once done, as long as
it brings no new or different hash. The service never reads the bytes to
check them: downloaders check them against the hashes (as the official
clients do).

The queue's object artifacts use this class directly (see `create_upload`,
`finish_upload`, `metadata`, `start_download`, `download_url`, `forget`).
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..timestamps import iso, now, parse_time
from .errors import APIError
from .object_blobs import ObjectBlobs
from .object_store import ObjectRows

if TYPE_CHECKING:  # the queue makes its Object service
    from .queue import QueueService

PUT_URL_SECONDS = 45 * 60
SIMPLE_URL_SECONDS = 30 * 60
GET_URL_SECONDS = 60  # as Taskcluster's: the URL itself is signed a minute longer
DOWNLOAD_METHODS = ("getUrl", "simple")  # in order of preference
FIXED = ("projectId", "uploadId", "expires")  # what repeated createUploads must agree on


def _not_found(name: str) -> APIError:
    return APIError("ResourceNotFound", 'Object "{{name}}" not found', name=name)


def _other_than(name: str, code: str, field: str, value: str) -> APIError:
    """The error for a finishUpload whose `field` is not the object's."""
    text = 'Object "{{name}}" does not have ' + field + " {{value}}"
    return APIError(code, text, name=name, value=value)


class ObjectService:
    """Every Object operation, on the queue's database and blob directory.
    `settings` and `root_url` are the queue's (the dispatcher reads them)."""

    def __init__(self, queue: QueueService) -> None:
        self.settings = queue.settings
        self.root_url = queue.root_url
        self.rows = ObjectRows(queue.store.db)
        self.files = ObjectBlobs(queue.blobs)
        self.expire()

    # -- uploads ---------------------------------------------------------------

    def create_upload(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """createUpload: begin (or repeat) the upload of `name` with the
        createUpload body `request`; answers the chosen upload method (`{}`
        when none was proposed). The caller has checked the scopes."""
        self.expire()
        project_id, upload_id = request["projectId"], request["uploadId"]
        expires = iso(parse_time(request["expires"]))
        fixed = (project_id, upload_id, expires)
        existing = self.rows.get(name)
        if existing is None and not self.rows.uses_upload_id(upload_id):
            self.rows.insert(name, *fixed)
        elif existing is None or tuple(existing[k] for k in FIXED) != fixed:
            raise APIError("RequestConflict", 'Object "{{name}}" already exists', name=name)
        self._add_hashes(name, request.get("hashes", {}))
        proposed = request["proposedUploadMethods"]
        return {
            "projectId": project_id,
            "uploadId": upload_id,
            "expires": request["expires"],
            "uploadMethod": self._upload_method(name, proposed),
        }

    def _upload_method(self, name: str, proposed: dict[str, Any]) -> dict[str, Any]:
        if "dataInline" in proposed:
            inline = proposed["dataInline"]
            try:
                data = base64.b64decode(inline["objectData"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise APIError("InputError", "Invalid base64 objectData") from exc
            self.files.write(name, data)
            self.rows.set_content(name, inline["contentType"], len(data))
            return {"dataInline": True}
        if "putUrl" in proposed:
            content_type, length = (
                proposed["putUrl"]["contentType"],
                proposed["putUrl"]["contentLength"],
            )
            limit = self.files.blobs.max_bytes
            if length > limit:
                raise APIError(
                    "InputTooLarge",
                    "The sandbox keeps objects of at most {{limit}} bytes",
                    limit=limit,
                )
            self.rows.set_content(name, content_type, length)
            headers = {
                "Content-Type": content_type,
                "Content-Length": str(length),
                "Content-Encoding": "identity",
            }
            url = self.files.url("PUT", name, PUT_URL_SECONDS)
            expires = iso(now() + timedelta(seconds=PUT_URL_SECONDS))
            return {"putUrl": {"url": url, "expires": expires, "headers": headers}}
        return {}

    def _add_hashes(self, name: str, hashes: dict[str, str]) -> None:
        known = self.rows.hashes(name)
        if any(known.get(algorithm, value) != value for algorithm, value in hashes.items()):
            raise APIError(
                "RequestConflict",
                "Content hash already exists with a different value",
                name=name,
            )
        self.rows.add_hashes(name, hashes)

    def finish_upload(self, name: str, request: dict[str, Any]) -> None:
        """finishUpload: the upload of `name` is complete (idempotent once
        done); `request` is the finishUpload body. The caller has checked the scopes."""
        found = self._unexpired(name)
        if found is None:
            raise _not_found(name)
        if found["projectId"] != request["projectId"]:
            raise _other_than(name, "InputError", "projectId", request["projectId"])
        hashes = request.get("hashes", {})
        if found["uploadId"] is None:
            self._check_finished_hashes(name, hashes)
            return
        if found["uploadId"] != request["uploadId"]:
            raise _other_than(name, "RequestConflict", "uploadId", request["uploadId"])
        self._add_hashes(name, hashes)
        self.rows.mark_finished(name)

    def _check_finished_hashes(self, name: str, hashes: dict[str, str]) -> None:
        known = self.rows.hashes(name)
        for algorithm, value in hashes.items():
            if algorithm not in known or known[algorithm] != value:
                how = (
                    "without hash algorithm"
                    if algorithm not in known
                    else "but with a different hash for algorithm"
                )
                raise APIError(
                    "RequestConflict",
                    'Object "{{name}}" is already finished, ' + how + " {{algo}}",
                    name=name,
                    algo=algorithm,
                )

    def expected_upload(self, name: str) -> tuple[str, int]:
        """(contentType, contentLength) a PUT of `name`'s bytes must have: 404
        unless the object is an unfinished upload given a putUrl."""
        found = self._unexpired(name)
        if found is None or found["uploadId"] is None or found["contentLength"] is None:
            raise APIError("ResourceNotFound", "No upload in progress for this object")
        return found["contentType"], found["contentLength"]

    # -- downloads ---------------------------------------------------------------

    def _finished(self, name: str) -> dict[str, Any]:
        found = self._unexpired(name)
        if found is None or found["uploadId"] is not None:
            raise _not_found(name)
        return found

    def is_finished(self, name: str) -> bool:
        """Whether `name` is a finished, unexpired object."""
        found = self._unexpired(name)
        return found is not None and found["uploadId"] is None

    def downloadable(self, name: str) -> str:
        """The content type of a finished object; 404 when there is none."""
        return self._finished(name)["contentType"] or "application/octet-stream"

    def metadata(self, name: str) -> dict[str, Any]:
        """object: `{projectId, expires, hashes}` of a finished object."""
        found = self._finished(name)
        return {
            "projectId": found["projectId"],
            "expires": found["expires"],
            "hashes": self.rows.hashes(name),
        }

    def start_download(self, name: str, accepted: dict[str, Any]) -> dict[str, Any]:
        """startDownload: the preferred method among `accepted` (406 when none fits)."""
        self._finished(name)
        methods = [method for method in DOWNLOAD_METHODS if method in accepted]
        if not methods:
            raise APIError(
                "NoMatchingMethod",
                "Object supports methods {{methods}}",
                methods=", ".join(DOWNLOAD_METHODS),
            )
        if methods[0] == "simple":
            return {"method": "simple", "url": self.download_url(name)}
        return {
            "method": "getUrl",
            "url": self.files.url("GET", name, 2 * GET_URL_SECONDS),
            "expires": iso(now() + timedelta(seconds=GET_URL_SECONDS)),
            "hashes": self.rows.hashes(name),
        }

    def download_url(self, name: str) -> str:
        """A signed URL of a finished object's bytes (the `simple` method's)."""
        self._finished(name)
        return self.files.url("GET", name, SIMPLE_URL_SECONDS)

    # -- expiry ------------------------------------------------------------------

    def _unexpired(self, name: str) -> dict[str, Any] | None:
        """The object `name`, or None when there is none or it expired."""
        found = self.rows.get(name)
        moment = iso(now())
        if found is None or found["expires"] < moment:
            return None
        if found["uploadExpires"] is not None and found["uploadExpires"] < moment:
            return None
        return found

    def forget(self, name: str) -> None:
        """Delete an object and its bytes (the queue's, when its artifact goes)."""
        self.rows.delete(name)
        self.files.remove(name)

    def expire(self) -> None:
        """Delete the objects past their expiry, and uploads not finished in time."""
        for name in self.rows.expired():
            self.forget(name)
