"""`connect()`: where the widgets and notebooks send their queue calls.

Explicit arguments win; otherwise `TASKCLUSTER_ROOT_URL` (and credentials)
from the environment, as the official client reads them; otherwise an
embedded sandbox (queue and worker) for this kernel, started once, reused by
later calls and stopped when the kernel exits.
"""

from __future__ import annotations

import atexit
import functools
import html
import os
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
import taskcluster

if TYPE_CHECKING:  # imported when used: a real deployment needs neither
    import aiohttp
    import taskcluster.aio

    from .sandbox import Sandbox

_embedded: Sandbox | None = None
_embedded_lock = threading.Lock()


def _loopback(host: str | None) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


@dataclass
class Connection:
    """A root URL, optional credentials, and the clients of its queue and index."""

    root_url: str
    credentials: dict[str, str] | None = None
    sandbox: Sandbox | None = None
    queue: taskcluster.Queue = field(init=False, repr=False)
    index: taskcluster.Index = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.root_url = self.root_url.rstrip("/")
        self.queue = taskcluster.Queue(self.options())
        self.index = taskcluster.Index(self.options())

    @property
    def client_id(self) -> str | None:
        """Who the calls are made as; None for anonymous."""
        return self.credentials["clientId"] if self.credentials else None

    @property
    def is_sandbox(self) -> bool:
        """True when connected to an embedded sandbox."""
        return self.sandbox is not None

    @property
    def has_web_ui(self) -> bool:
        """True for a deployment serving Taskcluster's web UI at its root URL;
        a sandbox, embedded or reached on loopback, has none."""
        return not self.is_sandbox and not _loopback(urllib.parse.urlsplit(self.root_url).hostname)

    @functools.cached_property
    def has_task_pages(self) -> bool:
        """True where `<rootUrl>/tasks/<taskId>` shows a task: a deployment's
        web UI, or a tc-notebook sandbox's own pages. A queue on loopback that
        is not this kernel's sandbox is asked once (a sandbox answers a
        malformed id with an HTML page; the services alone have no pages)."""
        if self.is_sandbox or self.has_web_ui:
            return True
        try:
            answer = requests.get(f"{self.root_url}/tasks/groups/-", timeout=3)
        except requests.RequestException:
            return False
        return answer.headers.get("Content-Type", "").startswith("text/html")

    def options(self, **extra: Any) -> dict[str, Any]:
        """Options for an official client constructor."""
        options: dict[str, Any] = {"rootUrl": self.root_url, **extra}
        if self.credentials:
            options["credentials"] = dict(self.credentials)  # the client encodes in place
        return options

    def aio_queue(
        self, session: aiohttp.ClientSession | None = None, **extra: Any
    ) -> taskcluster.aio.Queue:
        """An asyncio Queue client on the running loop (for widgets)."""
        import taskcluster.aio

        return taskcluster.aio.Queue(self.options(**extra), session=session)

    def browser_url(self, url: str) -> str:
        """The URL a page links to for `url` on this connection's root URL:
        `url` itself, absolute, so that a static copy of the page still
        points at the queue. A queue on this machine's loopback is out of the
        browser's reach when the browser talks to a remote Jupyter server
        (Binder): the widgets' views then ask once whether the Jupyter server
        relays it (jupyter-server-proxy, `<base_url>proxy/<port>/<path>`) and
        link there instead (reach.js). `TC_NOTEBOOK_PROXY_PREFIX` makes the
        kernel link there itself.
        """
        prefix = proxy_prefix()
        parsed = urllib.parse.urlsplit(self.root_url)
        if prefix is None or not url.startswith(self.root_url) or not _loopback(parsed.hostname):
            return url
        return f"{prefix}proxy/{parsed.port}{url[len(self.root_url) :]}"

    def link(self, url: str, text: str | None = None, show_kernel_url: bool = False) -> Link:
        """`url` (as `buildUrl` or `buildSignedUrl` make it, on the root URL
        the kernel uses) as a link a notebook shows: it opens `browser_url(url)`.
        With `show_kernel_url`, `url` itself is shown below it, as text."""
        browser = self.browser_url(url)
        return Link(browser, text or browser, url if show_kernel_url else "")

    def _repr_html_(self) -> str:
        if self.is_sandbox:
            kind = "embedded sandbox (in this kernel)"
        elif not self.has_web_ui:
            kind = "sandbox on this machine"
        else:
            kind = "Taskcluster deployment"
        who = html.escape(self.client_id or "anonymous")
        where = html.escape(self.root_url)
        rows = [
            ("root URL", f"<code>{where}</code>"),
            ("client", f"<code>{who}</code>"),
            ("kind", kind),
        ]
        if self.sandbox is not None:
            rows.append(("data", f"<code>{html.escape(str(self.sandbox.data_dir))}</code>"))
        body = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows
        )
        return f"<div><strong>Taskcluster connection</strong><table>{body}</table></div>"

    def __repr__(self) -> str:
        kind = "deployment" if self.has_web_ui else "sandbox"
        return f"<Connection {self.root_url} as {self.client_id or 'anonymous'} ({kind})>"


