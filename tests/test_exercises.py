"""The notebooks' exercise checks tell right from wrong: for each exercise,
the worked example of its notebook, a blank answer, plausible wrong answers
and a right one, each checked for its verdict and for what the message points
the learner at. The tasks run for real, on a sandbox with a worker."""

from __future__ import annotations

import pytest
import requests
import slugid
from helpers import wait_resolved, wait_running

from tc_notebook.connection import Connection
from tc_notebook.exercises import (
    check_dependent_pair,
    check_earlier_run_artifact,
    check_failure_reason,
    check_hello_artifact,
    check_hello_task,
)
from tc_notebook.sandbox import Sandbox
from tc_notebook.terms import LIVE_LOG
from tc_notebook.tutorial import counting_task, task_definition, tutorial_task


@pytest.fixture(scope="module")
def queue(tmp_path_factory):
    """The official client on a sandbox with a worker."""
    with Sandbox(tmp_path_factory.mktemp("exercises"), capacity=4) as sandbox:
        yield Connection(sandbox.root_url, sandbox.credentials).queue


def create(queue, definition: dict, **changes) -> str:
    """Create a task from `definition` (with `changes`); returns its id."""
    task_id = slugid.nice()
    queue.createTask(task_id, {**definition, **changes})
    return task_id


def run(queue, definition: dict, **changes) -> str:
    """Create a task and wait until it is resolved."""
    task_id = create(queue, definition, **changes)
    wait_resolved(queue, task_id)
    return task_id


def script(command: str, artifacts: dict | None = None) -> dict:
    """A task running `command`, as a learner would write it."""
    return task_definition(command, name="Exercise", description="A learner's answer",
                           artifacts=artifacts)


def wrong(verdict, *clues: str) -> None:
    """The verdict is a refusal whose message says each of `clues`."""
    assert not verdict, verdict
    for clue in clues:
        assert clue in verdict.message, f"{clue!r} not in {verdict.message!r}"


def right(verdict) -> None:
    assert verdict, verdict
    assert "✔" in verdict._repr_html_()


# -- 01: a task that prints hello world ------------------------------------------------------


def test_01_blank_and_malformed_answers(queue):
    wrong(check_hello_task(queue, None), "Not yet", "my_task_id")
    wrong(check_hello_task(queue, ""), "Not yet")
    wrong(check_hello_task(queue, "my task"), "is not a taskId")
    wrong(check_hello_task(queue, {"status": {}}), "dictionary", "taskId")
    wrong(check_hello_task(queue, slugid.nice()), "knows no task")


def test_01_the_worked_example_is_not_the_answer(queue):
    # the form's task (counting to 10 in the notebook; to 2 here, the same loop)
    verdict = check_hello_task(queue, run(queue, counting_task(2)))
    wrong(verdict, "no line `hello world`", "'1 | 2'", "example", "form.created_task_ids[-1]")


def test_01_the_tutorial_task_is_not_the_answer(queue):
    verdict = check_hello_task(queue, run(queue, tutorial_task()))
    wrong(verdict, "no line `hello world`")


def test_01_hello_in_the_command_only(queue):
    """The log header repeats the command: that is not the task's output."""
    task_id = run(queue, script("echo hello world > /dev/null"))
    log = requests_text(queue, task_id, LIVE_LOG)
    assert "hello world" in log  # the header says it...
    wrong(check_hello_task(queue, task_id), "printed nothing", "/dev/null")  # ...not the task


def test_01_plausible_wrong_outputs(queue):
    wrong(check_hello_task(queue, run(queue, script("echo hello"))),
          "Close", "'hello'", "`hello world`")
    wrong(check_hello_task(queue, run(queue, script("echo hello world; exit 1"))),
          "failed with exit code 1", "live log")


def test_01_a_running_task_is_waited_for(queue, gate):
    task_id = create(queue, script(gate.wait("echo hello world")))
    wait_running(queue, task_id)
    wrong(check_hello_task(queue, task_id), "is running", "Wait until it is resolved")
    gate.open()
    wait_resolved(queue, task_id)
    right(check_hello_task(queue, task_id))


def test_01_right_answers(queue):
    right(check_hello_task(queue, run(queue, script("echo hello world"))))
    right(check_hello_task(queue, run(queue, script("echo 1; echo 'Hello, World!'"))))


def test_01_what_the_task_printed_shows_as_text(queue):
    """A verdict quotes the task's output; in the notebook it reads as text, never as HTML."""
    printed = "echo '<script>alert(1)</script>'; echo '<b>bold</b>'"
    verdict = check_hello_task(queue, run(queue, script(printed)))
    wrong(verdict, "<script>alert(1)</script>", "<b>bold</b>")
    page = verdict._repr_html_()
    assert "<script>" not in page and "<b>" not in page, page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<code>hello world</code>" in page  # the message's own `code` is still shown as such


