"""The sandbox worker, end to end: tasks created with the official client run as
local processes, and their logs, artifacts and resolutions are read back through
the queue's API and plain URLs."""

from __future__ import annotations

import re
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import requests
import slugid
import taskcluster
from helpers import (
    status_of,
    stays_false,
    wait_resolved,
    wait_running,
    wait_state,
    wait_until,
)
from taskcluster.exceptions import TaskclusterArtifactError
from worker_fixtures import (
    artifact_info,
    artifact_names,
    backing_log,
    create,
    download,
    epoch,
    get,
    process_gone,
    run_task,
    sh,
    start_sandbox,
    task_definition,
)

from tc_notebook.terms import BACKING_LOG, LIVE_LOG, RESOLVED
from tc_notebook.tutorial import TUTORIAL_TASK_QUEUE, tutorial_task


def expires(delay: str = "1 day") -> str:
    """An artifact expiry `delay` from now."""
    return taskcluster.fromNowJSON(delay)


def only_run(status: dict) -> dict:
    """The single run of a task that must have exactly one."""
    assert len(status["runs"]) == 1, status["runs"]
    return status["runs"][0]


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
    assert info["storageType"] == "s3"
    assert info["contentLength"] == len(b"first\nsecond\n")


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
    """payload.env, TASK_ID and RUN_ID reach the command; the worker's own env does not."""
    monkeypatch.setenv("TC_NOTEBOOK_TEST_LEAK", "should not be seen")
    task_id, status = run_task(client, {
        "command": sh("env > env.txt"),
        "maxRunTime": 30,
        "env": {"GREETING": "hello, world", "ANSWER": "42"},
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


# -- resolutions -------------------------------------------------------------------------


def test_nonzero_exit_fails(client, anonymous):
    """Exit status 3 resolves the run failed; the log's last line names the code."""
    task_id, status = run_task(client, {"command": sh("echo about to fail; exit 3"),
                                        "maxRunTime": 30})
    assert status["state"] == "failed"
    assert only_run(status)["reasonResolved"] == "failed"
    log = backing_log(anonymous, task_id)
    assert "about to fail" in log
    assert "exit code 3" in log.splitlines()[-1]


def test_max_run_time_kills_and_fails(client, anonymous):
    """maxRunTime 1 on `sleep 30`: killed and failed within seconds, and the log says so."""
    task_id = create(client, {"command": ["sleep", "30"], "maxRunTime": 1})
    wait_running(client, task_id)
    began = time.monotonic()
    status = wait_resolved(client, task_id, timeout=10)
    assert time.monotonic() - began < 5
    assert status["state"] == "failed"
    run = only_run(status)
    assert epoch(run["resolved"]) - epoch(run["started"]) < 5
    assert "maxRunTime" in backing_log(anonymous, task_id)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"command": ["true"]}, "maxRunTime"),
        ({"command": "true", "maxRunTime": 30}, "payload.command"),
        ({"command": ["true"], "maxRunTime": 30, "env": {"N": 1}}, "payload.env"),
        ({"command": ["true"], "maxRunTime": 30,
          "artifacts": {"public/x": {"type": "socket", "path": "x"}}}, "socket"),
    ],
    ids=["no-maxRunTime", "command-string", "env-number", "artifact-type"],
)
def test_malformed_payload(client, anonymous, payload, reason):
    """A payload the worker cannot run: exception/malformed-payload, reason in the log."""
    task_id, status = run_task(client, payload)
    assert status["state"] == "exception"
    assert only_run(status)["reasonResolved"] == "malformed-payload"
    log = backing_log(anonymous, task_id)
    assert "malformed payload" in log
    assert reason in log


def test_cancel_kills_the_process(client, anonymous, task_tmp):
    """cancelTask stops the process within about a second; the run stays exception/canceled."""
    marker = task_tmp / "marker"
    task_id = create(client, {"command": sh(f"sleep 3; touch {marker}"), "maxRunTime": 60})
    wait_running(client, task_id)
    canceled = time.monotonic()
    assert client.cancelTask(task_id)["status"]["state"] == "exception"
    wait_until(lambda: artifact_info(client, task_id, BACKING_LOG), 5, "live_backing.log")
    assert time.monotonic() - canceled < 2.5, "the worker took too long to notice the cancel"
    assert stays_false(marker.exists, until=canceled + 3 + 2), "the task process was not killed"
    run = only_run(status_of(client, task_id))
    assert (run["state"], run["reasonResolved"]) == ("exception", "canceled")
    assert "canceled" in backing_log(anonymous, task_id)


