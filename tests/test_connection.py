"""connect(): explicit arguments, then the environment, then an embedded sandbox."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tc_notebook.connection as connection
from tc_notebook import Connection, connect

ENV = ("TASKCLUSTER_ROOT_URL", "TASKCLUSTER_CLIENT_ID", "TASKCLUSTER_ACCESS_TOKEN",
       "TC_NOTEBOOK_PROXY_PREFIX", "JPY_SESSION_NAME", "JPY_PARENT_PID")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def test_explicit_arguments_win(monkeypatch):
    monkeypatch.setenv("TASKCLUSTER_ROOT_URL", "https://env.example.com")
    conn = connect("https://tc.example.com/", {"clientId": "me", "accessToken": "t"})
    assert conn.root_url == "https://tc.example.com"
    assert conn.client_id == "me" and not conn.is_sandbox and conn.has_web_ui
    assert "tc.example.com" in conn._repr_html_() and "deployment" in repr(conn)


def test_environment_next(monkeypatch):
    monkeypatch.setenv("TASKCLUSTER_ROOT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("TASKCLUSTER_CLIENT_ID", "learner")
    monkeypatch.setenv("TASKCLUSTER_ACCESS_TOKEN", "secret")
    conn = connect()
    assert conn.root_url == "http://127.0.0.1:9" and conn.client_id == "learner"
    assert not conn.has_web_ui  # a queue on loopback is a sandbox: no web UI to link to


def test_embedded_sandbox_last_and_reused(monkeypatch):
    monkeypatch.setattr(connection, "_embedded", None)
    first, second = connect(), connect()
    try:
        assert first.is_sandbox and first.sandbox is second.sandbox
        assert first.queue.ping()["alive"]
        assert "embedded sandbox" in first._repr_html_()
    finally:
        first.sandbox.stop()


def test_browser_url_through_jupyter_server_proxy(monkeypatch):
    conn = Connection("http://127.0.0.1:4321")
    url = "http://127.0.0.1:4321/api/queue/v1/task/x/artifacts/public%2Fa"
    assert conn.browser_url(url) == url  # not under Jupyter: unchanged
    monkeypatch.setenv("TC_NOTEBOOK_PROXY_PREFIX", "/user/learner/")
    proxied = "/user/learner/proxy/4321/api/queue/v1/task/x/artifacts/public%2Fa"
    assert conn.browser_url(url) == proxied
    assert connect("https://tc.example.com").browser_url("https://tc.example.com/a") == (
        "https://tc.example.com/a")


def test_kernels_variables_say_nothing_of_a_proxy(monkeypatch):
    """Every kernel started by jupyter_client has JPY_PARENT_PID, under Voilà
    too, which has no proxy: links stay direct unless the override says so
    (the page itself asks the Jupyter server, see widgets/reach.js)."""
    pytest.importorskip("jupyter_server_proxy")
    monkeypatch.setenv("JPY_PARENT_PID", "1")
    monkeypatch.setenv("JPY_SESSION_NAME", "04-download-task-artifacts.ipynb")
    conn = Connection("http://127.0.0.1:4321")
    url = "http://127.0.0.1:4321/api/queue/v1/ping"
    assert connection.proxy_prefix() is None and conn.browser_url(url) == url
    monkeypatch.setenv("TC_NOTEBOOK_PROXY_PREFIX", "")  # empty: as unset
    assert conn.browser_url(url) == url


def test_import_does_not_load_the_sandbox():
    """`import tc_notebook` is cheap for a real deployment: no sandbox, no
    aiohttp server, no jsonschema until a sandbox is asked for."""
    code = (
        "import sys, tc_notebook\n"
        "heavy = {'tc_notebook.sandbox', 'aiohttp.web', 'jsonschema'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_task_pages_of_a_sandbox_reached_by_url(sandbox):
    """A sandbox reached by its root URL (Binder's kernels) has task pages;
    a loopback port that is no sandbox (nothing listening) has none; a
    deployment's web UI has them without being asked."""
    assert Connection(sandbox.root_url).has_task_pages
    assert not Connection("http://127.0.0.1:9").has_task_pages
    assert Connection("https://tc.example.com").has_task_pages
