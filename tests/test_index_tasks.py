"""The Index fed by the queue: completed tasks indexed under their `index.`
routes, findArtifactFromTask leading to the queue's artifacts, and the index
kept across a restart of the sandbox."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
import requests
import taskcluster
from helpers import (
    create_and_claim,
    expect_error,
    from_now,
    make_queue,
    make_task,
    new_task_id,
    s3_artifact,
    wait_resolved,
)
from index_helpers import fresh_namespace, make_index
from worker_fixtures import get, run_task, sh

SUCCEED, FAIL = "built-in/succeed", "built-in/fail"


@pytest.fixture
def ns() -> str:
    """A namespace of the root no other test uses."""
    return fresh_namespace()


def run_builtin(queue: taskcluster.Queue, task_queue_id: str, **fields) -> dict:
    """Create a task on a built-in queue and wait until it resolves; its status."""
    task_id = new_task_id()
    queue.createTask(task_id, make_task(task_queue_id, **fields))
    return wait_resolved(queue, task_id)


def test_completed_task_is_indexed_under_its_routes(queue, sandbox, ns):
    """Every `index.` route of a completed task names it, with the rank, data
    and expiry of its extra.index; other routes are not the index's."""
    extra = {"index": {"rank": 7, "data": {"build": 42}, "expires": "2999-01-01T00:00:00Z"}}
    routes = [f"index.{ns}.a.latest", f"index.{ns}.b.1", f"other.{ns}.c", "index.not..valid"]
    status = run_builtin(queue, SUCCEED, routes=routes, extra=extra)
    assert status["state"] == "completed"
    index = make_index(sandbox)
    for path in (f"{ns}.a.latest", f"{ns}.b.1"):
        assert index.findTask(path) == {
            "namespace": path,
            "taskId": status["taskId"],
            "rank": 7,
            "data": {"build": 42},
            "expires": "2999-01-01T00:00:00.000Z",
        }
    assert sorted(n["name"] for n in index.listNamespaces(ns)["namespaces"]) == ["a", "b"]
    expect_error(index.findTask, f"{ns}.c", status=404, code="ResourceNotFound")


def test_defaults_without_extra_index(queue, sandbox, ns):
    """Without extra.index: rank 0, data {}, and the task's own expiry."""
    expires = from_now(days=3)
    status = run_builtin(queue, SUCCEED, routes=[f"index.{ns}.plain"], expires=expires)
    found = make_index(sandbox).findTask(f"{ns}.plain")
    assert (found["taskId"], found["rank"], found["data"]) == (status["taskId"], 0, {})
    assert found["expires"] == status["expires"] == expires


def test_ranks_decide_between_completed_tasks(queue, sandbox, ns):
    """A later task of a lower rank does not displace an earlier higher one."""
    path = f"{ns}.ranked"
    high = run_builtin(queue, SUCCEED, routes=[f"index.{path}"], extra={"index": {"rank": 2}})
    run_builtin(queue, SUCCEED, routes=[f"index.{path}"], extra={"index": {"rank": 1}})
    assert make_index(sandbox).findTask(path)["taskId"] == high["taskId"]


@pytest.mark.parametrize(
    "extra",
    [{"index": {"rank": "high"}}, {"index": {"data": [1]}}, {"index": {"expires": "soon"}}],
    ids=["rank", "data", "expires"],
)
def test_unusable_options_are_not_indexed(queue, sandbox, ns, extra):
    """A task whose extra.index cannot be used is completed, and not indexed."""
    status = run_builtin(queue, SUCCEED, routes=[f"index.{ns}.odd"], extra=extra)
    assert status["state"] == "completed"
    expect_error(make_index(sandbox).findTask, f"{ns}.odd", status=404, code="ResourceNotFound")


def test_failed_task_is_not_indexed(queue, sandbox, ns):
    """Only completion indexes: a failed task's routes name nothing."""
    status = run_builtin(queue, FAIL, routes=[f"index.{ns}.failed"])
    assert status["state"] == "failed"
    expect_error(make_index(sandbox).findTask, f"{ns}.failed", status=404, code="ResourceNotFound")


