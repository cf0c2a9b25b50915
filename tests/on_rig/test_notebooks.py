"""Every notebook, unchanged, top to bottom under nbval against the rig, with
`tc-notebook worker` serving the notebooks' task queue (`TC_NOTEBOOK_TASK_QUEUE`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import taskcluster
from rig import rig_options

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
# Notebooks left out on the rig, each with the reason.
LEFT_OUT = {"06-finding-tasks.ipynb": "the rig runs no index service"}


def learner_scopes(task_queue_id: str) -> list[str]:
    """What the README says a learner's client needs for the notebooks."""
    return [
        f"queue:create-task:lowest:{task_queue_id}",
        "queue:scheduler-id:-",
        "queue:create-task:project:none",
        "queue:cancel-task:-/*",
        "queue:rerun-task:-/*",
        "queue:get-artifact:*",
    ]


@pytest.fixture
def learner(rig, rig_worker) -> Iterator[dict[str, str]]:
    """A client of the rig with only the learner's scopes; deleted afterwards."""
    auth = taskcluster.Auth({**rig_options(rig), "maxRetries": 2})
    client_id = f"tc-notebook-tests/learner-{uuid.uuid4().hex[:12]}"
    client = auth.createClient(
        client_id,
        {
            "expires": taskcluster.fromNowJSON("2 hours"),
            "description": "tc-notebook tests: the scopes the README lists for the notebooks",
            "scopes": learner_scopes(rig_worker.task_queue_id),
        },
    )
    yield {"TASKCLUSTER_CLIENT_ID": client_id, "TASKCLUSTER_ACCESS_TOKEN": client["accessToken"]}
    auth.deleteClient(client_id)


def test_notebooks_pass_under_nbval_on_the_rig(rig, rig_worker, learner, tmp_path):
    """The learner's setting on a real deployment: TASKCLUSTER_* name the rig and
    a client with the README's scopes, TC_NOTEBOOK_TASK_QUEUE a queue a worker serves.
    The notebooks of LEFT_OUT are not run, for the reason given there."""
    env = {
        **os.environ,
        **rig,
        **learner,
        "TC_NOTEBOOK_TASK_QUEUE": rig_worker.task_queue_id,
        "TC_NOTEBOOK_PROXY_PREFIX": "",
    }
    claimed_before = rig_worker.log().count(" claimed from ")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-v",
            "--nbval-lax",
            "--rootdir",
            str(tmp_path),
            "-o",
            "addopts=",
            str(NOTEBOOKS),
            *(f"--ignore={NOTEBOOKS / name}" for name in LEFT_OUT),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = result.stdout[-6000:] + result.stderr[-3000:]
    assert result.returncode == 0, report
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed[1]) >= 50, report
    assert not re.search(r"\d+ (failed|error)", result.stdout), report
    notebooks = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb") if p.name not in LEFT_OUT)
    untested = [name for name in notebooks if f"{name}::" not in result.stdout]
    assert not untested, f"no cell of {untested} ran\n{report}"
    claimed = rig_worker.log().count(" claimed from ") - claimed_before
    assert claimed >= 5, f"the notebooks' tasks ran elsewhere? {claimed} claims\n{report}"
