"""The table of an `ArtifactList`: the rows a browser shows (artifact_table.js
and .css, with an anywidget command that signs a private link at the click),
and the same rows as static HTML for pages without a live kernel."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import taskcluster.exceptions
from traitlets import Bool, Dict, Int, List, Unicode

from .. import theme
from ..failures import first_line
from .artifact_fetch import ArtifactError
from .artifact_names import ICONS, artifact_kind, basename, human_size, is_public, previewable
from .shown import view_source

COLLAPSED_ROWS = 10
NOTICE_COLOURS = {"info": theme.TEXT, "done": theme.SUCCESS, "error": theme.ERROR}


class ArtifactTable(anywidget.AnyWidget):
    """The rows of an `ArtifactList`. Public rows carry their link; a private
    row carries none: its click invokes the `_sign` command, which answers
    `{url}` (signed now by `sign(name, run_id)`) or `{error}`. Each row's
    buttons send `{type: "preview" | "download", name}`, and each view, once
    on the page, `{type: "shown"}`."""

    _esm = view_source("artifact_table.js")
    _css = Path(__file__).with_name("artifact_table.css")
    rows = List(help="One dict per artifact, in display order (see `table_row`).").tag(sync=True)
    limit = Int(COLLAPSED_ROWS, help="Rows shown while collapsed.").tag(sync=True)
    expanded = Bool(False, help="Show every row.").tag(sync=True)
    message = Unicode("", help="A note above the rows (errors, no runs).").tag(sync=True)
    notice = Dict(
        help="Under the rows: the last download or preview (tone, text, path, an offer "
        "to download in the browser: name, runId, basename, href)."
    ).tag(sync=True)

    def __init__(self, sign: Callable[[str, int | None], str], **kwargs: Any) -> None:
        self._signer = sign
        super().__init__(**kwargs)

    @anywidget.experimental.command
    def _sign(self, msg: dict[str, Any], _buffers: list[bytes]) -> tuple[dict[str, str], list]:
        """A click on a private link: `{url}` signed now, or `{error}` saying why not."""
        try:
            return {"url": self._signer(msg.get("name", ""), msg.get("runId"))}, []
        except (ArtifactError, taskcluster.exceptions.TaskclusterAuthFailure) as failure:
            return {"error": first_line(failure)}, []


def table_row(
    entry: dict[str, Any], run_id: int | None, browser_url: Callable[[str], str]
) -> dict[str, Any]:
    """The row the table shows for a listed artifact; a public one links to
    `browser_url` of its URL, a private one links nowhere until clicked."""
    name = entry["name"]
    kind = artifact_kind(name, entry["contentType"], entry["storageType"])
    row = {
        "name": name,
        "basename": basename(name),
        "runId": run_id,
        "kind": kind,
        "icon": ICONS[kind],
        "size": human_size(entry["size"]),
        "contentType": entry["contentType"] if kind != "error" else "",
        "href": "",
        "private": not is_public(name),
        "previewable": previewable(entry),
        "error": "",
    }
    if kind == "error":
        row["error"] = entry.get("reason") or "error"
        if entry.get("message"):
            row["error"] += f": {entry['message']}"
    elif is_public(name):
        row["href"] = browser_url(entry["url"])
    return row


def _static_row(row: dict[str, Any]) -> str:
    name = html.escape(row["name"])
    if row["href"]:
        name = f"<a href='{html.escape(row['href'])}' target='_blank' rel='noopener'>{name}</a>"
    elif row["private"] and not row["error"]:
        name = f"🔒 {name} <small>(private: signed by a live kernel on click)</small>"
    if row["error"]:
        name += f" <span style='color:{theme.ERROR}'>{html.escape(row['error'])}</span>"
    return (
        f"<tr><td title='{row['kind']}'>{row['icon']}</td><td>{name}</td>"
        f"<td style='text-align:right'>{row['size']}</td>"
        f"<td>{html.escape(row['contentType'])}</td></tr>"
    )


def _static_notice(notice: dict[str, Any]) -> str:
    if not notice.get("text"):
        return ""
    colour = NOTICE_COLOURS.get(notice.get("tone", "info"), NOTICE_COLOURS["info"])
    text = f"<span style='color:{colour}'>{html.escape(notice['text'])}</span>"
    if notice.get("path"):
        text += f" <code style='word-break:break-all'>{html.escape(notice['path'])}</code>"
    if notice.get("href"):
        text += (
            f" · <a href='{html.escape(notice['href'])}' download='"
            f"{html.escape(notice['basename'])}'>download it in your browser too</a>"
        )
    return f"<div class='tc-notice'>{text}</div>"


def static_html(heading: str, table: ArtifactTable) -> str:
    """The table as HTML under `heading` (HTML), the rows past the first ten
    folded into a `<details>`: a public name links to its artifact in a new tab."""
    head = f"<div>{heading}</div>"
    if table.message:
        head += f"<div style='color:{theme.WARNING}'>{html.escape(table.message)}</div>"
    rows = [_static_row(row) for row in table.rows]
    markup = "<table class='tc-artifacts-table'>{}</table>"
    body = markup.format("".join(rows[:COLLAPSED_ROWS])) if rows else ""
    if len(rows) > COLLAPSED_ROWS:
        body += (
            f"<details><summary>show all ({len(rows)})</summary>"
            f"{markup.format(''.join(rows[COLLAPSED_ROWS:]))}</details>"
        )
    return f"<div class='tc-artifacts'>{head}{body}{_static_notice(table.notice)}</div>"
