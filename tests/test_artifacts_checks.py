"""What artifacts may not do: createArtifact's preconditions (expiry, task, run and
its state), private artifacts without queue:get-artifact:<name>, and names with
dot segments, which never write outside the data dir.
"""

from __future__ import annotations

import http.client
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests
import taskcluster
import taskcluster.download
from artifact_helpers import _expires, _url
from helpers import (
    create_and_claim,
    expect_error,
    from_now,
    make_task,
    new_task_id,
    root_queue,
    s3_artifact,
)


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


def test_path_traversal_stays_in_data_dir(make_sandbox, tmp_path):
    """Names like public/../../x never write outside the data dir (checked on disk)."""
    data_dir = tmp_path / "a" / "b" / "c" / "data"
    sb = make_sandbox(data_dir=data_dir)
    q = root_queue(sb)
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
