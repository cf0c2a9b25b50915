"""Artifact creation, listing and retrieval for every storage type."""

from __future__ import annotations

import http.client
import os
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests
import taskcluster
import taskcluster.download
from helpers import (
    API,
    create_and_claim,
    create_unscheduled,
    expect_error,
    from_now,
    make_queue,
    make_task,
    new_task_id,
    s3_artifact,
)

STORAGE_HEADER = "x-taskcluster-artifact-storage-type"


@pytest.fixture
def running(queue, root_url):
    """A claimed task: (taskId, claim, worker client)."""
    return create_and_claim(queue, root_url)


def _expires(hours: int = 24) -> str:
    return taskcluster.fromNowJSON(f"{hours} hours")


def _url(root_url: str, path: str) -> str:
    return f"{root_url}{API}{path}"


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


class TestListing:
    """listArtifacts, listLatestArtifacts, artifactInfo, latestArtifactInfo."""

    def test_list_and_pagination(self, running, anon):
        """Lists are ordered by name, paginate with limit and omit the token at the end."""
        task_id, _, worker = running
        names = [f"public/f{i}.txt" for i in range(5)]
        for name in reversed(names):
            worker.createArtifact(task_id, 0, name, {
                "storageType": "s3", "contentType": "text/plain", "expires": _expires(),
                "contentLength": 4})
        full = anon.listArtifacts(task_id, 0)
        assert [a["name"] for a in full["artifacts"]] == names
        assert "continuationToken" not in full
        entry = full["artifacts"][0]
        assert entry["storageType"] == "s3"
        assert entry["contentType"] == "text/plain"
        assert "expires" in entry
        for lister in (lambda q: anon.listArtifacts(task_id, 0, query=q),
                       lambda q: anon.listLatestArtifacts(task_id, query=q)):
            seen, token, pages = [], None, 0
            while True:
                query = {"limit": 2}
                if token:
                    query["continuationToken"] = token
                page = lister(query)
                pages += 1
                assert len(page["artifacts"]) <= 2
                seen += [a["name"] for a in page["artifacts"]]
                token = page.get("continuationToken")
                if not token:
                    assert "continuationToken" not in page
                    break
            assert seen == names
            assert pages == 3

    def test_pagination_handler(self, running, anon):
        """The client's paginationHandler loop sees all artifacts."""
        task_id, _, worker = running
        for i in range(3):
            worker.createArtifact(task_id, 0, f"public/p{i}", {
                "storageType": "reference", "url": "https://example.com/",
                "contentType": "text/plain", "expires": _expires()})
        seen = []
        anon.listLatestArtifacts(task_id, paginationHandler=lambda r: seen.extend(
            a["name"] for a in r["artifacts"]), paginationLimit=1)
        assert seen == ["public/p0", "public/p1", "public/p2"]

    def test_bad_token_restarts(self, running, anon):
        """An undecodable artifact continuationToken silently restarts from the start."""
        task_id, _, worker = running
        worker.createArtifact(task_id, 0, "public/only", {
            "storageType": "reference", "url": "https://example.com/",
            "contentType": "text/plain", "expires": _expires()})
        res = anon.listArtifacts(task_id, 0, query={"continuationToken": "%%garbage%%"})
        assert [a["name"] for a in res["artifacts"]] == ["public/only"]

    def test_info(self, running, anon):
        """artifactInfo/latestArtifactInfo return the entry; missing → 404."""
        task_id, _, worker = running
        worker.createArtifact(task_id, 0, "public/i.txt", {
            "storageType": "s3", "contentType": "text/plain", "expires": _expires(),
            "contentLength": 7})
        for info in (anon.artifactInfo(task_id, 0, "public/i.txt"),
                     anon.latestArtifactInfo(task_id, "public/i.txt")):
            assert info["name"] == "public/i.txt"
            assert info["storageType"] == "s3"
            assert info["contentType"] == "text/plain"
            assert info["contentLength"] == 7
        expect_error(anon.artifactInfo, task_id, 0, "public/nope", status=404,
                     code="ResourceNotFound")
        expect_error(anon.latestArtifactInfo, task_id, "public/nope", status=404,
                     code="ResourceNotFound")

    def test_list_404s(self, queue, anon):
        """Unknown task, no runs, or runId beyond the latest → 404."""
        expect_error(anon.listLatestArtifacts, new_task_id(), status=404,
                     code="ResourceNotFound")
        blocked = create_unscheduled(queue)
        expect_error(anon.listLatestArtifacts, blocked, status=404, code="ResourceNotFound")
        pending = new_task_id()
        queue.createTask(pending, make_task())
        assert anon.listArtifacts(pending, 0)["artifacts"] == []
        expect_error(anon.listArtifacts, pending, 1, status=404, code="ResourceNotFound")

    def test_latest_run(self, queue, root_url, anon):
        """Latest-run endpoints look at the newest run only."""
        task_id, claim, worker = create_and_claim(queue, root_url)
        s3_artifact(worker, task_id, 0, "public/old.txt", b"old")
        worker.reportCompleted(task_id, 0)
        queue.rerunTask(task_id)
        assert anon.listLatestArtifacts(task_id)["artifacts"] == []
        expect_error(anon.getLatestArtifact, task_id, "public/old.txt", status=404,
                     code="ResourceNotFound")
        assert anon.getArtifact(task_id, 0, "public/old.txt")["storageType"] == "s3"


