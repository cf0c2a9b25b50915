"""Error codes and the Taskcluster error body format."""

from __future__ import annotations

import json
import re

import pytest
import requests
import taskcluster
from helpers import (
    API,
    create_unscheduled,
    expect_error,
    make_queue,
    make_task,
    new_task_id,
    raw_request,
)

from tc_notebook.timestamps import parse_time


def _assert_error_body(body: dict, code: str, status: int, method: str):
    """Check {code, message, requestInfo{method, params, payload, time}}."""
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert "\n\n---\n\n" in body["message"]
    assert f"* method:     {method}" in body["message"]
    assert f"* errorCode:  {code}" in body["message"]
    assert f"* statusCode: {status}" in body["message"]
    info = body["requestInfo"]
    assert info["method"] == method
    assert isinstance(info["params"], dict)
    assert "payload" in info
    parse_time(info["time"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", info["time"])


def test_not_found_body(queue):
    """404 ResourceNotFound uses the standard error body."""
    task_id = new_task_id()
    body = expect_error(queue.status, task_id, status=404, code="ResourceNotFound")
    _assert_error_body(body, "ResourceNotFound", 404, "status")
    assert body["requestInfo"]["params"] == {"taskId": task_id}
    assert body["requestInfo"]["payload"] == {}


def test_error_response_is_json(root_url):
    """Error replies carry Content-Type application/json."""
    res = requests.get(f"{root_url}{API}/task/{new_task_id()}", timeout=10)
    assert res.status_code == 404
    assert res.headers["Content-Type"].startswith("application/json")
    _assert_error_body(res.json(), "ResourceNotFound", 404, "task")


def test_conflict_body_includes_payload(queue):
    """409 carries the request payload in requestInfo."""
    task_id = new_task_id()
    definition = make_task()
    queue.createTask(task_id, definition)
    changed = dict(definition, payload={"changed": True})
    body = expect_error(queue.createTask, task_id, changed, status=409,
                        code="RequestConflict")
    _assert_error_body(body, "RequestConflict", 409, "createTask")
    assert body["requestInfo"]["payload"]["payload"] == {"changed": True}
    assert "faulty idempotency" in body["message"]


def test_input_error_body(queue):
    """400 InputError body format."""
    body = expect_error(queue.createTask, new_task_id(), make_task(taskQueueId=None),
                        status=400, code="InputError")
    _assert_error_body(body, "InputError", 400, "createTask")


def test_input_validation_error_body(queue):
    """400 InputValidationError body format."""
    body = expect_error(queue.createTask, new_task_id(), make_task(metadata=None),
                        status=400, code="InputValidationError")
    _assert_error_body(body, "InputValidationError", 400, "createTask")


def test_insufficient_scopes_body(anon):
    """403 InsufficientScopes body format."""
    body = expect_error(anon.createTask, new_task_id(), make_task(), status=403,
                        code="InsufficientScopes")
    _assert_error_body(body, "InsufficientScopes", 403, "createTask")


def test_authentication_failed_body(sandbox):
    """401 AuthenticationFailed body format."""
    bad = make_queue(sandbox.root_url, {"clientId": "root", "accessToken": "bad"})
    body = expect_error(bad.status, new_task_id(), status=401, code="AuthenticationFailed")
    _assert_error_body(body, "AuthenticationFailed", 401, "status")


@pytest.mark.parametrize("call", [
    pytest.param(lambda q: q.status("not-a-slugid"), id="bad-taskId"),
    pytest.param(lambda q: q.task("AAAAAAAAAAAAAAAAAAAAAA"), id="taskId-pattern"),
    pytest.param(lambda q: q.listArtifacts(new_task_id(), "abc"), id="bad-runId"),
    pytest.param(lambda q: q.listArtifacts(new_task_id(), "-1"), id="negative-runId"),
    pytest.param(lambda q: q.claimWork("Bad/UpperCase", {
        "workerGroup": "g", "workerId": "w", "tasks": 1}), id="bad-taskQueueId"),
    pytest.param(lambda q: q.getLatestArtifact(new_task_id(), "public/\u00e9"),
                 id="non-ascii-name"),
    pytest.param(lambda q: q.listTaskGroup("short"), id="bad-taskGroupId"),
])
def test_invalid_request_arguments(queue, call):
    """URL parameters that do not match their patterns → 400 InvalidRequestArguments."""
    body = expect_error(call, queue, status=400, code="InvalidRequestArguments")
    assert body["requestInfo"]["method"]


def test_unknown_query_parameter(root_url, queue):
    """An unlisted query parameter → 400 InvalidRequestArguments."""
    task_id = new_task_id()
    queue.createTask(task_id, make_task())
    res = requests.get(f"{root_url}{API}/task/{task_id}/status?foo=bar", timeout=10)
    assert res.status_code == 400
    assert res.json()["code"] == "InvalidRequestArguments"
    res = requests.get(f"{root_url}{API}/task-group/{task_id}/list?limit=1&sort=x", timeout=10)
    assert res.status_code == 400
    res = requests.get(f"{root_url}{API}/task-group/{task_id}/list?limit=1", timeout=10)
    assert res.status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (json.dumps(make_task()).encode(), "text/plain"),
    ],
    ids=["invalid-json", "not-application-json"],
)
def test_malformed_payload(sandbox, body, content_type):
    """Invalid JSON, or JSON sent without Content-Type application/json → 400
    MalformedPayload; nothing created."""
    task_id = new_task_id()
    url = f"{sandbox.root_url}{API}/task/{task_id}"
    res = raw_request("PUT", url, sandbox.credentials, body=body, content_type=content_type)
    assert res.status_code == 400
    assert res.json()["code"] == "MalformedPayload"
    assert requests.get(f"{url}/status", timeout=10).status_code == 404


