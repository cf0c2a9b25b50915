"""The sandbox worker's live log, end to end: live.log streams a running task's
output through the sandbox, then links to live_backing.log, the whole log."""

from __future__ import annotations

import re
import time
import urllib.parse

from helpers import wait_resolved, wait_until
from worker_fixtures import (
    artifact_info,
    backing_log,
    create,
    download,
    epoch,
    get,
    only_run,
    run_task,
    sh,
)

from tc_notebook.terms import BACKING_LOG, LIVE_LOG

# -- the live log ---------------------------------------------------------------------------


def test_live_log_streams_while_running(client, anonymous, worker_sandbox):
    """live.log is a reference to a stream that shows lines as the task prints them."""
    task_id = create(client, {
        "command": sh('i=0; while [ $i -lt 20 ]; do echo "tick $i"; i=$((i+1)); sleep 0.1; done'),
        "maxRunTime": 30,
    })
    info = wait_until(lambda: artifact_info(anonymous, task_id, LIVE_LOG), 10, "live.log")
    assert info["storageType"] == "reference"
    # Served by the worker itself at a random token, relayed by the sandbox (for Binder).
    live_url = anonymous.getLatestArtifact(task_id, LIVE_LOG)["url"]
    prefix = re.escape(worker_sandbox.root_url + "/sandbox/livelog/log/")
    assert re.fullmatch(prefix + r"[A-Za-z0-9_-]{32}", live_url), live_url
    redirect = get(anonymous.buildUrl("getLatestArtifact", task_id, LIVE_LOG),
                   allow_redirects=False)
    assert redirect.headers["Location"] == urllib.parse.urlsplit(live_url).path  # proxy-safe

    arrivals: dict[str, float] = {}
    pending = b""
    with get(anonymous.buildUrl("getLatestArtifact", task_id, LIVE_LOG), stream=True) as reply:
        assert reply.status_code == 200
        assert [r.status_code for r in reply.history] == [303]
        for chunk in reply.iter_content(chunk_size=None):
            now = time.time()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                arrivals.setdefault(line.decode(), now)
    streamed = list(arrivals) + ([pending.decode()] if pending else [])

    status = wait_resolved(client, task_id)
    assert status["state"] == "completed"
    resolved = epoch(only_run(status)["resolved"])
    ticks = {line: t for line, t in arrivals.items() if line.startswith("tick ")}
    assert len(ticks) == 20, streamed
    assert ticks["tick 0"] < resolved - 1.0, "the first line only arrived at the end"
    assert sum(t < resolved - 0.5 for t in ticks.values()) >= 10
    assert ticks["tick 19"] - ticks["tick 0"] > 1.0, "lines arrived in one burst"
    assert "exit code 0" in streamed[-1]
    assert get(live_url).status_code == 404  # the stream is gone; live.log is now a link


def test_live_log_after_completion(client, anonymous):
    """After the run, live.log links to live_backing.log: the whole log, header to footer."""
    task_id, status = run_task(client, {"command": sh("echo hello from the task"),
                                        "maxRunTime": 30})
    assert status["state"] == "completed"
    assert anonymous.latestArtifactInfo(task_id, LIVE_LOG)["storageType"] == "link"
    assert anonymous.latestArtifactInfo(task_id, BACKING_LOG)["storageType"] == "object"
    reply = get(anonymous.buildUrl("getLatestArtifact", task_id, LIVE_LOG))
    assert reply.status_code == 200
    text = reply.text
    lines = text.splitlines()
    assert task_id in lines[0]
    assert "run 0" in lines[0]
    assert "engine process" in text
    assert "hello from the task" in text
    assert "exit code 0" in lines[-1]
    assert download(anonymous, task_id, LIVE_LOG).decode() == text
    assert backing_log(anonymous, task_id) == text
