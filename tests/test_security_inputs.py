"""A 4xx in Taskcluster's error format for malformed input: tasks nested deep,
with NaN, Infinity, huge numbers or dates out of range (and nothing stored);
malformed URL parameters, queries and continuation tokens; the sandbox's own
routes; sizes the database cannot hold.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests
import taskcluster
from helpers import API, create_and_claim, make_task, new_task_id
from security_helpers import _deep, _sign, assert_error


def _signed_put(sandbox, path: str, body: bytes, content_type: str = "application/json"):
    url = f"{sandbox.root_url}{API}{path}"
    header = _sign(url, "PUT", sandbox.credentials, content=body, content_type=content_type)
    return requests.put(url, data=body, timeout=30,
                        headers={"Authorization": header, "Content-Type": content_type})


def _task_text(**replacements: str) -> bytes:
    """A valid task definition as JSON text, with some values replaced by raw JSON."""
    task = make_task()
    for key in replacements:
        task[key] = f"@@{key}@@"
    text = json.dumps(task)
    for key, raw in replacements.items():
        text = text.replace(f'"@@{key}@@"', raw)
    return text.encode()


@pytest.mark.parametrize(("replacements", "code"), [
    ({"payload": _deep(100_000)}, "MalformedPayload"),
    ({"payload": '{"a":' * 5000 + "1" + "}" * 5000}, "MalformedPayload"),
    ({"payload": json.dumps(json.loads(_deep(150)))}, "MalformedPayload"),
    ({"payload": '{"x": NaN}'}, "MalformedPayload"),
    ({"payload": '{"x": Infinity}'}, "MalformedPayload"),
    ({"payload": '{"x": -Infinity}'}, "MalformedPayload"),
    ({"payload": '{"x": 1e400}'}, "MalformedPayload"),
    ({"payload": '{"x": "\\ud800"}'}, "MalformedPayload"),
    ({"retries": "9" * 5000}, "MalformedPayload"),
    ({"retries": "9" * 4000}, "InputValidationError"),
    ({"expires": '"9999-12-31T23:59:59-01:00"'}, "InputValidationError"),
    ({"created": '"0001-01-01T00:00:00+01:00"'}, "InputValidationError"),
    ({"deadline": '"2026-11-30"'}, "InputValidationError"),
    ({"deadline": '"2026-W48-1"'}, "InputValidationError"),
    ({"deadline": '"２０２６-11-30T00:00:00Z"'}, "InputValidationError"),
    ({"priority": '"lowest\\n"'}, "InputValidationError"),
])
def test_malformed_task_is_400(sandbox, replacements, code):
    """Deep nesting, NaN and Infinity, huge numbers, dates out of range: a 400
    with the reason, and nothing is stored."""
    task_id = new_task_id()
    res = _signed_put(sandbox, f"/task/{task_id}", _task_text(**replacements))
    assert_error(res, 400, code)
    assert_error(requests.get(f"{sandbox.root_url}{API}/task/{task_id}", timeout=10), 404)


def test_non_finite_numbers_never_get_stored(sandbox, queue):
    """What is accepted can be served again as JSON."""
    task_id = new_task_id()
    res = _signed_put(sandbox, f"/task/{task_id}", _task_text(payload='{"x": 1e308}'))
    assert res.status_code == 200, res.text
    assert queue.task(task_id)["payload"] == {"x": 1e308}


def _token(value_text: str) -> str:
    return base64.urlsafe_b64encode(value_text.encode()).decode()


@pytest.mark.parametrize("path", [
    "/task/{task}/runs/{digits}/artifacts",
    "/task/{task}/runs/18446744073709551616/artifacts",
    "/task/{task}/runs/²/artifacts",
    "/task/{task}/runs/0%0A/artifacts",
    "/task/{task}%0A/status",
    "/task/{task}%0D/status",
    "/task/%0A{task}/status",
    "/task/{task}/runs/0/artifact-info/public%0Ax",
    "/task/{task}/runs/0/artifact-info/%0D",
    "/task-group/{task}/list?limit=5%0A",
    "/task-group/{task}/list?limit=²",
    "/task-group/{task}/list?limit=-1",
    "/task-group/{task}/list?continuationToken=" + _token(_deep(2_000)),
    "/task-group/{task}/list?continuationToken=" + _token("9" * 4000),
    "/task-group/{task}/list?continuationToken=" + _token("1e400"),
    "/task-group/{task}/list?continuationToken=" + "A" * 6_000,
    "/task/{task}/dependents?continuationToken=" + _token("-1"),
])
def test_malformed_url_is_4xx(sandbox, queue, pending_task, path):
    """Huge and unicode runIds, newlines, tokens nested deep or out of range: a
    400 or 404 in the error format, never a 500 or a bare text answer."""
    url = sandbox.root_url + API + path.format(task=pending_task, digits="9" * 5000)
    res = requests.get(url, headers={"Connection": "close"}, timeout=10)
    assert 400 <= res.status_code < 500, (res.status_code, res.text[:300])
    if res.status_code not in (414, 431):
        assert_error(res, res.status_code)


def test_limit_with_thousands_of_digits_is_the_largest_page(sandbox, queue, pending_task):
    """`limit` is clamped to 1000 whatever its size, as Taskcluster does."""
    url = f"{sandbox.root_url}{API}/task-group/{pending_task}/list?limit={'9' * 5000}"
    res = requests.get(url, timeout=10)
    assert res.status_code == 200, res.text[:300]
    assert [t["status"]["taskId"] for t in res.json()["tasks"]] == [pending_task]


@pytest.mark.parametrize("path", [
    "/sandbox/blobs/{task}/{digits}/public/x",
    "/sandbox/blobs/{task}/99999999999999999999/public/x",
    "/sandbox/blobs/{task}/²/public/x",
    "/sandbox/blobs/{task}/0/private/x?expires={digits}&signature=abc",
    "/sandbox/blobs/{task}/0/private/x?expires=²&signature=abc",
    "/sandbox/blobs/{task}/0/private/x?expires=1&signature=%ED%A0%80",
    "/sandbox/blobs/%0A/0/public/x",
    "/sandbox/blobs/x",
    "/sandbox/livelog/log/{digits}",
    "/sandbox/livelog/log/%0A",
    "/sandbox/livelog/log/..%2F..%2Fx",
    "/sandbox/livelog/log/",
    "/sandbox/livelog/{task}",
    "/schemas/queue/v1/%0A.json",
    "/no/such/thing",
])
def test_malformed_sandbox_url_is_4xx(sandbox, pending_task, path):
    """The sandbox's own routes answer in the same error format."""
    url = sandbox.root_url + path.format(task=pending_task, digits="9" * 5000)
    started = time.monotonic()
    res = requests.get(url, timeout=10)
    assert time.monotonic() - started < 5
    assert 400 <= res.status_code < 500, (res.status_code, res.text[:300])
    assert_error(res, res.status_code)


