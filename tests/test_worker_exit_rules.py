"""generic-worker's `onExitStatus` on the sandbox worker, end to end: an exit code
in `retry` resolves the run exception/intermittent-task and the queue retries it
while retries are left; `purgeCaches` is accepted and changes nothing."""

from __future__ import annotations

from helpers import wait_state
from worker_fixtures import backing_log, create, expires, only_run, run_task, sh

from tc_notebook.terms import RESOLVED


def retrying(script: str, retry: list[int], **rules: list[int]) -> dict:
    """A generic-worker payload running `script`, with `onExitStatus` retry (and `rules`)."""
    return {
        "command": [sh(script)],
        "maxRunTime": 30,
        "onExitStatus": {"retry": retry, **rules},
    }


def test_retry_exit_code_is_intermittent_and_the_retry_runs(client, anonymous):
    """Run 0 exits 7 (listed): exception/intermittent-task, and the queue's retry,
    run 1, runs and completes."""
    task_id = create(client, retrying('test "$RUN_ID" != 0 || exit 7', [7]), retries=2)
    status = wait_state(client, task_id, lambda s: len(s["runs"]) == 2 and s["state"] in RESOLVED,
                        timeout=20, message="the retry's resolution")
    first, retry = status["runs"]
    assert (first["state"], first["reasonResolved"]) == ("exception", "intermittent-task")
    assert (retry["reasonCreated"], retry["state"]) == ("task-retry", "completed")
    log = backing_log(anonymous, task_id, 0)
    assert "exit code 7 is in payload.onExitStatus.retry" in log
    assert "exception (intermittent-task): exit code 7" in log.splitlines()[-1]
    assert "exit code 0" in backing_log(anonymous, task_id, 1).splitlines()[-1]


def test_retries_exhausted_leave_the_task_exception(client):
    """With no retries left, the intermittent run is the last: the task is exception."""
    task_id, status = run_task(client, retrying("exit 7", [7]), retries=0)
    assert status["state"] == "exception"
    assert only_run(status)["reasonResolved"] == "intermittent-task"


def test_exit_code_not_listed_fails(client, anonymous):
    """Exit 3 with only 7 and 8 in retry: failed, as without onExitStatus."""
    task_id, status = run_task(client, retrying("exit 3", [7, 8]), retries=2)
    assert status["state"] == "failed"
    assert only_run(status)["reasonResolved"] == "failed"
    assert "onExitStatus" not in backing_log(anonymous, task_id)


def test_purge_caches_alone_changes_nothing(client, anonymous):
    """Exit 5 listed in purgeCaches only: failed as usual; the log says there is no cache."""
    task_id, status = run_task(client, retrying("exit 5", [], purgeCaches=[5]))
    assert status["state"] == "failed"
    assert "nothing to purge" in backing_log(anonymous, task_id)


def test_retry_and_purge_caches_together(client, anonymous):
    """Listed in both, as generic-worker: exception/intermittent-task (caches aside)."""
    task_id, status = run_task(client, retrying("exit 4", [4], purgeCaches=[4]), retries=0)
    assert only_run(status)["reasonResolved"] == "intermittent-task"
    log = backing_log(anonymous, task_id)
    assert "onExitStatus.retry" in log and "nothing to purge" in log


def test_retry_comes_before_a_missing_artifact(client, anonymous):
    """The command's intermittent exit is the first problem: it decides, and the
    missing artifact still becomes an error artifact."""
    payload = retrying("exit 9", [9])
    payload["artifacts"] = [{"type": "file", "path": "never.txt", "name": "public/never.txt",
                             "expires": expires()}]
    task_id, status = run_task(client, payload, retries=0)
    assert only_run(status)["reasonResolved"] == "intermittent-task"
    info = anonymous.latestArtifactInfo(task_id, "public/never.txt")
    assert info["storageType"] == "error"


def test_the_docker_worker_form_honours_retry_too(client):
    """docker-worker's payload has the same onExitStatus.retry."""
    payload = {"command": sh("exit 6"), "maxRunTime": 30, "onExitStatus": {"retry": [6]}}
    _, status = run_task(client, payload, retries=0)
    assert only_run(status)["reasonResolved"] == "intermittent-task"
