"""Helpers of the browser tests (no fixtures here): the processes' handles,
the notebooks the tests add, and what a person does in JupyterLab."""

from __future__ import annotations

import contextlib
import re
import secrets
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import nbformat
import taskcluster
from playwright.sync_api import Download, Locator, Page, Response, expect
from playwright.sync_api import Error as PlaywrightError

from tc_notebook.sandbox import SandboxProcess

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "browser"
LOGS = SCREENSHOTS / "logs"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium's own connections (updates,
# field trials, sync) are refused by a closed network and slow everything down.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GREEN = "rgb(46, 125, 50)"  # STATE_COLOURS["completed"], #2e7d32

# -- processes ---------------------------------------------------------------------------


class BrowserSandbox(SandboxProcess):
    """The sandbox subprocess the browser tests share."""

    def queue(self) -> taskcluster.Queue:
        """An official client with the sandbox's root credentials."""
        return taskcluster.Queue(self.client_options(maxRetries=0))


@dataclass
class Lab:
    """A JupyterLab server: `url` ends with its base URL (and a slash)."""

    url: str
    token: str
    base_url: str
    root_dir: Path
    sandbox: SandboxProcess

    def api(self, path: str) -> str:
        return f"{self.url}api/{path}?token={self.token}"

    def notebook_url(self, name: str) -> str:
        """The notebook alone in a new workspace (no tabs restored from other tests)."""
        workspace = f"test-{secrets.token_hex(4)}"
        return f"{self.url}lab/workspaces/{workspace}/tree/{name}?token={self.token}"

    @property
    def origin(self) -> str:
        parts = urllib.parse.urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def proxy_prefix(self) -> str:
        """Where jupyter-server-proxy serves the sandbox, from the server's root."""
        return f"{self.base_url}proxy/{self.sandbox.port}/"


# -- the notebooks the tests add ------------------------------------------------------------

FORM_NOTEBOOK = "browser-task-form.ipynb"
LIVELOG_NOTEBOOK = "browser-live-log.ipynb"
LINKS_NOTEBOOK = "browser-artifact-links.ipynb"

KERNEL_CHECK = """\
import sys
import tc_notebook
print("kernel prefix:", sys.prefix)
print("tc_notebook from:", tc_notebook.__file__)"""

# The start of a test's cell that makes tasks: a connection, and `create(script)`
# that creates a tutorial-shaped task running `script` with bash (its taskId).
CREATE = """\
import slugid
from tc_notebook import connect
from tc_notebook.tutorial import tutorial_task

conn = connect()

def create(script):
    task = tutorial_task()
    task["payload"]["command"] = ["/bin/bash", "-c", script]
    task_id = slugid.nice()
    conn.queue.createTask(task_id, task)
    return task_id
"""

TICKS = 30  # lines the live-log task prints, one every 200 ms
LIVELOG_TASK = f"""\
import slugid
from IPython.display import display
from tc_notebook import connect
from tc_notebook.tutorial import tutorial_task
from tc_notebook.widgets import StatusBadge
from tc_notebook.widgets.livelog import LiveLog

conn = connect()
task = tutorial_task()
task["metadata"]["name"] = "browser test: a line every 200 ms"
task["payload"]["command"] = [
    "/bin/bash", "-c", 'for i in $(seq 1 {TICKS}); do echo "tick $i of {TICKS}"; sleep 0.2; done'
]
task_id = slugid.nice()
conn.queue.createTask(task_id, task)
print("task id:", task_id)
display(StatusBadge(conn, task_id), LiveLog(conn, task_id))"""

LINKS_TASK = """\
import slugid
from tc_notebook import connect
from tc_notebook.tutorial import tutorial_task
from tc_notebook.widgets import ArtifactList, StatusBadge

conn = connect()
task = tutorial_task()
task["payload"]["artifacts"]["private/hostname.txt"] = {"type": "file", "path": "/etc/hostname"}
task_id = slugid.nice()
conn.queue.createTask(task_id, task)
badge = StatusBadge(conn, task_id)
badge"""

LINKS_LIST = """\
await badge.wait()
artifact_list = ArtifactList(conn, task_id)
await artifact_list.refresh()
artifact_list"""

