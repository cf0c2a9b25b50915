"""`tc-notebook lab`: the tutorial notebooks in JupyterLab, on a sandbox.

Starts a sandbox (queue and worker) on 127.0.0.1, hands its root URL and
credentials to every kernel through the environment (so `connect()` in a
notebook finds it), and runs JupyterLab on the notebooks folder until
Ctrl-C, then stops both.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from .sandbox import QueueSettings, Sandbox


def find_notebooks() -> Path:
    """`./notebooks` when run from a clone, else the current directory."""
    here = Path.cwd() / "notebooks"
    return here if here.is_dir() else Path.cwd()


def kernel_environment(
    root_url: str, credentials: dict[str, str], proxy_prefix: str = "/"
) -> dict[str, str]:
    """What JupyterLab's kernels need to find a sandbox: the TASKCLUSTER_*
    variables `connect()` reads, and the Jupyter base URL its links go through."""
    return {
        "TASKCLUSTER_ROOT_URL": root_url,
        "TASKCLUSTER_CLIENT_ID": credentials["clientId"],
        "TASKCLUSTER_ACCESS_TOKEN": credentials["accessToken"],
        "TC_NOTEBOOK_PROXY_PREFIX": proxy_prefix,
    }


def jupyterlab_command(
    port: int, token: str, root_dir: Path, *options: str, open_browser: bool = False
) -> list[str]:
    """JupyterLab on 127.0.0.1:port with a token, serving root_dir; `options`
    are more `--Class.trait=value` settings."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        f"--ServerApp.open_browser={open_browser}",
        *options,
    ]
    if os.geteuid() == 0:  # containers and CI machines often run as root
        command.append("--ServerApp.allow_root=True")
    return command


def run_lab(
    data_dir: Path, notebook_dir: Path, port: int, open_browser: bool, claim_timeout: float
) -> int:
    """Serve the sandbox and JupyterLab until interrupted; returns lab's exit code."""
    settings = QueueSettings(claim_timeout=claim_timeout)
    with Sandbox(data_dir, settings=settings) as sandbox:
        token = secrets.token_hex(16)
        env = {**os.environ, **kernel_environment(sandbox.root_url, sandbox.credentials)}
        command = jupyterlab_command(port, token, notebook_dir, open_browser=open_browser)
        print(f"sandbox: {sandbox.root_url} (data in {sandbox.data_dir})", flush=True)
        print(
            f"JupyterLab: http://127.0.0.1:{port}/lab/tree/00-start-here.ipynb?token={token}",
            flush=True,
        )
        print("Stop with Ctrl-C.", flush=True)
        lab = subprocess.Popen(command, env=env)
        try:
            return lab.wait()
        except KeyboardInterrupt:
            lab.send_signal(signal.SIGINT)
            lab.send_signal(signal.SIGINT)  # JupyterLab asks for confirmation once
            try:
                return lab.wait(timeout=15)
            except subprocess.TimeoutExpired:
                lab.terminate()
                return lab.wait()