def test_content_type_with_charset(sandbox):
    """application/json; charset=utf-8 is accepted (hash uses the bare media type)."""
    task_id = new_task_id()
    url = f"{sandbox.root_url}{API}/task/{task_id}"
    res = raw_request("PUT", url, sandbox.credentials, body=json.dumps(make_task()).encode(),
                      content_type="application/json; charset=utf-8")
    assert res.status_code == 200, res.text
    assert res.json()["status"]["taskId"] == task_id


def test_missing_body(sandbox):
    """A bodiless createTask has no JSON content type: MalformedPayload, as
    Taskcluster answers (checked on the rig); an empty body sent as JSON is
    read as {}, which the schema refuses."""
    task_id = new_task_id()
    url = f"{sandbox.root_url}{API}/task/{task_id}"
    res = raw_request("PUT", url, sandbox.credentials)
    assert res.status_code == 400 and res.json()["code"] == "MalformedPayload"
    res = raw_request("PUT", url, sandbox.credentials, headers={"Content-Type": "application/json"})
    assert res.status_code == 400 and res.json()["code"] == "InputValidationError"
    assert requests.get(f"{url}/status", timeout=10).status_code == 404


def test_missing_body_without_input_schema(sandbox, queue):
    """Entries without an input schema accept a bodiless POST (scheduleTask)."""
    task_id = create_unscheduled(queue)
    res = raw_request("POST", f"{sandbox.root_url}{API}/task/{task_id}/schedule",
                      sandbox.credentials)
    assert res.status_code == 200, res.text
    assert res.json()["status"]["state"] == "pending"


class TestInputTooLarge:
    """Bodies over max_request_bytes → 413 InputTooLarge."""

    @pytest.fixture
    def small(self, make_sandbox):
        """A sandbox accepting at most 4 KiB bodies."""
        return make_sandbox(max_request_bytes=4096)

    def test_too_large(self, small):
        """A body over the limit is rejected and nothing is stored."""
        q = make_queue(small.root_url, small.credentials)
        task_id = new_task_id()
        body = expect_error(q.createTask, task_id, make_task(extra={"blob": "x" * 8000}),
                            status=413, code="InputTooLarge")
        _assert_error_body(body, "InputTooLarge", 413, "createTask")
        expect_error(q.status, task_id, status=404)

    def test_just_under_limit(self, small):
        """A body below the limit is fine."""
        q = make_queue(small.root_url, small.credentials)
        task_id = new_task_id()
        assert q.createTask(task_id, make_task(extra={"blob": "x" * 2500}))["status"]

    def test_default_limit(self, queue):
        """The default 10 MiB limit applies to the session sandbox."""
        task_id = new_task_id()
        expect_error(queue.createTask, task_id,
                     make_task(extra={"blob": "x" * (10 * 1024 * 1024 + 10)}),
                     status=413, code="InputTooLarge")
        expect_error(queue.status, task_id, status=404)


def test_client_error_types(queue, anon, sandbox):
    """The Python client raises TaskclusterRestFailure / TaskclusterAuthFailure."""
    with pytest.raises(taskcluster.TaskclusterRestFailure) as ei:
        queue.task(new_task_id())
    assert ei.value.status_code == 404
    assert str(ei.value) == ei.value.body["message"]
    bad = make_queue(sandbox.root_url, {"clientId": "x", "accessToken": "y"})
    with pytest.raises(taskcluster.TaskclusterAuthFailure):
        bad.task(new_task_id())


def test_success_content_type(root_url, queue):
    """Successful replies are application/json."""
    task_id = new_task_id()
    queue.createTask(task_id, make_task())
    for path in ("/ping", f"/task/{task_id}", f"/task/{task_id}/status"):
        res = requests.get(f"{root_url}{API}{path}", timeout=10)
        assert res.status_code == 200
        assert res.headers["Content-Type"].startswith("application/json")
