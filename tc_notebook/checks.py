"""What the exercise checks (`exercises`) are made of: a `Verdict`, the early
exit of a check that found a wrong answer, and what a task really did, read
from the queue like any client: its state, its runs, its output (the lines
its command printed, not the worker's), its exit code, its artifacts' bytes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import requests
import taskcluster

from .terms import LIVE_LOG, RESOLVED
from .theme import SUCCESS, WARNING

WORKER_LINE = "[taskcluster"  # how docker-worker, generic-worker and the kit's worker mark theirs
# The queue's pattern for a taskId (a slugid: a v4 UUID in 22 URL-safe characters).
SLUGID = re.compile(
    r"^[A-Za-z0-9_-]{8}[Q-T][A-Za-z0-9_-][CGKOSWaeimquy26-][A-Za-z0-9_-]{10}[AQgw]$"
)
EXIT_CODE = re.compile(r"exit code:?\s*(-?\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check, shown as a green or orange line in a notebook
    (its message as text: it may quote what a task printed)."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def _repr_html_(self) -> str:
        colour, mark = (SUCCESS, "✔") if self.ok else (WARNING, "✘")
        text = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(self.message))
        return f'<div style="color:{colour};font-weight:600">{mark} {text}</div>'

    def __repr__(self) -> str:
        return ("✔ " if self.ok else "✘ ") + self.message


class Wrong(Exception):
    """A verdict reached early: the answer is not right, for this reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def checked(check: Any) -> Any:
    """Turn a check that raises `Wrong` into one that returns a `Verdict`."""

    def run(*args: Any, **kwargs: Any) -> Verdict:
        try:
            return check(*args, **kwargs)
        except Wrong as wrong:
            return Verdict(False, wrong.message)

    run.__name__, run.__doc__, run.__wrapped__ = check.__name__, check.__doc__, check
    return run


# -- reading the queue -------------------------------------------------------------------


def short(text: str, limit: int = 60) -> str:
    """`text` on one line, cut to `limit` characters (with an ellipsis)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def task_id_of(value: object, variable: str) -> str:
    """`value` if it looks like a taskId, else a `Wrong` saying what it is."""
    if value is None or value == "":
        raise Wrong(f"Not yet: put your task's id in `{variable}`, then run this check again.")
    if isinstance(value, dict):
        raise Wrong(
            f"`{variable}` holds a dictionary; put the taskId itself in it, the string "
            "you gave `createTask` (e.g. from `slugid.nice()`)."
        )
    if not isinstance(value, str):
        raise Wrong(f"`{variable}` holds a {type(value).__name__}; a taskId is a string.")
    if not SLUGID.match(value):
        raise Wrong(
            f"{short(value, 40)!r} is not a taskId: a taskId is 22 characters from "
            f"`slugid.nice()`. Put your task's id in `{variable}`."
        )
    return value


def status_of(queue: taskcluster.Queue, value: object, variable: str) -> dict[str, Any]:
    """The status of the task whose id the learner put in `variable`."""
    task_id = task_id_of(value, variable)
    try:
        return queue.status(task_id)["status"]
    except taskcluster.exceptions.TaskclusterRestFailure as failure:
        if failure.status_code == 404:
            raise Wrong(
                f"The queue knows no task {task_id!r} (`{variable}`): was `createTask` "
                "called with this id, on this connection?"
            ) from None
        raise


def resolved_status(queue: taskcluster.Queue, value: object, variable: str) -> dict[str, Any]:
    """`status_of`, once the task is resolved (wrong while it is not)."""
    status = status_of(queue, value, variable)
    if status["state"] not in RESOLVED:
        raise Wrong(
            f"Your task is {status['state']}: it has not finished yet. Wait until it is "
            "resolved, then run this check again."
        )
    return status


def ran_to_its_end(
    queue: taskcluster.Queue, task_id: object, again: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The resolved status of the learner's task and its last run; wrong if that
    run ended exception (`again` says what to do instead)."""
    status = resolved_status(queue, task_id, "my_task_id")
    last = status["runs"][-1]
    if status["state"] == "exception":
        raise Wrong(
            f"Your task ended exception ({last.get('reasonResolved')}): it did not run to "
            f"its end. {again}"
        )
    return status, last


def fetch_artifact(
    queue: taskcluster.Queue, task_id: str, run_id: int, name: str
) -> requests.Response:
    """An artifact of a run, fetched as any HTTP client would (signed if private)."""
    if name.startswith("public/"):
        url = queue.buildUrl("getArtifact", task_id, run_id, name)
    else:
        url = queue.buildSignedUrl("getArtifact", task_id, run_id, name)
    return requests.get(url, timeout=60)


class RunLog:
    """A resolved run's log: the command's own output and the worker's lines."""

    def __init__(self, text: str) -> None:
        lines = text.replace("\r\n", "\n").split("\n")
        self.worker = [line for line in lines if line.startswith(WORKER_LINE)]
        self.output = [line for line in lines if not line.startswith(WORKER_LINE)]
        while self.output and not self.output[-1].strip():
            self.output.pop()

    @property
    def exit_code(self) -> int | None:
        """The exit code the worker reported at the end of the log, if it did."""
        for line in reversed(self.worker):
            found = EXIT_CODE.search(line)
            if found:
                return int(found[1])
        return None

    def preview(self, lines: int = 4) -> str:
        """The first lines of the output, on one line."""
        shown = [" ".join(line.split()) for line in self.output if line.strip()][:lines]
        more = " …" if len([line for line in self.output if line.strip()]) > lines else ""
        return " | ".join(shown) + more if shown else "(nothing)"


def run_log(queue: taskcluster.Queue, task_id: str, run_id: int) -> RunLog:
    """The log of a resolved run (wrong if it has none)."""
    reply = fetch_artifact(queue, task_id, run_id, LIVE_LOG)
    if not reply.ok:
        raise Wrong(
            f"Run {run_id} of your task has no log ({LIVE_LOG} answered {reply.status_code}): "
            "did a worker run it?"
        )
    return RunLog(reply.text)


def command_of(queue: taskcluster.Queue, task_id: str) -> str:
    """The task's command as one line of text (docker-worker's payload)."""
    command = queue.task(task_id).get("payload", {}).get("command")
    if isinstance(command, list) and all(isinstance(part, str) for part in command):
        return " ".join(command)
    return str(command or "")


def words(text: str) -> str:
    """`text` in lower case, letters and digits only: `Hello, World!` → `hello world`."""
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())
