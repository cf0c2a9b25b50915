"""generic-worker's artifact rules on the sandbox worker: the content type given
or guessed, a path of the wrong kind (`invalid-resource-on-worker`), a file the
task may not read, and optional artifacts; read back through the queue's API and
plain URLs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import taskcluster
from worker_fixtures import (
    artifact_names,
    backing_log,
    download,
    expires,
    get,
    run_task,
    sh,
    start_sandbox,
)

from tc_notebook.terms import BACKING_LOG, LIVE_LOG
from tc_notebook.worker.artifacts import guess_content_type
from tc_notebook.worker.taskuser import TASK_USER_VARIABLE

SHADOW = Path("/etc/shadow")


def generic(script: str, *artifacts: dict) -> dict:
    """A generic-worker payload running `script`, with `artifacts` (each expiring in a day)."""
    return {
        "command": [sh(script)],
        "maxRunTime": 30,
        "artifacts": [{"expires": expires(), **artifact} for artifact in artifacts],
    }


def served_type(queue, task_id: str, name: str) -> str:
    """The Content-Type a plain GET of the artifact answers with, redirects followed."""
    reply = get(queue.buildUrl("getLatestArtifact", task_id, name))
    assert reply.status_code == 200, reply.text
    return reply.headers["Content-Type"]


def listed_types(queue, task_id: str) -> dict[str, str]:
    """Each artifact's contentType, from listLatestArtifacts."""
    return {a["name"]: a["contentType"] for a in queue.listLatestArtifacts(task_id)["artifacts"]}


# -- content types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("out.txt", "text/plain; charset=utf-8"),
        ("dir/report.CSV", "text/csv; charset=utf-8"),
        ("build.log", "text/plain"),
        ("data.json", "application/json"),
        ("picture.png", "image/png"),
        ("archive.tar.gz", "application/gzip"),
        ("no-extension", "application/octet-stream"),
        ("odd.zz-unknown", "application/octet-stream"),
    ],
)
def test_guessed_content_types(path, expected):
    """By the path's extension, as generic-worker: `.log` text/plain, the system's
    table otherwise (text types with charset utf-8), application/octet-stream."""
    assert guess_content_type(path) == expected


def test_content_type_is_honoured(client, anonymous):
    """A given contentType is the artifact's, listed and served; on a directory it
    applies to every file in it. Without one, it is guessed from the path."""
    task_id, status = run_task(client, generic(
        "printf '<p>' > page.txt && mkdir out && printf a > out/a.bin && printf b > out/b.txt"
        " && printf c > plain.txt",
        {"type": "file", "path": "page.txt", "name": "public/page", "contentType": "text/html"},
        {"type": "directory", "path": "out", "name": "public/out",
         "contentType": "application/x-tc-test"},
        {"type": "file", "path": "plain.txt", "name": "public/plain"},
    ))
    assert status["state"] == "completed", backing_log(anonymous, task_id)
    assert listed_types(anonymous, task_id) == {
        "public/page": "text/html",
        "public/out/a.bin": "application/x-tc-test",
        "public/out/b.txt": "application/x-tc-test",
        "public/plain": "text/plain; charset=utf-8",
        BACKING_LOG: "text/plain; charset=utf-8",
        LIVE_LOG: "text/plain; charset=utf-8",
    }
    assert served_type(anonymous, task_id, "public/page") == "text/html"
    assert served_type(anonymous, task_id, "public/out/b.txt") == "application/x-tc-test"
    assert download(anonymous, task_id, "public/page") == b"<p>"


def test_content_encoding_is_accepted_and_not_applied(client, anonymous):
    """contentEncoding gzip: the bytes are stored and served as they are."""
    task_id, status = run_task(client, generic(
        "printf 'plain bytes' > a.txt",
        {"type": "file", "path": "a.txt", "name": "public/a.txt", "contentEncoding": "gzip"},
    ))
    assert status["state"] == "completed"
    reply = get(anonymous.buildUrl("getLatestArtifact", task_id, "public/a.txt"))
    assert reply.content == b"plain bytes"
    assert "Content-Encoding" not in reply.headers