# -- 02: public/hello.txt holding hello ------------------------------------------------------

HELLO = {"public/hello.txt": {"type": "file", "path": "hello.txt"}}


def test_02_blank_and_starter_answers(queue):
    wrong(check_hello_artifact(queue, None), "Not yet")
    starter = script("TODO: write hello into hello.txt")  # the notebook's starter code, as is
    wrong(check_hello_artifact(queue, run(queue, starter)), "TODO")


def test_02_the_worked_example_is_not_the_answer(queue):
    verdict = check_hello_artifact(queue, run(queue, tutorial_task()))
    wrong(verdict, "public/passwd.txt", "none is `public/hello.txt`", "payload.artifacts")


def test_02_plausible_wrong_artifacts(queue):
    private = {"hello.txt": {"type": "file", "path": "hello.txt"}}
    wrong(check_hello_artifact(queue, run(queue, script("echo hello > hello.txt", private))),
          "published 'hello.txt'", "`public/`")
    passwd = {"public/hello.txt": {"type": "file", "path": "/etc/passwd"}}
    wrong(check_hello_artifact(queue, run(queue, script("echo hello > hello.txt", passwd))),
          "holds 'root:", "`path`")
    wrong(check_hello_artifact(queue, run(queue, script("echo hello", HELLO))),
          "found no file", "hello.txt")
    wrong(check_hello_artifact(queue, run(queue, script("echo bye > hello.txt", HELLO))),
          "holds 'bye'")


def test_02_the_starter_name_kept(queue):
    definition = script("echo hello > hello.txt", HELLO)
    definition["metadata"]["name"] = "TODO: a name that says what this task does"
    wrong(check_hello_artifact(queue, run(queue, definition)), "name is still", "metadata.name")


def test_02_right_answer(queue):
    right(check_hello_artifact(queue, run(queue, script("echo hello > hello.txt", HELLO))))


# -- 03: exit 7, and the reasonResolved of the last run -------------------------------------


def test_03_the_worked_examples_are_not_the_answer(queue, gate):
    failing = run(queue, script("echo about to fail; exit 3"))
    wrong(check_failure_reason(queue, failing, "failed"), "exit code 3", "example", "exit 7")
    slow = create(queue, script(gate.wait()))
    wait_running(queue, slow)
    queue.cancelTask(slow)
    wait_resolved(queue, slow)
    wrong(check_failure_reason(queue, slow, "canceled"), "exception (canceled)", "exit 7")


def test_03_blank_answers(queue):
    wrong(check_failure_reason(queue, None, None), "Not yet", "my_task_id")
    task_id = run(queue, script("exit 7"))
    wrong(check_failure_reason(queue, task_id, None), "reasonResolved", "my_reason")


def test_03_plausible_wrong_answers(queue, gate):
    task_id = run(queue, script("exit 7"))
    wrong(check_failure_reason(queue, task_id, "7"), "exit code", "reasonResolved")
    wrong(check_failure_reason(queue, task_id, 7), "exit code")
    wrong(check_failure_reason(queue, task_id, "completed"),
          "did not end with 'completed'", "status['runs'][-1]")
    wrong(check_failure_reason(queue, task_id, "exception"), "did not end with 'exception'")
    wrong(check_failure_reason(queue, run(queue, script("echo 7")), "failed"),
          "completed", "exit 7")
    running = create(queue, script(gate.wait()))
    wait_running(queue, running)
    wrong(check_failure_reason(queue, running, "failed"), "is running")
    gate.open()
    wait_resolved(queue, running)


def test_03_right_answer(queue):
    right(check_failure_reason(queue, run(queue, script("exit 7")), "failed"))
    right(check_failure_reason(queue, run(queue, script("echo bye; exit 7")), "failed"))


# -- 04: the text of public/draw.txt of run 0 ----------------------------------------------

DRAW = {"public/draw.txt": {"type": "file", "path": "draw.txt"}}


def draw_texts(queue, task_id: str) -> list[str]:
    runs = queue.status(task_id)["status"]["runs"]
    return [requests_text(queue, task_id, "public/draw.txt", run["runId"]) for run in runs]


