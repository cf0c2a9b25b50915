"""The tutorial notebooks as a learner meets them.

Statically: valid nbformat 4, nbval markers as cell tags (never `# NBVAL_…`
comments in the code a learner reads), outputs stored only where nbval
compares them, no saved widget state.

Run top to bottom (nbclient, each on its kernel's embedded sandbox): no cell
prints more than MAX_LINES lines; where the text says a task runs for a while,
one does; every task has a name of its own (two tasks share a name only when
they run the same command); and the exercise checks, with their blank answers,
say "Not yet" or what to do first rather than fail.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbval.plugin import metadata_tags

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
MAX_LINES = 50
CHECK_OUTPUT = "nbval-check-output"

# The longest run each notebook must have, in seconds: the tasks it watches
# while they run (01's form task counts to 10, 03's and 05's to 5, 04's live log to 8).
LONGEST_RUN = {
    "01-hello-world": 9,
    "03-monitor-task-status": 4,
    "04-download-task-artifacts": 7,
    "05-task-view": 4,
}
TUTORIAL_COMMAND = "ls && du /usr"

# Appended to each notebook: every task of its sandbox, as JSON, on one line.
REPORT_TASKS = """
import json as _json, sqlite3 as _sqlite3
_db = _sqlite3.connect(conn.sandbox.data_dir / "queue.sqlite")
print("TASKS " + _json.dumps([
    {"definition": _json.loads(definition), "runs": _json.loads(runs)}
    for definition, runs in _db.execute("SELECT definition, runs FROM tasks")
]))
"""


def ids(path: Path) -> str:
    return path.stem


def test_every_notebook_is_here():
    assert [path.stem[:2] for path in PATHS] == ["00", "01", "02", "03", "04", "05", "06"]


# -- the files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS, ids=ids)
def test_valid_notebook_with_nbval_tags(path):
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert notebook.nbformat == 4
    nbformat.validate(notebook)
    assert "widgets" not in notebook.metadata, "saved widget state: clear it before committing"
    cell_ids = [cell.get("id") for cell in notebook.cells]
    assert all(cell_ids) and len(set(cell_ids)) == len(cell_ids)
    checked = 0
    for index, cell in enumerate(notebook.cells):
        where = f"{path.name} cell {index}"
        assert not re.search(r"#\s*(NBVAL_|PYTEST_VALIDATE_)", cell.source), (
            f"{where}: an nbval marker as a comment; make it a cell tag"
        )
        tags = cell.metadata.get("tags", [])
        for tag in tags:
            if "nbval" in tag or "raises" in tag:
                assert tag in metadata_tags, f"{where}: nbval does not know the tag {tag!r}"
        if cell.cell_type != "code":
            continue
        if CHECK_OUTPUT in tags:
            checked += 1
            assert cell.outputs and cell.execution_count, f"{where}: checked, but no output kept"
        else:
            assert not cell.outputs, f"{where}: an output kept that nbval does not check"
    assert checked >= 1, f"{path.name}: no cell checked by nbval"


# -- the notebooks, run ------------------------------------------------------------------------


def printed_lines(output: dict) -> int:
    """How many lines an output shows (a widget: its text form's)."""
    if output["output_type"] == "stream":
        return len(output["text"].splitlines())
    if output["output_type"] in ("execute_result", "display_data"):
        data = output["data"]
        text = data.get("text/plain") or re.sub(r"<[^>]+>", "", data.get("text/html", ""))
        return len(text.splitlines())
    return 0


def stream_text(cell) -> str:
    return "".join(o["text"] for o in cell.outputs if o["output_type"] == "stream")


def shown_text(cell) -> str:
    """What the cell's outputs show, as text (streams, and rich outputs' text/plain)."""
    return "\n".join(
        o["text"] if o["output_type"] == "stream" else o.get("data", {}).get("text/plain", "")
        for o in cell.outputs
    )


def seconds(run: dict) -> float:
    if not run.get("started") or not run.get("resolved"):
        return 0.0
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return (parse(run["resolved"]) - parse(run["started"])).total_seconds()


@pytest.fixture(scope="module", params=PATHS, ids=ids)
def executed(request, tmp_path_factory):
    """A notebook run top to bottom, and the tasks its sandbox holds at the end."""
    path = request.param
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT_TASKS))
    folder = tmp_path_factory.mktemp(path.stem)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    report = notebook.cells.pop()
    line = next(x for x in stream_text(report).splitlines() if x.startswith("TASKS "))
    return path, notebook, json.loads(line[len("TASKS "):])