@dataclass(frozen=True)
class Link:
    """A URL the browser can open, shown as a link in a notebook; and, if
    given, the URL the kernel uses for the same thing, shown as text only
    (a link to it could lead nowhere: see `Connection.browser_url`)."""

    url: str
    text: str
    kernel_url: str = ""

    def _ipython_display_(self) -> None:
        """In a notebook, shown by a small widget whose view makes the link
        reachable from the page (see `Connection.browser_url`)."""
        from .widgets.shown import ShownHTML

        ShownHTML(self._repr_html_(), plain=repr(self))._ipython_display_()

    def _repr_html_(self) -> str:
        url, text = html.escape(self.url), html.escape(self.text)
        anchor = f'<a href="{url}" title="{url}" target="_blank" rel="noopener">{text}</a>'
        if not self.kernel_url:
            return anchor
        rows = [
            ("your browser opens", f'{anchor}<br><code data-tc-url="{url}">{url}</code>'),
            ("the kernel uses", f"<code>{html.escape(self.kernel_url)}</code>"),
        ]
        body = "".join(
            f'<tr><th style="text-align:left;vertical-align:top;white-space:nowrap">{k}</th>'
            f'<td style="text-align:left;word-break:break-all">{v}</td></tr>'
            for k, v in rows
        )
        return f"<table>{body}</table>"

    def __repr__(self) -> str:
        shown = self.url if self.text == self.url else f"{self.text}: {self.url}"
        if self.kernel_url:
            shown = f"your browser opens {shown}\nthe kernel uses {self.kernel_url}"
        return shown


def proxy_prefix() -> str | None:
    """`TC_NOTEBOOK_PROXY_PREFIX`: the Jupyter server's base URL, when whoever
    started the kernel knows that links to the sandbox must go through the
    server's proxy (binder/start); None when unset or empty. Otherwise the
    page finds out itself (see `Connection.browser_url`)."""
    prefix = os.environ.get("TC_NOTEBOOK_PROXY_PREFIX", "")
    if not prefix:
        return None
    return prefix if prefix.endswith("/") else prefix + "/"


def embedded_sandbox() -> Sandbox:
    """This process's sandbox, started on first use and stopped at exit."""
    global _embedded
    from .sandbox import Sandbox

    with _embedded_lock:
        if _embedded is None:
            _embedded = Sandbox().start()
            atexit.register(_embedded.stop)
        return _embedded


def connect(root_url: str | None = None, credentials: dict[str, str] | None = None) -> Connection:
    """Connect to a Taskcluster queue: the given root URL, else the
    environment's `TASKCLUSTER_ROOT_URL`, else an embedded sandbox."""
    if root_url:
        return Connection(root_url, credentials)
    if os.environ.get("TASKCLUSTER_ROOT_URL"):
        options = taskcluster.optionsFromEnvironment()
        found = options.get("credentials") or None
        if found and not found.get("clientId"):
            found = None
        return Connection(options["rootUrl"], credentials or found)
    sandbox = embedded_sandbox()
    return Connection(sandbox.root_url, credentials or sandbox.credentials, sandbox)
