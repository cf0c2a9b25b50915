"""The other storage types: reference, link (followed, cycles, scopes on every
name traversed) and error (424), and finishArtifact, which is only for object
artifacts (those are test_artifacts_object.py's).
"""

from __future__ import annotations

import pytest
import requests
import taskcluster
import taskcluster.download
from artifact_helpers import STORAGE_HEADER, _expires, _url
from helpers import expect_error, new_task_id, s3_artifact


class TestOtherStorageTypes:
    """reference, link and error artifacts."""

    def test_reference(self, running, root_url, anon):
        """reference → 303 to the stored url verbatim."""
        task_id, _, worker = running
        target = "https://example.com/some/path?x=1&y=%2F"
        res = worker.createArtifact(task_id, 0, "public/ref", {
            "storageType": "reference", "url": target, "contentType": "text/plain",
            "expires": _expires()})
        assert res == {"storageType": "reference"}
        raw = requests.get(_url(root_url, f"/task/{task_id}/artifacts/public%2Fref"),
                           allow_redirects=False, timeout=10)
        assert raw.status_code == 303
        assert raw.headers["Location"] == target
        assert raw.headers[STORAGE_HEADER] == "reference"
        assert anon.getArtifact(task_id, 0, "public/ref") == {"storageType": "reference",
                                                              "url": target}
        assert anon.latestArtifact(task_id, "public/ref") == {"storageType": "reference",
                                                              "url": target}

    def test_reference_download_helper(self, running, root_url, anon):
        """downloadArtifactToBuf follows a reference to a URL on the sandbox."""
        task_id, _, worker = running
        s3_artifact(worker, task_id, 0, "public/real.txt", b"referenced")
        real_url = anon.artifact(task_id, 0, "public/real.txt")["url"]
        worker.createArtifact(task_id, 0, "public/ref2", {
            "storageType": "reference", "url": real_url, "contentType": "text/plain",
            "expires": _expires()})
        buf, _ = taskcluster.download.downloadArtifactToBuf(
            taskId=task_id, name="public/ref2", queueService=anon, maxRetries=0)
        assert bytes(buf) == b"referenced"

    def test_reference_replacement(self, running, anon):
        """reference → reference (new url) and reference → link are allowed."""
        task_id, _, worker = running
        s3_artifact(worker, task_id, 0, "public/backing.log", b"full log")
        ref = {"storageType": "reference", "url": "https://example.com/live",
               "contentType": "text/plain; charset=utf-8", "expires": _expires(1)}
        worker.createArtifact(task_id, 0, "public/live.log", ref)
        worker.createArtifact(task_id, 0, "public/live.log",
                              dict(ref, url="https://example.com/live2"))
        assert anon.artifact(task_id, 0, "public/live.log")["url"] == "https://example.com/live2"
        worker.createArtifact(task_id, 0, "public/live.log", {
            "storageType": "link", "artifact": "public/backing.log", "expires": _expires(),
            "contentType": "text/plain; charset=utf-8"})
        buf, _ = taskcluster.download.downloadArtifactToBuf(
            taskId=task_id, name="public/live.log", queueService=anon, maxRetries=0)
        assert bytes(buf) == b"full log"

    def test_link(self, running, root_url, anon):
        """link artifacts are followed by getArtifact and artifact()."""
        task_id, _, worker = running
        s3_artifact(worker, task_id, 0, "public/target.txt", b"target bytes")
        res = worker.createArtifact(task_id, 0, "public/link.txt", {
            "storageType": "link", "artifact": "public/target.txt", "expires": _expires()})
        assert res == {"storageType": "link"}
        got = requests.get(_url(root_url, f"/task/{task_id}/artifacts/public/link.txt"),
                           timeout=10)
        assert got.status_code == 200
        assert got.content == b"target bytes"
        assert anon.artifact(task_id, 0, "public/link.txt")["storageType"] == "s3"
        assert anon.getArtifact(task_id, 0, "public/link.txt")["storageType"] == "s3"
        info = anon.artifactInfo(task_id, 0, "public/link.txt")
        assert info["storageType"] == "link"

    def test_link_cycle(self, running, anon):
        """A link cycle is a 400 InputError."""
        task_id, _, worker = running
        for src, dst in (("public/a", "public/b"), ("public/b", "public/a")):
            worker.createArtifact(task_id, 0, src, {
                "storageType": "link", "artifact": dst, "expires": _expires()})
        body = expect_error(anon.getArtifact, task_id, 0, "public/a", status=400,
                            code="InputError")
        assert "cycle" in body["message"]
        expect_error(anon.latestArtifact, task_id, "public/b", status=400, code="InputError")

    def test_link_to_private_needs_scope(self, running, queue, anon):
        """Every traversed name needs queue:get-artifact:<name>."""
        task_id, _, worker = running
        s3_artifact(worker, task_id, 0, "private/t.txt", b"secret")
        worker.createArtifact(task_id, 0, "public/to-private", {
            "storageType": "link", "artifact": "private/t.txt", "expires": _expires()})
        body = expect_error(anon.getArtifact, task_id, 0, "public/to-private", status=403,
                            code="InsufficientScopes")
        assert "queue:get-artifact:private/t.txt" in body["message"]
        assert queue.getArtifact(task_id, 0, "public/to-private")["storageType"] == "s3"

    def test_error_artifact(self, running, root_url, anon):
        """error artifacts: 424 {reason, message}; artifact() describes; download raises."""
        task_id, _, worker = running
        error = {"storageType": "error", "reason": "file-missing-on-worker",
                 "message": "no such file", "expires": _expires()}
        res = worker.createArtifact(task_id, 0, "public/missing.txt", error)
        assert res == {"storageType": "error"}
        raw = requests.get(_url(root_url, f"/task/{task_id}/runs/0/artifacts/public/missing.txt"),
                           timeout=10)
        assert raw.status_code == 424
        assert raw.headers[STORAGE_HEADER] == "error"
        assert raw.json() == {"reason": "file-missing-on-worker", "message": "no such file"}
        err = expect_error(anon.getLatestArtifact, task_id, "public/missing.txt", status=424)
        assert err["reason"] == "file-missing-on-worker"
        assert anon.artifact(task_id, 0, "public/missing.txt") == {
            "storageType": "error", "reason": "file-missing-on-worker",
            "message": "no such file"}
        with pytest.raises(taskcluster.TaskclusterArtifactError) as ei:
            taskcluster.download.downloadArtifactToBuf(
                taskId=task_id, name="public/missing.txt", queueService=anon, maxRetries=0)
        assert ei.value.reason == "file-missing-on-worker"
        # repeating the same error artifact is idempotent
        assert worker.createArtifact(task_id, 0, "public/missing.txt", error) == res

    def test_error_artifact_bad_reason(self, running):
        """An unknown error reason is a schema violation."""
        task_id, _, worker = running
        expect_error(worker.createArtifact, task_id, 0, "public/e", {
            "storageType": "error", "reason": "it-broke", "message": "x",
            "expires": _expires()}, status=400, code="InputValidationError")

    @pytest.mark.parametrize("storage", ["s3", "reference", "link", "error"])
    def test_finish_non_object_is_400(self, running, storage):
        """finishArtifact is only for object artifacts."""
        task_id, _, worker = running
        s3_artifact(worker, task_id, 0, "public/base", b"b")
        payload = {
            "s3": {"storageType": "s3", "contentType": "text/plain"},
            "reference": {"storageType": "reference", "url": "https://example.com/",
                          "contentType": "text/plain"},
            "link": {"storageType": "link", "artifact": "public/base"},
            "error": {"storageType": "error", "reason": "file-missing-on-worker",
                      "message": "m"},
        }[storage]
        name = f"public/fin-{storage}"
        worker.createArtifact(task_id, 0, name, dict(payload, expires=_expires()))
        body = expect_error(worker.finishArtifact, task_id, 0, name,
                            {"uploadId": new_task_id()}, status=400)
        assert "object" in body["message"]
