"""Fixtures of the browser tests: a sandbox and JupyterLab as subprocesses on
127.0.0.1, driven through Debian's Chromium by Playwright.

Session-scoped: one sandbox (`python -m tc_notebook sandbox`), one JupyterLab
at base URL `/` whose kernels are told nothing about the proxy (as
`tc-notebook lab` starts them: the page finds out), one at a Binder-like base
URL whose kernels get that base URL as `TC_NOTEBOOK_PROXY_PREFIX` (as
binder/start does), one in the JupyterLab Dark theme, one Notebook 7 (whose
server renders with Voilà too; each started only for the tests that ask for
it), and one Chromium. Each test gets a fresh browser context (cookies,
downloads) and page.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from browser_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LOGS,
    REPO,
    SCREENSHOTS,
    BrowserSandbox,
    Lab,
    browser_context,
    write_test_notebooks,
)
from frontend_servers import server_environment, stop, tail
from helpers import wait_until

from tc_notebook.lab import LabError, jupyterlab_command, serving_port

BINDER_BASE_URL = "/user/learner/"
# No news or update toasts, and every cell kept in the DOM (no windowing).
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
DARK_THEME = {
    "@jupyterlab/apputils-extension/themes.jupyterlab-settings": {"theme": "JupyterLab Dark"}
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium the tests here are skipped, saying why (never otherwise)."""
    if CHROMIUM.exists():
        return
    here = Path(__file__).parent
    missing = pytest.mark.skip(reason=f"{CHROMIUM} is missing (apt-get install chromium)")
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(missing)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """`test-artifacts/browser/`: this run's screenshots, and the servers' logs under logs/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    LOGS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def sandbox_process(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Iterator:
    """The sandbox CLI on 127.0.0.1 (a free port), found through its env file."""
    base = tmp_path_factory.mktemp("browser-sandbox")
    sandbox = BrowserSandbox(base / "data", log_dir=base).start(timeout=30)
    try:
        yield sandbox
    finally:
        sandbox.stop(timeout=20)
        shutil.copyfile(sandbox.log_path, LOGS / "sandbox.log")


def _start_lab(
    tmp: Path,
    sandbox_process: BrowserSandbox,
    name: str,
    base_url: str,
    user_settings: dict,
    proxy_prefix: str | None = None,
    app: str = "jupyterlab",
) -> tuple[subprocess.Popen, Lab]:
    root = tmp / "notebooks"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    write_test_notebooks(root)
    settings = tmp / "user-settings"
    for path, values in user_settings.items():
        (settings / path).parent.mkdir(parents=True, exist_ok=True)
        (settings / path).write_text(json.dumps(values))
    token = secrets.token_hex(16)
    env = server_environment(tmp, sandbox_process, proxy_prefix)
    # Notebook 7 (app "notebook") is a JupyterLab-based app of its own class,
    # beside JupyterLab's (whose settings handler may answer it): both read these.
    classes = ["LabApp", "JupyterNotebookApp"] if app == "notebook" else ["LabApp"]
    workspaces = tmp / "workspaces"
    workspaces.mkdir()
    folders = [
        f"--{app_class}.{trait}={folder}"
        for app_class in classes
        for trait, folder in (("user_settings_dir", settings), ("workspaces_dir", workspaces))
    ]
    command = jupyterlab_command(
        0,  # JupyterLab picks a free port and says which in its runtime file
        token,
        root,
        f"--ServerApp.base_url={base_url}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        *folders,
    )
    command[2] = app  # python -m <app>
    log_path = LOGS / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        port = serving_port(process, timeout=60, runtime_dir=tmp / "runtime")
    except LabError as failure:
        stop(process)
        raise RuntimeError(f"{name}: {failure}:\n{tail(log_path)}") from None
    lab = Lab(f"http://127.0.0.1:{port}{base_url}", token, base_url, root, sandbox_process)

    def answers() -> bool:
        if process.poll() is not None:
            return True
        try:
            return requests.get(lab.api("status"), timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(answers, timeout=60, message=f"{name} to answer /api/status")
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited ({process.returncode}):\n{tail(log_path)}")
        specs = requests.get(lab.api("kernelspecs"), timeout=10).json()
        # The venv's ipykernel spec ("python" in its argv is the server's Python);
        # the notebooks' first cell checks the kernel's sys.prefix and tc_notebook.
        assert "python3" in specs["kernelspecs"], specs
    except BaseException:
        stop(process)
        raise
    return process, lab


def _lab_fixture(
    name: str,
    doc: str,
    base_url: str = "/",
    extra_settings: dict | None = None,
    proxy_prefix: str | None = None,
    app: str = "jupyterlab",
):
    """A session fixture: a JupyterLab (`_start_lab`) for the tests that ask for it."""

    def running_lab(
        tmp_path_factory: pytest.TempPathFactory, sandbox_process: BrowserSandbox
    ) -> Iterator[Lab]:
        settings = {**SETTINGS, **(extra_settings or {})}
        process, started = _start_lab(
            tmp_path_factory.mktemp(name),
            sandbox_process,
            name,
            base_url,
            settings,
            proxy_prefix,
            app,
        )
        try:
            yield started
        finally:
            stop(process)

    running_lab.__doc__ = doc
    return pytest.fixture(scope="session")(running_lab)


lab = _lab_fixture(
    "jupyterlab",
    "JupyterLab at `/`, kernels told nothing of the proxy (as `tc-notebook lab`).",
)
binder_lab = _lab_fixture(
    "jupyterlab-binder",
    "JupyterLab at a Binder-like base URL, kernels with that base URL as proxy prefix.",
    base_url=BINDER_BASE_URL,
    proxy_prefix=BINDER_BASE_URL,
)
dark_lab = _lab_fixture(
    "jupyterlab-dark",
    "JupyterLab at `/` in the JupyterLab Dark theme (its user settings say so).",
    extra_settings=DARK_THEME,
)
notebook7 = _lab_fixture(
    "notebook7",
    "Notebook 7 (`jupyter notebook`) at `/`, kernels told nothing of the proxy; its"
    " server renders notebooks with Voilà too (`/voila/render/...`).",
    app="notebook",
)


@pytest.fixture(scope="module")
def browser(artifacts_dir: Path) -> Iterator:
    """Debian's Chromium, headless, in a fresh profile (Playwright's temporary user-data-dir).

    Module-scoped on purpose: Playwright's sync API keeps an event loop
    running in the main thread while it is open, which would break every
    later test that runs its own loop (asyncio.run, the official client's
    download helpers)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        with contextlib.closing(chromium):
            yield chromium


@pytest.fixture
def context(browser) -> Iterator:
    """A browser context of one test's own."""
    with browser_context(browser) as context:
        yield context


@pytest.fixture
def page(context):
    """A page in the test's own context."""
    return context.new_page()


@pytest.fixture(scope="module")
def module_context(browser) -> Iterator:
    """A browser context shared by the tests of one module (one notebook run)."""
    with browser_context(browser) as context:
        yield context


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "browser" in item.fixturenames:
        browser = item.funcargs["browser"]
        for number, context in enumerate(browser.contexts):
            for index, open_page in enumerate(context.pages):
                path = SCREENSHOTS / f"FAILED-{item.name}-{number}-{index}.png"
                try:
                    open_page.screenshot(path=str(path))
                except Exception:  # noqa: BLE001 - best effort, the failure is reported anyway
                    pass
