"""What the security tests (tests/test_security_*.py) share besides their
`pending_task` fixture (in conftest.py): the check that an answer is a 4xx in
Taskcluster's error format, Hawk headers made with mohawk, and deep JSON.

The tests check security and robustness over real HTTP: no secret in any answer,
a 401 for every malformed credential, a 4xx in Taskcluster's error format for
every malformed input, long polls that end, uploads that stay consistent, bounds.
"""

from __future__ import annotations

import base64
import json

import mohawk
import requests

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


def _sign(url: str, method: str, credentials: dict, ext: dict | None = None,
          content: bytes = b"", content_type: str = "") -> str:
    """A Hawk header for `url` made with `credentials`."""
    return mohawk.Sender(
        {"id": credentials["clientId"], "key": credentials["accessToken"], "algorithm": "sha256"},
        url, method, content=content, content_type=content_type,
        ext=base64.b64encode(json.dumps(ext or {}).encode()).decode(),
    ).request_header


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels
