"""The widgets on a real Taskcluster (the rig), with `tc-notebook worker` running
the tasks: StatusBadge, ArtifactList (both artifact storages: S3 behind the
queue's 303, and the object service) and LiveLog.

As in the sandbox widget tests, the widgets are driven inside `asyncio.run`
(the kernel's loop), and a browser's click is the message its JavaScript
would send. Tasks that must still be running when the test looks wait for a
`gate` the test opens; every other wait is bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import slugid
import taskcluster
from artifact_fixtures import click_private_link
from helpers import wait_resolved
from rig_worker import RigWorker
from widget_helpers import run, until

from tc_notebook.connection import Connection
from tc_notebook.task_html import STATE_COLOURS
from tc_notebook.terms import BACKING_LOG, LIVE_LOG
from tc_notebook.widgets import ArtifactList, StatusBadge
from tc_notebook.widgets.artifacts import ICONS, human_size
from tc_notebook.widgets.livelog import LiveLog

DATA = "public/data.bin"
HELLO = "public/hello.txt"
SECRET = "private/tc-notebook/secret.txt"
TASK_SECONDS = 30  # a task of these tests, from creation to resolution


# -- fixtures and helpers -------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_jupyter_proxy(monkeypatch) -> None:
    """Links straight to the rig (no jupyter-server-proxy prefix from the environment)."""
    monkeypatch.setenv("TC_NOTEBOOK_PROXY_PREFIX", "")


@pytest.fixture
def gate(gate):
    """The conftest's gate, opened at the end whatever happened, so that a failed
    test leaves no task waiting on a worker."""
    yield gate
    gate.open()


@pytest.fixture(scope="module")
def conn(rig) -> Connection:
    """The widgets' connection: the rig's root URL and its static root client."""
    return Connection(rig["TASKCLUSTER_ROOT_URL"], {
        "clientId": rig["TASKCLUSTER_CLIENT_ID"],
        "accessToken": rig["TASKCLUSTER_ACCESS_TOKEN"],
    })


@pytest.fixture(scope="module", params=["object", "s3"])
def worker(request) -> RigWorker:
    """The worker storing artifacts in the object service, then the one using S3."""
    chosen = request.getfixturevalue("rig_worker" if request.param == "object" else "rig_s3_worker")
    assert chosen.storage() == request.param
    return chosen


@pytest.fixture(scope="module")
def inputs() -> Iterator[dict[str, Any]]:
    """Bytes the tasks copy into their artifacts, in a folder any task user can read."""
    folder = Path(tempfile.mkdtemp(prefix="tc-rig-widgets-"))
    folder.chmod(0o755)
    data = os.urandom(200_000)  # several download chunks, not valid UTF-8
    (folder / "data.bin").write_bytes(data)
    (folder / "data.bin").chmod(0o644)
    yield {"folder": folder, "data": data}
    shutil.rmtree(folder, ignore_errors=True)


def create(conn: Connection, worker: RigWorker, script: str, **payload: Any) -> str:
    """Create a task running `sh -c script` on the worker's queue; its taskId."""
    task_id = slugid.nice()
    conn.queue.createTask(task_id, worker.task(
        {"command": ["/bin/sh", "-c", script], "maxRunTime": 60, **payload}
    ))
    return task_id


def resolved(conn: Connection, task_id: str) -> dict:
    """The task's status once it is resolved (fails after TASK_SECONDS)."""
    return wait_resolved(conn.queue, task_id, TASK_SECONDS)


@pytest.fixture(scope="module")
def artifact_task(conn, worker, inputs) -> dict[str, Any]:
    """A completed task of `worker` with a binary, a text and a private artifact."""
    expires = taskcluster.fromNowJSON("1 day")
    hello = f"hello from the {worker.storage()} worker\n".encode()
    secret = f"private words {slugid.nice()}\n".encode()
    script = (
        f"cp {inputs['folder']}/data.bin data.bin && "
        f"printf '%s\\n' '{hello.decode().strip()}' > hello.txt && "
        f"printf '%s\\n' '{secret.decode().strip()}' > secret.txt"
    )
    task_id = create(conn, worker, script, artifacts={
        DATA: {"type": "file", "path": "data.bin", "expires": expires},
        HELLO: {"type": "file", "path": "hello.txt", "expires": expires},
        SECRET: {"type": "file", "path": "secret.txt", "expires": expires},
    })
    status = resolved(conn, task_id)
    assert status["state"] == "completed", f"{status}\n{worker.log()[-2000:]}"
    return {
        "task_id": task_id,
        "storage": worker.storage(),
        "bytes": {DATA: inputs["data"], HELLO: hello, SECRET: secret},
    }


def outcome(async_body) -> Any:
    """`run(async_body)` (widget_helpers), returning what the body returned."""
    kept: list[Any] = []

    async def keep() -> None:
        kept.append(await async_body())

    run(keep)
    return kept[0]


