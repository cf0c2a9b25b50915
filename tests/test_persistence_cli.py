"""Restart persistence, the Sandbox object API and the CLI."""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest
import requests
import taskcluster
import taskcluster.download
from helpers import (
    create_and_claim,
    expect_error,
    make_queue,
    make_task,
    new_queue_id,
    new_task_id,
    s3_artifact,
    wait_until,
)

from tc_notebook.timestamps import parse_time


def test_context_manager_and_client_options(tmp_path):
    """Sandbox works as a context manager and stops serving afterwards."""
    from tc_notebook.sandbox import QueueSettings, Sandbox

    with Sandbox(tmp_path / "d", host="127.0.0.1", port=0, settings=QueueSettings(),
                 capacity=0) as sb:
        assert sb.root_url.startswith("http://127.0.0.1:")
        assert not sb.root_url.endswith("/")
        assert sb.credentials["clientId"] == "root"
        opts = sb.client_options()
        assert opts["rootUrl"] == sb.root_url
        assert opts["credentials"] == sb.credentials
        assert taskcluster.Queue({**opts, "credentials": dict(opts["credentials"])}).ping()
        url = sb.root_url
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/api/queue/v1/ping", timeout=2)


def test_default_settings():
    """QueueSettings defaults mirror the upstream constants."""
    from tc_notebook.sandbox import QueueSettings

    s = QueueSettings()
    assert s.claim_timeout == 1200
    assert s.claim_work_wait == 20
    assert s.deadline_delay == 60
    assert s.max_request_bytes == 10 * 1024 * 1024


def test_restart_keeps_everything(make_sandbox, tmp_path):
    """Tasks, runs, artifacts, clients and the root token survive a restart."""
    data_dir = tmp_path / "persist"
    sb = make_sandbox(data_dir=data_dir)
    root = dict(sb.credentials)
    q = make_queue(sb.root_url, root)
    tq = new_queue_id()
    task_id, claim, worker = create_and_claim(q, sb.root_url, task_queue_id=tq)
    s3_artifact(worker, task_id, 0, "public/keep.txt", b"kept bytes")
    s3_artifact(worker, task_id, 0, "private/keep.txt", b"private bytes")
    worker.reportCompleted(task_id, 0)
    pending = new_task_id()
    q.createTask(pending, make_task(tq))
    token = sb.add_client("persisted-learner", ["queue:cancel-task-in-project:none"])
    status_before = q.status(task_id)["status"]
    task_before = q.task(task_id)
    sb.stop()

    root_file = data_dir / "root-client.json"
    assert root_file.exists()
    assert stat.S_IMODE(root_file.stat().st_mode) == 0o600
    assert json.loads(root_file.read_text()) == root

    sb2 = make_sandbox(data_dir=data_dir)
    assert sb2.credentials == root
    q2 = make_queue(sb2.root_url, root)
    assert q2.status(task_id)["status"] == status_before
    assert q2.task(task_id) == task_before
    anon = make_queue(sb2.root_url)
    buf, _ = taskcluster.download.downloadArtifactToBuf(
        taskId=task_id, name="public/keep.txt", queueService=anon, maxRetries=0)
    assert bytes(buf) == b"kept bytes"
    url = q2.buildSignedUrl("getLatestArtifact", task_id, "private/keep.txt")
    assert requests.get(url, timeout=10).content == b"private bytes"
    names = [a["name"] for a in anon.listLatestArtifacts(task_id)["artifacts"]]
    assert names == ["private/keep.txt", "public/keep.txt"]
    learner = make_queue(sb2.root_url, {"clientId": "persisted-learner", "accessToken": token})
    assert learner.cancelTask(pending)["status"]["state"] == "exception"
    expect_error(learner.createTask, new_task_id(), make_task(), status=403)


def test_restart_pending_task_still_claimable(make_sandbox, tmp_path):
    """A pending task created before a restart can be claimed after it."""
    data_dir = tmp_path / "persist2"
    sb = make_sandbox(data_dir=data_dir)
    tq = new_queue_id()
    task_id = new_task_id()
    make_queue(sb.root_url, sb.credentials).createTask(task_id, make_task(tq))
    sb.stop()
    sb2 = make_sandbox(data_dir=data_dir)
    q = make_queue(sb2.root_url, sb2.credentials)
    res = q.claimWork(tq, {"workerGroup": "g", "workerId": "w", "tasks": 1})
    assert [t["status"]["taskId"] for t in res["tasks"]] == [task_id]


