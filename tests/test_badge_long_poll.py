"""The sandbox's long poll on a task's status (what StatusBadge waits on):
answers at once when the status differs from `since`, else at the task's
next transition, else unchanged after its hold; 400 for malformed arguments,
404 for no such task (and on Taskcluster itself), never a 5xx; bounded per
task and in all; every wait answers when the sandbox stops."""

from __future__ import annotations

import socket
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from helpers import create_and_claim, make_task, new_task_id, root_queue, wait_until
from rig import require_rig

from tc_notebook.sandbox import status_watch
from tc_notebook.terms import status_version

PATH = "/api/sandbox/v1/task/{}/status"


def long_poll(sandbox, task_id: str, timeout: float = 30, **query) -> requests.Response:
    """The long poll, anonymous, as the badge sends it."""
    return requests.get(sandbox.root_url + PATH.format(task_id), params=query, timeout=timeout)


def since(status: dict) -> str:
    return status_version(status)


@pytest.fixture
def watched(make_sandbox):
    """A sandbox without a worker (the tests claim and report), its watch,
    a root client and a pending task's id."""
    sandbox = make_sandbox()
    queue = root_queue(sandbox)
    task_id = new_task_id()
    queue.createTask(task_id, make_task())
    return sandbox, sandbox.server.status_watch, queue, task_id


def test_without_since_or_with_another_it_answers_at_once_as_status_does(watched):
    sandbox, _watch, queue, task_id = watched
    expected = queue.status(task_id)
    started = time.monotonic()
    assert long_poll(sandbox, task_id).json() == expected
    stale = long_poll(sandbox, task_id, since="0:unscheduled")
    assert stale.status_code == 200 and stale.json() == expected
    assert time.monotonic() - started < 2  # neither waited for a change


def test_it_answers_at_the_tasks_next_transition(watched):
    sandbox, watch, queue, task_id = watched
    seen = queue.status(task_id)["status"]
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(long_poll, sandbox, task_id, since=since(seen))
        wait_until(lambda: watch.waited_on == [task_id], message="the poll waiting")
        claim = queue.claimWork(seen["taskQueueId"], {"workerGroup": "g", "workerId": "w",
                                                      "tasks": 1})
        claimed = time.monotonic()
        status = answer.result(timeout=10).json()["status"]
        latency = time.monotonic() - claimed
    assert status["state"] == "running" and status == claim["tasks"][0]["status"]
    assert latency < 0.5, latency
    assert watch.waited_on == [] and watch.slots.used == 0


def test_unchanged_it_answers_the_same_status_after_its_hold(watched):
    """A reclaim (a new takenUntil) is no change of `since`'s: the wait goes on."""
    sandbox, watch, queue, _task_id = watched
    task_id, claim, worker = create_and_claim(queue, sandbox.root_url)
    watch.hold = 1.5
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        answer = pool.submit(long_poll, sandbox, task_id, since=since(claim["status"]))
        wait_until(lambda: watch.waited_on == [task_id], message="the poll waiting")
        worker.reclaimTask(task_id, 0)
        reply = answer.result(timeout=10)
        waited = time.monotonic() - started
    assert reply.status_code == 200 and reply.json() == queue.status(task_id)
    assert reply.json()["status"]["state"] == "running"
    assert 1.4 <= waited < 5, waited


@pytest.mark.parametrize("bad_id", [
    "nope", "x" * 22, "-" * 300, "%2Fetc%2Fpasswd", "%0A", "", new_task_id() + "%0A",
])
def test_a_malformed_task_id_is_a_400(watched, bad_id):
    sandbox, *_ = watched
    answer = requests.get(sandbox.root_url + PATH.format(bad_id), timeout=10)
    assert answer.status_code == 400, (answer.status_code, answer.text[:200])
    assert answer.json()["code"] == "InvalidRequestArguments"


