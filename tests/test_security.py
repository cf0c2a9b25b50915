"""Security and robustness over real HTTP: no secret in any answer, a 401 for
every malformed credential, a 4xx in Taskcluster's error format for every
malformed input, long polls that end, uploads that stay consistent, bounds."""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
import urllib.parse

import mohawk
import pytest
import requests
import slugid
import taskcluster
from helpers import (
    API,
    create_and_claim,
    make_queue,
    make_task,
    new_queue_id,
    new_task_id,
    raw_request,
    s3_artifact,
    wait_until,
)

from tc_notebook.sandbox import SandboxProcess
from tc_notebook.sandbox.auth import certificate_text
from tc_notebook.worker.livelog import LiveLog, LiveLogServer

# -- checking answers -----------------------------------------------------------


def assert_error(res: requests.Response, status: int, code: str | None = None) -> dict:
    """A `status` answer in Taskcluster's error format; returns the body."""
    assert res.status_code == status, (res.status_code, res.text[:500])
    assert res.headers["Content-Type"].startswith("application/json"), res.headers
    body = res.json()
    assert isinstance(body["message"], str) and body["message"], body
    assert "requestInfo" in body, body
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_reveals_none(res: requests.Response, secrets: list[str]) -> None:
    """No secret in the answer's body or headers."""
    seen = res.text + json.dumps(dict(res.headers))
    for secret in secrets:
        assert secret not in seen, f"the answer reveals {secret!r}: {res.text[:300]}"


def _mac_of(header: str) -> str:
    return mohawk.util.parse_authorization_header(header)["mac"]


def _sign(url: str, method: str, credentials: dict, ext: dict | None = None,
          content: bytes = b"", content_type: str = "") -> str:
    """A Hawk header for `url` made with `credentials`."""
    return mohawk.Sender(
        {"id": credentials["clientId"], "key": credentials["accessToken"], "algorithm": "sha256"},
        url, method, content=content, content_type=content_type,
        ext=base64.b64encode(json.dumps(ext or {}).encode()).decode(),
    ).request_header


@pytest.fixture
def pending_task(queue) -> str:
    """A pending task of the session sandbox."""
    task_id = new_task_id()
    queue.createTask(task_id, make_task())
    return task_id


# -- 1. no secret in any answer ---------------------------------------------------


def test_wrong_key_is_answered_without_the_expected_mac(sandbox, pending_task, caplog):
    """A Hawk header signed with a wrong key: 'Bad mac', and neither the MAC the
    server computed nor the root token appears in the answer or the log."""
    caplog.set_level(logging.DEBUG)
    url = f"{sandbox.root_url}{API}/task/{pending_task}/cancel"
    right = _sign(url, "POST", sandbox.credentials)
    wrong = _sign(url, "POST", {"clientId": "root", "accessToken": "not-the-token"})
    # The server would compute the MAC of `right` (same ts and nonce): resign
    # the wrong header's timestamp and nonce with the true key to learn it.
    fields = mohawk.util.parse_authorization_header(wrong)
    expected = mohawk.Sender(
        {"id": "root", "key": sandbox.credentials["accessToken"], "algorithm": "sha256"},
        url, "POST", content=b"", content_type="", ext=fields["ext"],
        _timestamp=fields["ts"], nonce=fields["nonce"],
    ).request_header
    res = requests.post(url, headers={"Authorization": wrong}, timeout=10)
    body = assert_error(res, 401, "AuthenticationFailed")
    assert "Bad mac" in body["message"]
    secrets = [_mac_of(expected), _mac_of(right), sandbox.credentials["accessToken"]]
    assert_reveals_none(res, secrets)
    for secret in secrets:
        assert secret not in caplog.text
    assert taskcluster.Queue(sandbox.client_options()).status(pending_task)["status"][
        "state"] == "pending"


