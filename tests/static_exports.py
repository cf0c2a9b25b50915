"""Static exports of the tutorial notebooks, as a teacher makes them:
`jupyter nbconvert --to html --execute <notebook>`, the default command, each
kernel on its own embedded sandbox; and the exported HTML, parsed.

`export_all(folder)` runs every notebook once per test session (two at a
time: the machine has two cores), whichever test module asks first; both
`test_static_export.py` and `browser/test_browser_static_export.py` use it.
Each export is also copied to `test-artifacts/static-export/`, with the
time each took, so that a failure can be read in the HTML itself.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
ARTIFACTS = REPO / "test-artifacts" / "static-export"
TIMEOUT = 300  # seconds for one notebook's export; they take 10 to 40 s
PARALLEL = 2
# Variables that would point a kernel at a queue, a proxy or a Jupyter server:
# without them, `connect()` in each kernel starts an embedded sandbox.
CLEARED = ("TASKCLUSTER_", "TC_NOTEBOOK_", "JPY_", "JUPYTERHUB_")
# Kept: as root, the suite runs tasks as root (tests/conftest.py says why).
KEPT = ("TC_NOTEBOOK_TASK_USER",)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
VOID = set("area base br col embed hr img input link meta source track wbr".split())


# -- the HTML, as a tree -------------------------------------------------------------------------


@dataclass(eq=False)
class Node:
    """An element of a parsed page: its tag, attributes and children (nodes and text)."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self) -> Iterator[Node]:
        """This node and every element under it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        """The elements under this one (itself included) with `tag` and class `cls`."""
        return [
            node
            for node in self.walk()
            if (tag is None or node.tag == tag) and (cls is None or cls in node.classes)
        ]

    def text(self) -> str:
        """The text under this node, as the page has it (entities decoded)."""
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:  # close it, and what was left open inside
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def is_link(node: Node) -> bool:
    """An `<a>` with an `href`."""
    return node.tag == "a" and "href" in node.attrs


def parse_html(text: str) -> Node:
    """`text` as a tree of `Node`s (stdlib html.parser; unclosed tags end with their parent)."""
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


# -- an exported page --------------------------------------------------------------------------


@dataclass
class Cell:
    """A code cell of an exported page: its source and its outputs' elements."""

    number: int  # among the page's code cells, from 0
    source: str
    outputs: list[Node]

    def text(self) -> str:
        return "\n".join(output.text() for output in self.outputs)

    def output_nodes(self) -> Iterator[Node]:
        for output in self.outputs:
            yield from output.walk()

    def hrefs(self) -> list[str]:
        """The `href` of every link in the outputs, in order."""
        return [node.attrs["href"] for node in self.output_nodes() if is_link(node)]


@dataclass
class Page:
    """An exported notebook, parsed: its code cells and what the template added."""

    root: Node

    @functools.cached_property
    def cells(self) -> list[Cell]:
        found = []
        for number, node in enumerate(self.root.find_all("div", "jp-CodeCell")):
            editors = node.find_all(cls="jp-InputArea-editor")
            source = editors[0].text() if editors else ""
            found.append(Cell(number, source, node.find_all(cls="jp-OutputArea-output")))
        return found

    def cell(self, snippet: str) -> Cell:
        """The code cell whose source contains `snippet` (exactly one must)."""
        matching = [cell for cell in self.cells if snippet in cell.source]
        assert len(matching) == 1, f"{len(matching)} code cells contain {snippet!r}"
        return matching[0]

    def scripts(self, kind: str) -> list[Node]:
        return [node for node in self.root.find_all("script") if node.attrs.get("type") == kind]

    @functools.cached_property
    def widget_models(self) -> dict[str, dict]:
        """The saved widget state's models, by model id ({} when none was saved)."""
        saved = self.scripts(WIDGET_STATE)
        return json.loads(saved[0].text())["state"] if saved else {}

    def widget_views(self) -> list[tuple[Cell, str]]:
        """Each output left as a widget view (it needs a widget manager), with the
        model id it shows."""
        return [
            (cell, json.loads(node.text())["model_id"])
            for cell in self.cells
            for node in cell.output_nodes()
            if node.tag == "script" and node.attrs.get("type") == WIDGET_VIEW
        ]

    def widget_classes(self, model_id: str) -> set[str]:
        """The anywidget classes (`module.Class`) of a model and of every model
        under it (children, through `IPY_MODEL_` references)."""
        found, seen, todo = set(), set(), [model_id]
        while todo:
            current = todo.pop()
            if current in seen or current not in self.widget_models:
                continue
            seen.add(current)
            state = self.widget_models[current]["state"]
            if state.get("_anywidget_id"):
                found.add(state["_anywidget_id"])
            todo.extend(re.findall(r"IPY_MODEL_(\w+)", json.dumps(state)))
        return found

    def output_links(self) -> list[tuple[str, str]]:
        """Every `href` in the cells' outputs (where: `cell <n>`), and in the
        HTML that saved widget models hold (where: `widget <model id>`)."""
        links = [
            (f"code cell {cell.number}", node.attrs["href"])
            for cell in self.cells
            for node in cell.output_nodes()
            if is_link(node)
        ]
        for model_id, model in self.widget_models.items():
            value = model["state"].get("value")
            if isinstance(value, str) and "<" in value:
                links += [
                    (f"widget {model_id}", node.attrs["href"])
                    for node in parse_html(value).walk()
                    if is_link(node)
                ]
        return links

    def sandbox_root(self) -> str:
        """The root URL of the notebook's embedded sandbox, as `conn` showed it."""
        shown = self.cell("conn = connect()").text()
        found = re.search(r"http://127\.0\.0\.1:\d+", shown)
        assert found, f"no sandbox root URL in the connection's output: {shown!r}"
        return found.group(0)