def test_docker_worker_form_guesses_from_the_name(client, anonymous):
    """docker-worker's form keeps this worker's guess: the name first, then the path."""
    task_id, status = run_task(client, {
        "command": sh("printf x > data"),
        "maxRunTime": 30,
        "artifacts": {"public/data.json": {"type": "file", "path": "data", "expires": expires()},
                      "public/set": {"type": "file", "path": "data", "expires": expires(),
                                     "contentType": "text/x-given"}},
    })
    assert status["state"] == "completed"
    types = listed_types(anonymous, task_id)
    assert (types["public/data.json"], types["public/set"]) == ("application/json", "text/x-given")


# -- paths that cannot be uploaded ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "script", "message"),
    [
        ("file", "mkdir thing", "file artifact thing is a directory, not a file"),
        ("directory", "printf x > thing", "directory artifact thing is a file, not a directory"),
    ],
)
def test_path_of_the_wrong_kind_is_invalid_resource(client, anonymous, kind, script, message):
    """As generic-worker: an error artifact, reason invalid-resource-on-worker, and
    the run fails."""
    task_id, status = run_task(client, generic(
        script, {"type": kind, "path": "thing", "name": "public/thing"}))
    assert status["state"] == "failed"
    assert status["runs"][-1]["reasonResolved"] == "failed"
    info = anonymous.latestArtifactInfo(task_id, "public/thing")
    assert info["storageType"] == "error"
    reply = get(anonymous.buildUrl("getLatestArtifact", task_id, "public/thing"))
    assert reply.status_code == 424
    assert reply.json()["reason"] == "invalid-resource-on-worker"
    assert message in reply.json()["message"]
    log = backing_log(anonymous, task_id)
    assert "invalid-resource-on-worker" in log
    assert "an artifact was missing" in log.splitlines()[-1]


def test_directory_entries_are_judged_one_by_one(client, anonymous):
    """A symlink to a directory inside a directory artifact is a file entry that is a
    directory: its own error artifact; the regular file beside it is uploaded."""
    task_id, status = run_task(client, generic(
        "mkdir -p out/real && printf ok > out/ok.txt && ln -s real out/link",
        {"type": "directory", "path": "out", "name": "public/out"},
    ))
    assert status["state"] == "failed"
    assert download(anonymous, task_id, "public/out/ok.txt") == b"ok"
    reply = get(anonymous.buildUrl("getLatestArtifact", task_id, "public/out/link"))
    assert (reply.status_code, reply.json()["reason"]) == (424, "invalid-resource-on-worker")
    assert "public/out/ok.txt" in artifact_names(anonymous, task_id)


def test_file_the_task_may_not_read(tmp_path, monkeypatch):
    """With tasks run as their own user (nobody, as root): /etc/shadow exists but
    is not the task's to read, file-not-readable-on-worker; a path that does not
    exist, file-missing-on-worker."""
    monkeypatch.delenv(TASK_USER_VARIABLE, raising=False)
    if not SHADOW.exists() or (os.geteuid() != 0 and os.access(SHADOW, os.R_OK)):
        pytest.skip("needs an /etc/shadow that tasks may not read")
    sandbox = start_sandbox(tmp_path / "data", capacity=1)
    try:
        queue = taskcluster.Queue({**sandbox.client_options(), "maxRetries": 0})
        task_id, status = run_task(queue, generic(
            "true",
            {"type": "file", "path": str(SHADOW), "name": "public/shadow"},
            {"type": "file", "path": "absent", "name": "public/absent"},
        ))
        assert status["state"] == "failed"
        reasons = {name: get(queue.buildUrl("getLatestArtifact", task_id, name)).json()["reason"]
                   for name in ("public/shadow", "public/absent")}
        assert reasons == {"public/shadow": "file-not-readable-on-worker",
                           "public/absent": "file-missing-on-worker"}
    finally:
        sandbox.stop()


def test_optional_missing_artifact_does_not_fail_the_run(client, anonymous):
    """optional: the error artifact is made, and the run completes."""
    task_id, status = run_task(client, generic(
        "true", {"type": "file", "path": "absent.txt", "name": "public/absent.txt",
                 "optional": True}))
    assert status["state"] == "completed", backing_log(anonymous, task_id)
    reply = get(anonymous.buildUrl("getLatestArtifact", task_id, "public/absent.txt"))
    assert (reply.status_code, reply.json()["reason"]) == (424, "file-missing-on-worker")
    assert "optional, the run goes on" in backing_log(anonymous, task_id)