# -- StatusBadge ----------------------------------------------------------------------


def test_badge_follows_a_task_to_completed_then_stops(conn, rig_worker, rig_s3_worker, gate):
    """A gated task: the badge shows running (as the queue does) while the gate is
    closed, completed once it opens, then polls no more; a task exiting 3 shows failed."""

    async def body():
        task_id = create(conn, rig_worker, gate.wait("echo started"))
        badge = StatusBadge(conn, task_id)
        states = [badge.state]
        badge.observe(lambda change: states.append(change["new"]), "state")
        badge.watch()  # as when shown: a badge polls once displayed or watched
        await until(lambda: badge.state == "running", timeout=TASK_SECONDS)
        assert conn.queue.status(task_id)["status"]["state"] == "running"
        assert STATE_COLOURS["running"] in badge.value and "RUNNING" in badge.value
        gate.open()
        assert await badge.wait() == "completed"
        assert states[0] in ("", "pending") and states[-2:] == ["running", "completed"]
        assert set(states) <= {"", "pending", "running", "completed"}
        assert STATE_COLOURS["completed"] in badge.value and "COMPLETED" in badge.value
        assert "run 0" in badge.value and badge.reason == "completed"
        assert badge.status["runs"][0]["workerId"] == rig_worker.worker_id
        assert not badge.polling
        polls = badge.polls

        # While another badge follows a task to its end, the first one stays quiet.
        failing = StatusBadge(conn, create(conn, rig_s3_worker, "echo about to fail; exit 3"))
        assert await failing.wait() == "failed"
        assert failing.polls >= 2 and badge.polls == polls and not badge.polling
        assert failing.reason == "failed" and failing.run_id == 0
        assert STATE_COLOURS["failed"] in failing.value and "FAILED" in failing.value
        run0 = conn.queue.status(failing.task_id)["status"]["runs"][0]
        assert (run0["state"], run0["reasonResolved"]) == ("failed", "failed")

    run(body)


# -- ArtifactList ---------------------------------------------------------------------


def test_artifact_list_lists_and_downloads(conn, artifact_task, tmp_path):
    """Names in the UI's order, storage types and sizes as the rig lists them; a
    kernel-side download through the queue's redirect gives the bytes the task wrote."""
    task_id, storage = artifact_task["task_id"], artifact_task["storage"]
    written = artifact_task["bytes"]

    async def body():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        assert al.error == "" and al.state == "completed" and al.run_id == 0
        assert al.names == [LIVE_LOG, BACKING_LOG, DATA, HELLO, SECRET]
        kinds = {entry["name"]: entry["storageType"] for entry in al.artifacts}
        assert kinds == {LIVE_LOG: "link", BACKING_LOG: storage, DATA: storage,
                         HELLO: storage, SECRET: storage}
        rows = {row["name"]: row for row in al.table.rows}
        assert rows[HELLO]["contentType"] == "text/plain" and rows[HELLO]["icon"] == ICONS["text"]
        assert rows[DATA]["icon"] == ICONS["generic"] and rows[LIVE_LOG]["icon"] == ICONS["log"]
        lengths = {name: al.entry(name)["contentLength"] for name in (DATA, HELLO, SECRET)}
        sizes = {name: al.entry(name)["size"] for name in lengths}
        if storage == "s3":
            assert lengths == {name: len(written[name]) for name in lengths}
        else:
            # The worker cannot give the length of an object artifact (v106 then fails
            # finishArtifact), so the rig lists none: the sizes come from the object
            # service's storage (a signed request for the private one).
            assert lengths == dict.fromkeys(lengths)
        assert sizes == {name: len(written[name]) for name in lengths}
        assert rows[DATA]["size"] == human_size(200_000) == "195.3 KiB"
        assert DATA in al.fetchable_names and SECRET in al.fetchable_names

        path = await al.download(DATA, tmp_path)
        assert path == tmp_path / "data.bin" and path.read_bytes() == written[DATA]
        assert al.progress.bar_style == "success" and al.progress.value == 100
        assert str(path) in al.notice and not list(tmp_path.glob("*.part"))
        assert await al.preview(HELLO) == written[HELLO].decode()
        log = await al.preview(LIVE_LOG)  # the link to live_backing.log
        assert f"task {task_id} run 0" in log and "exit code 0" in log

    run(body)


