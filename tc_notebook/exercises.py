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

import re

import taskcluster

from .checks import (
    Verdict,
    Wrong,
    checked,
    command_of,
    fetch_artifact,
    ran_to_its_end,
    resolved_status,
    run_log,
    short,
    status_of,
    task_id_of,
    words,
)
from .terms import RESOLVED

__all__ = [
    "Verdict",
    "check_dependent_pair",
    "check_earlier_run_artifact",
    "check_failure_reason",
    "check_hello_artifact",
    "check_hello_task",
]


# -- 01 ----------------------------------------------------------------------------------


@checked
def check_hello_task(queue: taskcluster.Queue, task_id: object) -> Verdict:
    """01: a task that completed and whose output has a line `hello world`."""
    status, last = ran_to_its_end(queue, task_id, "Create it again and let it finish.")
    log = run_log(queue, task_id, last["runId"])
    if status["state"] != "completed":
        code = f" with exit code {log.exit_code}" if log.exit_code is not None else ""
        raise Wrong(
            f"Your task failed{code}: read the end of its live log to see why its command "
            "did not exit with 0."
        )
    if any(words(line) == "hello world" for line in log.output):
        return Verdict(True, "Right: your task ran and printed hello world.")
    command = command_of(queue, task_id)
    if not any(line.strip() for line in log.output):
        note = ""
        if "hello" in command.lower():
            note = (
                " Its command mentions hello, and the log's `[taskcluster]` lines repeat "
                "the command, but those are the worker's lines: does your command print to "
                "its output, not into a file or `/dev/null`?"
            )
        raise Wrong(f"Your task printed nothing.{note}")
    if any(words(line).startswith("hello") for line in log.output):
        raise Wrong(
            f"Close: your task printed {log.preview()!r}, but no line that reads "
            "`hello world`. Print exactly that, e.g. `echo hello world`."
        )
    raise Wrong(
        f"Your task printed {log.preview()!r}, and no line `hello world`: is this the "
        "example task, or one made before you changed its Command? Change Command in the "
        "form, press Create, and use the new task's id (`form.created_task_ids[-1]`)."
    )


# -- 02 ----------------------------------------------------------------------------------


