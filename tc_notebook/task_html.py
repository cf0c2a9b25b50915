"""A task's state, dates and runs as HTML: the pieces that the widgets and
the sandbox's task pages share. No widget imports here: the sandbox uses it."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from . import theme
from .timestamps import now, parse_time

RUN_COLUMNS = ("run", "state", "reasonCreated", "reasonResolved", "worker", "started", "resolved")

# The Taskcluster web UI's colours for task states: its StatusLabel shows
# pending and unscheduled alike, in the neutral "default" colour.
STATE_COLOURS = {
    "completed": "#2e7d32",
    "failed": "#c62828",
    "exception": "#ef6c00",
    "running": "#1565c0",
    "pending": "#616161",
    "unscheduled": "#616161",
    "unknown": "#9e9e9e",
}
# Before the first status arrives: an outlined, neutral chip, not a state.
LOADING_STYLE = (
    f"background:transparent;color:{theme.FAINT};border:1px solid {theme.BORDER_STRONG};"
    "padding:0 9px"
)


def format_seconds(seconds: float) -> str:
    """`3.4 s`, `2 min 5 s`, `1 h 2 min`."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def chip_html(state: str, detail: str = "", note: str = "") -> str:
    """The badge's HTML: a coloured chip with the state, then details. An
    empty state (nothing fetched yet) is a neutral "loading…" chip."""
    if state:
        colour = STATE_COLOURS.get(state, STATE_COLOURS["unknown"])
        look, text = f"padding:1px 10px;background:{colour};color:#fff", state.upper()
    else:
        state, look, text = "loading", LOADING_STYLE, "loading…"
    chip = (
        f'<span class="tc-badge tc-state-{html.escape(state)}" style="display:inline-block;'
        f"{look};border-radius:12px;white-space:nowrap;"
        f'font:600 12px/20px sans-serif;letter-spacing:.04em">{html.escape(text)}</span>'
    )
    font = "font:12px sans-serif"
    if detail:
        chip += f' <span style="{font};color:{theme.MUTED}">{html.escape(detail)}</span>'
    if note:
        chip += f' <em style="{font};color:{theme.WARNING}">{html.escape(note)}</em>'
    return chip


def when(stamp: str | None, relative: bool = False) -> str:
    """`2026-11-28 15:43:04 UTC`, optionally with `(in 2 days 3 h)` / `(5 min ago)`."""
    if not stamp:
        return "—"
    try:
        moment = parse_time(stamp)
    except ValueError:
        return html.escape(stamp)
    text = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    if relative:
        seconds = (moment - now()).total_seconds()
        span = abs(seconds)
        days, rest = divmod(int(span), 86400)
        amount = f"{days} d {rest // 3600} h" if days else format_seconds(span)
        text += f" ({'in ' + amount if seconds >= 0 else amount + ' ago'})"
    return text


def runs_html(
    runs: list[dict[str, Any]], selected: int | None, run_href: Callable[[int], str] | None = None
) -> str:
    """The runs table, oldest first, the `selected` run's row set off; with
    `run_href`, each run's number links to `run_href(runId)`."""
    if not runs:
        return "<i>No runs yet.</i>"
    head = "".join(f'<th style="text-align:left;padding-right:12px">{h}</th>' for h in RUN_COLUMNS)
    rows = []
    for run in runs:
        worker = "/".join(filter(None, (run.get("workerGroup"), run.get("workerId")))) or "—"
        style = f' style="background:{theme.PANEL}"' if run["runId"] == selected else ""
        number = str(run["runId"])
        if run_href is not None:
            number = f'<a href="{html.escape(run_href(run["runId"]))}">{number}</a>'
        cells = [
            number,
            chip_html(run.get("state", "unknown")),
            html.escape(run.get("reasonCreated", "")),
            html.escape(run.get("reasonResolved", "—")),
            html.escape(worker),
            when(run.get("started")),
            when(run.get("resolved")),
        ]
        tds = "".join(f'<td style="padding-right:12px">{c}</td>' for c in cells)
        rows.append(f'<tr class="tc-run" data-run="{run["runId"]}"{style}>{tds}</tr>')
    return f'<table class="tc-runs" style="font-size:13px"><tr>{head}</tr>{"".join(rows)}</table>'