def test_wrong_bewit_is_answered_without_the_expected_mac(sandbox, queue, caplog):
    """A signed URL made with a wrong key: 401, and the right bewit's MAC is not in it."""
    caplog.set_level(logging.DEBUG)
    task_id, claim, worker = create_and_claim(queue, sandbox.root_url)
    s3_artifact(worker, task_id, 0, "private/secret.txt", b"secret bytes")
    forged = make_queue(sandbox.root_url, {"clientId": "root", "accessToken": "guess"})
    genuine = make_queue(sandbox.root_url, sandbox.credentials)
    args = ("getArtifact", task_id, 0, "private/secret.txt")
    bad_url = forged.buildSignedUrl(*args)
    good_url = genuine.buildSignedUrl(*args)
    good_bewit = urllib.parse.parse_qs(urllib.parse.urlsplit(good_url).query)["bewit"][0]
    good_mac = base64.urlsafe_b64decode(good_bewit + "==").decode().split("\\")[2]
    res = requests.get(bad_url, allow_redirects=False, timeout=10)
    body = assert_error(res, 401, "AuthenticationFailed")
    assert "Bad mac" in body["message"]
    assert_reveals_none(res, [good_mac, good_bewit, sandbox.credentials["accessToken"]])
    assert good_mac not in caplog.text
    assert requests.get(good_url, allow_redirects=False, timeout=10).status_code == 303


def test_forged_certificate_is_answered_without_its_signature(sandbox, queue):
    """Temporary credentials with altered scopes: 401 naming the certificate,
    without the signature the server computed or the temporary token."""
    now = datetime.datetime.now(datetime.timezone.utc)
    temp = taskcluster.createTemporaryCredentials(
        "root", sandbox.credentials["accessToken"], now - datetime.timedelta(minutes=1),
        now + datetime.timedelta(hours=1), ["queue:status:*"])
    genuine = json.loads(temp["certificate"])
    forged = {**genuine, "scopes": ["*"]}
    text = certificate_text(forged, temp["clientId"])
    expected = base64.b64encode(hmac.new(sandbox.credentials["accessToken"].encode(),
                                         text.encode(), hashlib.sha256).digest()).decode()
    url = f"{sandbox.root_url}{API}/task/{new_task_id()}"
    header = _sign(url, "GET", temp, ext={"certificate": forged})
    res = requests.get(url, headers={"Authorization": header}, timeout=10)
    body = assert_error(res, 401, "AuthenticationFailed")
    assert "certificate" in body["message"]
    token = temp["accessToken"]
    token = token.decode() if isinstance(token, bytes) else token
    assert_reveals_none(res, [expected, token, sandbox.credentials["accessToken"]])


def test_replaying_anything_from_a_401_does_not_authenticate(sandbox, pending_task):
    """The attack of the issue: take every token-like word of the 401 and use it
    as the MAC; none of them is accepted."""
    url = f"{sandbox.root_url}{API}/task/{pending_task}/cancel"
    wrong = _sign(url, "POST", {"clientId": "root", "accessToken": "not-the-token"})
    res = requests.post(url, headers={"Authorization": wrong}, timeout=10)
    words = {w.strip("`'\".,;:()") for w in res.text.replace("\\n", " ").split()}
    candidates = [w for w in words if len(w) >= 40]
    mac = _mac_of(wrong)
    for candidate in candidates:
        replay = wrong.replace(f'mac="{mac}"', f'mac="{candidate}"')
        again = requests.post(url, headers={"Authorization": replay}, timeout=10)
        assert again.status_code == 401, again.text


# -- 2. a 401, never a 500, for malformed credentials ------------------------------


MALFORMED_HEADERS = [
    "garbage",
    "Hawk",
    "Hawk ",
    'Hawk ts="1", nonce="n", mac="m"',
    'Hawk id="root", nonce="n", mac="m"',
    'Hawk id="root", ts="1", mac="m"',
    'Hawk id="root", ts="1", nonce="n"',
    'Hawk id="root", ts="abc", nonce="n", mac="m"',
    'Hawk id="root", ts="1e400", nonce="n", mac="m"',
    'Hawk id="root", ts="-5", nonce="n", mac="m"',
    'Hawk id="root", ts="99999999999999999999999999", nonce="n", mac="m"',
    'Hawk id="root", ts="²", nonce="n", mac="m"',
    'Hawk id="root", ts="1", nonce="n", mac="m", ext="!!!"',
    'Bearer abc',
]