@pytest.mark.parametrize("query", [
    {"since": ""}, {"since": "running"}, {"since": "1:done"}, {"since": "01:pending"},
    {"since": "1:running\n"}, {"since": "9" * 40 + ":pending"}, {"wait": "5"},
])
def test_a_malformed_query_is_a_400(watched, query):
    sandbox, _watch, _queue, task_id = watched
    answer = long_poll(sandbox, task_id, timeout=10, **query)
    assert answer.status_code == 400, (answer.status_code, answer.text[:200])
    assert answer.json()["code"] == "InvalidRequestArguments"


def test_no_such_task_is_a_404_and_no_method_but_get_is_served(watched):
    sandbox, _watch, _queue, task_id = watched
    missing = long_poll(sandbox, new_task_id(), since="1:pending")
    assert missing.status_code == 404 and missing.json()["code"] == "ResourceNotFound"
    posted = requests.post(sandbox.root_url + PATH.format(task_id), timeout=10)
    assert posted.status_code == 404


def test_taskcluster_itself_has_no_such_path():
    """On a real deployment (the rig) the path is a 404: the badge then polls."""
    env = require_rig()
    url = env["TASKCLUSTER_ROOT_URL"].rstrip("/") + PATH.format(new_task_id())
    assert requests.get(url, timeout=10).status_code == 404


def _held(sandbox, task_id: str, seen: str) -> socket.socket:
    """A long poll over a raw socket, left waiting (closing the socket leaves)."""
    where = urllib.parse.urlsplit(sandbox.root_url)
    conn = socket.create_connection((where.hostname, where.port), timeout=10)
    path = PATH.format(task_id) + "?since=" + seen
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {where.netloc}\r\n\r\n".encode())
    return conn


def test_waits_are_bounded_per_task_and_in_all(watched, monkeypatch):
    """Past a bound: a 429 in the error format, the waits under way go on; a
    client that leaves frees its place."""
    sandbox, watch, queue, task_id = watched
    monkeypatch.setattr(status_watch, "MAX_PER_TASK", 2)
    watch.slots.size = 3
    other, third_task = new_task_id(), new_task_id()
    for created in (other, third_task):
        queue.createTask(created, make_task())
    pending = since(queue.status(task_id)["status"])
    held = [_held(sandbox, task_id, pending) for _ in range(2)]
    wait_until(lambda: watch.slots.used == 2, message="two polls waiting")
    third = long_poll(sandbox, task_id, timeout=10, since=pending)
    assert third.status_code == 429 and third.json()["code"] == "TooManyRequests"
    assert "long polls on task" in third.json()["message"]
    with ThreadPoolExecutor(1) as pool:
        last = pool.submit(long_poll, sandbox, other, since=pending)
        wait_until(lambda: watch.slots.used == 3, message="a third poll, of another task")
        fourth = long_poll(sandbox, third_task, timeout=10, since=pending)
        assert fourth.status_code == 429 and "status long polls" in fourth.json()["message"]
        for conn in held:  # the clients leave: their waits end at the sandbox
            conn.close()
        wait_until(lambda: watch.slots.used == 1, 10, message="the left polls to end")
        assert watch.waited_on == [other] and not last.done()
        queue.cancelTask(other)  # the last one answers
        assert last.result(timeout=10).json()["status"]["state"] == "exception"
    wait_until(lambda: watch.waited_on == [] and watch.slots.used == 0, 10)


def test_every_wait_answers_when_the_sandbox_stops(watched):
    sandbox, watch, queue, task_id = watched
    pending = since(queue.status(task_id)["status"])
    with ThreadPoolExecutor(4) as pool:
        held = [pool.submit(long_poll, sandbox, task_id, since=pending) for _ in range(4)]
        wait_until(lambda: watch.slots.used == 4, message="four polls waiting")
        started = time.monotonic()
        sandbox.stop()
        answers = [future.result(timeout=10) for future in held]
        took = time.monotonic() - started
    assert [answer.status_code for answer in answers] == [200] * 4
    assert all(answer.json()["status"]["state"] == "pending" for answer in answers)
    assert took < 3, took  # not the 20 s hold
