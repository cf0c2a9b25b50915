"""`tc-notebook lab`, the README's main command: sandbox + JupyterLab, Ctrl-C stops both."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_lab_serves_the_notebooks_with_a_sandbox(tmp_path):
    """The printed URL opens JupyterLab on the notebooks; its kernels get the
    sandbox's address; SIGINT stops JupyterLab and the sandbox."""
    port = free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    lab = subprocess.Popen(
        [sys.executable, "-m", "tc_notebook", "lab", "--no-browser", "--port", str(port),
         "--data-dir", str(tmp_path / "sandbox"), "--notebook-dir", str(ROOT / "notebooks")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        printed = [lab.stdout.readline() for _ in range(3)]
        sandbox_url = re.search(r"sandbox: (http://127\.0\.0\.1:\d+)", printed[0]).group(1)
        lab_url = re.search(r"(http://127\.0\.0\.1:\d+)/lab/tree/00-start-here\.ipynb\?token=(\w+)",
                            printed[1])
        assert lab_url, printed
        base, token = lab_url.groups()
        give_up = time.monotonic() + 60
        while True:
            try:
                contents = requests.get(f"{base}/api/contents", params={"token": token}, timeout=5)
                if contents.ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < give_up, "JupyterLab did not answer in 60 s"
            time.sleep(0.2)
        names = {item["name"] for item in contents.json()["content"]}
        assert {"00-start-here.ipynb", "04-download-task-artifacts.ipynb"} <= names
        assert requests.get(f"{sandbox_url}/api/queue/v1/ping", timeout=5).json()["alive"]
        lab.send_signal(signal.SIGINT)
        assert lab.wait(timeout=30) is not None
        assert not _answers(f"{sandbox_url}/api/queue/v1/ping")
    finally:
        if lab.poll() is None:
            lab.kill()
            lab.wait()


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=2)
    except requests.ConnectionError:
        return False
    return True
