"""Static copies that tell the truth (issue 16): a default `jupyter nbconvert
--to html --execute` of every notebook, each kernel on its own embedded
sandbox, shows every tc-notebook widget as plain HTML in its final state
(no widget view, which needs a widget manager from a CDN), and links that
lead to the sandbox from a saved page (absolute, never `/proxy/…`, which a
file:// page resolves to `file:///proxy/…`).

The exports run once per session (tests/static_exports.py); the HTML of each
is kept in test-artifacts/static-export/.
"""

from __future__ import annotations

import re
import urllib.parse

import pytest
from static_exports import (
    PATHS,
    Export,
    Page,
    artifact_name,
    chips,
    is_absolute,
    task_lines,
)

from tc_notebook.terms import RESOLVED

# What a widget shows before its first answer: ArtifactList, TaskView, LiveLog.
NOT_YET = ("listing…", "Loading…", "· waiting")
TASK_ID = re.compile(r"[A-Za-z0-9_-]{22}")


@pytest.fixture(params=PATHS, ids=lambda path: path.stem)
def exported(request, exports: dict[str, Export]) -> Export:
    return exports[request.param.stem]


def page_of(exports: dict[str, Export], prefix: str) -> Page:
    """The parsed page of the notebook whose name starts with `prefix` ("04")."""
    (name,) = [name for name in exports if name.startswith(prefix)]
    return exports[name].page


def described(page: Page, views: list) -> str:
    return "\n".join(
        f"code cell {cell.number} ({cell.source.strip().splitlines()[-1]!r}): model {model_id}, "
        f"anywidget classes {sorted(page.widget_classes(model_id)) or 'none'}"
        for cell, model_id in views
    )


# -- every notebook ------------------------------------------------------------------------------


def test_the_default_export_succeeds(exported: Export):
    assert exported.returncode == 0, exported.failure()
    assert exported.page.cells, f"{exported.html_path} has no code cells"


def test_no_tc_notebook_widget_is_left_as_a_widget_view(exported: Export):
    """A widget view is ours when its model, or a model inside it, is one of
    tc_notebook's anywidgets (their `_anywidget_id` names the class)."""
    page = exported.page
    ours = [
        (cell, model_id)
        for cell, model_id in page.widget_views()
        if any(name.startswith("tc_notebook.") for name in page.widget_classes(model_id))
    ]
    assert not ours, f"{exported.name}: widget views a saved page cannot show:\n" + described(
        page, ours
    )


def test_no_output_needs_a_widget_manager(exported: Export):
    """None at all: nbconvert then loads no widget manager from a CDN."""
    views = exported.page.widget_views()
    assert not views, f"{exported.name}: widget views left:\n" + described(exported.page, views)


def test_no_widget_is_caught_before_its_end(exported: Export):
    """Every task a widget shows resolves while its notebook runs, so each
    static copy shows a resolved state: none is the loading chip or a state
    of the moment the widget was displayed, nor a list or log still loading."""
    for cell in exported.page.cells:
        unresolved = [chip for chip in chips(cell) if chip[0] not in RESOLVED]
        assert not unresolved, f"{exported.name} code cell {cell.number}: {cell.text()!r}"
        caught = [marker for marker in NOT_YET if marker in cell.text()]
        assert not caught, f"{exported.name} code cell {cell.number}: {cell.text()!r}"


def test_links_are_absolute(exported: Export):
    """In the outputs, and in the HTML of any widget state saved with the page."""
    links = exported.page.output_links()
    wrong = [(where, href) for where, href in links if not is_absolute(href)]
    assert not wrong, f"{exported.name}: links a saved page cannot follow: {wrong}"


def test_loopback_links_name_the_notebooks_own_sandbox(exported: Export):
    page = exported.page
    root = page.sandbox_root()
    loopback = [href for _, href in page.output_links() if "://127.0.0.1" in href]
    assert all(href.startswith(root + "/") for href in loopback), (root, loopback)


def test_the_sandbox_kept_its_data_in_the_temporary_folder(exported: Export):
    """The kernel's embedded sandbox kept its data (and its worker its tasks'
    folders) under the export's TMPDIR, and removed them when the kernel exited."""
    shown = exported.page.cell("conn = connect()").text()
    assert f"{exported.tmp_dir}/tc-sandbox-" in shown, shown
    left = sorted(path.name for path in exported.tmp_dir.glob("tc-*"))
    assert not left, f"{exported.name}: left behind in {exported.tmp_dir}: {left}"


# -- what each notebook's static copy says ---------------------------------------------------------


def test_04_the_badge_shows_the_task_completed(exports):
    badge = page_of(exports, "04").cell("badge = StatusBadge(conn, task_id)")
    assert chips(badge) == [("completed", "COMPLETED")], badge.text()
    assert "run 1" in badge.text(), badge.text()  # the rerun of a later cell, followed


