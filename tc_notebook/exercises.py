"""Checks for the notebooks' exercises: each says whether the learner got it
right, and if not, what to look at. They query the queue like any client."""

from __future__ import annotations

from dataclasses import dataclass

import requests
import taskcluster

RESOLVED = ("completed", "failed", "exception")


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check, shown as a green or orange line in a notebook."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def _repr_html_(self) -> str:
        colour, mark = ("#2e7d32", "✔") if self.ok else ("#ef6c00", "✘")
        return f'<div style="color:{colour};font-weight:600">{mark} {self.message}</div>'

    def __repr__(self) -> str:
        return ("✔ " if self.ok else "✘ ") + self.message


def _artifact_text(queue: taskcluster.Queue, task_id: str, name: str) -> str | None:
    url = queue.buildUrl("getLatestArtifact", task_id, name)
    reply = requests.get(url, timeout=30)
    return reply.text if reply.ok else None


def _status(queue: taskcluster.Queue, task_id: object) -> dict | Verdict:
    if not isinstance(task_id, str) or not task_id:
        return Verdict(False, "Not yet: put the taskId of your task (a string) in the variable.")
    try:
        return queue.status(task_id)["status"]
    except taskcluster.exceptions.TaskclusterRestFailure:
        return Verdict(False, f"The queue knows no task {task_id!r}: was it created?")


def _resolved_status(queue: taskcluster.Queue, task_id: object) -> dict | Verdict:
    status = _status(queue, task_id)
    if isinstance(status, dict) and status["state"] not in RESOLVED:
        return Verdict(False, f"The task is {status['state']}: wait for it, then check again.")
    return status


def check_hello_task(queue: taskcluster.Queue, task_id: object) -> Verdict:
    """01: a task that completed and whose log says hello."""
    status = _resolved_status(queue, task_id)
    if isinstance(status, Verdict):
        return status
    if status["state"] != "completed":
        return Verdict(False, f"The task ended {status['state']}: look at its live log.")
    log = _artifact_text(queue, task_id, "public/logs/live_backing.log") or ""
    if "hello" not in log.lower():
        return Verdict(False, "It completed, but its log does not say hello.")
    return Verdict(True, "Right: your task ran and said hello.")


def check_hello_artifact(queue: taskcluster.Queue, task_id: object) -> Verdict:
    """02: a completed task that published `public/hello.txt` containing hello."""
    status = _resolved_status(queue, task_id)
    if isinstance(status, Verdict):
        return status
    text = _artifact_text(queue, task_id, "public/hello.txt")
    if text is None:
        return Verdict(False, "The task has no artifact public/hello.txt: check payload.artifacts.")
    if "hello" not in text.lower():
        return Verdict(False, f"public/hello.txt holds {text[:40]!r}, not a hello.")
    return Verdict(True, "Right: the task published public/hello.txt.")


def check_failure_reason(queue: taskcluster.Queue, task_id: object, reason: object) -> Verdict:
    """03: the reasonResolved of a task's last run, read from its status."""
    status = _status(queue, task_id)
    if isinstance(status, Verdict):
        return status
    if status["state"] not in RESOLVED:
        return Verdict(False, "Your loop stopped before the task resolved.")
    actual = status["runs"][-1].get("reasonResolved")
    if reason is None:
        return Verdict(False, "Not yet: put the reasonResolved you read in the variable.")
    if reason != actual:
        return Verdict(False, f"Not quite: you found {reason!r}; look at runs[-1] again.")
    return Verdict(True, f"Right: the last run ended with reasonResolved {actual!r}.")


def check_earlier_run_artifacts(
    queue: taskcluster.Queue, task_id: object, names: object
) -> Verdict:
    """04: the artifact names of run 0 of a task that has been rerun."""
    status = _status(queue, task_id)
    if isinstance(status, Verdict):
        return status
    if len(status["runs"]) < 2:
        return Verdict(False, "The task has one run: rerun it first (queue.rerunTask).")
    if names is None:
        return Verdict(False, "Not yet: put a list of artifact names in the variable.")
    expected = sorted(a["name"] for a in queue.listArtifacts(task_id, 0)["artifacts"])
    if not isinstance(names, list | tuple) or sorted(names) != expected:
        return Verdict(False, "Not quite: list the artifacts of run 0 with queue.listArtifacts.")
    return Verdict(True, f"Right: run 0 had {len(expected)} artifacts.")


def check_dependent_pair(queue: taskcluster.Queue, first: object, second: object) -> Verdict:
    """05: `second` depends on `first`, both in one task group, in that order."""
    statuses = [_status(queue, first), _status(queue, second)]
    for status in statuses:
        if isinstance(status, Verdict):
            return status
    definition = queue.task(second)
    if first not in definition["dependencies"]:
        return Verdict(False, "The second task does not list the first in its dependencies.")
    if statuses[0]["taskGroupId"] != statuses[1]["taskGroupId"]:
        return Verdict(False, "The two tasks are in different task groups: set taskGroupId.")
    if statuses[1]["runs"] and statuses[0]["state"] != "completed":
        return Verdict(False, "The second task started before the first completed.")
    return Verdict(True, "Right: one group, and the second task waits for the first.")
