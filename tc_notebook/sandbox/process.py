"""`SandboxProcess`: `tc-notebook sandbox` in a child process, for callers
that want the queue and worker outside their own process (and able to
outlive or crash apart from it)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any


class SandboxProcess:
    """Start `tc-notebook sandbox` and read its root URL and credentials.

    >>> with SandboxProcess(data_dir) as sandbox:
    ...     queue = taskcluster.Queue(sandbox.client_options())
    """

    def __init__(
        self, data_dir: str | Path, *args: str, port: int = 0, log_dir: str | Path | None = None
    ) -> None:
        self.data_dir = Path(data_dir)
        self.args = [str(a) for a in args]
        self.requested_port = port
        self._temporary_log_dir = log_dir is None  # removed by stop()
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="tc-sandbox-process-"))
        self.env_file = self.log_dir / "sandbox.env"
        self.log_path = self.log_dir / "sandbox.log"
        self.process: subprocess.Popen | None = None
        self.environment: dict[str, str] = {}

    def start(self, timeout: float = 30) -> SandboxProcess:
        """Start the process; returns once the sandbox answers (its env file exists)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env_file.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "tc_notebook",
            "sandbox",
            "--port",
            str(self.requested_port),
            "--data-dir",
            str(self.data_dir),
            "--env-file",
            str(self.env_file),
            *self.args,
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        give_up = time.monotonic() + timeout
        while not self.env_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"tc-notebook sandbox exited: {self.log()[-2000:]}")
            if time.monotonic() > give_up:
                self.kill()
                raise TimeoutError(f"tc-notebook sandbox did not answer in {timeout} s")
            time.sleep(0.05)
        lines = self.env_file.read_text().splitlines()
        self.environment = dict(line.split("=", 1) for line in lines if "=" in line)
        return self

    @property
    def root_url(self) -> str:
        """The sandbox's root URL."""
        return self.environment["TASKCLUSTER_ROOT_URL"]

    @property
    def port(self) -> int:
        """The port it serves on (chosen by the system when asked for 0)."""
        return int(urllib.parse.urlsplit(self.root_url).port)

    @property
    def credentials(self) -> dict[str, str]:
        """The root client's `{clientId, accessToken}`."""
        return {
            "clientId": self.environment["TASKCLUSTER_CLIENT_ID"],
            "accessToken": self.environment["TASKCLUSTER_ACCESS_TOKEN"],
        }

    def client_options(self, **extra: Any) -> dict[str, Any]:
        """Options for `taskcluster.Queue(...)` with root credentials."""
        return {"rootUrl": self.root_url, "credentials": self.credentials, **extra}

    def log(self) -> str:
        """What the process has printed so far (its transition log included)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM (running tasks are reported worker-shutdown); kill after
        `timeout`. A log folder of its own making is removed."""
        code = 0
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
            code = self.process.wait()
        if self._temporary_log_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)
        return code

    def kill(self) -> None:
        """SIGKILL, as a crash would (running tasks are left to expire)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait()

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