class TestOtherStorageTypes:
    """reference, link, error and object artifacts."""

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

    def test_object_artifact_is_refused(self, running, anon):
        """The sandbox has no object service: an object artifact is a 400 that
        names the s3 alternative, and nothing is stored."""
        task_id, _, worker = running
        body = expect_error(worker.createArtifact, task_id, 0, "public/obj.bin", {
            "storageType": "object", "contentType": "application/binary",
            "expires": _expires()}, status=400)
        assert body["code"] == "InputError" and "s3" in body["message"]
        listed = {a["name"] for a in anon.listArtifacts(task_id, 0)["artifacts"]}
        assert "public/obj.bin" not in listed

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


class TestCreateChecks:
    """createArtifact preconditions."""

    def test_expired_artifact_is_410(self, running, anon):
        """expires slightly in the past is accepted, then retrieval is 410."""
        task_id, _, worker = running
        s3_artifact(worker, task_id, 0, "public/old", b"x", expires=from_now(minutes=-5))
        expect_error(anon.getArtifact, task_id, 0, "public/old", status=410,
                     code="ResourceExpired")
        assert anon.artifactInfo(task_id, 0, "public/old")["name"] == "public/old"

    def test_expires_in_the_past(self, running):
        """expires more than 15 min ago → 400."""
        task_id, _, worker = running
        body = expect_error(worker.createArtifact, task_id, 0, "public/x", {
            "storageType": "s3", "contentType": "text/plain",
            "expires": from_now(hours=-1)}, status=400)
        assert "Expires must be in the future" in body["message"]

    def test_expires_after_task(self, queue, root_url):
        """expires after task.expires → 400."""
        task_id, _, worker = create_and_claim(queue, root_url, expires=from_now(days=2))
        expect_error(worker.createArtifact, task_id, 0, "public/x", {
            "storageType": "s3", "contentType": "text/plain", "expires": from_now(days=3)},
            status=400)

    def test_unknown_task_or_run(self, queue, running):
        """Unknown task or run → 400; never-claimed run → 400."""
        expect_error(queue.createArtifact, new_task_id(), 0, "public/x", {
            "storageType": "s3", "contentType": "text/plain", "expires": _expires()},
            status=400)
        task_id, _, _ = running
        expect_error(queue.createArtifact, task_id, 5, "public/x", {
            "storageType": "s3", "contentType": "text/plain", "expires": _expires()},
            status=400)
        pending = new_task_id()
        queue.createTask(pending, make_task())
        expect_error(queue.createArtifact, pending, 0, "public/x", {
            "storageType": "s3", "contentType": "text/plain", "expires": _expires()},
            status=400)

    def test_resolved_run(self, queue, root_url):
        """Completed run → 409; recent exception run → still allowed."""
        task_id, _, worker = create_and_claim(queue, root_url)
        worker.reportCompleted(task_id, 0)
        expect_error(worker.createArtifact, task_id, 0, "public/late", {
            "storageType": "s3", "contentType": "text/plain", "expires": _expires()},
            status=409, code="RequestConflict")
        task_id, _, worker = create_and_claim(queue, root_url)
        worker.reportException(task_id, 0, {"reason": "malformed-payload"})
        res = worker.createArtifact(task_id, 0, "public/late", {
            "storageType": "s3", "contentType": "text/plain", "expires": _expires()})
        assert res["storageType"] == "s3"

    def test_default_content_type(self, running, anon):
        """contentType defaults to application/binary when omitted (link)."""
        task_id, _, worker = running
        s3_artifact(worker, task_id, 0, "public/t", b"t")
        worker.createArtifact(task_id, 0, "public/l", {
            "storageType": "link", "artifact": "public/t", "expires": _expires()})
        assert anon.artifactInfo(task_id, 0, "public/l")["contentType"] == "application/binary"

    def test_missing_artifact_is_404(self, running, anon):
        """getArtifact of an absent name → 404."""
        task_id, _, _ = running
        expect_error(anon.getArtifact, task_id, 0, "public/absent", status=404,
                     code="ResourceNotFound")
        expect_error(anon.latestArtifact, task_id, "public/absent", status=404,
                     code="ResourceNotFound")


