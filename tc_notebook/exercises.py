"""Checks for the notebooks' exercises: each says whether the learner got it
right, and if not, what is wrong and where to look.

A check asks the queue about what really happened, like any client (the
official `taskcluster.Queue`, on a sandbox or a real deployment): the task's
state, its runs, its output (the log lines the command printed, not the
`[taskcluster …]` lines a worker adds around them), its exit code, the bytes
of its artifacts. What the notebook's worked example already does is not
enough to pass.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import requests
import taskcluster

RESOLVED = ("completed", "failed", "exception")
LIVE_LOG = "public/logs/live.log"
WORKER_LINE = "[taskcluster"  # how docker-worker, generic-worker and the kit's worker mark theirs
# The queue's pattern for a taskId (a slugid: a v4 UUID in 22 URL-safe characters).
SLUGID = re.compile(
    r"^[A-Za-z0-9_-]{8}[Q-T][A-Za-z0-9_-][CGKOSWaeimquy26-][A-Za-z0-9_-]{10}[AQgw]$"
)
EXIT_CODE = re.compile(r"exit code:?\s*(-?\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check, shown as a green or orange line in a notebook."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def _repr_html_(self) -> str:
        colour, mark = ("#2e7d32", "✔") if self.ok else ("#ef6c00", "✘")
        text = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(self.message))
        return f'<div style="color:{colour};font-weight:600">{mark} {text}</div>'

    def __repr__(self) -> str:
        return ("✔ " if self.ok else "✘ ") + self.message


class _Wrong(Exception):
    """A verdict reached early: the answer is not right, for this reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _checked(check: Any) -> Any:
    """Turn a check that raises `_Wrong` into one that returns a `Verdict`."""

    def run(*args: Any, **kwargs: Any) -> Verdict:
        try:
            return check(*args, **kwargs)
        except _Wrong as wrong:
            return Verdict(False, wrong.message)

    run.__name__, run.__doc__, run.__wrapped__ = check.__name__, check.__doc__, check
    return run


# -- reading the queue -------------------------------------------------------------------


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _task_id(value: object, variable: str) -> str:
    """`value` if it looks like a taskId, else a `_Wrong` saying what it is."""
    if value is None or value == "":
        raise _Wrong(f"Not yet: put your task's id in `{variable}`, then run this check again.")
    if isinstance(value, dict):
        raise _Wrong(
            f"`{variable}` holds a dictionary; put the taskId itself in it, the string "
            "you gave `createTask` (e.g. from `slugid.nice()`)."
        )
    if not isinstance(value, str):
        raise _Wrong(f"`{variable}` holds a {type(value).__name__}; a taskId is a string.")
    if not SLUGID.match(value):
        raise _Wrong(
            f"{_short(value, 40)!r} is not a taskId: a taskId is 22 characters from "
            f"`slugid.nice()`. Put your task's id in `{variable}`."
        )
    return value


def _status(queue: taskcluster.Queue, value: object, variable: str) -> dict[str, Any]:
    task_id = _task_id(value, variable)
    try:
        return queue.status(task_id)["status"]
    except taskcluster.exceptions.TaskclusterRestFailure as failure:
        if failure.status_code == 404:
            raise _Wrong(
                f"The queue knows no task {task_id!r} (`{variable}`): was `createTask` "
                "called with this id, on this connection?"
            ) from None
        raise


def _resolved(queue: taskcluster.Queue, value: object, variable: str) -> dict[str, Any]:
    status = _status(queue, value, variable)
    if status["state"] not in RESOLVED:
        raise _Wrong(
            f"Your task is {status['state']}: it has not finished yet. Wait until it is "
            "resolved, then run this check again."
        )
    return status


