"""Artifacts: createArtifact and finishArtifact, the links followed to the
artifact a download serves, its download URL, and the lists and entries of
artifactInfo and listArtifacts. The bytes of `s3` artifacts are the
`BlobStore`'s; those of `object` artifacts the Object service's, as in
Taskcluster: createArtifact begins the object's upload and hands the worker
credentials for it, finishArtifact checks that the object is complete, and
downloads go through the object service's URLs and credentials."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import slugid

from ..timestamps import iso, now, parse_time
from .blobs import BlobStore
from .errors import APIError
from .object_service import ObjectService
from .paging import decode_token, encode_token, page_size
from .runs import Runs, conflict, not_found
from .scopes import Authorize
from .tasks import CREATED_DRIFT

ARTIFACT_AFTER_EXCEPTION = timedelta(minutes=25)
UPLOAD_CREDENTIALS_FOR = timedelta(hours=24)  # or until the artifact expires, if sooner
DOWNLOAD_CREDENTIALS_FOR = timedelta(hours=1)
DETAILS = ("url", "artifact", "reason", "message")  # what each storage type adds


def _check_replacement(old: dict[str, Any], new: dict[str, Any]) -> None:
    """An artifact is replaced only by a like one (or a reference by a link)."""
    same_type = old["contentType"] == new["contentType"] or new["storageType"] == "link"
    later = new["expires"] >= old["expires"]
    kinds = (old["storageType"], new["storageType"])
    same = kinds[0] == kinds[1] and old["details"] == new["details"]
    allowed = same or kinds in (("reference", "reference"), ("reference", "link"))
    if not (same_type and later and allowed):
        raise conflict("Artifact `{{name}}` already exists with other properties", name=new["name"])


def object_name(task_id: str, run_id: int, name: str) -> str:
    """The name of an object artifact's object in the Object service."""
    return f"t/{task_id}/{run_id}/{name}"


def artifact_entry(artifact: dict[str, Any]) -> dict[str, Any]:
    """The `{storageType, name, expires, contentType, contentLength?}` entry."""
    entry = {key: artifact[key] for key in ("storageType", "name", "expires", "contentType")}
    if artifact["contentLength"] is not None:
        entry["contentLength"] = artifact["contentLength"]
    return entry


