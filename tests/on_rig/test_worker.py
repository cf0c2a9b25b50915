"""`tc-notebook worker` on a real Taskcluster: the tutorial's task end to end,
both artifact storages, the live log, cancel, shutdown and a refused client."""

from __future__ import annotations

import re
import signal
import uuid
from pathlib import Path

import requests
import slugid
import taskcluster
from helpers import wait_in, wait_until
from rig import rig_options
from rig_worker import RigWorker
from worker_fixtures import artifact_info, download, process_gone

from tc_notebook.terms import BACKING_LOG, LIVE_LOG, RESOLVED
from tc_notebook.tutorial import tutorial_task

STATE_SECONDS = 60  # for a task on the rig to reach a state (the tutorial task: longer)


def create(queue: taskcluster.Queue, task: dict) -> str:
    """Create `task`; return its taskId."""
    task_id = slugid.nice()
    queue.createTask(task_id, task)
    return task_id


def test_tutorial_task_completes_and_its_artifacts_download(rig_worker, rig_queue, rig_anonymous):
    """The tutorial's task (`ls && du /usr`, /etc/passwd as public/passwd.txt) runs
    on the rig; its artifacts, stored as the rig asks, download with the official client."""
    task_id = create(rig_queue, tutorial_task(rig_worker.task_queue_id))
    status = wait_in(rig_queue, task_id, RESOLVED, timeout=120)
    log = download(rig_anonymous, task_id, BACKING_LOG).decode()
    assert status["state"] == "completed", log[-2000:]
    run = status["runs"][0]
    assert (run["workerGroup"], run["workerId"]) == ("tc-notebook-tests", rig_worker.worker_id)
    assert download(rig_anonymous, task_id, "public/passwd.txt") == Path("/etc/passwd").read_bytes()
    assert rig_worker.storage() == "object"
    kinds = {a["name"]: a["storageType"]
             for a in rig_anonymous.listLatestArtifacts(task_id)["artifacts"]}
    assert kinds == {"public/passwd.txt": "object", BACKING_LOG: "object", LIVE_LOG: "link"}
    assert re.search(r"^\d+\s+/usr$", log, re.MULTILINE), "du's total for /usr"
    assert download(rig_anonymous, task_id, LIVE_LOG).decode() == log


def test_s3_artifacts_go_through_the_redirect(rig_s3_worker, rig_queue, rig_anonymous):
    """With `--artifacts s3` the bytes are PUT to the rig's putUrl; getLatestArtifact
    answers 303 to the bucket, which serves them."""
    payload = {
        "command": ["/bin/sh", "-c", "printf 'from s3\\n' > out.txt"],
        "maxRunTime": 60,
        "artifacts": {"public/out.txt": {"type": "file", "path": "out.txt"}},
    }
    task_id = create(rig_queue, rig_s3_worker.task(payload))
    assert wait_in(rig_queue, task_id, RESOLVED, STATE_SECONDS)["state"] == "completed"
    assert rig_anonymous.latestArtifactInfo(task_id, "public/out.txt")["storageType"] == "s3"
    url = rig_anonymous.buildUrl("getLatestArtifact", task_id, "public/out.txt")
    reply = requests.get(url, timeout=15)
    assert [r.status_code for r in reply.history] == [303]
    assert "/public-bucket/" in reply.url
    assert reply.content == b"from s3\n"