def test_index_routes_need_their_scope(sandbox, ns):
    """createTask asks queue:route:index.<path> for each index route."""
    client_id = f"router-{ns}"
    scopes = [
        "queue:create-task:project:none",
        "queue:scheduler-id:-",
        f"queue:create-task:lowest:{SUCCEED}",
        f"queue:route:index.{ns}.ok",
    ]
    token = sandbox.add_client(client_id, scopes)
    router = make_queue(sandbox.root_url, {"clientId": client_id, "accessToken": token})
    task = make_task(SUCCEED, priority="lowest", routes=[f"index.{ns}.nope"])
    body = expect_error(router.createTask, new_task_id(), task, status=403)
    assert f"queue:route:index.{ns}.nope" in body["message"]
    task_id = new_task_id()
    router.createTask(task_id, {**task, "routes": [f"index.{ns}.ok"]})
    wait_resolved(router, task_id)
    assert make_index(sandbox).findTask(f"{ns}.ok")["taskId"] == task_id


@pytest.fixture
def artifacts_task(queue, sandbox, ns) -> str:
    """A task completed by hand after uploading a public and a private
    artifact, indexed at <ns>.art; its taskId."""
    task_id, claim, worker = create_and_claim(queue, sandbox.root_url, routes=[f"index.{ns}.art"])
    s3_artifact(worker, task_id, 0, "public/hello.txt", b"hello, index")
    s3_artifact(worker, task_id, 0, "private/secret.txt", b"private bytes")
    worker.reportCompleted(task_id, 0)
    return task_id


def test_find_public_artifact(sandbox, ns, artifacts_task):
    """A public artifact: a 303 anyone may follow, straight to its bytes."""
    index = make_index(sandbox)
    url = index.buildUrl("findArtifactFromTask", f"{ns}.art", "public/hello.txt")
    first = requests.get(url, allow_redirects=False, timeout=10)
    assert first.status_code == 303
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.headers["Location"].startswith("/sandbox/blobs/")  # the artifact's own URL
    followed = requests.get(url, timeout=10)
    assert followed.status_code == 200 and followed.content == b"hello, index"
    missing = requests.get(
        index.buildUrl("findArtifactFromTask", f"{ns}.nothing", "public/hello.txt"), timeout=10
    )
    assert missing.status_code == 404 and missing.json()["code"] == "ResourceNotFound"


def test_find_private_artifact(sandbox, ns, artifacts_task):
    """A private artifact needs queue:get-artifact:<name>; the 303 is then to
    the queue's getLatestArtifact, signed by the index, and leads to the bytes."""
    args = ("findArtifactFromTask", f"{ns}.art", "private/secret.txt")
    anonymous = requests.get(make_index(sandbox).buildUrl(*args), timeout=10)
    assert anonymous.status_code == 403
    assert "queue:get-artifact:private/secret.txt" in anonymous.json()["message"]
    signed = make_index(sandbox, sandbox.credentials).buildSignedUrl(*args)
    first = requests.get(signed, allow_redirects=False, timeout=10)
    assert first.status_code == 303
    location = urljoin(sandbox.root_url, first.headers["Location"])
    assert location.startswith(
        f"{sandbox.root_url}/api/queue/v1/task/{artifacts_task}/artifacts/private%2Fsecret.txt?bewit="
    )
    followed = requests.get(location, timeout=10)
    assert followed.status_code == 200 and followed.content == b"private bytes"


def test_artifact_of_a_worker_run(worker_sandbox, client, ns):
    """A task run by the sandbox's worker is indexed, and its artifact found
    through the index by anyone, once the worker completes it."""
    payload = {
        "command": [sh("echo built > out.txt")],
        "maxRunTime": 30,
        "artifacts": [{"type": "file", "path": "out.txt", "name": "public/out.txt"}],
    }
    task_id, status = run_task(client, payload, routes=[f"index.{ns}.built"])
    assert status["state"] == "completed"
    index = make_index(worker_sandbox)
    assert index.findTask(f"{ns}.built")["taskId"] == task_id
    url = index.buildUrl("findArtifactFromTask", f"{ns}.built", "public/out.txt")
    assert get(url).content == b"built\n"


def test_index_survives_a_restart(make_sandbox, tmp_path):
    """Indexed tasks and namespaces are kept in the data directory."""
    data_dir = tmp_path / "kept"
    first = make_sandbox(data_dir)
    body = {"taskId": new_task_id(), "rank": 1, "data": {"a": 1}, "expires": from_now(days=1)}
    inserted = make_index(first, first.credentials).insertTask("kept.x.y", body)
    namespaces = make_index(first).listNamespaces("kept")
    first.stop()
    again = make_sandbox(data_dir)
    assert make_index(again).findTask("kept.x.y") == inserted
    assert make_index(again).listNamespaces("kept") == namespaces
