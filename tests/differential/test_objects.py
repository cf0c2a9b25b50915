"""Differential scenarios: the queue's object artifacts (created, uploaded with
the official client's `taskcluster.upload`, finished, served and downloaded)
and the Object service called directly (createUpload, finishUpload, object,
startDownload, download), errors included."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
import taskcluster
import taskcluster.download
import taskcluster.upload

from .harness import Ids, Pair, Recorder, Target
from .test_artifacts import artifact_body, download
from .test_runs import claim, claimer

pytestmark = pytest.mark.differential

DATA = b"object bytes from the differential tests\n" * 30
SMALL = b"inline object\n"
PROJECT = "tcnb-diff"


def object_client(t: Target, credentials: dict[str, Any]) -> taskcluster.Object:
    """An Object client (no retries) with `credentials`."""
    return taskcluster.Object({"rootUrl": t.root_url, "credentials": dict(credentials),
                               "maxRetries": 0})


def uploading(t: Target, rec: Recorder, ids: Ids) -> tuple[str, taskcluster.Queue]:
    """createArtifact (object), the upload with the answered credentials, finishArtifact."""
    q = t.queue()
    tq = ids.queue("objects")
    task_id = ids.task("o")
    rec("with an object artifact", q.createTask, task_id,
        ids.definition(tq, projectId=PROJECT)).expect()
    claimed = claim(rec, "object maker", claimer(t, ids, tq), ids, tq)
    run = t.queue(claimed["credentials"])
    body = artifact_body("object", ids, contentType="text/plain")
    created = rec("object", run.createArtifact, task_id, 0, "public/data.txt", body)
    answer = created.expect()
    upload_id = rec.alias(answer["uploadId"], "<uploadId>")
    rec("object, same request again", run.createArtifact, task_id, 0, "public/data.txt", body)
    rec("object, other contentType", run.createArtifact, task_id, 0, "public/data.txt",
        {**body, "contentType": "text/html"})
    rec("wrong uploadId", run.finishArtifact, task_id, 0, "public/data.txt",
        {"uploadId": ids.task("wrong upload")})
    rec("before the upload", run.finishArtifact, task_id, 0, "public/data.txt",
        {"uploadId": upload_id})
    rec("not yet finished", t.anonymous().getArtifact, task_id, 0, "public/data.txt")
    rec("not yet finished", t.anonymous().artifactInfo, task_id, 0, "public/data.txt")
    objects = object_client(t, answer["credentials"])
    rec.outcome("with the answered credentials", "uploadFromBuf",
                lambda: taskcluster.upload.uploadFromBuf(
                    projectId=answer["projectId"], name=answer["name"], data=DATA,
                    contentType="text/plain", contentLength=len(DATA), maxRetries=0,
                    expires=answer["expires"], uploadId=upload_id, objectService=objects))
    rec("after the upload", run.finishArtifact, task_id, 0, "public/data.txt",
        {"uploadId": upload_id})
    rec("again", run.finishArtifact, task_id, 0, "public/data.txt", {"uploadId": upload_id})
    rec("after finishing", run.createArtifact, task_id, 0, "public/data.txt", body)
    return task_id, run


def serving(t: Target, rec: Recorder, task_id: str) -> None:
    """getArtifact (303, followed), artifact, info, listing and the client's download."""
    anon = t.anonymous()
    download(rec, "object", t, rec("object", anon.getArtifact, task_id, 0, "public/data.txt"))
    download(rec, "latest object", t, rec("object", anon.getLatestArtifact, task_id,
                                          "public/data.txt"))
    fetched = rec("object", anon.artifact, task_id, 0, "public/data.txt").expect()
    rec("object", anon.latestArtifact, task_id, "public/data.txt")
    rec("object", anon.artifactInfo, task_id, 0, "public/data.txt")
    rec("object", anon.listArtifacts, task_id, 0)
    rec.outcome("object artifact", "downloadArtifactToBuf",
                lambda: taskcluster.download.downloadArtifactToBuf(
                    taskId=task_id, runId=0, name="public/data.txt", maxRetries=0,
                    queueService=anon))
    objects = object_client(t, fetched["credentials"])
    rec("with the artifact's credentials", objects.startDownload, fetched["name"],
        {"acceptDownloadMethods": {"simple": True}})
    rec("other object, with the artifact's credentials", objects.object,
        f"t/{task_id}/0/public/other")