def test_live_log_is_served_by_the_worker_while_running(rig_worker, rig_queue, rig_anonymous,
                                                        gate):
    """While the task runs, live.log is a reference to the worker's own server,
    which streams the lines already printed; afterwards it links to the full log."""
    payload = {"command": ["/bin/sh", "-c", gate.wait("echo first line")], "maxRunTime": 60}
    task_id = create(rig_queue, rig_worker.task(payload))
    wait_in(rig_queue, task_id, ("running",), STATE_SECONDS)
    info = wait_until(lambda: artifact_info(rig_anonymous, task_id, LIVE_LOG), 30, "live.log")
    assert info["storageType"] == "reference"
    live_url = rig_anonymous.latestArtifact(task_id, LIVE_LOG)["url"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/log/[A-Za-z0-9_-]{32}", live_url), live_url
    seen = b""
    with requests.get(rig_anonymous.buildUrl("getLatestArtifact", task_id, LIVE_LOG),
                      stream=True, timeout=30) as reply:
        assert reply.status_code == 200
        for chunk in reply.iter_content(chunk_size=None):
            seen += chunk
            if b"first line" in seen:
                break
    assert rig_queue.status(task_id)["status"]["state"] == "running"
    gate.open()
    assert wait_in(rig_queue, task_id, RESOLVED, STATE_SECONDS)["state"] == "completed"
    assert rig_anonymous.latestArtifactInfo(task_id, LIVE_LOG)["storageType"] == "link"
    assert "first line" in download(rig_anonymous, task_id, LIVE_LOG).decode()
    assert requests.get(live_url, timeout=10).status_code == 404


def test_cancel_kills_the_running_task(rig_worker, rig_queue, task_tmp):
    """cancelTask of a running task: the run is exception/canceled and its process dies."""
    pid_file = task_tmp / "pid"
    payload = {"command": ["/bin/sh", "-c", f"echo $$ > {pid_file}; exec sleep 300"],
               "maxRunTime": 600}
    task_id = create(rig_queue, rig_worker.task(payload))
    wait_in(rig_queue, task_id, ("running",), STATE_SECONDS)
    pid = int(wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), 30, "pid"))
    rig_queue.cancelTask(task_id)
    run = wait_in(rig_queue, task_id, ("exception",), STATE_SECONDS)["runs"][-1]
    assert run["reasonResolved"] == "canceled"
    wait_until(lambda: process_gone(pid), 15, "the task's process to die")


def test_sigterm_reports_worker_shutdown_and_the_queue_retries(rig, rig_queue, gate):
    """SIGTERM: the worker reports its running task worker-shutdown and exits 0;
    the queue adds a retry run, which another worker then completes."""
    first = RigWorker(rig).start()
    try:
        payload = {"command": ["/bin/sh", "-c", gate.wait("echo started")], "maxRunTime": 60}
        task_id = create(rig_queue, first.task(payload))
        wait_in(rig_queue, task_id, ("running",), STATE_SECONDS)
        first.signal(signal.SIGTERM)
        assert first.process.wait(45) == 0, first.log()[-3000:]
    finally:
        first.stop()
    # Run 0 ended worker-shutdown. A claimWork under way when the worker stopped
    # may have claimed the retry; the worker then gave it back the same way.
    runs = rig_queue.status(task_id)["status"]["runs"]
    ended = [(r["state"], r.get("reasonResolved")) for r in runs[:-1]]
    assert ended and set(ended) == {("exception", "worker-shutdown")}, runs
    assert (runs[-1]["state"], runs[-1]["reasonCreated"]) == ("pending", "retry"), runs
    assert len(runs) == 2 or "given back" in first.log(), first.log()[-3000:]
    second = RigWorker(rig)
    second.task_queue_id = first.task_queue_id  # the same queue, served anew
    second.scopes[0] = f"queue:claim-work:{first.task_queue_id}"
    second.start()
    try:
        gate.open()
        status = wait_in(rig_queue, task_id, RESOLVED, STATE_SECONDS)
        assert (status["state"], len(status["runs"])) == ("completed", len(runs)), status
        assert status["runs"][-1]["workerId"] == second.worker_id
    except BaseException:
        print("first worker:", first.log()[-3000:], "second worker:", second.log()[-3000:],
              rig_queue.status(task_id), sep="\n")
        raise
    finally:
        second.stop()


def test_a_second_sigterm_ends_the_wait_for_the_claim_under_way(rig):
    """The first SIGTERM waits for the claimWork long poll under way (up to 20 s on
    Taskcluster, which may claim a task until then); a second one ends it at once."""
    worker = RigWorker(rig).start()
    try:
        worker.signal(signal.SIGTERM)
        wait_until(lambda: "stopping" in worker.log(), 10, "the worker to say it is stopping")
        assert worker.process.poll() is None, "it did not wait for its claimWork"
        worker.signal(signal.SIGTERM)
        assert worker.process.wait(10) == 0, worker.log()[-3000:]
    finally:
        worker.stop()


def test_a_worker_without_the_claim_scope_stops_with_the_reason(rig):
    """A client lacking queue:claim-work for the queue: the worker exits 1 at its
    first claim and says which scope is missing."""
    worker = RigWorker(rig)
    other = f"tc-notebook-tests/other{uuid.uuid4().hex[:8]}"
    worker.scopes[0] = f"queue:claim-work:{other}"  # not the queue it serves
    worker.start()
    try:
        assert worker.process.wait(30) == 1
        log = worker.log()
        assert "403" in log and "InsufficientScopes" in log, log[-2000:]
        assert f"queue:claim-work:{worker.task_queue_id}" in log
        assert rig_options(rig)["credentials"]["accessToken"] not in log
    finally:
        worker.stop()
