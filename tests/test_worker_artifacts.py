"""The sandbox worker's payloads and artifacts, end to end: the tutorial's task,
both payload forms, file, directory, missing and private artifacts and the
environment a command sees, read back through the queue's API and plain URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
import slugid
import taskcluster
from helpers import wait_resolved
from taskcluster.exceptions import TaskclusterArtifactError
from worker_fixtures import artifact_names, backing_log, download, expires, get, run_task, sh

from tc_notebook.terms import BACKING_LOG, LIVE_LOG
from tc_notebook.tutorial import TUTORIAL_TASK_QUEUE, tutorial_task

# -- the tutorial ----------------------------------------------------------------------


def test_tutorial_task(client, anonymous):
    """The tutorial's task completes; passwd.txt is /etc/passwd byte for byte."""
    task_id = slugid.nice()
    client.createTask(task_id, tutorial_task(TUTORIAL_TASK_QUEUE))
    status = wait_resolved(client, task_id, timeout=120)
    log = backing_log(anonymous, task_id)
    if "du: cannot read directory" in log:
        # The task's user cannot read all of /usr on some machines (Debian's polkit
        # keeps a directory for itself): du says so and exits 1. The artifact is
        # uploaded all the same.
        assert status["state"] == "failed", status
        assert "exit code 1" in log.splitlines()[-1]
    else:
        assert status["state"] == "completed", status
        assert "exit code 0" in log.splitlines()[-1]
    assert status["taskQueueId"] == "aws-provisioner-v1/tutorial"
    assert artifact_names(anonymous, task_id) == {"public/passwd.txt", LIVE_LOG, BACKING_LOG}
    # object artifacts, as on a deployment with an object service (the rig: tests/on_rig)
    kinds = {a["name"]: a["storageType"]
             for a in anonymous.listLatestArtifacts(task_id)["artifacts"]}
    assert kinds == {"public/passwd.txt": "object", BACKING_LOG: "object", LIVE_LOG: "link"}
    passwd = Path("/etc/passwd").read_bytes()
    assert download(anonymous, task_id, "public/passwd.txt") == passwd
    reply = get(anonymous.buildUrl("getLatestArtifact", task_id, "public/passwd.txt"))
    assert reply.status_code == 200
    assert reply.content == passwd
    assert "/usr/" in log  # du's output reached the log


# -- payload forms and artifacts ----------------------------------------------------------


def test_generic_worker_payload_relative_artifact(client, anonymous):
    """generic-worker form: commands run in order in the task directory."""
    task_id, status = run_task(client, {
        "command": [sh("echo first > out.txt"), sh("echo second >> out.txt"), ["pwd"]],
        "maxRunTime": 30,
        "artifacts": [{"type": "file", "path": "out.txt", "name": "public/out.txt",
                       "expires": expires()}],
    })
    assert status["state"] == "completed", backing_log(anonymous, task_id)
    assert download(anonymous, task_id, "public/out.txt") == b"first\nsecond\n"
    info = anonymous.latestArtifactInfo(task_id, "public/out.txt")
    # an object artifact, as Taskcluster's workers upload where there is an
    # object service; it declares no contentLength (v106 refuses one there)
    assert info["storageType"] == "object" and "contentLength" not in info


def test_directory_artifact(client, anonymous):
    """Every file under a directory artifact is uploaded as <name>/<relative path>."""
    task_id, status = run_task(client, {
        "command": sh("mkdir -p out/sub && printf a > out/a.txt && printf bb > out/sub/b.txt"),
        "maxRunTime": 30,
        "artifacts": {"public/out": {"type": "directory", "path": "out", "expires": expires()}},
    })
    assert status["state"] == "completed", backing_log(anonymous, task_id)
    assert artifact_names(anonymous, task_id) == {
        "public/out/a.txt", "public/out/sub/b.txt", LIVE_LOG, BACKING_LOG}
    assert download(anonymous, task_id, "public/out/a.txt") == b"a"
    assert get(anonymous.buildUrl("getLatestArtifact", task_id, "public/out/sub/b.txt")) \
        .content == b"bb"


