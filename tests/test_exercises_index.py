"""Notebook 06's exercise check (finding tasks) tells right from wrong: a blank
answer, paths that are not the learner's or not a task's, nothing indexed, a
task without its note, and the right answer; each verdict checked for what
its message points the learner at. The tasks run for real on a sandbox with a
worker (the module's `conn`), and reach the index through their routes."""

from __future__ import annotations

import uuid

import pytest
import slugid
import taskcluster
from helpers import make_task, wait_resolved
from test_exercises import right, wrong
from worker_fixtures import expires, sh

from tc_notebook.exercises_index import check_indexed_path
from tc_notebook.tutorial import task_definition

NOTE = {"public/note.txt": {"type": "file", "path": "note.txt"}}


@pytest.fixture
def mine() -> str:
    """A namespace under tutorial.mine that no other test uses."""
    return f"tutorial.mine.t{uuid.uuid4().hex[:10]}"


def check(conn, path):
    return check_indexed_path(conn.index, conn.queue, path)


def run(conn, definition: dict, *paths: str, state: str = "completed") -> str:
    """Create a task routed (besides its own routes) to `paths` of the index;
    its id once it has resolved in `state`."""
    task_id = slugid.nice()
    routes = [*definition.get("routes", []), *(f"index.{path}" for path in paths)]
    conn.queue.createTask(task_id, {**definition, "routes": routes})
    assert wait_resolved(conn.queue, task_id)["state"] == state
    return task_id


def note_task(command: str = "echo my first note > note.txt", artifacts=NOTE) -> dict:
    """A learner's task, on the tutorial's queue."""
    return task_definition(command, name="My note", description="A learner's answer",
                           artifacts=artifacts)


def test_the_right_answer(conn, mine):
    task_id = run(conn, note_task(), f"{mine}.note")
    verdict = check(conn, f"{mine}.note")
    right(verdict)
    assert f"`{mine}.note`" in verdict.message and "'my first note'" in verdict.message
    assert conn.index.findTask(f"{mine}.note")["taskId"] == task_id


def test_blank_and_malformed_answers(conn):
    wrong(check(conn, None), "Not yet", "tutorial.mine.", "my_path")
    wrong(check(conn, ""), "Not yet")
    wrong(check(conn, 42), "holds a int", "string")
    wrong(check(conn, ["tutorial.mine.note"]), "holds a list")
    for malformed in ("tutorial.mine..note", "tutorial.mine.note.", " tutorial.mine.note",
                      "tutorial.mine.my note"):
        wrong(check(conn, malformed), "is not an index path", "single dots")


def test_paths_that_are_not_the_learners(conn):
    wrong(check(conn, "tutorial.finding-tasks.example.latest"), "worked example", "tutorial.mine.")
    wrong(check(conn, "tutorial.finding-tasks"), "worked example")
    wrong(check(conn, "tutorial.other.note"), "outside `tutorial.mine.`")
    wrong(check(conn, "tutorial.minefield.note"), "outside `tutorial.mine.`")
    wrong(check(conn, "tutorial.mine"), "namespace the exercise gives", "one level deeper")


def test_the_route_rather_than_the_path(conn, mine):
    run(conn, note_task(), f"{mine}.note")
    wrong(check(conn, f"index.{mine}.note"), "is the route", "`routes`", f"'{mine}.note'")


def test_a_namespace_rather_than_a_task(conn, mine):
    run(conn, note_task(), f"{mine}.notes.first")
    wrong(check(conn, f"{mine}.notes"), "is a namespace, not a task",
          f"`{mine}.notes.first`", "one level deeper")
    wrong(check(conn, mine), "is a namespace", f"`{mine}.notes`")


def test_nothing_indexed_there(conn, mine):
    clues = ("No task is indexed", "complete", "`index.`", f"`queue:route:index.{mine}.note`")
    wrong(check(conn, f"{mine}.note"), *clues, "nothing under")
    # a task that fails is not indexed; nor one whose route lacks `index.`
    run(conn, note_task("echo my note > note.txt; exit 1"), f"{mine}.note", state="failed")
    wrong(check(conn, f"{mine}.note"), *clues)
    run(conn, {**note_task(), "routes": [f"{mine}.note"]})
    wrong(check(conn, f"{mine}.note"), *clues)
    # a task at a near path is named, to compare
    run(conn, note_task(), f"{mine}.notes")
    wrong(check(conn, f"{mine}.note"), *clues, f"Under `{mine}` the index holds: notes")


def test_an_indexed_task_without_the_note(conn, mine):
    other = {"public/other.txt": {"type": "file", "path": "other.txt"}}
    run(conn, note_task("echo hi > other.txt", other), f"{mine}.other")
    wrong(check(conn, f"{mine}.other"), "published `public/other.txt`", "none is `public/note.txt`")
    run(conn, make_task("built-in/succeed"), f"{mine}.empty")
    wrong(check(conn, f"{mine}.empty"), "no artifact besides its logs", '"public/note.txt"')


def test_a_declared_note_the_worker_did_not_find(conn, mine):
    definition = note_task()
    artifact = {"type": "file", "path": "note.txt", "name": "public/note.txt",
                "optional": True, "expires": expires("1 year")}
    definition["payload"] = {"command": [sh("true")], "maxRunTime": 30, "artifacts": [artifact]}
    run(conn, definition, f"{mine}.note")
    wrong(check(conn, f"{mine}.note"), "declares `public/note.txt`", "found no file")


def insert(conn, path: str, task_id: str) -> None:
    """Index `task_id` at `path` by hand (insertTask), as a learner could."""
    conn.index.insertTask(path, {"taskId": task_id, "rank": 0, "data": {},
                                 "expires": taskcluster.fromNowJSON("1 day")})


def test_indexed_by_hand_tasks_that_do_not_count(conn, mine):
    insert(conn, f"{mine}.ghost", slugid.nice())
    wrong(check(conn, f"{mine}.ghost"), "the queue does not know")
    failed = run(conn, make_task("built-in/fail"), state="failed")
    insert(conn, f"{mine}.failed", failed)
    wrong(check(conn, f"{mine}.failed"), "is failed, not completed")
    example = run(conn, note_task(), "tutorial.finding-tasks.example.build-9")
    insert(conn, f"{mine}.borrowed", example)
    wrong(check(conn, f"{mine}.borrowed"), "a task of the worked example", "of your own")