def test_blob_put_with_huge_run_id_is_4xx(sandbox, pending_task):
    """A PUT to a blob path that names no run is a 404 in the error format."""
    url = f"{sandbox.root_url}/sandbox/blobs/{pending_task}/{'9' * 5000}/public/x"
    assert_error(requests.put(url, data=b"x", timeout=10), 404, "ResourceNotFound")


def test_content_length_beyond_sqlite_is_400(sandbox, queue):
    """An artifact's declared size must fit the database: 400, not 500."""
    task_id, claim, worker = create_and_claim(queue, sandbox.root_url)
    path = f"/task/{task_id}/runs/0/artifacts/public%2Fbig"
    url = f"{sandbox.root_url}{API}{path}"
    body = json.dumps({"storageType": "s3", "contentType": "text/plain",
                       "expires": taskcluster.fromNowJSON("1 day")})
    body = body[:-1] + ', "contentLength": ' + str(2**70) + "}"
    header = _sign(url, "POST", claim["credentials"], content=body.encode(),
                   content_type="application/json",
                   ext={"certificate": json.loads(claim["credentials"]["certificate"])})
    res = requests.post(url, data=body, timeout=10,
                        headers={"Authorization": header, "Content-Type": "application/json"})
    assert_error(res, 400, "InputValidationError")
