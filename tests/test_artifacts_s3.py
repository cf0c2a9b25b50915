"""s3 artifacts: createArtifact's answer, upload through putUrl, download through
redirects and the official client's helpers, raw slashes in names, the PUT's
content type, and re-creating an artifact.
"""

from __future__ import annotations

import os

import requests
import taskcluster
import taskcluster.download
from artifact_helpers import STORAGE_HEADER, _expires, _url
from helpers import expect_error, s3_artifact


class TestS3:
    """s3 artifacts: upload through putUrl, download through redirects."""

    def test_create_response(self, running, root_url):
        """createArtifact(s3) returns a putUrl on the sandbox and the contentType."""
        task_id, _, worker = running
        res = worker.createArtifact(task_id, 0, "public/a.txt", {
            "storageType": "s3", "contentType": "text/plain", "expires": _expires()})
        assert res["storageType"] == "s3"
        assert res["contentType"] == "text/plain"
        assert res["putUrl"].startswith(root_url + "/")
        assert "expires" in res

    def test_upload_and_download(self, running, root_url, anon):
        """Bytes uploaded to putUrl come back via getArtifact and getLatestArtifact."""
        task_id, _, worker = running
        data = os.urandom(3000) + b"\x00end"
        s3_artifact(worker, task_id, 0, "public/data.bin", data, "application/octet-stream")
        for path in (f"/task/{task_id}/runs/0/artifacts/public%2Fdata.bin",
                     f"/task/{task_id}/artifacts/public%2Fdata.bin"):
            res = requests.get(_url(root_url, path), timeout=10)
            assert res.status_code == 200
            assert res.content == data
        buf, content_type = taskcluster.download.downloadArtifactToBuf(
            taskId=task_id, name="public/data.bin", queueService=anon, maxRetries=0)
        assert bytes(buf) == data
        assert content_type == "application/octet-stream"
        buf, _ = taskcluster.download.downloadArtifactToBuf(
            taskId=task_id, runId=0, name="public/data.bin", queueService=anon, maxRetries=0)
        assert bytes(buf) == data

    def test_redirect_without_following(self, running, root_url, anon):
        """getArtifact answers 303 with Location, storage-type header and {storageType, url}."""
        task_id, _, worker = running
        s3_artifact(worker, task_id, 0, "public/r.txt", b"hello")
        res = requests.get(_url(root_url, f"/task/{task_id}/runs/0/artifacts/public%2Fr.txt"),
                           allow_redirects=False, timeout=10)
        assert res.status_code == 303
        assert res.headers[STORAGE_HEADER] == "s3"
        assert res.headers["Location"]
        body = res.json()
        assert body["storageType"] == "s3"
        assert body["url"].startswith(root_url + "/")
        location = res.headers["Location"]
        assert location.startswith("/") or location.startswith(root_url)
        follow = requests.get(requests.compat.urljoin(root_url + "/", location), timeout=10)
        assert follow.content == b"hello"
        via_client = anon.getArtifact(task_id, 0, "public/r.txt")
        assert via_client["storageType"] == "s3"
        assert requests.get(via_client["url"], timeout=10).content == b"hello"
        latest = anon.getLatestArtifact(task_id, "public/r.txt")
        assert latest["storageType"] == "s3"

    def test_artifact_content_endpoints(self, running, anon):
        """artifact()/latestArtifact() return {storageType: s3, url}."""
        task_id, _, worker = running
        s3_artifact(worker, task_id, 0, "public/c.txt", b"content")
        for res in (anon.artifact(task_id, 0, "public/c.txt"),
                    anon.latestArtifact(task_id, "public/c.txt")):
            assert res["storageType"] == "s3"
            assert requests.get(res["url"], timeout=10).content == b"content"

    def test_raw_slash_names(self, running, root_url):
        """Artifact names with raw slashes in the path work for plain HTTP clients."""
        task_id, _, worker = running
        s3_artifact(worker, task_id, 0, "public/logs/x.txt", b"raw slashes")
        for path in (f"/task/{task_id}/artifacts/public/logs/x.txt",
                     f"/task/{task_id}/runs/0/artifacts/public/logs/x.txt"):
            res = requests.get(_url(root_url, path), timeout=10)
            assert res.status_code == 200, res.text
            assert res.content == b"raw slashes"
        info = requests.get(_url(root_url, f"/task/{task_id}/artifact-info/public/logs/x.txt"),
                            timeout=10)
        assert info.status_code == 200
        assert info.json()["name"] == "public/logs/x.txt"

    def test_put_with_other_content_type_rejected(self, running):
        """The PUT must use the contentType given to createArtifact."""
        task_id, _, worker = running
        res = worker.createArtifact(task_id, 0, "public/ct.txt", {
            "storageType": "s3", "contentType": "text/plain", "expires": _expires()})
        put = requests.put(res["putUrl"], data=b"x",
                           headers={"Content-Type": "image/png", "Content-Length": "1"},
                           timeout=10)
        assert 400 <= put.status_code < 500

    def test_recreate_is_idempotent(self, running):
        """Same s3 input again → 200 with a putUrl; a different contentType → 409."""
        task_id, _, worker = running
        payload = {"storageType": "s3", "contentType": "text/plain", "expires": _expires()}
        worker.createArtifact(task_id, 0, "public/same.txt", payload)
        assert worker.createArtifact(task_id, 0, "public/same.txt", payload)["putUrl"]
        expect_error(worker.createArtifact, task_id, 0, "public/same.txt",
                     dict(payload, contentType="text/html"), status=409,
                     code="RequestConflict")
        expect_error(worker.createArtifact, task_id, 0, "public/same.txt",
                     dict(payload, expires=_expires(1)), status=409, code="RequestConflict")
        expect_error(worker.createArtifact, task_id, 0, "public/same.txt",
                     {"storageType": "reference", "url": "https://example.com/",
                      "contentType": "text/plain", "expires": payload["expires"]},
                     status=409, code="RequestConflict")