def test_dependencies_run_in_order(client, anonymous, task_tmp):
    """B depends on A: it is unscheduled until A completes, then runs after it."""
    stamp = task_tmp / "a.stamp"
    task_a = create(client, {"command": sh(f"sleep 1; date +%s.%N > {stamp}"),
                             "maxRunTime": 30})
    task_b = slugid.nice()
    client.createTask(task_b, task_definition({
        "command": sh(f"cat {stamp} > seen.txt && date +%s.%N >> seen.txt"),
        "maxRunTime": 30,
        "artifacts": {"public/seen.txt": {"type": "file", "path": "seen.txt",
                                          "expires": expires()}},
    }, dependencies=[task_a]))
    assert status_of(client, task_b)["state"] == "unscheduled"
    status_b = wait_resolved(client, task_b, timeout=15)
    status_a = status_of(client, task_a)
    assert status_a["state"] == "completed"
    assert status_b["state"] == "completed", backing_log(anonymous, task_b)
    assert epoch(only_run(status_b)["started"]) >= epoch(only_run(status_a)["resolved"])
    a_done, b_start = (float(v) for v in download(anonymous, task_b, "public/seen.txt").split())
    assert b_start > a_done


# -- the live log ---------------------------------------------------------------------------


def test_live_log_streams_while_running(client, anonymous, worker_sandbox):
    """live.log is a reference to a stream that shows lines as the task prints them."""
    task_id = create(client, {
        "command": sh('i=0; while [ $i -lt 20 ]; do echo "tick $i"; i=$((i+1)); sleep 0.1; done'),
        "maxRunTime": 30,
    })
    info = wait_until(lambda: artifact_info(anonymous, task_id, LIVE_LOG), 10, "live.log")
    assert info["storageType"] == "reference"
    # Served by the worker itself at a random token, relayed by the sandbox (for Binder).
    live_url = anonymous.getLatestArtifact(task_id, LIVE_LOG)["url"]
    prefix = re.escape(worker_sandbox.root_url + "/sandbox/livelog/log/")
    assert re.fullmatch(prefix + r"[A-Za-z0-9_-]{32}", live_url), live_url
    redirect = get(anonymous.buildUrl("getLatestArtifact", task_id, LIVE_LOG),
                   allow_redirects=False)
    assert redirect.headers["Location"] == urllib.parse.urlsplit(live_url).path  # proxy-safe

    arrivals: dict[str, float] = {}
    pending = b""
    with get(anonymous.buildUrl("getLatestArtifact", task_id, LIVE_LOG), stream=True) as reply:
        assert reply.status_code == 200
        assert [r.status_code for r in reply.history] == [303]
        for chunk in reply.iter_content(chunk_size=None):
            now = time.time()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                arrivals.setdefault(line.decode(), now)
    streamed = list(arrivals) + ([pending.decode()] if pending else [])

    status = wait_resolved(client, task_id)
    assert status["state"] == "completed"
    resolved = epoch(only_run(status)["resolved"])
    ticks = {line: t for line, t in arrivals.items() if line.startswith("tick ")}
    assert len(ticks) == 20, streamed
    assert ticks["tick 0"] < resolved - 1.0, "the first line only arrived at the end"
    assert sum(t < resolved - 0.5 for t in ticks.values()) >= 10
    assert ticks["tick 19"] - ticks["tick 0"] > 1.0, "lines arrived in one burst"
    assert "exit code 0" in streamed[-1]
    assert get(live_url).status_code == 404  # the stream is gone; live.log is now a link


def test_live_log_after_completion(client, anonymous):
    """After the run, live.log links to live_backing.log: the whole log, header to footer."""
    task_id, status = run_task(client, {"command": sh("echo hello from the task"),
                                        "maxRunTime": 30})
    assert status["state"] == "completed"
    assert anonymous.latestArtifactInfo(task_id, LIVE_LOG)["storageType"] == "link"
    assert anonymous.latestArtifactInfo(task_id, BACKING_LOG)["storageType"] == "s3"
    reply = get(anonymous.buildUrl("getLatestArtifact", task_id, LIVE_LOG))
    assert reply.status_code == 200
    text = reply.text
    lines = text.splitlines()
    assert task_id in lines[0]
    assert "run 0" in lines[0]
    assert "engine process" in text
    assert "hello from the task" in text
    assert "exit code 0" in lines[-1]
    assert download(anonymous, task_id, LIVE_LOG).decode() == text
    assert backing_log(anonymous, task_id) == text


# -- which queues the worker serves --------------------------------------------------------------