def _read_env(path):
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_smoke(tmp_path, sig):
    """`python -m tc_notebook sandbox` serves, writes the env file and stops cleanly."""
    env_file = tmp_path / "sandbox.env"
    data_dir = tmp_path / "cli-data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tc_notebook", "sandbox", "--host", "127.0.0.1", "--port", "0",
         "--data-dir", str(data_dir), "--env-file", str(env_file), "--claim-timeout", "30",
         "--deadline-delay", "5", "--capacity", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_until(lambda: (env_file.exists() and "TASKCLUSTER_ACCESS_TOKEN" in
                            env_file.read_text()) or proc.poll() is not None,
                   timeout=20, message="the CLI env file")
        assert proc.poll() is None, proc.communicate()
        env = _read_env(env_file)
        assert env["TASKCLUSTER_ROOT_URL"].startswith("http://127.0.0.1:")
        assert env["TASKCLUSTER_CLIENT_ID"] == "root"
        root_url = env["TASKCLUSTER_ROOT_URL"]
        creds = {"clientId": env["TASKCLUSTER_CLIENT_ID"],
                 "accessToken": env["TASKCLUSTER_ACCESS_TOKEN"]}
        q = make_queue(root_url, creds)
        tq = new_queue_id()
        task_id = new_task_id()
        q.createTask(task_id, make_task(tq))
        assert q.status(task_id)["status"]["state"] == "pending"
        claim = q.claimWork(tq, {"workerGroup": "g", "workerId": "w", "tasks": 1})["tasks"][0]
        delta = parse_time(claim["takenUntil"]).timestamp() - time.time()
        assert 20 < delta <= 31
        worker = make_queue(root_url, claim["credentials"])
        s3_artifact(worker, task_id, 0, "private/cli.txt", b"from the cli")
        listed = q.listLatestArtifacts(task_id)["artifacts"]
        assert [a["name"] for a in listed] == ["private/cli.txt"]
        status_url = q.buildUrl("status", task_id)
        assert requests.get(status_url, timeout=10).json()["status"]["taskId"] == task_id
        signed = q.buildSignedUrl("getLatestArtifact", task_id, "private/cli.txt")
        assert requests.get(signed, timeout=10).content == b"from the cli"
        unsigned = q.buildUrl("getLatestArtifact", task_id, "private/cli.txt")
        assert requests.get(unsigned, timeout=10).status_code == 403
    finally:
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail("sandbox CLI did not stop after the signal")
    assert proc.returncode == 0, err
    exports = {}
    for line in out.splitlines():
        if line.startswith("export "):
            key, value = line[len("export "):].split("=", 1)
            exports[key] = value.strip().strip("'\"")
    assert exports == {k: env[k] for k in ("TASKCLUSTER_ROOT_URL", "TASKCLUSTER_CLIENT_ID",
                                           "TASKCLUSTER_ACCESS_TOKEN")}
    assert json.loads((data_dir / "root-client.json").read_text())["accessToken"] == \
        creds["accessToken"]


def test_console_script_declared():
    """The tc-notebook console script resolves to a callable."""
    eps = [ep for ep in importlib.metadata.entry_points(group="console_scripts")
           if ep.name == "tc-notebook"]
    assert eps, "tc-notebook console script not installed"
    assert callable(eps[0].load())


@pytest.mark.parametrize("log_requests", [False, True])
def test_request_lines_only_when_asked(tmp_path, log_requests):
    """`tc-notebook sandbox` logs the tasks' transitions; one line per HTTP
    request only with --log-requests."""
    from tc_notebook.sandbox import SandboxProcess

    args = ["--capacity", "0", *(["--log-requests"] if log_requests else [])]
    with SandboxProcess(tmp_path / "data", *args) as sandbox:
        queue = make_queue(sandbox.root_url, sandbox.credentials)
        task_id = new_task_id()
        queue.createTask(task_id, make_task(new_queue_id()))
        queue.status(task_id)
        # A request is logged once answered, before the next one is read: the
        # transition of a task created after it comes later in the log.
        later = new_task_id()
        queue.createTask(later, make_task(new_queue_id()))
        wait_until(lambda: f"task {later} run 0 pending" in sandbox.log(), timeout=10)
        logged = sandbox.log()
    assert (f"GET /api/queue/v1/task/{task_id}/status 200" in logged) == log_requests
    assert (f"PUT /api/queue/v1/task/{task_id} 200" in logged) == log_requests
