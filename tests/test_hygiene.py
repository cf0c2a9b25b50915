"""Process hygiene and the trust model: no task process outlives its sandbox,
a restart removes what dead runs left, and (as root) tasks run as an
unprivileged user whose rights also bound what the worker uploads."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import taskcluster
from helpers import wait_running, wait_until
from worker_fixtures import (
    WORKER_QUEUE,
    artifact_info,
    artifact_names,
    backing_log,
    create,
    download,
    process_gone,
    run_task,
    sh,
    start_sandbox,
)

from tc_notebook.terms import LIVE_LOG
from tc_notebook.worker import guard, taskuser

as_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="only a sandbox running as root runs tasks as another user"
)
GONE_WITHIN = 5.0  # seconds for every task process to die once the sandbox is
TASK_USER_VARIABLE = taskuser.TASK_USER_VARIABLE


@pytest.fixture(autouse=True)
def default_task_user(monkeypatch):
    """These tests check the default: as root, tasks run as `nobody` (conftest
    sets the suite's own user for the others)."""
    monkeypatch.delenv(TASK_USER_VARIABLE, raising=False)


# -- finding task processes -----------------------------------------------------------


def processes_with(token: str) -> list[int]:
    """Pids of the live processes whose command line contains `token`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
        except OSError:
            continue
        if token.encode() in cmdline and not process_gone(int(entry.name)):
            found.append(int(entry.name))
    return found


@pytest.fixture
def token() -> Iterator[str]:
    """A number that marks this test's task processes; they are killed afterwards."""
    mark = str(random.randrange(10**11, 10**12))
    yield mark
    for pid in processes_with(mark):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def busy_task(token: str) -> dict:
    """A payload whose processes all carry `token`: the shell, a background sleep,
    one that left the process group (setsid) and one that dropped its environment."""
    escapes = f"setsid sleep 3001.{token} & " if shutil.which("setsid") else ""
    return {
        "command": sh(
            f"sleep 3000.{token} & {escapes}env -i sleep 3002.{token} & sleep 3003.{token}"
        ),
        "maxRunTime": 600,
    }


def wait_busy(token: str) -> list[int]:
    """Wait until every process of `busy_task(token)` runs; return their pids."""
    expected = 5 if shutil.which("setsid") else 4
    return wait_until(
        lambda: len(pids := processes_with(token)) >= expected and pids, 10, "the task's processes"
    )


def wait_all_gone(token: str, since: float) -> float:
    """Wait until no process carries `token`; return the seconds since `since`."""
    wait_until(lambda: not processes_with(token), GONE_WITHIN, "every task process to die")
    return time.monotonic() - since


# -- the sandbox dies -------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_cli_death_kills_task_processes(cli, tmp_path, token, signum):
    """SIGKILL or SIGTERM of `tc-notebook sandbox` mid-task: every process the task
    started, backgrounded or escaped from its group, is gone within seconds, and so
    is the run's working directory."""
    sandbox = cli(tmp_path / "data", "--capacity", "2")
    queue = sandbox.queue()
    wait_running(queue, create(queue, busy_task(token)))
    run_directory = Path(os.readlink(f"/proc/{wait_busy(token)[-1]}/cwd"))
    signalled = time.monotonic()
    sandbox.proc.send_signal(signum)
    code = sandbox.proc.wait(timeout=10)
    assert code == (0 if signum == signal.SIGTERM else -signal.SIGKILL), sandbox.stderr()
    assert wait_all_gone(token, signalled) < GONE_WITHIN
    wait_until(lambda: not run_directory.exists(), GONE_WITHIN, "the run's directory to go")


IN_PROCESS_SANDBOX = """
import sys, time
from tc_notebook.sandbox import Sandbox
sandbox = Sandbox(sys.argv[1], task_queues=[sys.argv[2]]).start()
print(sandbox.root_url, sandbox.credentials["accessToken"], flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_in_process_sandbox_death_kills_task_processes(tmp_path, token, signum):
    """The same when the sandbox runs in a thread of another program (`tc-notebook
    lab`), which SIGTERM ends without any cleanup of its own."""
    host = subprocess.Popen(
        [sys.executable, "-c", IN_PROCESS_SANDBOX, str(tmp_path / "data"), WORKER_QUEUE],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        root_url, access_token = host.stdout.readline().split()
        queue = taskcluster.Queue(
            {
                "rootUrl": root_url,
                "maxRetries": 0,
                "credentials": {"clientId": "root", "accessToken": access_token},
            }
        )
        wait_running(queue, create(queue, busy_task(token)))
        wait_busy(token)
        signalled = time.monotonic()
        host.send_signal(signum)
        assert host.wait(timeout=10) == -signum
        assert wait_all_gone(token, signalled) < GONE_WITHIN
    finally:
        host.kill()
        host.wait()


def guard_of(data_dir: Path) -> int:
    """The pid of the guard process of the sandbox on `data_dir`."""
    marker = guard.marker_for(data_dir / "work")
    pids = wait_until(
        lambda: [
            pid
            for pid in processes_with(marker)
            if b"guard.py" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ],
        5,
        "the guard process",
    )
    assert len(pids) == 1, pids
    return pids[0]


def worker_of(data_dir: Path) -> int:
    """The pid of the worker process of the sandbox on `data_dir`."""
    wanted = str(data_dir / "work").encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"worker" in argv and wanted in argv:
                return int(pid)
    pytest.fail(f"no worker process for {data_dir}")


def test_restart_cleans_up_after_sandbox_worker_and_guard_died(cli, tmp_path, token):
    """kill -9 of the sandbox, its worker and its guard leaves the task's processes running;
    the next sandbox on that data directory kills them as it starts, and removes the
    dead runs' working directories and live-log files."""
    data_dir = tmp_path / "data"
    sandbox = cli(data_dir, "--capacity", "2")
    queue = sandbox.queue()
    task_id = create(queue, busy_task(token))
    wait_running(queue, task_id)
    pids = wait_busy(token)
    run_directory = Path(os.readlink(f"/proc/{pids[-1]}/cwd"))
    stale_directory = data_dir / "work" / "stale-run-0"
    stale_directory.mkdir()
    (stale_directory / "output.txt").write_text("left behind")
    stale_log = data_dir / "work" / "stale-run-0.log"
    stale_log.write_text("left behind")
    live_log = data_dir / "work" / f"{task_id}-0.log"
    assert run_directory.is_dir() and live_log.is_file()

    os.kill(guard_of(data_dir), signal.SIGKILL)
    os.kill(worker_of(data_dir), signal.SIGKILL)  # else it would end its tasks as it goes
    sandbox.proc.kill()
    sandbox.proc.wait(timeout=10)
    assert len(processes_with(token)) == len(pids), "the task's processes died with no guard"

    restarted = time.monotonic()
    cli(data_dir, "--capacity", "0")
    assert wait_all_gone(token, restarted) < GONE_WITHIN
    for leftover in (run_directory, live_log, stale_directory, stale_log):
        assert not leftover.exists(), leftover


def test_guard_ends_with_the_worker(tmp_path, token):
    """A sandbox that stops leaves no guard behind, and no task process."""
    sandbox = start_sandbox(tmp_path / "data", capacity=1)
    try:
        queue = taskcluster.Queue({**sandbox.client_options(), "maxRetries": 0})
        wait_running(queue, create(queue, busy_task(token)))
        wait_busy(token)
        guard_pid = guard_of(sandbox.data_dir)
    finally:
        sandbox.stop()
    assert not processes_with(token)
    assert process_gone(guard_pid)


# -- the task user (root only) ----------------------------------------------------------


@pytest.fixture
def reachable_tmp() -> Iterator[Path]:
    """A directory every user can traverse (pytest's tmp_path is root's alone), so that
    only the data directory's own mode keeps tasks out of it."""
    path = Path(tempfile.mkdtemp(prefix="tc-hygiene-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@as_root
def test_task_cannot_publish_the_root_token(cli, reachable_tmp):
    """A client that may only create tasks cannot get the root token out through an
    artifact: by absolute path, through a symlink, or inside a directory artifact;
    a root-only file elsewhere is missing too, while /etc/passwd is still uploaded."""
    data_dir = reachable_tmp / "data"
    secret = reachable_tmp / "secret.txt"
    secret.write_text("root's alone")
    secret.chmod(0o600)
    sandbox = cli(
        data_dir, "--capacity", "2", "--client", "learner=queue:create-task:*,queue:scheduler-id:*"
    )
    root_token = sandbox.credentials["accessToken"]
    learner_token = sandbox.log().split("# client learner: accessToken ")[1].split()[0]
    learner = taskcluster.Queue(
        {
            "rootUrl": sandbox.root_url,
            "maxRetries": 0,
            "credentials": {"clientId": "learner", "accessToken": learner_token},
        }
    )
    anonymous = taskcluster.Queue({"rootUrl": sandbox.root_url, "maxRetries": 0})
    token_file = data_dir / "root-client.json"
    expires = taskcluster.fromNowJSON("1 day")

    def artifact(kind: str, path: str | Path) -> dict:
        return {"type": kind, "path": str(path), "expires": expires}

    task_id, status = run_task(
        learner,
        {
            "command": sh(
                f"id -u; id -G; cat {token_file}; ln -s {token_file} token.json;"
                f" mkdir out; ln -s {token_file} out/token.json; echo fine > out/ok.txt"
            ),
            "maxRunTime": 60,
            "artifacts": {
                "public/absolute.json": artifact("file", token_file),
                "public/symlink.json": artifact("file", "token.json"),
                "public/secret.txt": artifact("file", secret),
                "public/data": artifact("directory", data_dir),
                "public/out": artifact("directory", "out"),
                "public/passwd.txt": artifact("file", "/etc/passwd"),
            },
        },
        timeout=20,
    )
    assert status["state"] == "failed"  # artifacts were missing
    log = backing_log(anonymous, task_id)
    uid, gids, cat = [line for line in log.splitlines() if not line.startswith("[taskcluster")]
    assert uid == str(taskuser.task_user().uid) != "0", log
    assert "0" not in gids.split(), log
    assert "Permission denied" in cat, log
    for name in ("public/absolute.json", "public/symlink.json", "public/secret.txt", "public/data"):
        info = artifact_info(anonymous, task_id, name)
        assert info and info["storageType"] == "error", (name, info)
    names = artifact_names(anonymous, task_id)
    assert "public/out/ok.txt" in names  # token.json inside: an error artifact, as generic-worker
    assert artifact_info(anonymous, task_id, "public/out/token.json")["storageType"] == "error"
    assert download(anonymous, task_id, "public/passwd.txt") == Path("/etc/passwd").read_bytes()
    for name in names - {LIVE_LOG}:
        if anonymous.latestArtifactInfo(task_id, name)["storageType"] == "s3":
            published = download(anonymous, task_id, name)
            assert root_token.encode() not in published, name
            assert b"root's alone" not in published, name


@as_root
def test_task_user_without_setpriv(tmp_path, monkeypatch):
    """Without setpriv, the worker switches users itself: the same user, no extra groups."""
    monkeypatch.setattr(taskuser, "SETPRIV", None)
    sandbox = start_sandbox(tmp_path / "data", capacity=1)
    try:
        queue = taskcluster.Queue({**sandbox.client_options(), "maxRetries": 0})
        task_id, status = run_task(queue, {"command": ["id", "-u", "-n"], "maxRunTime": 30})
        assert status["state"] == "completed"
        assert backing_log(queue, task_id).splitlines()[-2] == taskuser.task_user().name
    finally:
        sandbox.stop()


TEMPORARY_SANDBOX = """
import time
from tc_notebook.sandbox import Sandbox
sandbox = Sandbox().start()  # as a kernel's connect() starts it: a temporary folder
print(sandbox.data_dir, flush=True)
time.sleep(600)
"""


def test_killed_temporary_sandbox_leaves_no_folder(tmp_path):
    """A kernel killed outright (nbval, a crash) leaves no `tc-sandbox-*` folder:
    its guard removes the temporary data directory."""
    host = subprocess.Popen(
        [sys.executable, "-c", TEMPORARY_SANDBOX],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    try:
        data_dir = Path(host.stdout.readline().strip())
        assert data_dir.parent == tmp_path and data_dir.is_dir()
        guard_of(data_dir)
        host.kill()
        host.wait(timeout=10)
        wait_until(lambda: not data_dir.exists(), GONE_WITHIN, "the temporary folder to go")
    finally:
        host.kill()
        host.wait()