def test_04_the_earlier_run(queue):
    # the draw task of notebook 04, as created there
    draw_id = run(queue, script('echo "run $RUN_ID drew $RANDOM$RANDOM" > draw.txt', DRAW))
    wrong(check_earlier_run_artifact(queue, draw_id, "anything"), "one run", "rerunTask")
    queue.rerunTask(draw_id)
    wait_resolved(queue, draw_id)
    run0, run1 = draw_texts(queue, draw_id)
    assert run0.startswith("run 0 drew ") and run1.startswith("run 1 drew "), (run0, run1)

    # blank
    wrong(check_earlier_run_artifact(queue, draw_id, None), "Not yet", "run 0", "my_draw")
    wrong(check_earlier_run_artifact(queue, draw_id, ""), "Not yet")
    # the worked example's answer (artifact names of run 0, as listed above the exercise)
    names = [a["name"] for a in queue.listArtifacts(draw_id, 0)["artifacts"]]
    wrong(check_earlier_run_artifact(queue, draw_id, names), "a list", "text")
    # the latest run's text (getLatestArtifact)
    wrong(check_earlier_run_artifact(queue, draw_id, run1), "run 1, the latest",
          "getArtifact', draw_id, 0")
    # the URL instead of its text
    url = queue.buildUrl("getArtifact", draw_id, 0, "public/draw.txt")
    wrong(check_earlier_run_artifact(queue, draw_id, url), "is a URL", "requests.get")
    # a made-up draw
    wrong(check_earlier_run_artifact(queue, draw_id, "run 0 drew 42"), "not what run 0 wrote")
    # right, as text (with its newline or not) or bytes
    right(check_earlier_run_artifact(queue, draw_id, run0))
    right(check_earlier_run_artifact(queue, draw_id, run0 + "\n"))
    right(check_earlier_run_artifact(queue, draw_id, run0.encode()))


def test_04_a_run_still_running(queue, gate):
    draw_id = create(queue, script(gate.wait('echo "$RANDOM" > draw.txt'), DRAW))
    gate.open()
    wait_resolved(queue, draw_id)
    gate.path.unlink()
    queue.rerunTask(draw_id)
    wait_running(queue, draw_id)
    wrong(check_earlier_run_artifact(queue, draw_id, "x"), "Run 1 is running", "wait")
    gate.open()
    wait_resolved(queue, draw_id)


# -- 05: a failing first task, and a second that runs anyway ---------------------------------


def pair(queue, first_command: str, requires: str | None = None, same_group: bool = True):
    """Create a first task running `first_command` and a second depending on it."""
    group = slugid.nice()
    first = create(queue, script(first_command), taskGroupId=group)
    second_definition = {**script("echo collecting what the first left"),
                         "taskGroupId": group if same_group else slugid.nice(),
                         "dependencies": [first]}
    if requires:
        second_definition["requires"] = requires
    return first, create(queue, second_definition)


def test_05_the_worked_example_is_not_the_answer(queue):
    first, second = pair(queue, "for i in 1 2 3; do echo compiling part $i; done; echo built")
    wait_resolved(queue, second)
    wrong(check_dependent_pair(queue, first, second), "completed, as the example's build",
          "fails")


def test_05_blank_answers(queue):
    wrong(check_dependent_pair(queue, None, None), "Not yet", "my_first")
    first = run(queue, script("exit 1"))
    wrong(check_dependent_pair(queue, first, None), "Not yet", "my_second")
    wrong(check_dependent_pair(queue, first, first), "same task")


def test_05_plausible_wrong_answers(queue):
    first, second = pair(queue, "exit 1")  # the default requires: all-completed
    wait_resolved(queue, first)
    assert queue.status(second)["status"]["state"] == "unscheduled"
    wrong(check_dependent_pair(queue, first, second), "unscheduled", "never run",
          '"requires": "all-resolved"')
    wrong(check_dependent_pair(queue, second, first), "other way round")

    first, second = pair(queue, "exit 1", requires="all-resolved", same_group=False)
    wrong(check_dependent_pair(queue, first, second), "different task groups", "taskGroupId")

    stray = run(queue, script("true"))
    wrong(check_dependent_pair(queue, first, stray), "does not list the first",
          '"dependencies": [my_first]')


def test_05_first_canceled_or_still_running(queue, gate):
    first, second = pair(queue, gate.wait(), requires="all-resolved")
    wait_running(queue, first)
    wrong(check_dependent_pair(queue, first, second), "first task is running", "wait")
    queue.cancelTask(first)
    wait_resolved(queue, second)
    wrong(check_dependent_pair(queue, first, second), "exception (canceled)", "exit 1")


def test_05_right_answer(queue):
    first, second = pair(queue, "echo the build broke; exit 1", requires="all-resolved")
    wait_resolved(queue, second)
    right(check_dependent_pair(queue, first, second))


def requests_text(queue, task_id: str, name: str, run_id: int | None = None) -> str:
    """A public artifact's text (of the latest run, or of `run_id`)."""
    if run_id is None:
        url = queue.buildUrl("getLatestArtifact", task_id, name)
    else:
        url = queue.buildUrl("getArtifact", task_id, run_id, name)
    reply = requests.get(url, timeout=30)
    reply.raise_for_status()
    return reply.text.strip()
