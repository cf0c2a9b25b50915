"""Differential scenarios: artifacts of every storage type the sandbox keeps
(s3, reference, link, error), their uploads and downloads, listing, info,
signed URLs, and the errors around them."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
import taskcluster

from tc_notebook.terms import LIVE_LOG

from .harness import Answer, Ids, Pair, Recorder, Target
from .test_runs import claim, claimer

pytestmark = pytest.mark.differential

HELLO = b"hello from the differential tests\n" * 40
SECRET = b"\x00private bytes\xff" * 10


def upload(rec: Recorder, step: str, created: Answer, data: bytes) -> Answer:
    """PUT `data` to the putUrl of an s3 artifact, with its Content-Type."""
    body = created.expect()
    return rec.http(step, "upload", body["putUrl"], "PUT", data=data,
                    headers={"Content-Type": body["contentType"]})


def download(rec: Recorder, step: str, t: Target, redirect: Answer) -> Answer:
    """GET the Location a 303 redirects to (relative to the root URL, if it is)."""
    if redirect.status != 303:
        return redirect
    return rec.http(step, "download", urllib.parse.urljoin(t.root_url + "/",
                                                            redirect.headers["location"]))


def artifact_body(storage: str, ids: Ids, **fields: Any) -> dict[str, Any]:
    """A createArtifact request expiring in a few hours."""
    return {"storageType": storage, "expires": ids.later(hours=3), **fields}


def creating(t: Target, rec: Recorder, ids: Ids) -> tuple[str, taskcluster.Queue]:
    """createArtifact of each type (and its errors); returns (taskId, run client)."""
    q = t.queue()
    tq = ids.queue("artifacts")
    task_id = ids.task("a")
    rec("with artifacts", q.createTask, task_id, ids.definition(tq)).expect()
    rec("before any run is claimed", q.createArtifact, task_id, 0, "public/early.txt",
        artifact_body("s3", ids, contentType="text/plain"))
    claimed = claim(rec, "artifact maker", claimer(t, ids, tq), ids, tq)
    run = t.queue(claimed["credentials"])
    s3 = artifact_body("s3", ids, contentType="text/plain")
    created = rec("s3, public", run.createArtifact, task_id, 0, "public/hello.txt", s3)
    upload(rec, "public", created, HELLO)
    rec("s3, same request again", run.createArtifact, task_id, 0, "public/hello.txt", s3)
    rec("s3, other contentType", run.createArtifact, task_id, 0, "public/hello.txt",
        {**s3, "contentType": "text/html"})
    rec("s3, expires sooner", run.createArtifact, task_id, 0, "public/hello.txt",
        {**s3, "expires": ids.later(hours=2)})
    created = rec("s3 with its contentLength", run.createArtifact, task_id, 0,
                  "public/sized.txt", {**s3, "contentLength": len(HELLO)})
    upload(rec, "with its contentLength", created, HELLO)
    created = rec("s3, private", run.createArtifact, task_id, 0, "private/secret.bin",
                  artifact_body("s3", ids, contentType="application/octet-stream"))
    upload(rec, "private", created, SECRET)
    rec("reference", run.createArtifact, task_id, 0, "public/ref",
        artifact_body("reference", ids, url="https://example.com/ref", contentType="text/html"))
    rec("reference replaced", run.createArtifact, task_id, 0, "public/ref",
        artifact_body("reference", ids, url="https://example.com/other", contentType="text/html"))
    rec("link", run.createArtifact, task_id, 0, "public/link",
        artifact_body("link", ids, artifact="public/hello.txt"))
    rec("link to a private artifact", run.createArtifact, task_id, 0, "public/to-private",
        artifact_body("link", ids, artifact="private/secret.bin"))
    rec("error", run.createArtifact, task_id, 0, "public/missing.txt",
        artifact_body("error", ids, reason="file-missing-on-worker", message="no such file"))
    rec("error, unknown reason", run.createArtifact, task_id, 0, "public/bad.txt",
        artifact_body("error", ids, reason="tired", message="x"))
    rec("expires after the task", run.createArtifact, task_id, 0, "public/late.txt",
        {**s3, "expires": ids.later(days=2)})
    rec("unknown run", q.createArtifact, task_id, 4, "public/x.txt", s3)
    rec("unknown task", q.createArtifact, ids.task("unknown"), 0, "public/x.txt", s3)
    rec("anonymous", t.anonymous().createArtifact, task_id, 0, "public/x.txt", s3)
    rec("task credentials of another run", run.createArtifact, task_id, 1, "public/x.txt", s3)
    rec("s3", run.finishArtifact, task_id, 0, "public/hello.txt", {"uploadId": ids.task("up")})
    rec("unknown artifact", run.finishArtifact, task_id, 0, "public/none",
        {"uploadId": ids.task("up")})
    return task_id, run


def reading(t: Target, rec: Recorder, ids: Ids, task_id: str) -> None:
    """listArtifacts (paged), artifactInfo, getArtifact and artifact of each kind."""
    anon = t.anonymous()
    q = t.queue()
    rec("all", anon.listArtifacts, task_id, 0)
    page = rec("first page", anon.listArtifacts, task_id, 0, query={"limit": 2}).expect()
    page = rec("second page", anon.listArtifacts, task_id, 0,
               query={"limit": 2, "continuationToken": page["continuationToken"]}).expect()
    rec("last page", anon.listArtifacts, task_id, 0,
        query={"limit": 4, "continuationToken": page["continuationToken"]})
    rec("latest run", anon.listLatestArtifacts, task_id, query={"limit": 4})
    rec("unknown run", anon.listArtifacts, task_id, 3)
    rec("unknown task", anon.listLatestArtifacts, ids.task("unknown"))
    rec("s3", anon.artifactInfo, task_id, 0, "public/hello.txt")
    rec("s3 with its contentLength", anon.latestArtifactInfo, task_id, "public/sized.txt")
    rec("link, not followed", anon.latestArtifactInfo, task_id, "public/link")
    rec("error", anon.artifactInfo, task_id, 0, "public/missing.txt")
    rec("unknown name", anon.artifactInfo, task_id, 0, "public/none")

    download(rec, "public s3", t, rec("public s3", anon.getArtifact, task_id, 0,
                                      "public/hello.txt"))
    rec("reference", anon.getArtifact, task_id, 0, "public/ref")
    download(rec, "link to s3", t, rec("link", anon.getLatestArtifact, task_id, "public/link"))
    rec("error artifact", anon.getArtifact, task_id, 0, "public/missing.txt")
    rec("private, anonymous", anon.getArtifact, task_id, 0, "private/secret.bin")
    rec("link to private, anonymous", anon.getArtifact, task_id, 0, "public/to-private")
    download(rec, "private s3", t, rec("private, root", q.getLatestArtifact, task_id,
                                       "private/secret.bin"))
    rec("unknown name", anon.getArtifact, task_id, 0, "public/none")
    rec("unknown run", anon.getArtifact, task_id, 7, "public/hello.txt")
    rec("unknown task", anon.getLatestArtifact, ids.task("unknown"), "public/hello.txt")
    rec("private, unknown task, anonymous", anon.getLatestArtifact, ids.task("unknown"),
        "private/x")
    rec("s3", anon.artifact, task_id, 0, "public/hello.txt")
    rec("link to reference", anon.latestArtifact, task_id, "public/ref")
    rec("error", anon.artifact, task_id, 0, "public/missing.txt")
    rec("private, anonymous", anon.latestArtifact, task_id, "private/secret.bin")

    # The URLs a browser or curl would use.
    plain = t.api_url(f"/task/{task_id}/artifacts/public/hello.txt")
    download(rec, "raw slashes", t, rec.http("raw slashes in the name", "getLatestArtifact",
                                              plain))
    signed = q.buildSignedUrl("getArtifact", task_id, 0, "private/secret.bin")
    download(rec, "signed URL", t, rec.http("signed URL", "getArtifact", signed))
    rec.http("tampered signed URL", "getArtifact", tamper(signed))
    signed = q.buildSignedUrl("getLatestArtifact", task_id, "public/missing.txt")
    rec.http("signed URL of an error artifact", "getLatestArtifact", signed)


def tamper(url: str) -> str:
    """`url` with one character of its bewit changed."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    bewit = query["bewit"][0]
    middle = len(bewit) // 2
    changed = bewit[:middle] + ("A" if bewit[middle] != "A" else "B") + bewit[middle + 1:]
    return urllib.parse.urlunsplit(parts._replace(query=f"bewit={changed}"))