@pytest.mark.parametrize("header", MALFORMED_HEADERS)
def test_malformed_authorization_header_is_401(sandbox, header):
    """Each is an AuthenticationFailed in the error format."""
    url = f"{sandbox.root_url}{API}/task/{new_task_id()}"
    res = requests.get(url, headers={"Authorization": header.encode("utf-8")}, timeout=10)
    assert_error(res, 401, "AuthenticationFailed")


@pytest.mark.parametrize("headers", [
    {"Host": "127.0.0.1:abc"},
    {"Host": "127.0.0.1:99999"},
    {"Host": "127.0.0.1:"},
    {"Host": "[::1"},
    {"Host": "bad host"},
    {"X-Forwarded-Port": "abc"},
    {"X-Forwarded-Port": "0"},
])
def test_bad_host_or_port_is_401(sandbox, headers):
    """A Host or forwarded port no client could have signed: 401, and an
    anonymous request with the same header is still served."""
    url = f"{sandbox.root_url}{API}/task/{new_task_id()}/status"
    signed = _sign(url, "GET", sandbox.credentials)
    res = requests.get(url, headers={"Authorization": signed, **headers}, timeout=10)
    assert_error(res, 401, "AuthenticationFailed")
    anonymous = requests.get(url, headers=headers, timeout=10)
    assert_error(anonymous, 404, "ResourceNotFound")


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _ext_header(url: str, ext_text: str, client_id: str = "temp/x") -> str:
    """A Hawk header whose ext is `ext_text` (raw JSON), signed with a made-up key."""
    return mohawk.Sender(
        {"id": client_id, "key": "made-up", "algorithm": "sha256"}, url, "GET",
        content=b"", content_type="", ext=base64.b64encode(ext_text.encode()).decode(),
    ).request_header


def _certificate(**changes) -> dict:
    now_ms = int(time.time() * 1000)
    cert = {"version": 1, "scopes": ["*"], "start": now_ms - 1000, "expiry": now_ms + 60000,
            "seed": "s" * 44, "signature": "x" * 44, "issuer": "root"}
    cert.update(changes)
    return cert


@pytest.mark.parametrize("ext_text", [
    _deep(2_000),
    json.dumps({"certificate": json.loads(_deep(500))}),
    json.dumps({"certificate": _certificate(start="abc")}),
    json.dumps({"certificate": _certificate(expiry=None)}),
    json.dumps({"certificate": _certificate(issuer=[1])}),
    json.dumps({"certificate": _certificate(seed=12345)}),
    json.dumps({"certificate": _certificate(version=True)}),
    json.dumps({"certificate": _certificate(scopes=["\ud800"])}),
    json.dumps({"certificate": _certificate(scopes="*")}),
    json.dumps({"certificate": _certificate(start=float("nan"))}),
    json.dumps({"certificate": _certificate(expiry=float("inf"))}),
    json.dumps({"certificate": _certificate(start=10**400)}),
    json.dumps({"certificate": json.dumps(_certificate(signature=None))}),
    json.dumps({"certificate": "{not json"}),
    json.dumps({"certificate": _certificate(issuer="\ud800")}),
    json.dumps({"authorizedScopes": ["\udfff"]}),
    json.dumps({"authorizedScopes": "*"}),
    json.dumps([1, 2]),
])
def test_malformed_ext_is_401(sandbox, ext_text):
    """Deep nesting, fields of the wrong type, NaN times, lone surrogates: 401."""
    url = f"{sandbox.root_url}{API}/task/{new_task_id()}"
    res = requests.get(url, headers={"Authorization": _ext_header(url, ext_text)}, timeout=10)
    assert_error(res, 401, "AuthenticationFailed")


@pytest.mark.parametrize("client_id", ["a\xff", "x" * 5000])
def test_unusual_client_id_is_401(sandbox, client_id):
    """A clientId no client has (odd bytes, very long): 401, not a database error."""
    url = f"{sandbox.root_url}{API}/task/{new_task_id()}"
    header = (f'Hawk id="{client_id}", ts="{int(time.time())}", nonce="n", mac="bWFj",'
              f' ext="{base64.b64encode(b"{}").decode()}"')
    res = requests.get(url, headers={"Authorization": header.encode("latin-1")}, timeout=10)
    assert_error(res, 401, "AuthenticationFailed")


@pytest.mark.parametrize("bewit", ["", "!!!", "a", base64.urlsafe_b64encode(b"x\\y").decode(),
                                   base64.urlsafe_b64encode(b"root\\abc\\mac\\").decode(),
                                   base64.urlsafe_b64encode(b"\xff\xfe\\1\\2\\3").decode(),
                                   "A" * 20000])
def test_malformed_bewit_is_401(sandbox, queue, bewit):
    """A garbage bewit on a real artifact URL: 401 (or 414 for the absurdly long one)."""
    url = f"{sandbox.root_url}{API}/task/{new_task_id()}/runs/0/artifacts/private%2Fx?bewit={bewit}"
    res = requests.get(url, allow_redirects=False, timeout=10)
    assert res.status_code < 500
    if len(bewit) < 10000:
        assert_error(res, 401, "AuthenticationFailed")


# -- 3. a 4xx in the error format for malformed input -------------------------------


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


# -- 4. no request hangs ------------------------------------------------------------


def _raw_claim_work(sandbox, task_queue_id: str) -> socket.socket:
    """Start a signed claimWork over a raw socket and leave it waiting."""
    path = f"{API}/claim-work/{task_queue_id}"
    url = f"{sandbox.root_url}{path}"
    body = json.dumps({"workerGroup": "g", "workerId": "w", "tasks": 1}).encode()
    header = _sign(url, "POST", sandbox.credentials, content=body,
                   content_type="application/json")
    where = urllib.parse.urlsplit(sandbox.root_url)
    host = where.netloc
    conn = socket.create_connection((where.hostname, where.port), timeout=10)
    conn.sendall((f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {header}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                  ).encode() + body)
    return conn


def test_long_poll_ends_when_its_client_goes_away(make_sandbox):
    """claimWork waits 30 s for work; its client leaves; the wait ends within seconds."""
    sandbox = make_sandbox(claim_work_wait=30)
    service = sandbox.server.service
    connections = [_raw_claim_work(sandbox, new_queue_id()) for _ in range(5)]
    wait_until(lambda: service.long_polls.used == 5, 10, message="5 waiting claimWork")
    assert len(service.waited_on) == 5
    for conn in connections:
        conn.close()
    wait_until(lambda: service.long_polls.used == 0, 5, message="the long polls to end")
    assert service.waited_on == []


def test_waiters_do_not_accumulate_per_queue_name(make_sandbox):
    """Polling 200 different queue names leaves no bookkeeping behind."""
    sandbox = make_sandbox(claim_work_wait=0)
    queue = make_queue(sandbox.root_url, sandbox.credentials)
    for _ in range(200):
        queue.claimWork(new_queue_id(), {"workerGroup": "g", "workerId": "w", "tasks": 1})
    assert sandbox.server.service.waited_on == []
    assert sandbox.server.service.long_polls.used == 0


def test_long_polls_are_capped(make_sandbox):
    """Past the cap a long poll is a 429 in the error format; the others go on."""
    sandbox = make_sandbox(claim_work_wait=30, max_long_polls=3)
    service = sandbox.server.service
    connections = [_raw_claim_work(sandbox, new_queue_id()) for _ in range(3)]
    try:
        wait_until(lambda: service.long_polls.used == 3, 10, message="3 waiting claimWork")
        queue = make_queue(sandbox.root_url, sandbox.credentials)
        with pytest.raises(taskcluster.TaskclusterRestFailure) as failure:
            queue.claimWork(new_queue_id(), {"workerGroup": "g", "workerId": "w", "tasks": 1})
        assert failure.value.status_code == 429
        assert queue.ping()["alive"]
    finally:
        for conn in connections:
            conn.close()
    wait_until(lambda: service.long_polls.used == 0, 5, message="the long polls to end")


# -- 5. uploads ------------------------------------------------------------------


def test_late_put_keeps_a_newer_create_artifact(sandbox, queue):
    """A PUT that finishes after a newer createArtifact of the same name does
    not write the older row back."""
    task_id, claim, worker = create_and_claim(queue, sandbox.root_url)
    name = "public/late.txt"
    first = worker.createArtifact(task_id, 0, name, {
        "storageType": "s3", "contentType": "text/plain",
        "expires": taskcluster.fromNowJSON("1 day")})
    later = taskcluster.fromNowJSON("2 days")
    worker.createArtifact(task_id, 0, name, {
        "storageType": "s3", "contentType": "text/plain", "expires": later})
    put = requests.put(first["putUrl"], data=b"12345", timeout=10,
                       headers={"Content-Type": "text/plain"})
    assert put.status_code == 200, put.text
    info = queue.artifactInfo(task_id, 0, name)
    assert info["expires"] == later[:23] + "Z"  # stored to the millisecond
    assert info["contentLength"] == 5