@checked
def check_hello_artifact(queue: taskcluster.Queue, task_id: object) -> Verdict:
    """02: a completed task that published `public/hello.txt` holding hello."""
    status = resolved_status(queue, task_id, "my_task_id")
    command = command_of(queue, task_id)
    if "TODO" in command:
        raise Wrong(
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
            raise Wrong(
                f"Your task published {near[0]!r}, not `{wanted}`: the artifact's name is "
                "the key in `payload.artifacts`, and only names starting with `public/` "
                "can be read without credentials."
            )
        listed = ", ".join(names) if names else "no artifact besides its logs"
        raise Wrong(
            f"Your task published {listed}; none is `{wanted}`. Add it to "
            '`payload.artifacts`: `"public/hello.txt": {"type": "file", "path": "hello.txt"}`.'
        )
    if found[wanted]["storageType"] == "error":
        raise Wrong(
            f"`{wanted}` is declared, but the worker found no file at its path: does your "
            "command write hello.txt in its working directory, and does the artifact's "
            '`path` say `"hello.txt"`?'
        )
    reply = fetch_artifact(queue, task_id, run_id, wanted)
    if not reply.ok:
        raise Wrong(f"`{wanted}` could not be downloaded ({reply.status_code}); try again.")
    text = reply.content.decode("utf-8", errors="replace")
    if words(text) not in ("hello", "hello world"):
        held = repr(short(text, 40)) if text.strip() else "nothing"
        raise Wrong(
            f"`{wanted}` holds {held}, not hello: the artifact's `path` should name the "
            "file your command wrote, and the command should write hello into it."
        )
    if status["state"] != "completed":
        raise Wrong(
            f"`{wanted}` holds hello, but your task ended {status['state']}: read the end "
            "of its log to see why the command did not exit with 0."
        )
    name = queue.task(task_id)["metadata"]["name"]
    if "TODO" in name:
        raise Wrong(
            f"The artifact is right, but the task's name is still {name!r}: give it a name "
            "that says what it does (`metadata.name`), and create it again."
        )
    return Verdict(True, "Right: your task wrote hello.txt and published it as public/hello.txt.")


# -- 03 ----------------------------------------------------------------------------------


@checked
def check_failure_reason(queue: taskcluster.Queue, task_id: object, reason: object) -> Verdict:
    """03: a task whose command exits with 7, and the reasonResolved of its last run."""
    status, last = ran_to_its_end(
        queue, task_id, "Create a task whose command is `exit 7` and let it finish."
    )
    if status["state"] == "completed":
        raise Wrong(
            "Your task completed: its command exited with 0. The exercise asks for a task "
            "whose command is `exit 7`."
        )
    code = run_log(queue, task_id, last["runId"]).exit_code
    if code is None:  # a worker that does not say: read the command
        code = 7 if re.search(r"\bexit 7\b", command_of(queue, task_id)) else None
    if code != 7:
        said = f"with exit code {code}" if code is not None else "but not with exit code 7"
        raise Wrong(
            f"Your task failed {said}: is it the example above? Create your own task whose "
            "command is `exit 7`, and put its id in `my_task_id`."
        )
    actual = last["reasonResolved"]
    if reason is None or reason == "":
        raise Wrong(
            "Your task is right. Now put the `reasonResolved` of its last run in `my_reason` "
            "(read it from `conn.queue.status(my_task_id)`)."
        )
    if reason == 7 or reason == "7":
        raise Wrong(
            "7 is the exit code of the command, which only the log shows. The queue records "
            "how the run ended as a word: `status['runs'][-1]['reasonResolved']`."
        )
    if not isinstance(reason, str):
        raise Wrong(f"`my_reason` holds a {type(reason).__name__}; reasonResolved is a string.")
    if reason != actual:
        raise Wrong(
            f"Not quite: the last run of your task did not end with {reason!r}. Print "
            "`status['runs'][-1]` of your task and read its `reasonResolved`."
        )
    return Verdict(True, f"Right: exit code 7, so the run was resolved {actual!r}.")


# -- 04 ----------------------------------------------------------------------------------


@checked
def check_earlier_run_artifact(
    queue: taskcluster.Queue, task_id: object, text: object, name: str = "public/draw.txt"
) -> Verdict:
    """04: the text of artifact `name` of run 0 of a task that has been rerun."""
    status = status_of(queue, task_id, "draw_id")
    runs = status["runs"]
    if len(runs) < 2:
        raise Wrong(
            "The task has one run so far: rerun it first (`conn.queue.rerunTask(draw_id)`), "
            "then wait for run 1 to finish."
        )
    if runs[-1]["state"] not in RESOLVED:
        raise Wrong(f"Run {runs[-1]['runId']} is {runs[-1]['state']}: wait for it to finish.")
    if text is None or text == "":
        raise Wrong(f"Not yet: put the text of `{name}` of run 0 in `my_draw`.")
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if isinstance(text, list | tuple):
        raise Wrong(
            f"`my_draw` holds a list; the exercise wants the text inside `{name}` of run 0."
        )
    if not isinstance(text, str):
        raise Wrong(f"`my_draw` holds a {type(text).__name__}; put the artifact's text in it.")
    if text.strip().startswith(("http://", "https://", "/")):
        raise Wrong(
            "That is a URL: download it (e.g. `requests.get(url).text`) and put the text "
            "in `my_draw`."
        )
    contents = {}
    for run in runs:
        reply = fetch_artifact(queue, task_id, run["runId"], name)
        if reply.ok:
            contents[run["runId"]] = reply.content.decode("utf-8", errors="replace").strip()
    if 0 not in contents:
        raise Wrong(f"Run 0 of this task has no `{name}`: is `draw_id` the task created above?")
    answer = text.strip()
    if answer == contents[0]:
        return Verdict(True, f"Right: run 0 wrote {contents[0]!r}.")
    latest = runs[-1]["runId"]
    if answer == contents.get(latest):
        raise Wrong(
            f"That is what run {latest}, the latest, wrote: `getLatestArtifact` and "
            f"`listLatestArtifacts` read the latest run. Ask for run 0: "
            f"`buildUrl('getArtifact', draw_id, 0, '{name}')`."
        )
    if any(answer == contents.get(run_id) for run_id in contents):
        raise Wrong("That is another run's text: ask for run 0 with `getArtifact`.")
    raise Wrong(
        f"That is not what run 0 wrote into `{name}`: download it with "
        f"`buildUrl('getArtifact', draw_id, 0, '{name}')` and `requests.get`."
    )


# -- 05 ----------------------------------------------------------------------------------


@checked
def check_dependent_pair(queue: taskcluster.Queue, first: object, second: object) -> Verdict:
    """05: `first` fails, `second` depends on it with `requires: all-resolved`,
    both in one task group, and `second` ran anyway and completed."""
    first_id = task_id_of(first, "my_first")
    second_id = task_id_of(second, "my_second")
    if first_id == second_id:
        raise Wrong("`my_first` and `my_second` are the same task: create two.")
    statuses = [status_of(queue, first_id, "my_first"), status_of(queue, second_id, "my_second")]
    definitions = [queue.task(first_id), queue.task(second_id)]
    if first_id not in definitions[1].get("dependencies", []):
        if second_id in definitions[0].get("dependencies", []):
            raise Wrong(
                "It is the other way round: your first task depends on the second. Put the "
                "task that must fail in `my_first`, the one that waits in `my_second`."
            )
        raise Wrong(
            "The second task does not list the first in its `dependencies`: add "
            '`"dependencies": [my_first]` to its definition.'
        )
    if statuses[0]["taskGroupId"] != statuses[1]["taskGroupId"]:
        raise Wrong(
            "The two tasks are in different task groups: give both the same `taskGroupId` "
            "(a new `slugid.nice()`)."
        )
    state = statuses[0]["state"]
    if state not in RESOLVED:
        raise Wrong(f"Your first task is {state}: wait until it is resolved.")
    if state == "completed":
        raise Wrong(
            "Your first task completed, as the example's build did. The exercise wants a "
            "first task that fails (e.g. `exit 1`), and a second that runs anyway."
        )
    if state == "exception":
        reason = statuses[0]["runs"][-1].get("reasonResolved") if statuses[0]["runs"] else None
        raise Wrong(
            f"Your first task ended exception ({reason}), not failed: let its command run "
            "and exit with a non-zero code, e.g. `exit 1`."
        )
    requires = definitions[1].get("requires", "all-completed")
    second_state = statuses[1]["state"]
    if requires != "all-resolved":
        raise Wrong(
            f"Your second task is {second_state}: with `requires` {requires!r} (the "
            "default) it waits for its dependencies to complete, and the first failed, so "
            'it will never run. Give it `"requires": "all-resolved"`.'
        )
    if second_state not in RESOLVED:
        raise Wrong(f"Your second task is {second_state}: wait until it has finished.")
    if second_state != "completed":
        raise Wrong(
            f"Your second task ran but ended {second_state}: it should complete (exit 0) "
            "even though the first failed."
        )
    return Verdict(
        True, "Right: the first task failed, and the second, waiting for all-resolved, ran anyway."
    )
