"""Listing artifacts and their info: listArtifacts, listLatestArtifacts (order,
pagination, bad tokens), artifactInfo, latestArtifactInfo, 404s, and the latest
run only.
"""

from __future__ import annotations

from artifact_helpers import _expires
from helpers import (
    create_and_claim,
    create_unscheduled,
    expect_error,
    make_task,
    new_task_id,
    s3_artifact,
)


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
