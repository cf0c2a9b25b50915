"""`tc-notebook lab`, the README's main command: sandbox + JupyterLab, from a
clone or from the package, stopped gracefully by SIGINT, SIGTERM or SIGHUP."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
import requests
import slugid
import taskcluster
from helpers import make_queue, wait_until

from tc_notebook.lab import FIRST_NOTEBOOK, TUTORIAL_COPY, packaged_notebooks, prepare_notebooks
from tc_notebook.sandbox import Sandbox
from tc_notebook.tutorial import tutorial_task

ROOT = Path(__file__).resolve().parents[1]
READY = re.compile(r"(http://127\.0\.0\.1:(\d+))/lab/tree/00-start-here\.ipynb\?token=(\w+)")


def _lab(cwd: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(cwd / "runtime"), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "tc_notebook", "lab", "--no-browser", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _read_until_ready(lab: subprocess.Popen) -> tuple[str, str, str]:
    """(JupyterLab base URL, token, sandbox root URL) from the ready block."""
    seen = []
    for line in lab.stdout:
        seen.append(line)
        found = READY.search(line)
        if found:
            break
    else:
        pytest.fail(f"no ready block: {''.join(seen)} {lab.stderr.read()}")
    block = "".join(seen) + "".join(lab.stdout.readline() for _ in range(6))
    sandbox = re.search(r"sandbox +(http://127\.0\.0\.1:\d+)", block)
    assert sandbox, block
    return found.group(1), found.group(3), sandbox.group(1)


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=2)
    except requests.ConnectionError:
        return False
    return True


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_lab_from_an_empty_folder_stops_gracefully(tmp_path, signum):
    """Outside a clone the packaged tutorial is copied and opened; a running
    task is reported worker-shutdown on the signal; JupyterLab, the task's
    processes and JupyterLab's runtime files are gone; the exit code is 0."""
    data_dir = tmp_path / "data"
    lab = _lab(tmp_path, "--port", "0", "--data-dir", str(data_dir))
    marker = f"3000.{uuid.uuid4().int % 10**6}"
    try:
        base, token, sandbox_url = _read_until_ready(lab)
        contents = requests.get(f"{base}/api/contents", params={"token": token}, timeout=10)
        names = {item["name"] for item in contents.json()["content"]}
        assert {FIRST_NOTEBOOK, "04-download-task-artifacts.ipynb"} <= names
        assert (tmp_path / TUTORIAL_COPY / FIRST_NOTEBOOK).is_file()
        assert list((tmp_path / "runtime").glob("jpserver-*.json"))

        credentials = json.loads((data_dir / "root-client.json").read_text())
        queue = make_queue(sandbox_url, credentials)
        task = tutorial_task()
        task["payload"]["command"] = ["/bin/sh", "-c", f"sleep {marker}"]
        task_id = slugid.nice()
        queue.createTask(task_id, task)
        wait_until(lambda: queue.status(task_id)["status"]["state"] == "running", 20,
                   message="the task to run")
        wait_until(lambda: _processes(marker), 10, message="the task's process")

        lab.send_signal(signum)
        try:
            code = lab.wait(timeout=60)
        except subprocess.TimeoutExpired:
            lab.kill()
            lab.wait()
            log = (data_dir / "jupyterlab.log").read_text()[-3000:]
            pytest.fail(f"still running 60 s after {signum!r}:\n{lab.stderr.read()}\n{log}")
        assert code == 0, lab.stderr.read()
        assert not _answers(f"{base}/api/status")
        assert not _answers(f"{sandbox_url}/api/queue/v1/ping")
        assert not list((tmp_path / "runtime").glob("jpserver-*"))
        wait_until(lambda: not _processes(marker), 10, message="the task's process to end")
    finally:
        if lab.poll() is None:
            lab.kill()
            lab.wait()
    with Sandbox(data_dir, capacity=0) as sandbox:
        run = taskcluster.Queue(sandbox.client_options()).status(task_id)["status"]["runs"][0]
    assert (run["state"], run["reasonResolved"]) == ("exception", "worker-shutdown")


def _processes(marker: str) -> list[str]:
    found = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    return found.stdout.split()


def test_clone_notebooks_are_opened_in_place(tmp_path):
    """In a clone, `./notebooks` is opened as it is; nothing is copied."""
    assert prepare_notebooks(None, here=ROOT) == ROOT / "notebooks"
    assert not (ROOT / TUTORIAL_COPY).exists()


def test_tutorial_copy_keeps_a_learners_edits(tmp_path, capsys):
    """A second start copies only what is missing and keeps edited notebooks."""
    target = prepare_notebooks(None, here=tmp_path)
    shipped = sorted(p.name for p in packaged_notebooks().glob("*.ipynb"))
    assert sorted(p.name for p in target.glob("*.ipynb")) == shipped
    edited = target / FIRST_NOTEBOOK
    edited.write_text('{"my": "work"}')
    (target / "02-create-task-via-api.ipynb").unlink()
    capsys.readouterr()
    prepare_notebooks(None, here=tmp_path)
    assert edited.read_text() == '{"my": "work"}'
    assert (target / "02-create-task-via-api.ipynb").is_file()
    assert f"kept your copy of {FIRST_NOTEBOOK}" in capsys.readouterr().out


