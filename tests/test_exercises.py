"""The notebooks' exercise checks: right answers pass, wrong ones say why."""

from __future__ import annotations

import time

import pytest
import slugid

from tc_notebook.connection import Connection
from tc_notebook.exercises import (
    check_dependent_pair,
    check_earlier_run_artifacts,
    check_failure_reason,
    check_hello_artifact,
    check_hello_task,
)
from tc_notebook.sandbox import Sandbox
from tc_notebook.tutorial import tutorial_task


@pytest.fixture(scope="module")
def queue(tmp_path_factory):
    """The official client on a sandbox with a worker."""
    with Sandbox(tmp_path_factory.mktemp("exercises"), capacity=4) as sandbox:
        yield Connection(sandbox.root_url, sandbox.credentials).queue


def run(queue, script: str, artifacts: dict | None = None, **changes) -> str:
    """Create a tutorial-shaped task running `script` and wait for its end."""
    task = tutorial_task()
    task["payload"]["command"] = ["/bin/bash", "-c", script]
    task["payload"]["artifacts"] = artifacts or {}
    task.update(changes)
    task_id = slugid.nice()
    queue.createTask(task_id, task)
    wait_resolved(queue, task_id)
    return task_id


def wait_resolved(queue, task_id: str, timeout: float = 20) -> dict:
    """Poll the status until the task is resolved."""
    give_up = time.monotonic() + timeout
    while True:
        status = queue.status(task_id)["status"]
        if status["state"] in ("completed", "failed", "exception"):
            return status
        assert time.monotonic() < give_up, f"{task_id} still {status['state']}"
        time.sleep(0.05)


def test_hello_task(queue):
    assert not check_hello_task(queue, None)
    assert not check_hello_task(queue, run(queue, "echo bye"))
    assert check_hello_task(queue, run(queue, "echo hello"))


def test_hello_artifact(queue):
    assert not check_hello_artifact(queue, run(queue, "true"))
    hello = {"public/hello.txt": {"type": "file", "path": "hello.txt"}}
    verdict = check_hello_artifact(queue, run(queue, "echo hello > hello.txt", artifacts=hello))
    assert verdict, verdict.message
    assert "✔" in verdict._repr_html_()


def test_failure_reason(queue):
    task_id = run(queue, "exit 7")
    assert not check_failure_reason(queue, task_id, "completed")
    assert check_failure_reason(queue, task_id, "failed")


def test_earlier_run_artifacts(queue):
    task_id = run(queue, "true")
    names = [a["name"] for a in queue.listArtifacts(task_id, 0)["artifacts"]]
    assert not check_earlier_run_artifacts(queue, task_id, names)  # one run only
    queue.rerunTask(task_id)
    wait_resolved(queue, task_id)
    assert not check_earlier_run_artifacts(queue, task_id, names[:1])
    assert check_earlier_run_artifacts(queue, task_id, names)


def test_dependent_pair(queue):
    group = slugid.nice()
    first = run(queue, "true", taskGroupId=group)
    second = run(queue, "true", taskGroupId=group, dependencies=[first])
    assert check_dependent_pair(queue, first, second)
    assert not check_dependent_pair(queue, second, first)
    stray = run(queue, "true", dependencies=[first])
    assert not check_dependent_pair(queue, first, stray)