def _ran_to_its_end(
    queue: taskcluster.Queue, task_id: object, again: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The resolved status of the learner's task and its last run; wrong if that
    run ended exception (`again` says what to do instead)."""
    status = _resolved(queue, task_id, "my_task_id")
    last = status["runs"][-1]
    if status["state"] == "exception":
        raise _Wrong(
            f"Your task ended exception ({last.get('reasonResolved')}): it did not run to "
            f"its end. {again}"
        )
    return status, last


def _get(queue: taskcluster.Queue, task_id: str, run_id: int, name: str) -> requests.Response:
    """An artifact of a run, fetched as any HTTP client would (signed if private)."""
    if name.startswith("public/"):
        url = queue.buildUrl("getArtifact", task_id, run_id, name)
    else:
        url = queue.buildSignedUrl("getArtifact", task_id, run_id, name)
    return requests.get(url, timeout=60)


class _Log:
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


def _log(queue: taskcluster.Queue, task_id: str, run_id: int) -> _Log:
    reply = _get(queue, task_id, run_id, LIVE_LOG)
    if not reply.ok:
        raise _Wrong(
            f"Run {run_id} of your task has no log ({LIVE_LOG} answered {reply.status_code}): "
            "did a worker run it?"
        )
    return _Log(reply.text)


def _command(queue: taskcluster.Queue, task_id: str) -> str:
    """The task's command as one line of text (docker-worker's payload)."""
    command = queue.task(task_id).get("payload", {}).get("command")
    if isinstance(command, list) and all(isinstance(part, str) for part in command):
        return " ".join(command)
    return str(command or "")


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


# -- 01 ----------------------------------------------------------------------------------


@_checked
def check_hello_task(queue: taskcluster.Queue, task_id: object) -> Verdict:
    """01: a task that completed and whose output has a line `hello world`."""
    status, last = _ran_to_its_end(queue, task_id, "Create it again and let it finish.")
    log = _log(queue, task_id, last["runId"])
    if status["state"] != "completed":
        code = f" with exit code {log.exit_code}" if log.exit_code is not None else ""
        raise _Wrong(
            f"Your task failed{code}: read the end of its live log to see why its command "
            "did not exit with 0."
        )
    if any(_words(line) == "hello world" for line in log.output):
        return Verdict(True, "Right: your task ran and printed hello world.")
    command = _command(queue, task_id)
    if not any(line.strip() for line in log.output):
        note = ""
        if "hello" in command.lower():
            note = (
                " Its command mentions hello, and the log's `[taskcluster]` lines repeat "
                "the command, but those are the worker's lines: does your command print to "
                "its output, not into a file or `/dev/null`?"
            )
        raise _Wrong(f"Your task printed nothing.{note}")
    if any(_words(line).startswith("hello") for line in log.output):
        raise _Wrong(
            f"Close: your task printed {log.preview()!r}, but no line that reads "
            "`hello world`. Print exactly that, e.g. `echo hello world`."
        )
    raise _Wrong(
        f"Your task printed {log.preview()!r}, and no line `hello world`: is this the "
        "example task, or one made before you changed its Command? Change Command in the "
        "form, press Create, and use the new task's id (`form.created_task_ids[-1]`)."
    )


# -- 02 ----------------------------------------------------------------------------------


@_checked
def check_hello_artifact(queue: taskcluster.Queue, task_id: object) -> Verdict:
    """02: a completed task that published `public/hello.txt` holding hello."""
    status = _resolved(queue, task_id, "my_task_id")
    command = _command(queue, task_id)
    if "TODO" in command:
        raise _Wrong(
            "Your task's command still has the starter's TODO: replace it with a command "
            "that writes hello into hello.txt, then run the cell again."
        )
    run_id = status["runs"][-1]["runId"]
    artifacts = queue.listArtifacts(task_id, run_id)["artifacts"]
    names = [a["name"] for a in artifacts if not a["name"].startswith("public/logs/")]
    found = {a["name"]: a for a in artifacts}
    wanted = "public/hello.txt"
    if wanted not in found:
        near = [name for name in names if name.rstrip("/").endswith("hello.txt")]
        if near:
            raise _Wrong(
                f"Your task published {near[0]!r}, not `{wanted}`: the artifact's name is "
                "the key in `payload.artifacts`, and only names starting with `public/` "
                "can be read without credentials."
            )
        listed = ", ".join(names) if names else "no artifact besides its logs"
        raise _Wrong(
            f"Your task published {listed}; none is `{wanted}`. Add it to "
            '`payload.artifacts`: `"public/hello.txt": {"type": "file", "path": "hello.txt"}`.'
        )
    if found[wanted]["storageType"] == "error":
        raise _Wrong(
            f"`{wanted}` is declared, but the worker found no file at its path: does your "
            "command write hello.txt in its working directory, and does the artifact's "
            '`path` say `"hello.txt"`?'
        )
    reply = _get(queue, task_id, run_id, wanted)
    if not reply.ok:
        raise _Wrong(f"`{wanted}` could not be downloaded ({reply.status_code}); try again.")
    text = reply.content.decode("utf-8", errors="replace")
    if _words(text) not in ("hello", "hello world"):
        held = repr(_short(text, 40)) if text.strip() else "nothing"
        raise _Wrong(
            f"`{wanted}` holds {held}, not hello: the artifact's `path` should name the "
            "file your command wrote, and the command should write hello into it."
        )
    if status["state"] != "completed":
        raise _Wrong(
            f"`{wanted}` holds hello, but your task ended {status['state']}: read the end "
            "of its log to see why the command did not exit with 0."
        )
    name = queue.task(task_id)["metadata"]["name"]
    if "TODO" in name:
        raise _Wrong(
            f"The artifact is right, but the task's name is still {name!r}: give it a name "
            "that says what it does (`metadata.name`), and create it again."
        )
    return Verdict(True, "Right: your task wrote hello.txt and published it as public/hello.txt.")


# -- 03 ----------------------------------------------------------------------------------


@_checked
def check_failure_reason(queue: taskcluster.Queue, task_id: object, reason: object) -> Verdict:
    """03: a task whose command exits with 7, and the reasonResolved of its last run."""
    status, last = _ran_to_its_end(
        queue, task_id, "Create a task whose command is `exit 7` and let it finish."
    )
    if status["state"] == "completed":
        raise _Wrong(
            "Your task completed: its command exited with 0. The exercise asks for a task "
            "whose command is `exit 7`."
        )
    code = _log(queue, task_id, last["runId"]).exit_code
    if code is None:  # a worker that does not say: read the command
        code = 7 if re.search(r"\bexit 7\b", _command(queue, task_id)) else None
    if code != 7:
        said = f"with exit code {code}" if code is not None else "but not with exit code 7"
        raise _Wrong(
            f"Your task failed {said}: is it the example above? Create your own task whose "
            "command is `exit 7`, and put its id in `my_task_id`."
        )
    actual = last["reasonResolved"]
    if reason is None or reason == "":
        raise _Wrong(
            "Your task is right. Now put the `reasonResolved` of its last run in `my_reason` "
            "(read it from `conn.queue.status(my_task_id)`)."
        )
    if reason == 7 or reason == "7":
        raise _Wrong(
            "7 is the exit code of the command, which only the log shows. The queue records "
            "how the run ended as a word: `status['runs'][-1]['reasonResolved']`."
        )
    if not isinstance(reason, str):
        raise _Wrong(f"`my_reason` holds a {type(reason).__name__}; reasonResolved is a string.")
    if reason != actual:
        raise _Wrong(
            f"Not quite: the last run of your task did not end with {reason!r}. Print "
            "`status['runs'][-1]` of your task and read its `reasonResolved`."
        )
    return Verdict(True, f"Right: exit code 7, so the run was resolved {actual!r}.")


# -- 04 ----------------------------------------------------------------------------------


@_checked
def check_earlier_run_artifact(
    queue: taskcluster.Queue, task_id: object, text: object, name: str = "public/draw.txt"
) -> Verdict:
    """04: the text of artifact `name` of run 0 of a task that has been rerun."""
    status = _status(queue, task_id, "draw_id")
    runs = status["runs"]
    if len(runs) < 2:
        raise _Wrong(
            "The task has one run so far: rerun it first (`conn.queue.rerunTask(draw_id)`), "
            "then wait for run 1 to finish."
        )
    if runs[-1]["state"] not in RESOLVED:
        raise _Wrong(f"Run {runs[-1]['runId']} is {runs[-1]['state']}: wait for it to finish.")
    if text is None or text == "":
        raise _Wrong(f"Not yet: put the text of `{name}` of run 0 in `my_draw`.")
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if isinstance(text, list | tuple):
        raise _Wrong(
            f"`my_draw` holds a list; the exercise wants the text inside `{name}` of run 0."
        )
    if not isinstance(text, str):
        raise _Wrong(f"`my_draw` holds a {type(text).__name__}; put the artifact's text in it.")
    if text.strip().startswith(("http://", "https://", "/")):
        raise _Wrong(
            "That is a URL: download it (e.g. `requests.get(url).text`) and put the text "
            "in `my_draw`."
        )
    contents = {}
    for run in runs:
        reply = _get(queue, task_id, run["runId"], name)
        if reply.ok:
            contents[run["runId"]] = reply.content.decode("utf-8", errors="replace").strip()
    if 0 not in contents:
        raise _Wrong(f"Run 0 of this task has no `{name}`: is `draw_id` the task created above?")
    answer = text.strip()
    if answer == contents[0]:
        return Verdict(True, f"Right: run 0 wrote {contents[0]!r}.")
    latest = runs[-1]["runId"]
    if answer == contents.get(latest):
        raise _Wrong(
            f"That is what run {latest}, the latest, wrote: `getLatestArtifact` and "
            f"`listLatestArtifacts` read the latest run. Ask for run 0: "
            f"`buildUrl('getArtifact', draw_id, 0, '{name}')`."
        )
    if any(answer == contents.get(run_id) for run_id in contents):
        raise _Wrong("That is another run's text: ask for run 0 with `getArtifact`.")
    raise _Wrong(
        f"That is not what run 0 wrote into `{name}`: download it with "
        f"`buildUrl('getArtifact', draw_id, 0, '{name}')` and `requests.get`."
    )


# -- 05 ----------------------------------------------------------------------------------


@_checked
def check_dependent_pair(queue: taskcluster.Queue, first: object, second: object) -> Verdict:
    """05: `first` fails, `second` depends on it with `requires: all-resolved`,
    both in one task group, and `second` ran anyway and completed."""
    first_id = _task_id(first, "my_first")
    second_id = _task_id(second, "my_second")
    if first_id == second_id:
        raise _Wrong("`my_first` and `my_second` are the same task: create two.")
    statuses = [_status(queue, first_id, "my_first"), _status(queue, second_id, "my_second")]
    definitions = [queue.task(first_id), queue.task(second_id)]
    if first_id not in definitions[1].get("dependencies", []):
        if second_id in definitions[0].get("dependencies", []):
            raise _Wrong(
                "It is the other way round: your first task depends on the second. Put the "
                "task that must fail in `my_first`, the one that waits in `my_second`."
            )
        raise _Wrong(
            "The second task does not list the first in its `dependencies`: add "
            '`"dependencies": [my_first]` to its definition.'
        )
    if statuses[0]["taskGroupId"] != statuses[1]["taskGroupId"]:
        raise _Wrong(
            "The two tasks are in different task groups: give both the same `taskGroupId` "
            "(a new `slugid.nice()`)."
        )
    state = statuses[0]["state"]
    if state not in RESOLVED:
        raise _Wrong(f"Your first task is {state}: wait until it is resolved.")
    if state == "completed":
        raise _Wrong(
            "Your first task completed, as the example's build did. The exercise wants a "
            "first task that fails (e.g. `exit 1`), and a second that runs anyway."
        )
    if state == "exception":
        reason = statuses[0]["runs"][-1].get("reasonResolved") if statuses[0]["runs"] else None
        raise _Wrong(
            f"Your first task ended exception ({reason}), not failed: let its command run "
            "and exit with a non-zero code, e.g. `exit 1`."
        )
    requires = definitions[1].get("requires", "all-completed")
    second_state = statuses[1]["state"]
    if requires != "all-resolved":
        raise _Wrong(
            f"Your second task is {second_state}: with `requires` {requires!r} (the "
            "default) it waits for its dependencies to complete, and the first failed, so "
            'it will never run. Give it `"requires": "all-resolved"`.'
        )
    if second_state not in RESOLVED:
        raise _Wrong(f"Your second task is {second_state}: wait until it has finished.")
    if second_state != "completed":
        raise _Wrong(
            f"Your second task ran but ended {second_state}: it should complete (exit 0) "
            "even though the first failed."
        )
    return Verdict(
        True, "Right: the first task failed, and the second, waiting for all-resolved, ran anyway."
    )