def test_public_links_resolve_to_the_bytes(conn, artifact_task):
    """The hrefs the table renders (and the static HTML) are the queue's getArtifact
    URLs; a browser following them gets a 303, then the bytes the task wrote."""
    task_id, storage = artifact_task["task_id"], artifact_task["storage"]

    async def body():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        return al.to_html(), {row["name"]: row["href"] for row in al.table.rows}

    page, hrefs = outcome(body)
    root = conn.root_url
    for name in (DATA, HELLO, LIVE_LOG):
        assert hrefs[name] == conn.queue.buildUrl("getArtifact", task_id, 0, name)
        assert f"href='{hrefs[name]}'" in page
    assert hrefs[SECRET] == "" and "🔒" in page and "bewit" not in page
    for name in (DATA, HELLO):
        reply = requests.get(hrefs[name], timeout=15)
        assert reply.status_code == 200, reply.text[:300]
        assert [r.status_code for r in reply.history] == [303]
        assert reply.content == artifact_task["bytes"][name]
        if storage == "s3":  # the public bucket, as the queue stored it
            assert reply.url == f"{root}/public-bucket/{task_id}/0/{name}"
        else:  # a URL the object service presigned for its own backend
            assert reply.url.startswith(f"{root}/public-bucket/t/{task_id}/0/{name}?X-Amz-")
    log = requests.get(hrefs[LIVE_LOG], timeout=15)
    assert log.status_code == 200 and f"task {task_id} run 0" in log.text
    assert log.url.split("?")[0].endswith(BACKING_LOG)


def test_private_artifact_is_signed_at_click_time(conn, artifact_task, tmp_path):
    """A private row has no link until clicked; the click's signed URL works without
    credentials (303, then the bytes) while the unsigned URL is refused (403)."""
    task_id = artifact_task["task_id"]
    secret = artifact_task["bytes"][SECRET]

    async def body():
        al = ArtifactList(conn, task_id)
        await al.refresh()
        row = next(r for r in al.table.rows if r["name"] == SECRET)
        assert row["private"] and row["href"] == ""
        state = json.dumps(al.table.get_state(), default=repr)
        assert "bewit" not in state and al.signed_urls == []
        clicked = time.time()
        reply = click_private_link(al.table, SECRET, 0)
        assert set(reply) == {"url"}, reply
        url = reply["url"]
        assert "bewit=" in url and url.split("?")[0] == al.api_url(SECRET)
        assert al.last_signed["url"] == url and al.last_signed["signed"] >= clicked
        assert "bewit" not in json.dumps(al.table.get_state(), default=repr)
        # The kernel signs its own fetches of private artifacts too.
        path = await al.download(SECRET, tmp_path)
        assert path.read_bytes() == secret
        return url, al.api_url(SECRET)

    signed, unsigned = outcome(body)
    reply = requests.get(signed, timeout=15)  # no credentials: the bewit is the authority
    assert reply.status_code == 200, reply.text[:300]
    assert [r.status_code for r in reply.history] == [303]
    assert reply.content == secret
    refused = requests.get(unsigned, timeout=15)
    assert refused.status_code == 403 and refused.json()["code"] == "InsufficientScopes"


# -- LiveLog --------------------------------------------------------------------------


def test_live_log_streams_then_shows_the_final_log(conn, worker, gate):
    """A line printed while the task waits at the gate shows before the task ends;
    afterwards the widget shows the final log, live_backing.log, line for line."""

    async def body():
        task_id = create(conn, worker, gate.wait('echo "streamed $((6 * 7))"'))
        log = LiveLog(conn, task_id)
        log.watch()  # as when shown
        await until(lambda: "streamed 42" in log.lines, timeout=TASK_SECONDS)
        assert log.phase == "streaming"
        assert conn.queue.status(task_id)["status"]["state"] == "running"
        assert "live log · run 0 · streaming" in log._title.value
        gate.open()
        text = await log.wait()
        assert log.phase == "final" and conn.queue.status(task_id)["status"]["state"] == "completed"
        assert "streamed 42" in log.lines and "exit code 0" in text
        assert log.full_log_url == conn.queue.buildUrl("getArtifact", task_id, 0, BACKING_LOG)
        assert "full log" in log._title.value and "exit code 0" in log._body.value
        return task_id, text, log.full_log_url

    task_id, text, full_log_url = outcome(body)
    backing = requests.get(full_log_url, timeout=15)
    assert backing.status_code == 200
    assert backing.text == text + "\n"  # every line of the final log, nothing else
    assert backing.text.startswith("[taskcluster ") and f"task {task_id} run 0" in backing.text


def test_live_log_paints_lines_while_the_task_is_quiet(conn, rig_worker, gate):
    """The lines a running task printed are painted (the HTML the user sees), not
    only kept, while the task goes on without printing more."""

    async def body():
        task_id = create(conn, rig_worker, gate.wait('echo "streamed $((6 * 7))"'))
        log = LiveLog(conn, task_id)
        log.watch()  # as when shown
        await until(lambda: "streamed 42" in log.lines, timeout=TASK_SECONDS)
        await until(lambda: "streamed 42" in log._body.value, timeout=3)
        assert conn.queue.status(task_id)["status"]["state"] == "running"

    run(body)
