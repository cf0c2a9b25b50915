"""`tc-notebook lab`: the tutorial notebooks in JupyterLab, on a sandbox.

Starts a sandbox (queue and worker) on 127.0.0.1, hands its root URL and
credentials to every kernel through the environment (so `connect()` in a
notebook finds it), and runs JupyterLab on the notebooks until SIGINT
(Ctrl-C), SIGTERM or SIGHUP, then stops both gracefully: JupyterLab shuts
its kernels down and removes its runtime files, and the worker reports its
running tasks `worker-shutdown`.
"""

from __future__ import annotations

import contextlib
import filecmp
import importlib.resources
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from .children import die_with_parent
from .sandbox import QueueSettings, Sandbox

TUTORIAL_COPY = Path("tc-notebook-tutorial")  # where a package install's notebooks are copied
FIRST_NOTEBOOK = "00-start-here.ipynb"
DEFAULT_PORT = 8888
READY_SECONDS = 120  # JupyterLab's first start compiles nothing, but may be slow
STOP_SECONDS = 20
WATCH_SECONDS = 0.2  # how soon a stop signal is acted on
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class LabError(Exception):
    """Something the user can fix; the message says what to do."""


class _Stop(Exception):
    """A stop signal arrived."""


def packaged_notebooks() -> Path:
    """The tutorial notebooks shipped in the package."""
    return Path(str(importlib.resources.files("tc_notebook.notebooks")))


def prepare_notebooks(requested: Path | None, here: Path | None = None) -> Path:
    """The folder to open: `requested`; else `./notebooks` in a clone; else a
    copy of the packaged notebooks in `./tc-notebook-tutorial`, where files a
    learner has changed are kept as they are."""
    if requested is not None:
        if not requested.is_dir():
            raise LabError(f"--notebook-dir {requested} is not a folder")
        return requested
    here = here or Path.cwd()
    clone = here / "notebooks"
    if (clone / FIRST_NOTEBOOK).is_file():
        return clone
    target = here / TUTORIAL_COPY
    target.mkdir(exist_ok=True)
    source = packaged_notebooks()
    for notebook in sorted(source.glob("*.ipynb")):
        copy = target / notebook.name
        if not copy.exists():
            shutil.copyfile(notebook, copy)
        elif not filecmp.cmp(notebook, copy, shallow=False):
            print(f"kept your copy of {copy.name} (the original is in {source})", flush=True)
    return target


def choose_port(requested: int | None) -> int:
    """`requested` if free (0: any free port, which JupyterLab picks); by
    default 8888, or any free one when 8888 is taken."""
    if requested is not None:
        if requested and not _port_free(requested):
            raise LabError(
                f"port {requested} is in use; choose another with --port, or --port 0 for any"
            )
        return requested
    if _port_free(DEFAULT_PORT):
        return DEFAULT_PORT
    print(f"port {DEFAULT_PORT} is in use: JupyterLab takes another one", flush=True)
    return 0


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def kernel_environment(
    root_url: str, credentials: dict[str, str], proxy_prefix: str | None = None
) -> dict[str, str]:
    """What JupyterLab's kernels need to find a sandbox: the TASKCLUSTER_*
    variables `connect()` reads; and, only if given, the Jupyter base URL that
    links must go through (`TC_NOTEBOOK_PROXY_PREFIX`: without it, the page
    itself finds out whether the Jupyter server proxies the sandbox)."""
    environment = {
        "TASKCLUSTER_ROOT_URL": root_url,
        "TASKCLUSTER_CLIENT_ID": credentials["clientId"],
        "TASKCLUSTER_ACCESS_TOKEN": credentials["accessToken"],
    }
    if proxy_prefix is not None:
        environment["TC_NOTEBOOK_PROXY_PREFIX"] = proxy_prefix
    return environment