def test_04_the_live_log_shows_the_counting_tasks_last_lines(exports):
    page = page_of(exports, "04")
    log = page.cell("live = LiveLog(conn, counter_id)")
    pres = [node for node in log.output_nodes() if node.tag == "pre"]
    assert pres, f"no log lines in the LiveLog's output: {log.text()!r}"
    assert task_lines(pres[-1].text())[-3:] == ["6", "7", "8"], pres[-1].text()
    assert "final" in log.text(), log.text()
    root = page.sandbox_root()
    full_log = [href for href in log.hrefs() if artifact_name(href, root)]
    names = [artifact_name(href, root) for href in full_log]
    assert names == ["public/logs/live_backing.log"], log.hrefs()


def test_04_public_links_are_absolute_on_the_sandbox(exports):
    """The artifact links of the listing cell, of the download cell and of the
    ArtifactList: absolute, on the notebook's sandbox, for one task."""
    page = page_of(exports, "04")
    root = page.sandbox_root()
    where = {}
    for snippet in (
        "for artifact in artifacts:",
        'display(conn.link(url, "public/passwd.txt"',
        "artifact_list = ArtifactList(conn, task_id)",
    ):
        cell = page.cell(snippet)
        hrefs = cell.hrefs()
        named = [href for href in hrefs if artifact_name(href, root) == "public/passwd.txt"]
        assert named, f"code cell {cell.number}: no link to public/passwd.txt on {root}: {hrefs}"
        where[cell.number] = named
    task_ids = {
        re.search(r"/task/([\w-]{22})/", href).group(1)
        for named in where.values()
        for href in named
    }
    assert len(task_ids) == 1, where


def test_04_the_artifact_list_lists_the_runs_artifacts(exports):
    listing = page_of(exports, "04").cell("artifact_list = ArtifactList(conn, task_id)")
    text = listing.text()
    for name in ("public/passwd.txt", "private/hostname.txt", "public/logs/live.log"):
        assert name in text, text
    assert "listing…" not in text, text


def test_03_every_badge_is_resolved(exports):
    page = page_of(exports, "03")
    assert chips(page.cell("badge = StatusBadge(conn, task_id)")) == [("completed", "COMPLETED")]
    pair = page.cell("failing_badge = StatusBadge(conn, failing_id)")
    assert chips(pair) == [("failed", "FAILED"), ("exception", "EXCEPTION")], pair.text()
    assert "exit 3:" in pair.text() and "sleep 60:" in pair.text(), pair.text()


def test_03_the_inspect_link_opens_the_task_page_on_the_sandbox(exports):
    page = page_of(exports, "03")
    cell = page.cell('print("Inspect it at:")')
    task_page = re.escape(page.sandbox_root()) + r"/tasks/[\w-]{22}"
    assert [href for href in cell.hrefs() if re.fullmatch(task_page, href)], cell.hrefs()


@pytest.mark.parametrize(
    ("snippet", "name"),
    [("view = TaskView(conn, watched_id)", "Count to 5"), ("second_view = TaskView", "Test")],
)
def test_05_the_task_views_show_their_tasks_completed(exports, snippet, name):
    view = page_of(exports, "05").cell(snippet)
    shown = chips(view)
    assert shown and shown[0] == ("completed", "COMPLETED"), (shown, view.text())
    titles = [node.text() for node in view.output_nodes() if node.tag == "b"]
    assert name in titles, (titles, view.text())


def test_01_the_form_shows_the_task_it_created(exports):
    page = page_of(exports, "01")
    form = page.cell("form = TaskForm(conn, counting_task(10))")
    assert ("completed", "COMPLETED") in chips(form), (chips(form), form.text())
    title = re.search(r"Count to 10 ([\w-]{22})", form.text())  # the created task's view
    assert title, f"no view of the created task in the form's output: {form.text()!r}"
    page_link = f"{page.sandbox_root()}/tasks/{title.group(1)}"
    assert page_link in form.hrefs(), (page_link, form.hrefs())


def test_02_the_task_page_link_names_the_created_task(exports):
    page = page_of(exports, "02")
    task_id = page.cell("task_id = slugid.nice()\ntask_id").text().strip().strip("'")
    assert TASK_ID.fullmatch(task_id), task_id
    link = page.cell('display(conn.link(f"{conn.root_url}/tasks/{task_id}"')
    hrefs = link.hrefs()
    assert hrefs == [f"{page.sandbox_root()}/tasks/{task_id}"], hrefs


def test_06_the_index_link_finds_the_artifact_on_the_sandbox(exports):
    page = page_of(exports, "06")
    link = page.cell("build_url = conn.index.buildUrl")
    hrefs = [urllib.parse.unquote(href) for href in link.hrefs()]
    path = "/api/index/v1/task/tutorial.finding-tasks.example.latest/artifacts/public/build.txt"
    assert hrefs == [page.sandbox_root() + path], hrefs
