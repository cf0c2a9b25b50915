"""Lists come in Taskcluster's order: its Postgres database sorts taskIds and
artifact names with the en_US.UTF-8 collation, not byte by byte (found by the
differential tests against the rig; see tc_notebook/sandbox/collation.py)."""

from __future__ import annotations

import contextlib
import itertools
import locale
import random

import pytest
from helpers import create_and_claim, make_task, new_task_id

from tc_notebook.sandbox.collation import collation_key

# Three taskIds whose byte order ("B", "_", "a") is not their collation order.
TASK_IDS = [first + "bbbbbbbQbCbbbbbbbbbbA" for first in ("B", "_", "a")]


@contextlib.contextmanager
def en_us_collation():
    """LC_COLLATE set to en_US.UTF-8 for the block; skip where it is not installed."""
    previous = locale.setlocale(locale.LC_COLLATE)
    try:
        locale.setlocale(locale.LC_COLLATE, "en_US.UTF-8")
    except locale.Error:
        pytest.skip("the en_US.UTF-8 locale is not installed")
    try:
        yield
    finally:
        locale.setlocale(locale.LC_COLLATE, previous)


def test_collation_key_sorts_as_en_us():
    """collation_key orders printable ASCII as glibc's en_US.UTF-8 does."""
    rng = random.Random(7)
    printable = [chr(c) for c in range(0x20, 0x7F)]
    words = ["".join(p) for n in range(4) for p in itertools.product("aB0_-./$", repeat=n)]
    words += ["".join(rng.choice(printable) for _ in range(rng.randint(1, 24)))
              for _ in range(3000)]
    with en_us_collation():
        expected = sorted(words, key=locale.strxfrm)
    assert sorted(words, key=collation_key) == expected


def test_task_group_and_dependents_listed_by_task_id(queue):
    """listTaskGroup and listDependentTasks order tasks by taskId, as Taskcluster does."""
    expected = sorted(TASK_IDS, key=collation_key)
    assert expected != sorted(TASK_IDS)  # the case is not byte order
    group, required = new_task_id(), new_task_id()
    queue.createTask(required, make_task())
    for task_id in TASK_IDS:
        queue.createTask(task_id, make_task(taskGroupId=group, dependencies=[required]))
    listed = queue.listTaskGroup(group)["tasks"]
    assert [t["status"]["taskId"] for t in listed] == expected
    page = queue.listDependentTasks(required, query={"limit": 2})
    rest = queue.listDependentTasks(required, query={"continuationToken":
                                                     page["continuationToken"]})
    assert [t["status"]["taskId"] for t in page["tasks"] + rest["tasks"]] == expected


def test_artifacts_listed_by_name(queue, sandbox):
    """listArtifacts orders names as Taskcluster does, across pages."""
    task_id, _, worker = create_and_claim(queue, sandbox.root_url)
    names = ["public/B.txt", "public/a-c.txt", "public/ab.txt", "public/a_b.txt", "public/A"]
    for name in names:
        worker.createArtifact(task_id, 0, name, {
            "storageType": "reference", "url": "https://example.com/", "contentType": "text/plain",
            "expires": make_task()["deadline"]})
    expected = sorted(names, key=collation_key)
    assert expected != sorted(names)
    first = queue.listArtifacts(task_id, 0, query={"limit": 3})
    rest = queue.listArtifacts(task_id, 0, query={"continuationToken": first["continuationToken"]})
    assert [a["name"] for a in first["artifacts"] + rest["artifacts"]] == expected