def object_artifacts(t: Target, rec: Recorder, ids: Ids) -> None:
    """The whole object-artifact scenario."""
    task_id, run = uploading(t, rec, ids)
    serving(t, rec, task_id)
    rec("with an object artifact", run.reportCompleted, task_id, 0)


def inline(ids: Ids, upload_id: str, **fields: Any) -> dict[str, Any]:
    """A createUpload request by dataInline, expiring in a few hours."""
    return {"projectId": PROJECT, "uploadId": upload_id, "expires": ids.later(hours=3),
            "proposedUploadMethods": {"dataInline": {
                "contentType": "text/plain",
                "objectData": base64.b64encode(SMALL).decode()}}, **fields}


def sha256(data: bytes) -> dict[str, str]:
    """The `hashes` of `data`, as the official client sends them."""
    return {"sha256": hashlib.sha256(data).hexdigest()}


def inline_uploads(rec: Recorder, ids: Ids, obj: taskcluster.Object, name: str) -> None:
    """createUpload by dataInline, its repeats and conflicts, finishUpload and hashes."""
    up = ids.task("inline upload")
    rec("dataInline", obj.createUpload, name, inline(ids, up))
    rec("same request again", obj.createUpload, name, inline(ids, up))
    rec("another uploadId", obj.createUpload, name, inline(ids, ids.task("other upload")))
    rec("another projectId", obj.createUpload, name, inline(ids, up, projectId="elsewhere"))
    rec("another expires", obj.createUpload, name, inline(ids, up, expires=ids.later(hours=5)))
    rec("with hashes", obj.createUpload, name, inline(ids, up, hashes=sha256(SMALL)))
    rec("other hashes", obj.createUpload, name,
        inline(ids, up, hashes={"sha256": "0" * 64}))
    rec("wrong uploadId", obj.finishUpload, name,
        {"projectId": PROJECT, "uploadId": ids.task("other upload")})
    rec("wrong projectId", obj.finishUpload, name, {"projectId": "elsewhere", "uploadId": up})
    rec("other hashes", obj.finishUpload, name,
        {"projectId": PROJECT, "uploadId": up, "hashes": {"sha256": "1" * 64}})
    rec("more hashes", obj.finishUpload, name,
        {"projectId": PROJECT, "uploadId": up,
         "hashes": {"sha512": hashlib.sha512(SMALL).hexdigest()}})
    rec("dataInline", obj.finishUpload, name, {"projectId": PROJECT, "uploadId": up})
    rec("again", obj.finishUpload, name, {"projectId": PROJECT, "uploadId": up})
    rec("after finishing", obj.createUpload, name, inline(ids, up))
    rec("dataInline", obj.object, name)


def put_uploads(t: Target, rec: Recorder, ids: Ids, obj: taskcluster.Object,
                name: str) -> None:
    """createUpload by putUrl, the PUT, finishUpload, and the download URLs."""
    up = ids.task("put upload")
    request = {"projectId": PROJECT, "uploadId": up, "expires": ids.later(hours=3),
               "proposedUploadMethods": {"putUrl": {"contentType": "application/octet-stream",
                                                   "contentLength": len(DATA)}}}
    created = rec("putUrl", obj.createUpload, name, request)
    rec("putUrl before the upload", obj.object, name)
    rec("putUrl before the upload", obj.startDownload, name,
        {"acceptDownloadMethods": {"simple": True}})
    method = created.expect()["uploadMethod"]["putUrl"]
    rec.http("putUrl", "upload", method["url"], "PUT", data=DATA, headers=method["headers"])
    rec("putUrl", obj.finishUpload, name,
        {"projectId": PROJECT, "uploadId": up, "hashes": sha256(DATA)})
    rec("putUrl", obj.object, name)
    for method_name in ("simple", "getUrl"):
        started = rec(method_name, obj.startDownload, name,
                      {"acceptDownloadMethods": {method_name: True}}).expect()
        rec.http(method_name, "download", started["url"])
    rec("both accepted", obj.startDownload, name,
        {"acceptDownloadMethods": {"getUrl": True, "simple": True}})
    rec("none accepted", obj.startDownload, name, {"acceptDownloadMethods": {}})
    rec("only unknown methods", obj.startDownload, name,
        {"acceptDownloadMethods": {"carrierPigeon": True}})
    signed = obj.buildSignedUrl("download", name)
    download(rec, "download", t, rec.http("signed URL", "object.download", signed))
    rec.outcome("putUrl object", "downloadToBuf", lambda: taskcluster.download.downloadToBuf(
        name=name, maxRetries=0, objectService=obj))