def resolved(t: Target, rec: Recorder, ids: Ids, task_id: str, run: taskcluster.Queue) -> None:
    """Artifacts once the run is resolved: completed refuses, exception allows."""
    rec("with artifacts", run.reportCompleted, task_id, 0)
    rec("after completed", run.createArtifact, task_id, 0, "public/after.txt",
        artifact_body("s3", ids, contentType="text/plain"))
    q = t.queue()
    tq = ids.queue("artifacts")
    excepted = ids.task("excepted")
    rec("to resolve exception", q.createTask, excepted, ids.definition(tq, retries=0)).expect()
    claimed = claim(rec, "to resolve exception", claimer(t, ids, tq), ids, tq)
    run = t.queue(claimed["credentials"])
    rec("exception", run.reportException, excepted, 0, {"reason": "malformed-payload"})
    rec("after exception", run.createArtifact, excepted, 0, LIVE_LOG,
        artifact_body("reference", ids, url="https://example.com/log", contentType="text/plain"))
    rec("after exception", t.anonymous().listLatestArtifacts, excepted)


def artifacts(t: Target, rec: Recorder, ids: Ids) -> None:
    """The whole artifact scenario."""
    task_id, run = creating(t, rec, ids)
    reading(t, rec, ids, task_id)
    resolved(t, rec, ids, task_id, run)


def test_artifacts(pair: Pair) -> None:
    """Artifacts are created, listed, described and served alike."""
    pair.run(artifacts)
