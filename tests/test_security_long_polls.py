"""No request hangs: a waiting claimWork ends when its client goes away, waiting
leaves no bookkeeping behind per queue name, and long polls are capped (a 429 in
the error format past the cap).
"""

from __future__ import annotations

import json
import socket
import urllib.parse

import pytest
import taskcluster
from helpers import API, new_queue_id, root_queue, wait_until
from security_helpers import _sign


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
    claims = sandbox.server.service.claims
    connections = [_raw_claim_work(sandbox, new_queue_id()) for _ in range(5)]
    wait_until(lambda: claims.long_polls.used == 5, 10, message="5 waiting claimWork")
    assert len(claims.waited_on) == 5
    for conn in connections:
        conn.close()
    wait_until(lambda: claims.long_polls.used == 0, 5, message="the long polls to end")
    assert claims.waited_on == []


def test_waiters_do_not_accumulate_per_queue_name(make_sandbox):
    """Polling 200 different queue names leaves no bookkeeping behind."""
    sandbox = make_sandbox(claim_work_wait=0)
    queue = root_queue(sandbox)
    for _ in range(200):
        queue.claimWork(new_queue_id(), {"workerGroup": "g", "workerId": "w", "tasks": 1})
    assert sandbox.server.service.claims.waited_on == []
    assert sandbox.server.service.claims.long_polls.used == 0


def test_long_polls_are_capped(make_sandbox):
    """Past the cap a long poll is a 429 in the error format; the others go on."""
    sandbox = make_sandbox(claim_work_wait=30, max_long_polls=3)
    claims = sandbox.server.service.claims
    connections = [_raw_claim_work(sandbox, new_queue_id()) for _ in range(3)]
    try:
        wait_until(lambda: claims.long_polls.used == 3, 10, message="3 waiting claimWork")
        queue = root_queue(sandbox)
        with pytest.raises(taskcluster.TaskclusterRestFailure) as failure:
            queue.claimWork(new_queue_id(), {"workerGroup": "g", "workerId": "w", "tasks": 1})
        assert failure.value.status_code == 429
        assert queue.ping()["alive"]
    finally:
        for conn in connections:
            conn.close()
    wait_until(lambda: claims.long_polls.used == 0, 5, message="the long polls to end")
