"""The built-in workers: `built-in/succeed` and `built-in/fail` tasks resolve
as Taskcluster's built-in-workers service resolves them, with no process run."""

from __future__ import annotations

import pytest
from auth_helpers import _client
from helpers import (
    expect_error,
    make_task,
    new_task_id,
    status_of,
    wait_resolved,
    wait_state,
)

SUCCEED, FAIL = "built-in/succeed", "built-in/fail"


def resolved(queue, task_queue_id: str, **overrides) -> tuple[str, dict]:
    """Create a task on the queue; its taskId and status once resolved."""
    task_id = new_task_id()
    queue.createTask(task_id, make_task(task_queue_id, **overrides))
    return task_id, wait_resolved(queue, task_id, timeout=10)


@pytest.mark.parametrize(("task_queue_id", "state"), [(SUCCEED, "completed"), (FAIL, "failed")])
def test_empty_payload(queue, task_queue_id, state):
    """An empty payload: completed on built-in/succeed, failed on built-in/fail,
    in one run claimed by worker `built-in/<succeed|fail>`; no artifact."""
    task_id, status = resolved(queue, task_queue_id)
    assert status["state"] == state
    [run] = status["runs"]
    assert run["state"] == state and run["reasonResolved"] == state
    assert run["reasonCreated"] == "scheduled"
    assert (run["workerGroup"], run["workerId"]) == ("built-in", task_queue_id.split("/")[1])
    assert {"started", "resolved", "takenUntil"} <= set(run)
    assert queue.listArtifacts(task_id, 0)["artifacts"] == []


@pytest.mark.parametrize("task_queue_id", [SUCCEED, FAIL])
def test_payload_not_empty(queue, task_queue_id):
    """Any other payload is exception/malformed-payload, not retried."""
    _, status = resolved(queue, task_queue_id, payload={"command": ["true"]}, retries=3)
    assert status["state"] == "exception"
    [run] = status["runs"]
    assert run["reasonResolved"] == "malformed-payload"
    assert (run["workerGroup"], run["workerId"]) == ("built-in", task_queue_id.split("/")[1])


def test_rerun_and_dependents(queue):
    """A rerun is claimed again; a task depending on a built-in/succeed task runs after it."""
    failing, _ = resolved(queue, FAIL)
    queue.rerunTask(failing)
    status = wait_state(queue, failing,
                        lambda s: len(s["runs"]) == 2 and "resolved" in s["runs"][1])
    assert [r["reasonResolved"] for r in status["runs"]] == ["failed", "failed"]
    first = new_task_id()
    queue.createTask(first, make_task(SUCCEED, payload={}))
    _, status = resolved(queue, SUCCEED, dependencies=[first])
    assert status["state"] == "completed"
    assert status_of(queue, first)["state"] == "completed"


def test_create_task_needs_its_scope(sandbox):
    """Creating a built-in task needs queue:create-task:<priority>:built-in/..., as any queue."""
    _, other = _client(sandbox, ["queue:create-task:lowest:built-in/fail",
                                 "queue:scheduler-id:-", "queue:create-task:project:none"])
    body = expect_error(other.createTask, new_task_id(), make_task(SUCCEED), status=403,
                        code="InsufficientScopes")
    assert "queue:create-task:lowest:built-in/succeed" in body["message"]
    _, status = resolved(other, FAIL)
    assert status["state"] == "failed"


def test_stop_leaves_nothing_running(make_sandbox):
    """Stopping the sandbox stops the built-in workers."""
    sandbox = make_sandbox()
    workers = sandbox.server.builtin_workers
    listeners = sandbox.server.service.transition_listeners
    count = len(listeners)
    assert workers.running
    sandbox.stop()
    assert not workers.running
    assert len(listeners) == count - 1  # no longer told of transitions