def test_no_cell_prints_more_than_a_screen(executed):
    path, notebook, _ = executed
    counts = {
        index: sum(printed_lines(output) for output in cell.outputs)
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
    }
    longest = max(counts, key=counts.get)
    assert counts[longest] <= MAX_LINES, (
        f"{path.name} cell {longest} prints {counts[longest]} lines:\n"
        f"{notebook.cells[longest].source}"
    )


def test_tasks_have_names_of_their_own(executed):
    path, _, tasks = executed
    commands_by_name: dict[str, set[str]] = {}
    for task in tasks:
        definition = task["definition"]
        command = " ".join(definition["payload"].get("command", []))
        commands_by_name.setdefault(definition["metadata"]["name"], set()).add(command)
        if "Tutorial" in definition["metadata"]["name"]:
            assert TUTORIAL_COMMAND in command, (
                f"{path.name}: {command!r} is named {definition['metadata']['name']!r}"
            )
    shared = {name: commands for name, commands in commands_by_name.items() if len(commands) > 1}
    assert not shared, f"{path.name}: one name for different commands: {shared}"


def test_watched_tasks_run_long_enough_to_watch(executed):
    path, _, tasks = executed
    longest = max((seconds(run) for task in tasks for run in task["runs"]), default=0.0)
    assert longest >= LONGEST_RUN.get(path.stem, 0), (
        f"{path.name}: its longest run took {longest:.1f} s"
    )


def test_blank_exercises_say_not_yet(executed):
    """The check cell of each exercise, run with the answer cell as shipped,
    answers a refusal that says what to do, not an error."""
    path, notebook, _ = executed
    verdicts = [
        output["data"]["text/plain"]
        for cell in notebook.cells
        if cell.cell_type == "code" and re.search(r"exercises\w* import", cell.source)
        for output in cell.outputs
        if output["output_type"] == "execute_result"
    ]
    if path.stem == "00-start-here":
        assert not verdicts
        return
    assert len(verdicts) == 1, f"{path.name}: {verdicts}"
    assert verdicts[0].startswith("✘ "), verdicts[0]
    assert re.search(r"Not yet|TODO|not finished yet|rerun it first", verdicts[0]), verdicts[0]


def test_the_live_parts_are_seen_live(executed):
    """03's loop sees the task running before it completes, and the createTask
    answer shows it pending; 05's Test task waits, unscheduled, for Build."""
    path, notebook, _ = executed
    sources = {cell.source: cell for cell in notebook.cells if cell.cell_type == "code"}
    if path.stem == "03-monitor-task-status":
        created = next(c for s, c in sources.items() if 'print("Created task:")' in s)
        assert '"state": "pending"' in stream_text(created)
        loop = next(c for s, c in sources.items() if s.lstrip().startswith("import time"))
        states = re.findall(r": (\w+)$", stream_text(loop), re.MULTILINE)
        assert "running" in states and states[-1] == "completed", stream_text(loop)
        assert '"reasonResolved": "completed"' in stream_text(loop)  # the structure, printed
    if path.stem == "05-task-view":
        assert any(stream_text(c).strip() == "Test is unscheduled" for c in sources.values())
    if path.stem == "04-download-task-artifacts":
        texts = "\n".join(shown_text(c) for c in sources.values())
        assert "lines not shown" in texts  # the tutorial task's log, shortened
        assert re.search(r"\?bewit=[\w-]+", texts) and "valid until" in texts  # signed, explained


def test_printed_urls_are_not_kernel_only(executed):
    """A URL printed as text is made a link by JupyterLab: none may be one the
    browser cannot reach (the queue's root URL, on the kernel's loopback)."""
    path, notebook, _ = executed
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            printed = stream_text(cell)
            assert not re.search(r"https?://(127\.0\.0\.1|localhost)", printed), (
                f"{path.name} cell {index} prints a loopback URL:\n{printed}"
            )
