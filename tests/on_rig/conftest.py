"""Fixtures of the tests on the rig: its variables (the tests are skipped,
with the reason, when there is no rig), root clients, and workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import taskcluster
from rig import require_rig, rig_options
from rig_worker import RigWorker
from worker_fixtures import task_tmp  # noqa: F401 - a fixture for the tests here


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is marked `rig`."""
    for item in items:
        if "/on_rig/" in str(item.path):
            item.add_marker(pytest.mark.rig)


@pytest.fixture(scope="session")
def rig() -> dict[str, str]:
    """The rig's TASKCLUSTER_* variables (its static root client)."""
    return require_rig()


@pytest.fixture(scope="session")
def rig_queue(rig) -> taskcluster.Queue:
    """A root Queue client of the rig."""
    return taskcluster.Queue({**rig_options(rig), "maxRetries": 2})


@pytest.fixture(scope="session")
def rig_anonymous(rig) -> taskcluster.Queue:
    """A Queue client of the rig without credentials."""
    return taskcluster.Queue({"rootUrl": rig["TASKCLUSTER_ROOT_URL"], "maxRetries": 2})


@pytest.fixture(scope="module")
def rig_worker(rig) -> Iterator[RigWorker]:
    """A worker on a fresh queue, storing artifacts as the rig asks (object)."""
    worker = RigWorker(rig).start()
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def rig_s3_worker(rig) -> Iterator[RigWorker]:
    """A worker on a fresh queue that stores artifacts in S3 (`--artifacts s3`)."""
    worker = RigWorker(rig, "--artifacts", "s3").start()
    yield worker
    worker.stop()
