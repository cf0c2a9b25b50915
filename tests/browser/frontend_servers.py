"""Jupyter servers for the browser tests, as subprocesses on 127.0.0.1: the
environment every one of them gets (private runtime, config and IPython
folders; kernels that find the shared sandbox), how one is stopped, and
Voilà standalone (`voila <notebook>`), which runs the notebook itself and
has no Jupyter server behind its page (JupyterLab and Notebook 7 start in
conftest.py's `_start_lab`)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import requests
from browser_helpers import LOGS, BrowserSandbox
from helpers import wait_until
from static_exports import jupyter_environment

from tc_notebook.lab import kernel_environment
from tc_notebook.net import free_port

VOILA_START_SECONDS = 60


def server_environment(
    tmp: Path, sandbox: BrowserSandbox, proxy_prefix: str | None = None
) -> dict[str, str]:
    """The environment of a Jupyter server (`jupyter_environment` under `tmp`)
    whose kernels find `sandbox` (`kernel_environment`, with `proxy_prefix`
    only if given)."""
    env = jupyter_environment(tmp)
    env.update(kernel_environment(sandbox.root_url, sandbox.credentials, proxy_prefix))
    return env


def stop(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def tail(path: Path, size: int = 4000) -> str:
    """The end of a log file ("" if unreadable)."""
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""


def _answers(process: subprocess.Popen, url: str) -> bool:
    """True once `url` gets any HTTP answer, or the process has exited."""
    if process.poll() is not None:
        return True
    try:
        requests.get(url, timeout=2)
    except requests.RequestException:
        return False
    return True


def start_voila(
    tmp: Path, sandbox: BrowserSandbox, notebook: Path, name: str = "voila"
) -> tuple[subprocess.Popen, str]:
    """`voila <notebook>` alone (no Jupyter server, so no proxy) on a free
    port of 127.0.0.1, its kernels told nothing of a proxy; the process and
    the URL of the page that runs the notebook. Its log: logs/<name>.log."""
    root = tmp / "notebooks"
    root.mkdir()
    shutil.copyfile(notebook, root / notebook.name)
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "voila",
        notebook.name,
        "--no-browser",
        f"--port={port}",
        "--Voila.port_retries=0",  # exits if another process took the port meanwhile
        "--Voila.ip=127.0.0.1",
        f"--Voila.root_dir={root}",
    ]
    log_path = LOGS / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=server_environment(tmp, sandbox),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        # A page of its own that answers at once (the notebook's page runs it).
        wait_until(
            lambda: _answers(process, f"{url}voila/api/themes"),
            timeout=VOILA_START_SECONDS,
            message=f"{name} to answer",
        )
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited ({process.returncode}):\n{tail(log_path)}")
    except BaseException:
        stop(process)
        raise
    return process, url
