"""The frame of the sandbox's HTML pages (its stand-in for the web UI's task
pages): the document, its style sheet (light and dark), an error page, and
links relative to the page, so that a page reached through a proxy under a
prefix (jupyter-server-proxy's `<base>proxy/<port>/`) keeps that prefix in
every link it offers."""

from __future__ import annotations

import base64
import hashlib
import html
import urllib.parse

from aiohttp import web

# The page sets the JupyterLab variables that `theme` and `task_html` read,
# so the shared pieces follow the page's own light or dark scheme.
STYLE = """
:root { color-scheme: light dark;
  --jp-ui-font-color1: #222; --jp-ui-font-color2: #555; --jp-ui-font-color3: #777;
  --jp-layout-color0: #fff; --jp-layout-color2: #eef1f4; --jp-border-color1: #bdbdbd;
  --jp-border-color2: #e0e0e0; --jp-content-link-color: #1565c0; --jp-warn-color1: #b26a00; }
@media (prefers-color-scheme: dark) { :root {
  --jp-ui-font-color1: #e6e6e6; --jp-ui-font-color2: #b8b8b8; --jp-ui-font-color3: #999;
  --jp-layout-color0: #1b1d20; --jp-layout-color2: #2b2f35; --jp-border-color1: #616161;
  --jp-border-color2: #3a3f45; --jp-content-link-color: #82b1ff; --jp-warn-color1: #ffb74d; } }
body { margin: 0 auto; max-width: 1100px; padding: 16px 24px 48px;
  font: 14px/1.45 system-ui, sans-serif;
  color: var(--jp-ui-font-color1); background: var(--jp-layout-color0); }
a { color: var(--jp-content-link-color); }
h1 { font-size: 22px; margin: 8px 0 12px; } h1 code { font-size: 20px; }
h2 { font-size: 17px; margin: 26px 0 8px; }
nav, .muted { color: var(--jp-ui-font-color2); font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; vertical-align: top; padding: 3px 14px 3px 0; }
table.list td, table.list th { border-bottom: 1px solid var(--jp-border-color2); }
code, pre { font: 12.5px/1.4 ui-monospace, monospace; }
pre { background: var(--jp-layout-color2); padding: 10px 12px; overflow: auto;
  max-height: 32em; white-space: pre-wrap; word-break: break-all; }
.note { color: var(--jp-warn-color1); }
"""

# The pages' one script, on a running task's page: it streams the live log
# (`<pre data-live="<url>">`) into the page, asking for an event stream so that
# jupyter-server-proxy relays the bytes as they come, and reloads the page once
# the log ends (the run is over). It keeps the last 65536 characters.
LIVE_LOG_SCRIPT = """(async () => {
  const log = document.querySelector("pre[data-live]");
  const reload = () => setTimeout(() => location.reload(), 1000);
  try {
    const reply = await fetch(log.dataset.live, {headers: {Accept: "text/event-stream"}});
    if (!reply.ok) return reload();
    const reader = reply.body.getReader(), decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      text = (text + decoder.decode(value, {stream: true})).slice(-65536);
      log.textContent = text;
      log.scrollTop = log.scrollHeight;
    }
  } catch (error) {
    console.warn("live log:", error);
  }
  reload();
})();"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(LIVE_LOG_SCRIPT.encode()).digest()).decode()

# No other script runs (an injected one would not match the hash), and
# nothing is loaded from elsewhere.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{_SCRIPT_HASH}'; connect-src 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
REFRESH_SECONDS = 3


def up_to_root(request: web.Request) -> str:
    """The relative path from the page the browser shows to the root the
    sandbox serves: `../` for `/tasks/<taskId>`, `../../../` for a run's page."""
    path = request.raw_path.split("?", 1)[0]
    return "../" * (path.count("/") - 1)


def href(up: str, path: str) -> str:
    """An attribute-ready link to a root-relative `path` (`tasks/<id>`), from
    the page whose `up_to_root` is `up`."""
    return html.escape(up + path)


def link(up: str, path: str, inner: str, css: str = "") -> str:
    """An `<a>` to a root-relative `path`, around `inner` (HTML)."""
    css_class = f' class="{css}"' if css else ""
    return f'<a{css_class} href="{href(up, path)}">{inner}</a>'


def quoted_name(name: str) -> str:
    """An artifact name as a URL path: its slashes kept, unless a segment is
    `.` or `..`, which a browser would collapse before sending."""
    dot_segment = any(part in (".", "..") for part in name.split("/"))
    return urllib.parse.quote(name, safe="" if dot_segment else "/")


def document(
    title: str, body: str, *, status: int = 200, refresh: bool = False, live: bool = False
) -> web.Response:
    """A whole page: `title` is text (escaped here), `body` is HTML. A page
    with `refresh` reloads itself every few seconds (a task not yet resolved);
    one with `live` streams its live log instead, and reloads when it ends
    (without scripts, it refreshes)."""
    meta = f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' if refresh else ""
    script = ""
    if live:
        meta, script = f"<noscript>{meta}</noscript>", f"<script>{LIVE_LOG_SCRIPT}</script>"
    text = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{meta}<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}{script}</body></html>"
    )
    return web.Response(
        text=text, status=status, content_type="text/html", charset="utf-8", headers=HEADERS
    )


def error_page(status: int, heading: str, explanation: str) -> web.Response:
    """A short page saying what was not found (404) or cannot be an id (400)."""
    body = (
        f"<h1>{html.escape(heading)}</h1><p>{html.escape(explanation)}</p>"
        '<p class="muted">This sandbox serves a page for each task at '
        "<code>/tasks/&lt;taskId&gt;</code> and for each task group at "
        "<code>/tasks/groups/&lt;taskGroupId&gt;</code>.</p>"
    )
    return document(heading, body, status=status)


def rows_table(rows: list[tuple[str, str]], css: str) -> str:
    """A table of (heading, HTML value) rows."""
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="{css}">{body}</table>'


def list_table(css: str, headings: tuple[str, ...], rows: list[tuple[str, ...]], more: str) -> str:
    """A list of rows of HTML cells under `headings`, then `more` (text, if
    any: there are more rows than shown)."""
    head = "".join(f"<th>{h}</th>" for h in headings)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    note = f'<p class="muted">{html.escape(more)}</p>' if more else ""
    return f'<table class="list {css}"><tr>{head}</tr>{body}</table>{note}'
