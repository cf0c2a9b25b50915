"""Differential scenario: the built-in workers. Tasks on `built-in/succeed`
and `built-in/fail` resolve by themselves (on the rig, by its built-in-workers
service, in about a second): an empty payload completes or fails, any other
is exception/malformed-payload."""

from __future__ import annotations

import pytest

from .harness import Ids, Recorder, Target, each_scenario, wait_for_state

pytestmark = pytest.mark.differential

RESOLVED = ("completed", "failed", "exception")


def builtin(t: Target, rec: Recorder, ids: Ids) -> None:
    """Each built-in queue with an empty and with a non-empty payload; a rerun."""
    q = t.queue()
    cases = {
        "succeed": ("built-in/succeed", {}),
        "fail": ("built-in/fail", {}),
        "succeed, payload": ("built-in/succeed", {"command": ["true"]}),
        "fail, payload": ("built-in/fail", {"image": "x"}),
    }
    for name, (tq, payload) in cases.items():
        rec(name, q.createTask, ids.task(name), ids.definition(tq, payload=payload)).expect()
    for name in cases:
        wait_for_state(q, ids.task(name), RESOLVED)
        rec(name, q.status, ids.task(name))
        rec(name, q.listArtifacts, ids.task(name), 0)
    rec("failed", q.rerunTask, ids.task("fail")).expect()
    wait_for_state(q, ids.task("fail"), RESOLVED)
    rec("rerun", q.status, ids.task("fail"))


@each_scenario(builtin)
def test_builtin_workers(pair, scenario) -> None:
    """Built-in tasks resolve alike (state, reasons, workerGroup/workerId)."""
    pair.run(scenario)
