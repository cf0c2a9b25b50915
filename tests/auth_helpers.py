"""What the authentication tests (tests/test_auth_*.py) share besides their
`task_id` fixture (a pending task, in conftest.py): fresh clients with given
scopes, and temporary credentials.
"""

from __future__ import annotations

import datetime
import uuid

import taskcluster
from helpers import make_queue


def _client(sandbox, scopes, **options):
    """Register a fresh client with the given scopes; return (credentials, Queue)."""
    client_id = f"learner-{uuid.uuid4().hex[:8]}"
    token = sandbox.add_client(client_id, scopes)
    assert isinstance(token, str) and token
    creds = {"clientId": client_id, "accessToken": token}
    return creds, make_queue(sandbox.root_url, creds, **options)


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _temp_creds(issuer, scopes, *, start=-60, expiry=3600, name=None):
    """taskcluster.createTemporaryCredentials relative to now (seconds)."""
    now = _utcnow()
    return taskcluster.createTemporaryCredentials(
        issuer["clientId"], issuer["accessToken"], now + datetime.timedelta(seconds=start),
        now + datetime.timedelta(seconds=expiry), scopes, name=name)