class TestPrivate:
    """Private artifacts need queue:get-artifact:<name>."""

    def test_anonymous_forbidden_signed_url_works(self, running, root_url, queue, anon):
        """Anonymous → 403 naming the scope; a buildSignedUrl URL downloads."""
        task_id, _, worker = running
        s3_artifact(worker, task_id, 0, "private/secret.txt", b"top secret")
        body = expect_error(anon.getLatestArtifact, task_id, "private/secret.txt",
                            status=403, code="InsufficientScopes")
        assert "queue:get-artifact:private/secret.txt" in body["message"]
        raw = requests.get(_url(root_url, f"/task/{task_id}/artifacts/private/secret.txt"),
                           timeout=10)
        assert raw.status_code == 403
        url = queue.buildSignedUrl("getLatestArtifact", task_id, "private/secret.txt")
        res = requests.get(url, timeout=10)
        assert res.status_code == 200
        assert res.content == b"top secret"
        url = queue.buildSignedUrl("getArtifact", task_id, 0, "private/secret.txt")
        assert requests.get(url, timeout=10).content == b"top secret"
        buf, _ = taskcluster.download.downloadArtifactToBuf(
            taskId=task_id, name="private/secret.txt", queueService=queue, maxRetries=0)
        assert bytes(buf) == b"top secret"

    def test_scope_checked_before_lookup(self, anon):
        """getLatestArtifact checks scopes before the task lookup."""
        expect_error(anon.getLatestArtifact, new_task_id(), "private/x", status=403,
                     code="InsufficientScopes")
        expect_error(anon.getLatestArtifact, new_task_id(), "public/x", status=404,
                     code="ResourceNotFound")

    def test_task_scopes_allow_private_download(self, queue, root_url):
        """Claim credentials carrying queue:get-artifact:private/* can read private artifacts."""
        task_id, claim, worker = create_and_claim(
            queue, root_url, scopes=["queue:get-artifact:private/*"])
        s3_artifact(worker, task_id, 0, "private/mine.txt", b"mine")
        assert worker.getArtifact(task_id, 0, "private/mine.txt")["storageType"] == "s3"
        url = worker.buildSignedUrl("getArtifact", task_id, 0, "private/mine.txt")
        assert requests.get(url, timeout=10).content == b"mine"


def _raw_put(url: str, data: bytes, content_type: str) -> int:
    """PUT with http.client so dot-segments in the path are sent verbatim."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("PUT", target, body=data, headers={
            "Content-Type": content_type, "Content-Length": str(len(data))})
        return conn.getresponse().status
    finally:
        conn.close()


TRAVERSAL_NAMES = ["public/" + "../" * 2 + "{m}", "public/" + "../" * 12 + "{m}", "../{m}",
                   "public/..%2F..%2F{m}", "public/./../{m}"]


def test_path_traversal_stays_in_data_dir(make_sandbox, tmp_path):
    """Names like public/../../x never write outside the data dir (checked on disk)."""
    data_dir = tmp_path / "a" / "b" / "c" / "data"
    sb = make_sandbox(data_dir=data_dir)
    q = make_queue(sb.root_url, sb.credentials)
    task_id, _, worker = create_and_claim(q, sb.root_url)
    marker = f"escaped-{uuid.uuid4().hex}.txt"
    for name in (n.format(m=marker) for n in TRAVERSAL_NAMES):
        try:
            res = worker.createArtifact(task_id, 0, name, {
                "storageType": "s3", "contentType": "text/plain",
                "expires": _expires()})
        except taskcluster.TaskclusterRestFailure as exc:
            assert 400 <= exc.status_code < 500
            continue
        _raw_put(res["putUrl"], b"evil", "text/plain")
        requests.put(res["putUrl"], data=b"evil", timeout=10,
                     headers={"Content-Type": "text/plain", "Content-Length": "4"})
    for ancestor in [data_dir, *data_dir.parents]:
        assert not (ancestor / marker).exists(), ancestor / marker
    for path in tmp_path.rglob(marker):
        assert Path(path).resolve().is_relative_to(data_dir.resolve()), path


@pytest.mark.parametrize("template", TRAVERSAL_NAMES)
def test_dot_segment_names_roundtrip(running, queue, template):
    """If such a name is accepted, the documented requests.put upload and download work."""
    task_id, _, worker = running
    name = template.format(m="dots.txt")
    try:
        worker.createArtifact(task_id, 0, name, {
            "storageType": "s3", "contentType": "text/plain", "expires": _expires()})
    except taskcluster.TaskclusterRestFailure as exc:
        assert exc.status_code == 400
        return
    s3_artifact(worker, task_id, 0, name, b"dots " + name.encode())
    buf, _ = taskcluster.download.downloadArtifactToBuf(
        taskId=task_id, runId=0, name=name, queueService=queue, maxRetries=0)
    assert bytes(buf) == b"dots " + name.encode()