def jupyterlab_command(
    port: int, token: str, root_dir: Path, *options: str, open_browser: bool = False
) -> list[str]:
    """JupyterLab on 127.0.0.1:port with a token, serving root_dir; `options`
    are more `--Class.trait=value` settings. It never moves to another port."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        f"--ServerApp.open_browser={open_browser}",
        *options,
    ]
    if os.geteuid() == 0:  # containers and CI machines often run as root
        command.append("--ServerApp.allow_root=True")
    return command


def serving_port(
    lab: subprocess.Popen, timeout: float = READY_SECONDS, runtime_dir: Path | None = None
) -> int:
    """The port JupyterLab listens on, from the runtime file it writes once it
    does (in `runtime_dir`, by default `jupyter --runtime-dir` as this
    process's environment says)."""
    if runtime_dir is None:
        from jupyter_core.paths import jupyter_runtime_dir

        runtime_dir = Path(jupyter_runtime_dir())
    info = runtime_dir / f"jpserver-{lab.pid}.json"
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if lab.poll() is not None:
            raise LabError(f"JupyterLab exited with code {lab.returncode}")
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
            return int(json.loads(info.read_text())["port"])
        time.sleep(0.1)
    raise LabError(f"JupyterLab did not start within {timeout:.0f} s")


def _wait_until_serving(lab: subprocess.Popen, url: str, token: str) -> None:
    give_up = time.monotonic() + READY_SECONDS
    while time.monotonic() < give_up:
        if lab.poll() is not None:
            raise LabError(f"JupyterLab exited with code {lab.returncode}")
        try:
            answer = requests.get(
                f"{url}/api/status", headers={"Authorization": f"token {token}"}, timeout=2
            )
            if answer.ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise LabError(f"JupyterLab did not answer within {READY_SECONDS} s")


def _raise_stop(signum: int, _frame: object) -> None:
    for other in STOP_SIGNALS:  # one stop at a time: later signals wait for it
        signal.signal(other, signal.SIG_IGN)
    raise _Stop(signum)


def run_lab(
    data_dir: Path,
    notebook_dir: Path | None,
    port: int | None,
    open_browser: bool,
    claim_timeout: float,
) -> int:
    """Serve the sandbox and JupyterLab until a stop signal; 0 when stopped
    by one, else JupyterLab's exit code. Raises LabError with what to do."""
    try:
        import jupyterlab  # noqa: F401 - only whether it is there
    except ImportError:
        raise LabError("JupyterLab is not installed: pip install 'tc-notebook[lab]'") from None
    notebooks = prepare_notebooks(notebook_dir)
    port = choose_port(port)
    previous = {signum: signal.signal(signum, _raise_stop) for signum in STOP_SIGNALS}
    try:
        return _serve(data_dir, notebooks, port, open_browser, claim_timeout)
    except _Stop:
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _serve(
    data_dir: Path, notebooks: Path, port: int, open_browser: bool, claim_timeout: float
) -> int:
    from .cli import log_transition

    with Sandbox(data_dir, settings=QueueSettings(claim_timeout=claim_timeout)) as sandbox:
        sandbox.server.service.transition_listeners.append(log_transition)
        token = secrets.token_hex(16)
        env = {**os.environ, **kernel_environment(sandbox.root_url, sandbox.credentials)}
        command = jupyterlab_command(port, token, notebooks, open_browser=open_browser)
        log_path = sandbox.data_dir / "jupyterlab.log"
        with open(log_path, "ab") as log:
            # Its own session: a terminal's Ctrl-C reaches only this process,
            # which then stops JupyterLab with SIGTERM (no confirmation prompt).
            lab = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        try:
            url = f"http://127.0.0.1:{serving_port(lab)}"
            _wait_until_serving(lab, url, token)
            print(
                "\n"
                f"  tc-notebook lab is ready: open\n\n"
                f"    {url}/lab/tree/{FIRST_NOTEBOOK}?token={token}\n\n"
                f"  notebooks  {notebooks}\n"
                f"  sandbox    {sandbox.root_url} (data in {sandbox.data_dir})\n"
                f"  lab log    {log_path}\n"
                f"  Stop with Ctrl-C. Task transitions follow.\n",
                flush=True,
            )
            # Polled, not a blocking wait: a signal the kernel hands to another
            # thread would not interrupt a blocking waitpid(), and the main
            # thread, which alone runs Python's handlers, would never see it.
            while lab.poll() is None:
                time.sleep(WATCH_SECONDS)
            return lab.returncode
        finally:
            _stop(lab)


def _stop(lab: subprocess.Popen) -> None:
    """SIGTERM: JupyterLab shuts its kernels down and removes its runtime files."""
    if lab.poll() is None:
        print("tc-notebook lab: stopping JupyterLab, then the sandbox", file=sys.stderr, flush=True)
        lab.terminate()
        try:
            lab.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            print(
                f"tc-notebook lab: JupyterLab did not stop in {STOP_SECONDS} s; killed",
                file=sys.stderr,
                flush=True,
            )
            lab.kill()
            lab.wait()
