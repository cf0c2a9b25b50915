"""The sandbox worker's runs, end to end: how they resolve (exit codes, maxRunTime,
malformed payloads, cancel, dependencies, what a command leaves running), which
queues a worker serves, and the command line killed or stopped mid-task."""

from __future__ import annotations

import signal
import subprocess
import time

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
from worker_fixtures import (
    artifact_info,
    backing_log,
    create,
    download,
    epoch,
    expires,
    only_run,
    process_gone,
    run_task,
    sh,
    start_sandbox,
    task_definition,
)

from tc_notebook.terms import BACKING_LOG, RESOLVED

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


def test_background_process_does_not_hold_the_run(client):
    """What a command leaves running is ended with it, as a container's end would."""
    task_id, status = run_task(client, {
        "command": sh("sleep 30 & echo started"),
        "maxRunTime": 60,
    }, timeout=10)
    assert status["state"] == "completed"
    assert "started" in backing_log(client, task_id)


# -- which queues the worker serves --------------------------------------------------------------


def test_task_queues_filter(tmp_path):
    """A worker limited to only/this leaves other queues' tasks pending."""
    sandbox = start_sandbox(tmp_path / "data", capacity=2,
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
