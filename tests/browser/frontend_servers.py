"""Jupyter servers for the browser tests, as subprocesses on 127.0.0.1: the
environment every one of them gets (private runtime, config and IPython
folders; kernels that find the shared sandbox), how one is stopped, and
Voilà standalone (`voila <notebook>`), which runs the notebook itself and
has no Jupyter server behind its page (JupyterLab and Notebook 7 start in
conftest.py's `_start_lab`)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests
from browser_helpers import LOGS, BrowserSandbox
from helpers import wait_until

from tc_notebook.lab import kernel_environment

VOILA_START_SECONDS = 60


def server_environment(
    tmp: Path, sandbox: BrowserSandbox, proxy_prefix: str | None = None
) -> dict[str, str]:
    """This process's environment for a Jupyter server: no JupyterHub, Jupyter
    or Taskcluster variables of its own, kernels that find `sandbox`
    (`kernel_environment`, with `proxy_prefix` only if given), the venv first
    on PATH, and runtime, config and IPython folders of its own under `tmp`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTERHUB_", "JPY_", "TASKCLUSTER_", "TC_NOTEBOOK_"))
    }
    env.update(kernel_environment(sandbox.root_url, sandbox.credentials, proxy_prefix))
    for folder in ("runtime", "config", "ipython"):
        (tmp / folder).mkdir(exist_ok=True)
    env.update(
        # The venv's share/jupyter (labextensions, the python3 kernelspec) and
        # etc/jupyter (the enabled server extensions) stay visible: only the
        # runtime files and user-level config are private.
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        IPYTHONDIR=str(tmp / "ipython"),
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        PYTHONUNBUFFERED="1",
    )
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


def free_port() -> int:
    """A port nothing listens on right now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