def test_task_queues_filter(tmp_path, output_schema_dir):
    """A worker limited to only/this leaves other queues' tasks pending."""
    sandbox = start_sandbox(tmp_path / "data", output_schema_dir, capacity=2,
                            task_queues=["only/this"])
    try:
        queue = taskcluster.Queue({**sandbox.client_options(), "maxRetries": 0})
        payload = {"command": ["true"], "maxRunTime": 30}
        other = create(queue, payload, taskQueueId="not/this")
        ping = f"{sandbox.root_url}/api/queue/v1/ping"
        try:
            requests.get(ping, timeout=3).raise_for_status()
        except requests.Timeout:
            pytest.fail("the sandbox stopped answering while another queue has a pending task")
        mine = create(queue, payload, taskQueueId="only/this")
        assert wait_resolved(queue, mine, timeout=10)["state"] == "completed"
        status = status_of(queue, other)
        assert status["state"] == "pending"
        assert "workerId" not in only_run(status)
    finally:
        sandbox.stop()


# -- the command line: crashes and shutdowns -------------------------------------------------


def test_cli_killed_mid_task_retries_after_restart(cli, tmp_path, task_tmp, reap_groups):
    """kill -9 mid-task, restart on the same data: run 0 claim-expired, run 1 completes."""
    data_dir = tmp_path / "data"
    pid_file = task_tmp / "run0.pid"
    reap_groups.append(pid_file)
    first = cli(data_dir, "--claim-timeout", "3", "--capacity", "2")
    queue = first.queue()
    task_id = create(queue, {
        "command": sh(f'if [ "$RUN_ID" = 0 ]; then echo $$ > {pid_file}; exec sleep 5; fi;'
                      ' echo retried'),
        "maxRunTime": 60,
    })
    wait_running(queue, task_id)
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), 10, "run 0's process")
    first.proc.kill()
    first.proc.wait(timeout=10)

    second = cli(data_dir, "--claim-timeout", "3", "--capacity", "2")
    assert second.env["TASKCLUSTER_ACCESS_TOKEN"] == first.env["TASKCLUSTER_ACCESS_TOKEN"]
    queue = second.queue()
    status = wait_state(queue, task_id,
                        lambda s: len(s["runs"]) == 2 and s["state"] in RESOLVED,
                        timeout=20, message="the retry's resolution")
    lost, retry = status["runs"]
    assert (lost["state"], lost["reasonResolved"]) == ("exception", "claim-expired")
    assert (retry["runId"], retry["reasonCreated"]) == (1, "retry")
    assert retry["state"] == "completed"
    assert "retried" in backing_log(queue, task_id, 1)


def test_cli_sigterm_mid_task_reports_worker_shutdown(cli, tmp_path, task_tmp, reap_groups):
    """SIGTERM mid-task: exit 0 within seconds, process killed, run 0
    exception/worker-shutdown and a pending retry."""
    from tc_notebook.sandbox import Sandbox

    data_dir = tmp_path / "data"
    pid_file = task_tmp / "task.pid"
    reap_groups.append(pid_file)
    sandbox = cli(data_dir, "--capacity", "2")
    queue = sandbox.queue()
    task_id = create(queue, {"command": sh(f"echo $$ > {pid_file}; exec sleep 30"),
                             "maxRunTime": 60})
    wait_running(queue, task_id)
    pid = int(wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), 10,
                       "the task's process"))
    signalled = time.monotonic()
    sandbox.proc.send_signal(signal.SIGTERM)
    try:
        code = sandbox.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("the CLI did not exit within 10 s of SIGTERM")
    assert time.monotonic() - signalled < 5
    assert code == 0, sandbox.stderr()
    wait_until(lambda: process_gone(pid), 5, "the task's process to be killed")
    assert f"task {task_id} run 0 running" in sandbox.stderr()

    offline = Sandbox(data_dir, port=0, capacity=0).start()
    try:
        reader = taskcluster.Queue({**offline.client_options(), "maxRetries": 0})
        runs = status_of(reader, task_id)["runs"]
        assert len(runs) == 2, runs
        assert (runs[0]["state"], runs[0]["reasonResolved"]) == ("exception", "worker-shutdown")
        assert (runs[1]["state"], runs[1]["reasonCreated"]) == ("pending", "retry")
        assert "shutting down" in backing_log(reader, task_id, 0)
    finally:
        offline.stop()


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


def test_background_process_does_not_hold_the_run(client):
    """What a command leaves running is ended with it, as a container's end would."""
    task_id, status = run_task(client, {
        "command": sh("sleep 30 & echo started"),
        "maxRunTime": 60,
    }, timeout=10)
    assert status["state"] == "completed"
    assert "started" in backing_log(client, task_id)
