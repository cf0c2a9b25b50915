"""The check of notebook 06's exercise (finding tasks): the learner indexed a
completed task of their own, with an artifact `public/note.txt`, at a path
under `tutorial.mine.`. The check looks the path up in the index as anyone
would (`findTask`, then the namespace listings when nothing is there) and
reads the task and its note from the queue.
"""

from __future__ import annotations

from typing import Any

import requests
import taskcluster

from .checks import Verdict, Wrong, checked, short

__all__ = ["EXAMPLE_NAMESPACE", "MINE", "NOTE", "Verdict", "check_indexed_path"]

EXAMPLE_NAMESPACE = "tutorial.finding-tasks"  # where notebook 06's worked example indexes
MINE = "tutorial.mine"  # where the learner's answer goes
NOTE = "public/note.txt"
ROUTE_PREFIX = "index."


def _missing(failure: taskcluster.exceptions.TaskclusterRestFailure) -> bool:
    return failure.status_code == 404


def _path_of(value: object) -> str:
    """`value` if it reads as an index path under `MINE.`, else a `Wrong`."""
    if value is None or value == "":
        raise Wrong(
            f"Not yet: index a task of your own under `{MINE}.`, then put its index path in "
            "`my_path` and run this check again."
        )
    if not isinstance(value, str):
        raise Wrong(f"`my_path` holds a {type(value).__name__}; an index path is a string.")
    path = value
    if path.startswith(ROUTE_PREFIX):
        raise Wrong(
            f"{short(path, 60)!r} is the route, what the task lists in `routes`. The index "
            f"path is what follows `{ROUTE_PREFIX}`: {short(path[len(ROUTE_PREFIX) :], 60)!r}."
        )
    if path != path.strip() or any(not word or " " in word for word in path.split(".")):
        raise Wrong(
            f"{short(path, 60)!r} is not an index path: it is words joined by single dots, "
            f"with no spaces and no dot at either end, like `{MINE}.notes.first`."
        )
    if path == EXAMPLE_NAMESPACE or path.startswith(EXAMPLE_NAMESPACE + "."):
        raise Wrong(
            "That is a path of the worked example. Index a task of your own, under "
            f"`{MINE}.`, and put that path in `my_path`."
        )
    if path == MINE:
        raise Wrong(
            f"`{MINE}` is the namespace the exercise gives you: your path goes at least one "
            f"level deeper, e.g. `{MINE}.note`."
        )
    if not path.startswith(MINE + "."):
        raise Wrong(
            f"{short(path, 60)!r} is outside `{MINE}.`: the exercise wants your task indexed "
            f"below it, e.g. at `{MINE}.note` (the route `{ROUTE_PREFIX}{MINE}.note`)."
        )
    return path


def _names_under(index: taskcluster.Index, namespace: str) -> list[str]:
    """The names of the namespaces and tasks directly under `namespace`."""
    found = [n["name"] for n in index.listNamespaces(namespace)["namespaces"]]
    for task in index.listTasks(namespace)["tasks"]:
        found.append(task["namespace"].rsplit(".", 1)[-1])
    return sorted(set(found))


def _indexed(index: taskcluster.Index, path: str) -> dict[str, Any]:
    """The index's entry at `path`, else a `Wrong` that says what is around it."""
    try:
        return index.findTask(path)
    except taskcluster.exceptions.TaskclusterRestFailure as failure:
        if not _missing(failure):
            raise
    below = _names_under(index, path)
    if below:
        shown = ", ".join(f"`{path}.{name}`" for name in below[:3])
        raise Wrong(
            f"`{path}` is a namespace, not a task: the index holds no task at that path, "
            f"but it holds {shown} under it. Give the full path of your task, one level "
            "deeper."
        )
    parent = path.rsplit(".", 1)[0]
    beside = _names_under(index, parent)
    nearby = (
        f" Under `{parent}` the index holds: {', '.join(beside[:5])}."
        if beside
        else f" The index holds nothing under `{parent}` either."
    )
    raise Wrong(
        f"No task is indexed at `{path}`.{nearby} Did your task complete (only completed "
        f"tasks are indexed; wait until it has)? Does its route read `{ROUTE_PREFIX}{path}`, "
        f"starting with `{ROUTE_PREFIX}`? Creating it needs the scope "
        f"`queue:route:{ROUTE_PREFIX}{path}`."
    )


def _learners_task(queue: taskcluster.Queue, task_id: str, path: str) -> None:
    """Wrong unless the indexed task is a completed task of the learner's."""
    try:
        state = queue.status(task_id)["status"]["state"]
        definition = queue.task(task_id)
    except taskcluster.exceptions.TaskclusterRestFailure as failure:
        if _missing(failure):
            raise Wrong(
                f"`{path}` names task {task_id!r}, which the queue does not know: index a "
                "task that ran on this deployment."
            ) from None
        raise
    if state != "completed":
        raise Wrong(
            f"`{path}` names a task that is {state}, not completed: the exercise wants a "
            "task that ran to its end and succeeded."
        )
    example = ROUTE_PREFIX + EXAMPLE_NAMESPACE + "."
    if any(route.startswith(example) for route in definition.get("routes", [])):
        raise Wrong(
            f"`{path}` names a task of the worked example: create a task of your own, "
            "with its own `public/note.txt`."
        )


def _note(index: taskcluster.Index, queue: taskcluster.Queue, path: str, task_id: str) -> str:
    """The text of the indexed task's note, found by its index path."""
    reply = requests.get(index.buildUrl("findArtifactFromTask", path, NOTE), timeout=60)
    if reply.ok:
        return reply.content.decode("utf-8", errors="replace")
    try:
        artifacts = queue.listLatestArtifacts(task_id)["artifacts"]
    except taskcluster.exceptions.TaskclusterRestFailure:
        artifacts = []
    names = [a["name"] for a in artifacts if not a["name"].startswith("public/logs/")]
    if any(a["name"] == NOTE and a["storageType"] == "error" for a in artifacts):
        raise Wrong(
            f"Your task declares `{NOTE}`, but the worker found no file at its path: does "
            "the command write the file the artifact's `path` names?"
        )
    listed = ", ".join(f"`{name}`" for name in names) or "no artifact besides its logs"
    raise Wrong(
        f"The task at `{path}` published {listed}; none is `{NOTE}`. Add it to "
        '`payload.artifacts`, e.g. `"public/note.txt": {"type": "file", "path": "note.txt"}`, '
        "and write note.txt in the command."
    )


@checked
def check_indexed_path(
    index: taskcluster.Index, queue: taskcluster.Queue, value: object
) -> Verdict:
    """06: `value` is the index path, under `tutorial.mine.`, of a completed
    task of the learner's that published `public/note.txt`."""
    path = _path_of(value)
    task_id = _indexed(index, path)["taskId"]
    _learners_task(queue, task_id, path)
    text = _note(index, queue, path, task_id)
    said = repr(short(text, 40)) if text.strip() else "an empty note"
    return Verdict(
        True, f"Right: `{path}` finds your completed task, and its `{NOTE}` holds {said}."
    )