def _friendly_failure(run: subprocess.CompletedProcess, *words: str) -> None:
    assert run.returncode == 1, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("tc-notebook:")]
    assert len(lines) == 1, run.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_second_lab_on_the_same_data_dir_says_what_to_do(tmp_path):
    """A data directory in use: one line naming --data-dir, no traceback."""
    with Sandbox(tmp_path / "data", capacity=0):
        run = subprocess.run(
            [sys.executable, "-m", "tc_notebook", "lab", "--no-browser", "--port", "0",
             "--data-dir", str(tmp_path / "data")],
            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    _friendly_failure(run, "--data-dir")


def test_busy_port_says_what_to_do(tmp_path):
    """An explicit --port that is taken: one line naming --port; JupyterLab is not started."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "-m", "tc_notebook", "lab", "--no-browser", "--port", str(port),
             "--data-dir", str(tmp_path / "data")],
            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    _friendly_failure(run, "in use", "--port")


def test_without_jupyterlab_says_which_extra_to_install(tmp_path):
    """Without JupyterLab: one line naming `tc-notebook[lab]`."""
    code = ("import sys; sys.modules['jupyterlab'] = None\n"
            "from tc_notebook.cli import main\n"
            f"sys.exit(main(['lab', '--no-browser', '--data-dir', {str(tmp_path)!r}]))")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    _friendly_failure(run, "tc-notebook[lab]")


def test_wheel_ships_the_notebooks(tmp_path):
    """The wheel holds every notebook, so a package install has the tutorial.
    (Built from a copy of the sources, so the clone gets no build folders.)"""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("tc_notebook", "notebooks"):
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(tmp_path), str(source)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("tc_notebook-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        assert f"tc_notebook/notebooks/{notebook.name}" in names


def test_lab_logs_task_transitions(tmp_path):
    """Like `tc-notebook sandbox`, lab shows a line per task transition."""
    data_dir = tmp_path / "data"
    lab = _lab(tmp_path, "--port", "0", "--data-dir", str(data_dir))
    try:
        _, _, sandbox_url = _read_until_ready(lab)
        credentials = json.loads((data_dir / "root-client.json").read_text())
        queue = make_queue(sandbox_url, credentials)
        task = tutorial_task()
        task["payload"]["command"] = ["true"]
        task_id = slugid.nice()
        queue.createTask(task_id, task)
        wait_until(lambda: queue.status(task_id)["status"]["state"] == "completed", 20,
                   message="the task to complete")
        lab.send_signal(signal.SIGTERM)
        lab.wait(timeout=40)
        log = lab.stderr.read()
        assert f"task {task_id} run 0 completed (completed)" in log, log
        assert f"task {task_id} run 0 running" in log, log
    finally:
        if lab.poll() is None:
            lab.kill()
            lab.wait()


def test_default_port_taken_moves_and_says_so(tmp_path):
    """With 8888 taken, JupyterLab serves on another port, and the printed URL
    is the one it serves."""
    with socket.socket() as holder:
        try:
            holder.bind(("127.0.0.1", 8888))
            holder.listen()
        except OSError:
            pass  # taken already, which is the case under test
        lab = _lab(tmp_path, "--data-dir", str(tmp_path / "data"))
        try:
            first = lab.stdout.readline()
            assert "port 8888 is in use" in first, first
            base, token, _ = _read_until_ready(lab)
            assert not base.endswith(":8888")
            assert requests.get(f"{base}/api/status", params={"token": token}, timeout=10).ok
            lab.send_signal(signal.SIGTERM)
            assert lab.wait(timeout=40) == 0
        finally:
            if lab.poll() is None:
                lab.kill()
                lab.wait()


def test_killed_lab_takes_jupyterlab_and_its_tasks_along(tmp_path):
    """kill -9 of `tc-notebook lab`: JupyterLab is told to stop (and removes its
    runtime files), and the running task's processes are killed."""
    data_dir = tmp_path / "data"
    lab = _lab(tmp_path, "--port", "0", "--data-dir", str(data_dir))
    marker = f"3000.{uuid.uuid4().int % 10**6}"
    try:
        base, _, sandbox_url = _read_until_ready(lab)
        queue = make_queue(sandbox_url, json.loads((data_dir / "root-client.json").read_text()))
        task = tutorial_task()
        task["payload"]["command"] = ["/bin/sh", "-c", f"sleep {marker}"]
        queue.createTask(slugid.nice(), task)
        wait_until(lambda: _processes(marker), 20, message="the task's process")
        lab.kill()
        lab.wait(timeout=10)
        wait_until(lambda: not _answers(f"{base}/api/status"), 20, message="JupyterLab to stop")
        wait_until(lambda: not list((tmp_path / "runtime").glob("jpserver-*")), 20,
                   message="JupyterLab's runtime files to go")
        wait_until(lambda: not _processes(marker), 10, message="the task's process to end")
    finally:
        if lab.poll() is None:
            lab.kill()
            lab.wait()
