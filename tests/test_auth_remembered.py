"""A certificate is checked in full once per distinct ext, then remembered
(tc_notebook/sandbox/auth.py): what it grants must still end when the
certificate expires or its issuer changes."""

from __future__ import annotations

import time

import pytest
import taskcluster
from auth_helpers import _client, _temp_creds
from helpers import make_queue

from tc_notebook.sandbox import auth


def _status_ok(sandbox, credentials, task_id):
    make_queue(sandbox.root_url, credentials).status(task_id)


def test_a_changed_issuer_is_checked_again(sandbox, task_id):
    """Temporary credentials stop working once their issuer loses the
    scopes they claim, though they worked (and were remembered) before."""
    issuer, _ = _client(sandbox, ["queue:status:*", "queue:get-task:*"])
    temp = _temp_creds(issuer, ["queue:get-task:*"])
    queue = make_queue(sandbox.root_url, temp)
    queue.task(task_id)
    queue.task(task_id)  # remembered by now
    sandbox.add_client(issuer["clientId"], ["queue:status:*"])  # same id, a new token
    with pytest.raises(taskcluster.TaskclusterAuthFailure, match="issuer does not have"):
        queue.task(task_id)


def test_a_remembered_certificate_still_expires(sandbox, task_id, monkeypatch):
    """Time is checked on every request, remembered or not."""
    temp = _temp_creds(sandbox.credentials, ["queue:status:*"], expiry=60)
    _status_ok(sandbox, temp, task_id)
    authenticator = auth.Authenticator(sandbox.server.store.client)
    header_time = time.time()
    ext, key, scopes = authenticator._ext_key_scopes(temp["clientId"], _ext_of(temp))
    token = temp["accessToken"]
    assert key == (token.decode() if isinstance(token, bytes) else token)
    assert scopes == ["queue:status:*"]
    monkeypatch.setattr(auth.time, "time", lambda: header_time + 60 + 6 * 60)
    with pytest.raises(auth.APIError, match="expiry is in the past"):
        authenticator._ext_key_scopes(temp["clientId"], _ext_of(temp))


def test_remembered_certificates_are_bounded(sandbox):
    """However many certificates come, only the latest are kept."""
    authenticator = auth.Authenticator(sandbox.server.store.client)
    count = auth.MAX_REMEMBERED_CERTIFICATES + 5
    for _ in range(count):
        temp = _temp_creds(sandbox.credentials, ["queue:status:*"])
        authenticator._ext_key_scopes(temp["clientId"], _ext_of(temp))
    assert len(authenticator._verified) == auth.MAX_REMEMBERED_CERTIFICATES


def _ext_of(temp: dict) -> str:
    """The Hawk ext the official client sends with temporary credentials."""
    client = taskcluster.Queue({"rootUrl": "http://127.0.0.1", "credentials": temp})
    ext = client.makeHawkExt()
    return ext.decode() if isinstance(ext, bytes) else ext