def test_concurrent_puts_leave_length_equal_to_bytes(sandbox, queue):
    """Two uploads to one artifact, interleaved: the stored bytes and the
    recorded contentLength agree."""
    task_id, claim, worker = create_and_claim(queue, sandbox.root_url)
    name = "public/raced.bin"
    reply = worker.createArtifact(task_id, 0, name, {
        "storageType": "s3", "contentType": "application/octet-stream",
        "expires": taskcluster.fromNowJSON("1 day")})
    turns = [threading.Event() for _ in range(6)]

    def body(size: int, mine: range):
        for turn in mine:
            assert turns[turn].wait(10)
            yield b"a" * size
            if turn + 1 < len(turns):
                turns[turn + 1].set()

    results: dict[str, int] = {}

    def upload(label: str, size: int, mine: range) -> None:
        res = requests.put(reply["putUrl"], data=body(size, mine), timeout=30,
                           headers={"Content-Type": "application/octet-stream"})
        results[label] = res.status_code

    threads = [threading.Thread(target=upload, args=("big", 70000, range(0, 6, 2))),
               threading.Thread(target=upload, args=("small", 10, range(1, 6, 2)))]
    for thread in threads:
        thread.start()
    turns[0].set()
    for thread in threads:
        thread.join(30)
    assert results == {"big": 200, "small": 200}
    stored = requests.get(queue.buildUrl("getArtifact", task_id, 0, name), timeout=10).content
    assert len(stored) in (3 * 70000, 3 * 10)
    assert queue.artifactInfo(task_id, 0, name)["contentLength"] == len(stored)


def test_upload_cut_by_a_crash_leaves_nothing(tmp_path):
    """kill -9 during an upload: after the restart no `.partial` file is left
    and the artifact has no bytes to serve."""
    data_dir = tmp_path / "data"
    sandbox = SandboxProcess(data_dir, "--capacity", "0").start()
    try:
        queue = make_queue(sandbox.root_url, sandbox.credentials)
        task_queue_id = new_queue_id()
        task_id = slugid.nice()
        queue.createTask(task_id, make_task(task_queue_id))
        claim = queue.claimWork(task_queue_id, {"workerGroup": "g", "workerId": "w",
                                                "tasks": 1})["tasks"][0]
        worker = make_queue(sandbox.root_url, claim["credentials"])
        reply = worker.createArtifact(task_id, 0, "public/cut.bin", {
            "storageType": "s3", "contentType": "application/octet-stream",
            "expires": taskcluster.fromNowJSON("1 day")})
        release = threading.Event()

        def body():
            yield b"x" * 100_000
            release.wait(20)
            yield b"y"

        upload = threading.Thread(target=lambda: _ignore_errors(
            requests.put, reply["putUrl"], data=body(), timeout=30,
            headers={"Content-Type": "application/octet-stream"}))
        upload.start()
        wait_until(lambda: list(data_dir.glob("blobs/*/*/.*.partial")), 10,
                   message="the upload's partial file")
        sandbox.kill()
        release.set()
        upload.join(30)
        assert list(data_dir.glob("blobs/*/*/.*.partial"))  # what the crash left
        sandbox.start()
        assert not list(data_dir.glob("blobs/*/*/.*.partial"))
        url = make_queue(sandbox.root_url).buildUrl("getArtifact", task_id, 0, "public/cut.bin")
        res = requests.get(url, timeout=10)
        assert_error(res, 404, "ResourceNotFound")
    finally:
        sandbox.stop()


def _ignore_errors(function, *args, **kwargs) -> None:
    try:
        function(*args, **kwargs)
    except requests.RequestException:
        pass


# -- 7. bounded resources --------------------------------------------------------