def errors(t: Target, rec: Recorder, ids: Ids, obj: taskcluster.Object, prefix: str) -> None:
    """Unknown names, malformed bodies and missing scopes."""
    unknown = f"{prefix}unknown"
    rec("unknown name", obj.object, unknown)
    rec("unknown name", obj.startDownload, unknown, {"acceptDownloadMethods": {"simple": True}})
    rec("unknown name", obj.finishUpload, unknown,
        {"projectId": PROJECT, "uploadId": ids.task("inline upload")})
    rec.http("unknown name", "object.download", obj.buildSignedUrl("download", unknown))
    # each malformed request on a name and uploadId of its own (uploadIds are unique)
    name, up = f"{prefix}no-project", ids.task("no-project")
    rec("no projectId", obj.createUpload, name,
        {"uploadId": up, "expires": ids.later(hours=1), "proposedUploadMethods": {}})
    rec("bad uploadId", obj.createUpload, f"{prefix}bad-upload", inline(ids, "not a slug"))
    name, up = f"{prefix}not-base64", ids.task("not-base64")
    rec("objectData not base64", obj.createUpload, name,
        {**inline(ids, up), "proposedUploadMethods": {"dataInline": {
            "contentType": "text/plain", "objectData": "%%%"}}})
    name, up = f"{prefix}no-methods", ids.task("no-methods")
    rec("no upload methods", obj.createUpload, name, {**inline(ids, up),
                                                      "proposedUploadMethods": {}})
    rec("extra field", obj.finishUpload, f"{prefix}extra",
        {"projectId": PROJECT, "uploadId": ids.task("extra"), "extra": 1})
    rec("acceptDownloadMethods missing", obj.startDownload, f"{prefix}inline", {})
    rec("bad hash", obj.finishUpload, f"{prefix}bad-hash",
        {"projectId": PROJECT, "uploadId": ids.task("bad-hash"), "hashes": {"sha256": "xyz"}})
    name, up = f"{prefix}past", ids.task("past")
    rec("expires in the past", obj.createUpload, name,
        inline(ids, up, expires=ids.later(hours=-1)))
    rec("expired, before finishUpload", obj.object, name)
    rec("expired", obj.finishUpload, name, {"projectId": PROJECT, "uploadId": up})
    rec("expired", obj.object, name)
    rec("expired", obj.startDownload, name, {"acceptDownloadMethods": {"simple": True}})
    rec("expired, then another expires", obj.createUpload, name, inline(ids, up))
    rec("uploadId of another pending upload", obj.createUpload, f"{prefix}reused",
        inline(ids, ids.task("no-methods")))
    rec("uploadId of a finished upload", obj.createUpload, f"{prefix}reused",
        inline(ids, ids.task("inline upload")))
    rec("outside the scopes", obj.createUpload, "elsewhere/x", inline(ids, ids.task("x")))
    rec("outside the scopes", obj.startDownload, "elsewhere/x",
        {"acceptDownloadMethods": {"simple": True}})
    anon = taskcluster.Object({"rootUrl": t.root_url, "maxRetries": 0})
    rec("anonymous", anon.object, f"{prefix}inline")


def object_service(t: Target, rec: Recorder, ids: Ids) -> None:
    """The Object service with a client holding object:upload/download of a prefix."""
    prefix = f"tcnb-diff/{ids.tag}/"
    credentials = t.client(ids, "objects", [f"object:upload:{PROJECT}:{prefix}*",
                                            f"object:download:{prefix}*"])
    obj = object_client(t, credentials)
    inline_uploads(rec, ids, obj, f"{prefix}inline")
    put_uploads(t, rec, ids, obj, f"{prefix}put")
    errors(t, rec, ids, obj, prefix)


def test_object_artifacts(pair: Pair) -> None:
    """Object artifacts are created, uploaded, finished and served alike."""
    pair.run(object_artifacts)


def test_object_service(pair: Pair) -> None:
    """The Object service answers alike, errors included."""
    pair.run(object_service)