def chips(node_or_cell: Node | Cell) -> list[tuple[str, str]]:
    """The state chips (task_html.chip_html) inside: (state of the class, text shown)."""
    nodes = node_or_cell.output_nodes() if isinstance(node_or_cell, Cell) else node_or_cell.walk()
    return [
        (state[len("tc-state-") :], node.text().strip())
        for node in nodes
        if node.tag == "span" and "tc-badge" in node.classes
        for state in node.classes
        if state.startswith("tc-state-")
    ]


def artifact_name(href: str, root_url: str) -> str | None:
    """The artifact an absolute link on `root_url` names (its path unquoted,
    `%2F` or `/` alike), or None when it is no artifact link of the queue."""
    parts = urllib.parse.urlsplit(href)
    if f"{parts.scheme}://{parts.netloc}" != root_url:
        return None
    path = urllib.parse.unquote(parts.path)
    found = re.fullmatch(r"/api/queue/v1/task/([\w-]{22})(?:/runs/\d+)?/artifacts/(.+)", path)
    return found.group(2) if found else None


def task_lines(log: str) -> list[str]:
    """The lines a task printed in its log: the worker's own (`[taskcluster…`) left out."""
    return [line for line in log.strip().splitlines() if not line.startswith("[taskcluster")]


def is_absolute(href: str) -> bool:
    """True for a link a saved page can follow anywhere: http(s) with a host, or `#`."""
    parts = urllib.parse.urlsplit(href)
    return href.startswith("#") or (parts.scheme in ("http", "https") and bool(parts.netloc))


# -- running the exports -----------------------------------------------------------------------


@dataclass
class Export:
    """One notebook's export: where its HTML is, how long it took, what nbconvert said."""

    name: str
    html_path: Path
    seconds: float
    returncode: int | None  # None: killed at the timeout
    log: str
    tmp_dir: Path  # the kernel's TMPDIR: its sandbox's data went there

    @functools.cached_property
    def page(self) -> Page:
        assert self.returncode == 0, self.failure()
        return Page(parse_html(self.html_path.read_text()))

    def failure(self) -> str:
        ended = "timed out" if self.returncode is None else f"exited {self.returncode}"
        return f"nbconvert of {self.name} {ended} after {self.seconds:.0f} s:\n{self.log[-4000:]}"


def jupyter_environment(home: Path) -> dict[str, str]:
    """The environment of one export, or of a Jupyter server the browser tests
    start: the venv first on PATH, no Taskcluster or Jupyter variables, and
    private folders under `home`: tmpdir (an embedded sandbox keeps its data
    in a `tc-sandbox-*` folder of it), runtime (where a server says its port),
    config and ipython.
    The venv's share/jupyter and etc/jupyter stay visible."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in KEPT or not key.startswith(CLEARED)
    }
    folders = {
        "TMPDIR": home / "tmpdir",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "JUPYTER_CONFIG_DIR": home / "config",
        "IPYTHONDIR": home / "ipython",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    env.update({name: str(folder) for name, folder in folders.items()})
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def export(notebook: Path, home: Path) -> Export:
    """`jupyter nbconvert --to html --execute` of `notebook` (a copy, in its
    folder), with `jupyter_environment(home)`. At the timeout nbconvert, its
    kernel and the kernel's tasks are killed."""
    command = [
        *(str(Path(sys.executable).parent / "jupyter"), "nbconvert", "--to", "html"),
        *("--execute", notebook.name),
    ]
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=notebook.parent,
        env=jupyter_environment(home),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        log, _ = process.communicate(timeout=TIMEOUT)
        returncode: int | None = process.returncode
    except subprocess.TimeoutExpired:
        for pid in [*descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log, _ = process.communicate()
        returncode = None
    seconds = time.monotonic() - started
    return Export(
        notebook.stem, notebook.with_suffix(".html"), seconds, returncode, log, home / "tmpdir"
    )


def descendants(pid: int) -> list[int]:
    """The processes under `pid`, from Linux's /proc (the kernel runs in a
    session of its own: killing nbconvert's process group would miss it)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for child in map(int, children.read_text().split()):
                found += [child, *descendants(child)]
    return found


@functools.cache
def export_all(folder: Path) -> dict[str, Export]:
    """Every notebook exported once (by notebook stem), in a copy of notebooks/
    under `folder`, two at a time; the HTML and the times are copied to ARTIFACTS."""
    copy = folder / "notebooks"
    shutil.copytree(NOTEBOOKS, copy, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        runs = pool.map(lambda path: export(copy / path.name, folder / path.stem), PATHS)
        exports = {done.name: done for done in runs}
    total = time.monotonic() - started
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    lines = []
    for done in exports.values():
        if done.html_path.exists():
            shutil.copyfile(done.html_path, ARTIFACTS / done.html_path.name)
        (ARTIFACTS / f"{done.name}.log").write_text(done.log)
        lines.append(f"{done.name}: {done.seconds:.1f} s, exit {done.returncode}")
    lines.append(f"all {len(exports)}, {PARALLEL} at a time: {total:.1f} s")
    (ARTIFACTS / "timings.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(["", "static exports:", *lines]))
    return exports