class ArtifactService:
    """The artifact entries of the queue."""

    def __init__(self, runs: Runs, blobs: BlobStore, objects: ObjectService) -> None:
        self.runs = runs
        self.store = runs.store
        self.blobs = blobs
        self.objects = objects

    def _check_run_accepts(self, task_id: str, run_id: int, expires: str) -> dict[str, Any]:
        """The task, if the run exists, was claimed, and is running (or ended
        exception recently); the artifact does not outlive its task."""
        task = self.store.task(task_id)
        if task is None:
            raise APIError("InputError", "Task not found")
        if run_id >= len(task["runs"]):
            raise APIError("InputError", "Run not found")
        run = task["runs"][run_id]
        if "workerGroup" not in run:
            raise APIError("InputError", "Run was not claimed by a worker")
        if expires > task["definition"]["expires"]:
            raise APIError("InputError", "Artifact expires after its task")
        recently_excepted = (
            run["state"] == "exception"
            and parse_time(run["resolved"]) > now() - ARTIFACT_AFTER_EXCEPTION
        )
        if run["state"] != "running" and not recently_excepted:
            raise conflict(
                "Artifacts cannot be created for a task after it is resolved, "
                "unless it is resolved 'exception', and even in this case only "
                "up to 25 min past its resolution."
            )
        return task

    def create_artifact(self, task_id: str, run_id: int, name: str, body: dict[str, Any]) -> dict:
        """createArtifact, for every storage type."""
        if parse_time(body["expires"]) < now() - CREATED_DRIFT:
            raise APIError("InputError", "Expires must be in the future")
        expires = iso(parse_time(body["expires"]))
        task = self._check_run_accepts(task_id, run_id, expires)
        storage = body["storageType"]
        artifact = {
            "taskId": task_id,
            "runId": run_id,
            "name": name,
            "storageType": storage,
            "contentType": body.get("contentType", "application/binary"),
            "contentLength": body.get("contentLength"),
            "expires": expires,
            "present": storage != "object",  # an object is present once finished
            "details": {key: body[key] for key in DETAILS if key in body},
        }
        if storage == "object":
            artifact["details"] = {"uploadId": slugid.nice()}
        with self.store.transaction():
            old = self.store.artifact(task_id, run_id, name)
            if old is not None:
                _check_replacement(old, artifact)
                if storage == "s3" and old["storageType"] == "s3":
                    artifact["contentLength"] = old["contentLength"]
            if storage == "object":
                reply = self._begin_upload(task, run_id, artifact)
            self.store.put_artifact(artifact)
        if storage == "object":
            return reply
        if storage != "s3":
            return {"storageType": storage}
        put_url, put_expires = self.blobs.put_url(task_id, run_id, name)
        return {
            "storageType": "s3",
            "putUrl": put_url,
            "expires": put_expires,
            "contentType": artifact["contentType"],
        }

    def _begin_upload(
        self, task: dict[str, Any], run_id: int, artifact: dict[str, Any]
    ) -> dict[str, Any]:
        """Fix the object's upload (no method chosen yet: the worker asks for
        one with the credentials answered here, which allow only that upload)."""
        task_id, expires = task["taskId"], artifact["expires"]
        project_id = task["definition"].get("projectId", "none")
        name = object_name(task_id, run_id, artifact["name"])
        upload_id = artifact["details"]["uploadId"]
        upload = {"projectId": project_id, "uploadId": upload_id, "expires": expires}
        self.objects.create_upload(name, {**upload, "proposedUploadMethods": {}})
        run = task["runs"][run_id]
        until = min(parse_time(expires), now() + UPLOAD_CREDENTIALS_FOR)
        credentials = self.store.temporary_credentials(
            f"artifact-upload/{task_id}/{run_id}/on/{run['workerGroup']}/{run['workerId']}",
            until,
            [f"object:upload:{project_id}:{name}"],
        )
        return {"storageType": "object", "name": name, **upload, "credentials": credentials}

    def finish_artifact(self, task_id: str, run_id: int, name: str, upload_id: str) -> None:
        """finishArtifact: an object artifact is present once its object is."""
        artifact = self.store.artifact(task_id, run_id, name)
        if artifact is None:
            raise not_found("Artifact not found")
        if artifact["storageType"] != "object":
            raise APIError("InputError", "Only object artifacts can be finished")
        if artifact["present"]:
            return  # again: nothing more to do
        if upload_id != artifact["details"].get("uploadId"):
            raise APIError("InputError", "This is not the uploadId createArtifact gave")
        if not self.objects.is_finished(object_name(task_id, run_id, name)):
            raise APIError("InputError", "The artifact's object has not been uploaded")
        self.store.put_artifact({**artifact, "present": True, "details": {}})

    def _latest_run_id(self, task_id: str) -> int:
        """The id of a task's last run; 404 when the task or its runs are missing."""
        task = self.runs.require_task(task_id)
        if not task["runs"]:
            raise not_found("Task `{{taskId}}` has no runs", taskId=task_id)
        return len(task["runs"]) - 1

    def _present(self, task_id: str, run_id: int, name: str) -> dict[str, Any]:
        artifact = self.store.artifact(task_id, run_id, name)
        if artifact is None or not artifact["present"]:
            raise not_found("Artifact not found")
        return artifact

    def resolve_artifact(
        self, task_id: str, run_id: int | None, name: str, authorize: Authorize
    ) -> dict[str, Any]:
        """Follow links to the artifact a download should serve. Before each
        step, the caller must hold `queue:get-artifact:<name>` for every name
        on the way so far; every step must be present and unexpired."""
        names = [name]
        if run_id is None:
            authorize(names=names)
            run_id = self._latest_run_id(task_id)
        while True:
            authorize(names=names)
            artifact = self._present(task_id, run_id, name)
            expires = artifact["expires"]
            if expires < iso(now()):
                raise APIError(
                    "ResourceExpired", "Artifact expired at {{expires}}", expires=expires
                )
            if artifact["storageType"] != "link":
                return artifact
            name = artifact["details"]["artifact"]
            if name in names:
                raise APIError("InputError", "Artifact leads to a link cycle")
            names.append(name)

    def download_url(self, artifact: dict[str, Any]) -> str:
        """Where the bytes of an s3, object or reference artifact are fetched
        from (an object's: its `simple` download URL)."""
        if artifact["storageType"] == "reference":
            return artifact["details"]["url"]
        task_id, run_id, name = artifact["taskId"], artifact["runId"], artifact["name"]
        if artifact["storageType"] == "object":
            return self.objects.download_url(object_name(task_id, run_id, name))
        return self.blobs.get_url(task_id, run_id, name)

    def stored_path(self, artifact: dict[str, Any]) -> Path | None:
        """Where the sandbox keeps the bytes of an s3 or object artifact; None
        for the other kinds, which have none here."""
        task_id, run_id, name = artifact["taskId"], artifact["runId"], artifact["name"]
        if artifact["storageType"] == "s3":
            return self.blobs.path(task_id, run_id, name)
        if artifact["storageType"] == "object":
            return self.objects.files.path(object_name(task_id, run_id, name))
        return None

    def object_download(self, artifact: dict[str, Any]) -> dict[str, Any]:
        """The `artifact` answer of an object artifact: its object's name and
        credentials, valid an hour, to download that object only."""
        task_id, run_id, name = artifact["taskId"], artifact["runId"], artifact["name"]
        objects_name = object_name(task_id, run_id, name)
        credentials = self.store.temporary_credentials(
            f"artifact-download/{task_id}/{run_id}/{name}",
            now() + DOWNLOAD_CREDENTIALS_FOR,
            [f"object:download:{objects_name}"],
        )
        return {"storageType": "object", "name": objects_name, "credentials": credentials}

    def list_artifacts(
        self, task_id: str, run_id: int | None, token: str | None, limit: str | None
    ) -> dict:
        """listArtifacts / listLatestArtifacts, paged by name. A token that is
        not one of this list's starts it over; `limit=0` is an empty page
        without a token (a 500 in Taskcluster)."""
        latest = self._latest_run_id(task_id)
        if run_id is None:
            run_id = latest
        elif run_id > latest:
            raise not_found(
                "Run {{runId}} not found on task `{{taskId}}`", runId=run_id, taskId=task_id
            )
        after = decode_token(token)
        start = (
            after[2]
            if isinstance(after, list)
            and len(after) == 3
            and after[:2] == [task_id, run_id]
            and isinstance(after[2], str)
            else None
        )
        size = page_size(limit)
        rows = self.store.artifacts(task_id, run_id, start, size + 1)
        reply: dict[str, Any] = {"artifacts": [artifact_entry(a) for a in rows[:size]]}
        if size and len(rows) > size:
            reply["continuationToken"] = encode_token([task_id, run_id, rows[size - 1]["name"]])
        return reply

    def artifact_info(self, task_id: str, run_id: int | None, name: str) -> dict:
        """artifactInfo / latestArtifactInfo: the entry, links not followed."""
        if run_id is None:
            run_id = self._latest_run_id(task_id)
        return artifact_entry(self._present(task_id, run_id, name))
