"""Queue `object` artifacts, backed by the sandbox's Object service: what
createArtifact answers, the official client's upload and download helpers
unchanged, finishArtifact's rules, and what each set of credentials allows."""

from __future__ import annotations

import hashlib

import requests
import taskcluster
import taskcluster.download
import taskcluster.upload
from artifact_helpers import STORAGE_HEADER, _expires, _url
from helpers import expect_error, s3_artifact

DATA = b"an object artifact\n" * 1000  # 19 kB: uploaded to a PUT URL, not inline


def object_artifact(worker, task_id: str, name: str) -> dict:
    return worker.createArtifact(task_id, 0, name, {
        "storageType": "object", "contentType": "text/plain", "expires": _expires()})


def object_client(root_url: str, credentials: dict) -> taskcluster.Object:
    """An Object client with `credentials`, that does not retry."""
    return taskcluster.Object({"rootUrl": root_url, "credentials": credentials, "maxRetries": 0})


def upload(root_url: str, reply: dict, data: bytes) -> None:
    """What a worker does with createArtifact's answer: the official helper,
    with the credentials that came with it."""
    service = object_client(root_url, reply["credentials"])
    taskcluster.upload.uploadFromBuf(
        projectId=reply["projectId"], name=reply["name"], contentType="text/plain",
        contentLength=len(data), expires=reply["expires"], uploadId=reply["uploadId"],
        objectService=service, data=data)


def test_create_upload_finish_download(running, root_url, anon):
    task_id, _, worker = running
    reply = object_artifact(worker, task_id, "public/obj.txt")
    assert reply["storageType"] == "object"
    assert reply["name"] == f"t/{task_id}/0/public/obj.txt"
    assert reply["projectId"] == "none" and reply["uploadId"]
    assert reply["credentials"]["clientId"].startswith(f"artifact-upload/{task_id}/0/on/")
    # Not downloadable before finishArtifact.
    expect_error(anon.getArtifact, task_id, 0, "public/obj.txt", status=404)

    upload(root_url, reply, DATA)
    assert worker.finishArtifact(task_id, 0, "public/obj.txt",
                                 {"uploadId": reply["uploadId"]}) is None
    # Again: nothing more to do, still a 204.
    worker.finishArtifact(task_id, 0, "public/obj.txt", {"uploadId": reply["uploadId"]})

    raw = requests.get(_url(root_url, f"/task/{task_id}/runs/0/artifacts/public%2Fobj.txt"),
                       allow_redirects=False, timeout=10)
    assert raw.status_code == 303 and raw.headers[STORAGE_HEADER] == "object"
    assert requests.get(raw.json()["url"], timeout=10).content == DATA
    buf, content_type = taskcluster.download.downloadArtifactToBuf(
        taskId=task_id, runId=0, name="public/obj.txt", queueService=anon, maxRetries=0)
    assert bytes(buf) == DATA and content_type == "text/plain"
    listed = {a["name"]: a for a in anon.listArtifacts(task_id, 0)["artifacts"]}
    assert listed["public/obj.txt"]["storageType"] == "object"


def test_artifact_answers_download_credentials_for_that_object_only(running, root_url, anon):
    task_id, _, worker = running
    reply = object_artifact(worker, task_id, "public/obj.txt")
    upload(root_url, reply, DATA)
    worker.finishArtifact(task_id, 0, "public/obj.txt", {"uploadId": reply["uploadId"]})

    content = anon.artifact(task_id, 0, "public/obj.txt")
    assert content["storageType"] == "object" and content["name"] == reply["name"]
    service = object_client(root_url, content["credentials"])
    metadata = service.object(reply["name"])
    assert metadata["hashes"]["sha256"] == hashlib.sha256(DATA).hexdigest()
    # Download only: no upload with these, not even of the same name.
    failure = expect_error(service.createUpload, reply["name"], {
        "projectId": "none", "uploadId": reply["uploadId"], "expires": reply["expires"],
        "proposedUploadMethods": {}}, status=403)
    assert "object:upload:none:" + reply["name"] in failure["message"]


def test_upload_credentials_cover_that_object_only(running, root_url):
    task_id, _, worker = running
    reply = object_artifact(worker, task_id, "public/obj.txt")
    other = dict(reply, name=f"t/{task_id}/0/public/other.txt")
    expect_error(upload, root_url, other, DATA, status=403)


def test_finish_artifact_rules(running, root_url):
    task_id, _, worker = running
    reply = object_artifact(worker, task_id, "public/obj.txt")
    body = expect_error(worker.finishArtifact, task_id, 0, "public/obj.txt",
                        {"uploadId": reply["uploadId"]}, status=400)
    assert body["code"] == "InputError"  # nothing uploaded yet
    upload(root_url, reply, DATA)
    other_id = taskcluster.slugId()
    body = expect_error(worker.finishArtifact, task_id, 0, "public/obj.txt",
                        {"uploadId": other_id}, status=400)
    assert body["code"] == "InputError" and "uploadId" in body["message"]
    expect_error(worker.finishArtifact, task_id, 0, "public/none.txt",
                 {"uploadId": other_id}, status=404)


def test_an_object_artifact_is_not_created_twice(running):
    task_id, _, worker = running
    object_artifact(worker, task_id, "public/obj.txt")
    body = expect_error(object_artifact, worker, task_id, "public/obj.txt", status=409)
    assert body["code"] == "RequestConflict"
    s3_artifact(worker, task_id, 0, "public/s3.txt", b"s3")
    expect_error(object_artifact, worker, task_id, "public/s3.txt", status=409)


def test_task_page_shows_a_log_stored_as_an_object(running, root_url):
    task_id, _, worker = running
    name = "public/logs/live_backing.log"
    reply = object_artifact(worker, task_id, name)
    upload(root_url, reply, b"first line\nthe marker line\n")
    worker.finishArtifact(task_id, 0, name, {"uploadId": reply["uploadId"]})
    page = requests.get(f"{root_url}/tasks/{task_id}", timeout=10).text
    assert "the marker line" in page.split('<pre class="log">')[1]