FORM = """\
from tc_notebook import connect
from tc_notebook.widgets import TaskForm

conn = connect()
form = TaskForm(conn)
form"""


def code_notebook(*sources: str) -> nbformat.NotebookNode:
    """A notebook of these code cells, on the Python 3 kernel."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return notebook


def write_test_notebooks(folder: Path) -> None:
    """The tests' own notebooks, beside the tutorial's (in the lab's temp copy)."""
    notebooks = {
        FORM_NOTEBOOK: code_notebook(KERNEL_CHECK, FORM),
        LIVELOG_NOTEBOOK: code_notebook(KERNEL_CHECK, LIVELOG_TASK),
        LINKS_NOTEBOOK: code_notebook(KERNEL_CHECK, LINKS_TASK, LINKS_LIST),
    }
    for name, notebook in notebooks.items():
        nbformat.write(notebook, folder / name)


# -- JupyterLab, as a person uses it ----------------------------------------------------------


def open_notebook(page: Page, lab: Lab, name: str) -> Locator:
    """Open a notebook (token in the URL: the server sets its login cookie) and
    wait for its kernel, accepting the kernel-selection dialog if it asks."""
    page.goto(lab.notebook_url(name))
    panel = page.locator(".jp-NotebookPanel:visible")
    expect(panel).to_be_visible(timeout=60_000)
    # The status bar's kernel item for this notebook: "Python 3 (ipykernel) | Idle".
    idle = page.locator(f".jp-StatusBar-TextItem[title='Change kernel for {name}']").filter(
        has_text="| Idle"
    )
    dialog = page.locator(".jp-Dialog")
    deadline = time.monotonic() + 60
    while not idle.is_visible():
        if dialog.is_visible():
            dialog.locator(".jp-mod-accept").click()  # "Select" the notebook's kernel
        if time.monotonic() > deadline:
            raise TimeoutError(f"the kernel of {name} was not idle within 60 s")
        page.wait_for_timeout(100)  # poll step; the deadline bounds the loop
    return panel


def run_all(page: Page) -> None:
    """Run → Run All Cells."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()


def run_all_checked(page: Page, panel: Locator) -> None:
    """Run All Cells of a notebook of the tests (its first cell is KERNEL_CHECK),
    and wait until that cell says the kernel runs this venv's Python."""
    run_all(page)
    expect(outputs(panel, 0)).to_contain_text(f"kernel prefix: {sys.prefix}", timeout=60_000)


def run_notebook(page: Page, lab: Lab, name: str) -> Locator:
    """Open a notebook of the tests and `run_all_checked` it; its panel."""
    panel = open_notebook(page, lab, name)
    run_all_checked(page, panel)
    return panel


def run_cells(page: Page, lab: Lab, name: str, *cells: str) -> Locator:
    """Write a notebook `name` of KERNEL_CHECK then `cells` into the lab's folder,
    and `run_notebook` it; its panel (`outputs(panel, 1)` is the first of `cells`)."""
    nbformat.write(code_notebook(KERNEL_CHECK, *cells), lab.root_dir / name)
    return run_notebook(page, lab, name)


def cell(panel: Locator, index: int) -> Locator:
    """The notebook's `index`th cell (markdown cells count)."""
    return panel.locator(".jp-Notebook .jp-Cell").nth(index)


def field(page: Page, label: str) -> Locator:
    """The input of the ipywidgets row labelled `label` (a TaskForm field)."""
    return _row(page, label).locator("input, textarea").first


def field_error(page: Page, label: str) -> Locator:
    """The inline error box under the row labelled `label`."""
    return _row(page, label).locator(
        "xpath=following-sibling::div[contains(@class, 'widget-html')]"
    )


def _row(page: Page, label: str) -> Locator:
    return page.locator(
        "xpath=//div[contains(@class, 'widget-hbox')]"
        f"[div[contains(@class, 'widget-label')][normalize-space() = '{label}']]"
    )


def outputs(panel: Locator, index: int) -> Locator:
    """The output area of the notebook's `index`th cell."""
    return cell(panel, index).locator(".jp-OutputArea")


def screenshot(page: Page, name: str, target: Locator | None = None, block: str = "center") -> Path:
    """Save the page, `target` scrolled into view (its `block`: start, center,
    end), as test-artifacts/browser/<name>.png."""
    if target is not None:
        target.evaluate("(element, block) => element.scrollIntoView({block})", block)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def theme_colour(page: Page, variable: str) -> str:
    """What a JupyterLab theme variable (`--jp-warn-color1`, ...) computes to
    as a text colour on this page: `rgb(...)`, as `to_have_css` compares."""
    return page.evaluate(
        """variable => {
          const probe = document.createElement("span");
          probe.style.color = `var(${variable})`;
          document.body.append(probe);
          const colour = getComputedStyle(probe).color;
          probe.remove();
          return colour;
        }""",
        variable,
    )


def expect_completed_chip(chip: Locator, timeout: float = 90_000) -> None:
    """A StatusBadge chip that reads COMPLETED, painted green."""
    expect(chip).to_have_text("COMPLETED", timeout=timeout)
    expect(chip).to_have_css("background-color", GREEN)


@dataclass
class Fetched:
    """What the browser received after a click."""

    how: str  # "download" or "window"
    status: int  # of the final response (a download's is a success)
    url: str  # the final URL (after redirects)
    chain: list[str]  # every URL requested, first to last, when known
    body: bytes
    window: Page | None  # the new window, if the click opened one


def click_and_fetch(page: Page, target: Locator, timeout: float = 30.0) -> Fetched:
    """Click `target` and return what the browser got from it: a download (in
    this page or a new window), or the document a new window shows (whatever
    its status: an error page's bytes are returned too, for the message)."""
    context = page.context
    downloads: list[Download] = []
    popups: list[Page] = []
    documents: list[Response] = []

    def on_download(download: Download) -> None:
        downloads.append(download)

    def on_page(new: Page) -> None:
        popups.append(new)
        new.on("download", on_download)

    def on_response(response: Response) -> None:
        if not response.request.is_navigation_request() or 300 <= response.status < 400:
            return
        try:
            frame = response.frame
        except PlaywrightError:
            # A link with target=_blank: the new window's navigation was requested
            # before its frame existed. Its document, all the same.
            documents.append(response)
            return
        if frame.parent_frame is None and frame.page != page:
            documents.append(response)  # a new window's document (not a redirect)

    page.on("download", on_download)
    context.on("page", on_page)
    context.on("response", on_response)
    try:
        target.click()
        deadline = time.monotonic() + timeout
        while not downloads and not (documents and _window_of(documents[0], popups)):
            if time.monotonic() > deadline:
                seen = [p.url for p in popups]
                raise TimeoutError(f"nothing arrived {timeout} s after the click; windows: {seen}")
            page.wait_for_timeout(50)  # poll step (lets Playwright deliver events)
    finally:
        page.remove_listener("download", on_download)
        context.remove_listener("page", on_page)
        context.remove_listener("response", on_response)
    if downloads:
        download = downloads[0]
        failure = download.failure()
        assert failure is None, f"download of {download.url} failed: {failure}"
        body = Path(download.path()).read_bytes()
        return Fetched("download", 200, download.url, [download.url], body, download.page)
    response = documents[0]
    chain, request = [], response.request
    while request is not None:
        chain.insert(0, request.url)
        request = request.redirected_from
    window = _window_of(documents[0], popups)
    return Fetched("window", response.status, response.url, chain, response.body(), window)


def _window_of(response: Response, popups: list[Page]) -> Page | None:
    """The window showing `response`: its frame's page, or (when the frame came
    after the request, see click_and_fetch) the last window the click opened."""
    try:
        return response.frame.page
    except PlaywrightError:
        return popups[-1] if popups else None


def assert_received(got, path: str) -> None:
    """The browser received exactly the bytes of the file at `path`."""
    expected = Path(path).read_bytes()
    assert got.body == expected, (got.how, got.status, got.url, got.body[:300])


def browser_context(browser) -> contextlib.closing:
    """A fresh browser context (no cookies), closed at the end of a `with`."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(30_000)
    return contextlib.closing(context)


def listed_link(page: Page, name: str) -> Locator:
    """An ArtifactList's link named `name`."""
    return page.locator(".tc-artifacts").get_by_role("link", name=name, exact=True)


def starting(prefix: str) -> re.Pattern:
    """A pattern of the strings that start with `prefix` (an href, a URL)."""
    return re.compile("^" + re.escape(prefix))
