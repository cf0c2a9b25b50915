"""Fixtures: real sandboxes on 127.0.0.1 driven by the official taskcluster client."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from helpers import create_and_claim, make_queue, make_task, new_task_id
from static_exports import Export, export_all

from tc_notebook.worker.taskuser import TASK_USER_VARIABLE

# The worker tests' fixtures (worker_sandbox, client, cli, ...), for every module.
pytest_plugins = ["worker_fixtures"]

# As root, a sandbox runs tasks as `nobody`, who cannot read every directory
# under /usr on every machine (Debian's polkit keeps one for itself), so the
# tutorial's `du /usr` would fail. The suite runs tasks as the suite's own
# user; tests of the task user itself (test_hygiene.py) restore the default.
if os.geteuid() == 0:
    os.environ.setdefault(TASK_USER_VARIABLE, "root")

DEFAULT_SETTINGS = {
    "claim_timeout": 1200,
    "claim_work_wait": 1,
    "deadline_delay": 60,
    "resolver_interval": 1.0,
    "max_request_bytes": 10 * 1024 * 1024,
}


def _start(data_dir: Path, **settings):
    from tc_notebook.sandbox import QueueSettings, Sandbox

    merged = {**DEFAULT_SETTINGS, **settings}
    # capacity=0: no embedded worker, these tests claim and resolve runs themselves
    sb = Sandbox(data_dir, host="127.0.0.1", port=0, settings=QueueSettings(**merged), capacity=0)
    sb.start()
    return sb


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    """One sandbox shared by the whole session (default timings, 1 s claimWork poll)."""
    sb = _start(tmp_path_factory.mktemp("session-sandbox"))
    yield sb
    sb.stop()


@pytest.fixture
def make_sandbox(tmp_path):
    """Factory for per-test sandboxes with custom settings; all are stopped afterwards."""
    started = []

    def factory(data_dir: Path | None = None, **settings):
        sb = _start(data_dir or tmp_path / f"data{len(started)}", **settings)
        started.append(sb)
        return sb

    yield factory
    for sb in started:
        sb.stop()


@pytest.fixture(scope="module")
def fast_sandbox(tmp_path_factory):
    """Module sandbox with 2 s claims, 0.2 s resolver and no deadline delay."""
    sb = _start(tmp_path_factory.mktemp("fast-sandbox"), claim_timeout=2, resolver_interval=0.2,
                deadline_delay=0)
    yield sb
    sb.stop()


@pytest.fixture
def root_url(sandbox) -> str:
    """Root URL of the session sandbox."""
    return sandbox.root_url


@pytest.fixture
def queue(sandbox):
    """Queue client with the root credentials of the session sandbox."""
    return make_queue(sandbox.root_url, sandbox.credentials)


@pytest.fixture
def anon(sandbox):
    """Queue client without credentials."""
    return make_queue(sandbox.root_url)


@pytest.fixture
def pending_task(queue) -> str:
    """A pending task of the session sandbox."""
    task_id = new_task_id()
    queue.createTask(task_id, make_task())
    return task_id


@pytest.fixture
def task_id(pending_task) -> str:
    """An existing pending task (`pending_task`, by the name the auth tests use)."""
    return pending_task


@pytest.fixture
def running(queue, root_url):
    """A claimed task: (taskId, claim, worker client)."""
    return create_and_claim(queue, root_url)


class Gate:
    """A file a task's command waits for, so that a test, not the clock,
    decides when the task may finish."""

    def __init__(self, folder: Path) -> None:
        folder.chmod(0o777)  # tasks may run as another user (see the README)
        self.path = folder / "open"

    def wait(self, before: str = "true") -> str:
        """A shell script: `before`, then wait until the gate opens."""
        return f"{before}; while [ ! -e {self.path} ]; do sleep 0.05; done"

    def open(self) -> None:
        """Let the waiting task go on."""
        self.path.touch()


@pytest.fixture
def gate():
    """A Gate in a folder of its own, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="tc-gate-"))
    yield Gate(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def fuzz_sandbox(tmp_path_factory, request):
    """The fuzz suite's sandbox, tasks and ledger, one for all its modules (test_fuzz_*.py):
    its summary line counts them all, and test_read_back sees what they created."""
    from fuzz_world import fuzz_session

    yield from fuzz_session(tmp_path_factory, request.config)


@pytest.fixture
def fuzz(fuzz_sandbox):
    """The fuzz suite's Fuzz, starting a new batch (see fuzz_world.py)."""
    from fuzz_world import fuzz_batch

    with fuzz_batch(fuzz_sandbox) as fuzz:
        yield fuzz


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    """The widget tests' sandbox, with its own worker (`conn.sandbox`), one per
    module, and a connection to it as `connect()` makes."""
    from tc_notebook.connection import Connection
    from tc_notebook.sandbox import Sandbox

    with Sandbox(tmp_path_factory.mktemp("widgets"), capacity=4) as sandbox:
        yield Connection(sandbox.root_url, sandbox.credentials, sandbox)


@pytest.fixture(scope="session")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Export]:
    """Every notebook exported once a session (test_static_export.py and the
    browser test of notebook 04's export share it)."""
    return export_all(tmp_path_factory.getbasetemp() / "static-exports")