def test_each_entry_has_its_own_body_limit(sandbox, queue):
    """reportCompleted takes no input: a 100 KiB body is a 413 in the error
    format, while createTask takes a 1 MiB task."""
    task_id, claim, worker = create_and_claim(queue, sandbox.root_url)
    url = f"{sandbox.root_url}{API}/task/{task_id}/runs/0/completed"
    res = raw_request("POST", url, sandbox.credentials, body={"pad": "x" * 100_000})
    assert_error(res, 413, "InputTooLarge")
    assert queue.status(task_id)["status"]["state"] == "running"
    big = new_task_id()
    queue.createTask(big, make_task(payload={"pad": "x" * 1024 * 1024}))
    assert len(queue.task(big)["payload"]["pad"]) == 1024 * 1024


def test_blob_over_the_limit_is_413(make_sandbox):
    """An upload over max_blob_bytes: 413 in the error format, nothing stored."""
    sandbox = make_sandbox(max_blob_bytes=1000)
    queue = make_queue(sandbox.root_url, sandbox.credentials)
    task_id, claim, worker = create_and_claim(queue, sandbox.root_url)
    reply = worker.createArtifact(task_id, 0, "public/big.bin", {
        "storageType": "s3", "contentType": "application/octet-stream",
        "expires": taskcluster.fromNowJSON("1 day")})

    def chunks():
        for _ in range(10):
            yield b"z" * 500

    res = requests.put(reply["putUrl"], data=chunks(), timeout=10,
                       headers={"Content-Type": "application/octet-stream"})
    assert_error(res, 413, "InputTooLarge")
    res = requests.get(queue.buildUrl("getArtifact", task_id, 0, "public/big.bin"), timeout=10)
    assert_error(res, 404, "ResourceNotFound")


def test_live_log_readers_are_counted_and_released(tmp_path):
    """The worker's live-log server: a reader that goes away frees its place at
    once; past the cap a reader gets a 503; unknown or malformed tokens a 404."""

    async def scenario() -> None:
        server = LiveLogServer(max_readers=3)
        await server.start()
        log = server.open(tmp_path / "run.log")
        log.write(b"first line\n")
        path = urllib.parse.urlsplit(server.url_of(log)).path

        async def reader(target: str) -> tuple[asyncio.StreamWriter, bytes]:
            stream, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            return writer, await stream.read(4096)

        async def until(predicate, what: str) -> None:
            give_up = asyncio.get_running_loop().time() + 5
            while not predicate():
                assert asyncio.get_running_loop().time() < give_up, f"timed out: {what}"
                await asyncio.sleep(0.02)

        try:
            readers = [await reader(path) for _ in range(3)]
            assert all(head.startswith(b"HTTP/1.1 200") for _, head in readers)
            await until(lambda: server.readers == 3, "3 live-log readers")
            extra, head = await reader(path)
            assert head.startswith(b"HTTP/1.1 503"), head
            extra.close()
            for bad in ("/log/", "/log/%0A", f"/log/{'x' * 5000}", f"{path}/more", "/log/..%2F"):
                writer, head = await reader(bad)
                assert head.startswith(b"HTTP/1.1 404"), (bad, head)
                writer.close()
            for writer, _ in readers:
                writer.close()
            await until(lambda: server.readers == 0, "the readers to be released")
        finally:
            log.close()
            await server.stop()

    asyncio.run(scenario())


def test_live_log_readers_miss_no_write(tmp_path):
    """Every reader waiting on a live log wakes for a write, and one that read
    before a write it has not waited for yet sees it at once (none stays asleep)."""

    async def scenario() -> None:
        log = LiveLog(tmp_path / "run.log")
        try:
            before = log.version
            waiting = [asyncio.create_task(log.changed_since(before)) for _ in range(3)]
            await asyncio.sleep(0)  # let them wait
            late_reader_saw = log.version  # read the file, found nothing, not waiting yet
            log.write(b"one line\n")
            await asyncio.wait_for(asyncio.gather(*waiting), 2)
            await asyncio.wait_for(log.changed_since(late_reader_saw), 2)
            current = log.version
            closing = asyncio.create_task(log.changed_since(current))
            await asyncio.sleep(0)
            assert not closing.done()
            log.close()
            await asyncio.wait_for(closing, 2)
        finally:
            log.close()

    asyncio.run(scenario())
