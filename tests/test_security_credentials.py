"""A 401, never a 500, for malformed credentials: malformed Authorization headers,
a Host or forwarded port no client could have signed, malformed `ext` and
certificates, unusual clientIds and garbage bewits, each an AuthenticationFailed
in Taskcluster's error format.
"""

from __future__ import annotations

import base64
import json
import time

import mohawk
import pytest
import requests
from helpers import API, new_task_id
from security_helpers import _deep, _sign, assert_error

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
