"""The worker keeps its claim (reclaimTask) for as long as a run lasts: while
its commands run, and while its artifacts and its log upload, until it
reports; the run never ends claim-expired on the way."""

from __future__ import annotations

import re

import pytest
import taskcluster
from worker_fixtures import (
    backing_log,
    epoch,
    expires,
    only_run,
    run_task,
    sh,
    start_sandbox,
)

CLAIM_SECONDS = 3  # reclaimed with a third left, checked every half second
FILES = 4000  # a directory artifact that takes several claims to upload here


@pytest.fixture(scope="module")
def queue(tmp_path_factory):
    """A client of a sandbox whose claims last CLAIM_SECONDS."""
    sandbox = start_sandbox(tmp_path_factory.mktemp("short-claims"), capacity=2,
                            claim_timeout=CLAIM_SECONDS)
    yield taskcluster.Queue({**sandbox.client_options(), "maxRetries": 0})
    sandbox.stop()


def test_claim_kept_while_the_commands_run(queue):
    """A command running for two claims' time completes in its first run."""
    _, status = run_task(queue, {"command": ["sleep", str(2 * CLAIM_SECONDS)],
                                 "maxRunTime": 60}, timeout=60)
    assert status["state"] == "completed", only_run(status)


def test_claim_kept_while_the_artifacts_upload(queue):
    """A directory artifact whose upload outlasts a claim: the run completes,
    in one run, though its commands ended more than a claim before."""
    script = (f"mkdir out && i=0 && while [ $i -lt {FILES} ]; do echo $i > out/$i;"
              " i=$((i+1)); done; date +%s.%N")
    artifact = {"type": "directory", "path": "out", "name": "public/out", "expires": expires()}
    task_id, status = run_task(queue, {"command": sh(script), "maxRunTime": 120,
                                       "artifacts": [artifact]}, timeout=180)
    run = only_run(status)
    assert status["state"] == "completed", run
    ended = [float(line) for line in backing_log(queue, task_id).splitlines()
             if re.fullmatch(r"[0-9]+\.[0-9]+", line)]
    uploading = epoch(run["resolved"]) - ended[-1]
    if uploading <= CLAIM_SECONDS:
        pytest.skip(f"the uploads took {uploading:.1f} s, within one claim: nothing to keep")