def test_missing_artifact_is_error_artifact(client, anonymous):
    """A missing file becomes an error artifact: 424 file-missing-on-worker."""
    task_id, status = run_task(client, {
        "command": ["true"],
        "maxRunTime": 30,
        "artifacts": {"public/missing.txt": {"type": "file", "path": "not-there.txt",
                                             "expires": expires()}},
    })
    assert status["state"] == "failed"  # as generic-worker: a missing artifact fails the run
    assert "an artifact was missing" in backing_log(client, task_id)
    info = anonymous.latestArtifactInfo(task_id, "public/missing.txt")
    assert info["storageType"] == "error"
    reply = get(anonymous.buildUrl("getLatestArtifact", task_id, "public/missing.txt"))
    assert reply.status_code == 424
    assert reply.json()["reason"] == "file-missing-on-worker"
    with pytest.raises(TaskclusterArtifactError) as raised:
        download(anonymous, task_id, "public/missing.txt")
    assert raised.value.reason == "file-missing-on-worker"


def test_fifo_artifact_is_missing(client, anonymous):
    """A FIFO is no file: an error artifact, and the upload does not wait for a writer."""
    task_id, status = run_task(client, {
        "command": sh("mkfifo pipe"),
        "maxRunTime": 30,
        "artifacts": {"public/pipe": {"type": "file", "path": "pipe", "expires": expires()}},
    }, timeout=10)
    assert status["state"] == "failed"
    assert anonymous.latestArtifactInfo(task_id, "public/pipe")["storageType"] == "error"


def test_private_artifact_needs_signed_url(client, anonymous):
    """An artifact outside public/ is refused anonymously but served by a signed URL."""
    task_id, status = run_task(client, {
        "command": sh("printf 'top secret' > secret.txt"),
        "maxRunTime": 30,
        "artifacts": {"private/secret.txt": {"type": "file", "path": "secret.txt",
                                             "expires": expires()}},
    })
    assert status["state"] == "completed"
    unsigned = get(anonymous.buildUrl("getLatestArtifact", task_id, "private/secret.txt"))
    assert unsigned.status_code == 403
    signed = get(client.buildSignedUrl("getLatestArtifact", task_id, "private/secret.txt"))
    assert signed.status_code == 200
    assert signed.content == b"top secret"
    assert download(client, task_id, "private/secret.txt") == b"top secret"


def test_environment(client, anonymous, monkeypatch):
    """payload.env, TASK_ID and RUN_ID reach the command (which payload.env may not
    override, as in generic-worker); the worker's own env does not."""
    monkeypatch.setenv("TC_NOTEBOOK_TEST_LEAK", "should not be seen")
    task_id, status = run_task(client, {
        "command": sh("env > env.txt"),
        "maxRunTime": 30,
        "env": {"GREETING": "hello, world", "ANSWER": "42", "TASK_ID": "mine", "RUN_ID": "9"},
        "artifacts": {"public/env.txt": {"type": "file", "path": "env.txt",
                                         "expires": expires()}},
    })
    assert status["state"] == "completed"
    lines = download(anonymous, task_id, "public/env.txt").decode().splitlines()
    env = dict(line.split("=", 1) for line in lines if "=" in line)
    assert env["GREETING"] == "hello, world"
    assert env["ANSWER"] == "42"
    assert env["TASK_ID"] == task_id
    assert env["RUN_ID"] == "0"
    assert "TC_NOTEBOOK_TEST_LEAK" not in env


def test_artifact_outliving_its_task_is_malformed(client):
    """An artifact whose expires is after the task's is a malformed payload."""
    task_id, status = run_task(client, {
        "command": ["true"],
        "maxRunTime": 30,
        "artifacts": {"public/late.txt": {"type": "file", "path": "/etc/hostname",
                                          "expires": taskcluster.fromNowJSON("5 years")}},
    })
    assert status["state"] == "exception"
    assert status["runs"][-1]["reasonResolved"] == "malformed-payload"
    assert "after its task" in backing_log(client, task_id)
