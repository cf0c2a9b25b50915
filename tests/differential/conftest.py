"""Fixtures of the differential tests: the rig (skipped when absent), a
sandbox started in-process with Taskcluster's own timings, and the `pair`
every scenario runs against. The terminal summary says how many calls were
compared."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
import taskcluster
from rig import require_rig, rig_options

from tc_notebook.sandbox import QueueSettings, Sandbox

from .accepted import ACCEPTED
from .compare import TALLY
from .harness import Comparison, Pair, Target, install_capture, remove_capture
from .test_deadlines import before_deadline


@pytest.fixture(scope="session")
def rig_target() -> Iterator[Target]:
    """The rig as a Target; clients it makes are deleted at the end."""
    options = rig_options(require_rig())
    auth = taskcluster.Auth({**options, "maxRetries": 2})
    made: list[str] = []

    def add_client(client_id: str, scopes: list[str]) -> str:
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)
        reply = auth.createClient(client_id, {
            "expires": taskcluster.stringDate(expires),
            "description": "tc-notebook differential tests (deleted when they end)",
            "scopes": scopes,
        })
        made.append(client_id)
        return reply["accessToken"]

    yield Target("rig", options["rootUrl"], options["credentials"], add_client)
    for client_id in made:
        auth.deleteClient(client_id)


@pytest.fixture(scope="session")
def sandbox_target(rig_target: Target,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A sandbox with Taskcluster's default settings (1200 s claims, 20 s
    claimWork, deadlines resolved 60 s late) and no worker of its own: the
    scenarios claim and resolve runs themselves. Started only when the rig is
    there to compare with."""
    sandbox = Sandbox(tmp_path_factory.mktemp("differential-sandbox"), host="127.0.0.1", port=0,
                      settings=QueueSettings(), capacity=0)
    sandbox.start()
    yield Target("sandbox", sandbox.root_url, sandbox.credentials, sandbox.add_client)
    sandbox.stop()


@pytest.fixture(scope="session")
def capture() -> Iterator[None]:
    """The official client keeps each HTTP response for the Recorder (see harness)."""
    install_capture()
    yield
    remove_capture()


@pytest.fixture(scope="session")
def pair(sandbox_target: Target, rig_target: Target, capture: None) -> Pair:
    """The two targets; `pair.run(scenario)` compares them."""
    return Pair(sandbox_target, rig_target)


@pytest.fixture(scope="session", autouse=True)
def deadlines(pair: Pair) -> Comparison:
    """Tasks with deadlines seconds away, made when the first differential test
    starts, so that waiting for Taskcluster to resolve them (about a minute)
    overlaps the other tests; test_deadlines, run last, checks them."""
    return pair.start(before_deadline)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests that wait for the `deadlines` last."""
    items.sort(key=lambda item: item.path.name == "test_deadlines.py")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many calls were compared, and which accepted differences were seen."""
    if not TALLY.total:
        return
    write = terminalreporter.write_line
    terminalreporter.section("differential: sandbox vs Taskcluster rig")
    write(f"{TALLY.total} calls compared over {len(TALLY.calls)} API entries: "
          + ", ".join(f"{name} {count}" for name, count in sorted(TALLY.calls.items())))
    unused = [a for i, a in enumerate(ACCEPTED) if i not in TALLY.used]
    write(f"accepted differences seen: {len(TALLY.used)} of {len(ACCEPTED)}")
    for entry in unused:
        write(f"  not seen in this run: {'/'.join(entry.entries)} {entry.path} ({entry.kind})")
