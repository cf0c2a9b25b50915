"""The exercise checks on a real Taskcluster: every scenario of
tests/test_exercises.py (worked examples, blank, wrong and right answers),
with the tasks created on the rig and run by `tc-notebook worker` on a fresh
queue (`TC_NOTEBOOK_TASK_QUEUE`, as a learner on a deployment sets it)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import taskcluster
from rig import rig_options
from test_exercises import *  # noqa: F403 - the same tests, on the rig's queue below

from tc_notebook.tutorial import tutorial_task_queue


@pytest.fixture(scope="module")
def queue(rig, rig_worker) -> Iterator[taskcluster.Queue]:
    """The official client on the rig; the notebooks' tasks go to the worker's queue."""
    before = os.environ.get("TC_NOTEBOOK_TASK_QUEUE")
    os.environ["TC_NOTEBOOK_TASK_QUEUE"] = rig_worker.task_queue_id
    assert tutorial_task_queue() == rig_worker.task_queue_id
    try:
        yield taskcluster.Queue({**rig_options(rig), "maxRetries": 2})
    finally:
        if before is None:
            os.environ.pop("TC_NOTEBOOK_TASK_QUEUE", None)
        else:
            os.environ["TC_NOTEBOOK_TASK_QUEUE"] = before
