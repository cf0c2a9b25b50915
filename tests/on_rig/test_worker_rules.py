"""generic-worker's payload rules with `tc-notebook worker` on a real Taskcluster:
`onExitStatus.retry` as the real queue retries it, an artifact's `contentType`
through the object service, and a path of the wrong kind."""

from __future__ import annotations

import requests
import slugid
import taskcluster
from helpers import wait_in, wait_state
from rig_worker import RigWorker
from worker_fixtures import download, expires, sh

from tc_notebook.terms import BACKING_LOG, RESOLVED

STATE_SECONDS = 60


def create(queue: taskcluster.Queue, task: dict) -> str:
    """Create `task`; return its taskId."""
    task_id = slugid.nice()
    queue.createTask(task_id, task)
    return task_id


def test_retry_exit_code_then_content_type(rig_worker: RigWorker, rig_queue, rig_anonymous):
    """Run 0 exits 7, listed in retry: the real queue resolves it
    exception/intermittent-task and adds run 1 (task-retry), which completes and
    uploads page.txt with the contentType given, served as such."""
    payload = {
        "command": [sh('test "$RUN_ID" != 0 || exit 7; printf "<p>hi</p>" > page.txt')],
        "maxRunTime": 60,
        "onExitStatus": {"retry": [7]},
        "artifacts": [{"type": "file", "path": "page.txt", "name": "public/page",
                       "contentType": "text/html", "expires": expires()}],
    }
    task_id = create(rig_queue, rig_worker.task(payload, retries=1))
    status = wait_state(rig_queue, task_id,
                        lambda s: len(s["runs"]) == 2 and s["state"] in RESOLVED,
                        timeout=2 * STATE_SECONDS, message="the retry's resolution")
    first, retry = status["runs"]
    assert (first["state"], first["reasonResolved"]) == ("exception", "intermittent-task")
    assert (retry["reasonCreated"], retry["state"]) == ("task-retry", "completed")
    assert "onExitStatus.retry" in download(rig_anonymous, task_id, BACKING_LOG, 0).decode()
    info = rig_anonymous.latestArtifactInfo(task_id, "public/page")
    assert (info["storageType"], info["contentType"]) == ("object", "text/html")
    reply = requests.get(rig_anonymous.buildUrl("getLatestArtifact", task_id, "public/page"),
                         timeout=15)
    assert reply.headers["Content-Type"] == "text/html"
    assert reply.content == b"<p>hi</p>"


def test_file_artifact_that_is_a_directory(rig_worker: RigWorker, rig_queue, rig_anonymous):
    """A file artifact whose path is a directory: the run fails and the artifact is
    an error artifact, reason invalid-resource-on-worker, on the real queue too."""
    payload = {
        "command": [sh("mkdir thing")],
        "maxRunTime": 60,
        "artifacts": [{"type": "file", "path": "thing", "name": "public/thing",
                       "expires": expires()}],
    }
    task_id = create(rig_queue, rig_worker.task(payload))
    assert wait_in(rig_queue, task_id, RESOLVED, STATE_SECONDS)["state"] == "failed"
    reply = requests.get(rig_anonymous.buildUrl("getLatestArtifact", task_id, "public/thing"),
                         timeout=15)
    assert reply.status_code == 424
    assert reply.json()["reason"] == "invalid-resource-on-worker"
