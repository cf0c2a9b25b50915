"""How a `TaskForm` shows its problems and the queue's answer, as HTML in the
theme's colours."""

from __future__ import annotations

import html

from ..theme import ERROR, WARNING


def field_error(message: str) -> str:
    """The red line under a field (or under the text)."""
    return (
        f'<div class="tc-field-error" style="color:{ERROR};font:12px sans-serif">'
        f"{html.escape(message)}</div>"
    )


def problem_list(problems: dict[str, str], margin: str = "") -> str:
    """Problems as a red list of `key: message` items; empty for none."""
    if not problems:
        return ""
    items = "".join(
        f"<li><code>{html.escape(k)}</code>: {html.escape(m)}</li>" for k, m in problems.items()
    )
    return f'<ul style="color:{ERROR}{margin}">{items}</ul>'


def summary(loose: dict[str, str], total: int, schema_state: str, schema_note: str) -> str:
    """Below the tabs: the problems with no field of their own, how far the
    schema got, and a count when every problem is shown under its field."""
    parts = [problem_list(loose, margin=";margin:4px 0")]
    if schema_state == "loading":
        parts.append("<small>Fetching the queue's create-task-request schema…</small>")
    elif schema_note:
        parts.append(f'<small style="color:{WARNING}">{html.escape(schema_note)}</small>')
    if total and not loose:
        parts.append(
            f'<small style="color:{ERROR}">{total} problem{"s" * (total != 1)} '
            "to fix (shown under the fields).</small>"
        )
    return "".join(parts)


def queue_error(headline: str, message: str) -> str:
    """The queue's refusal of createTask: its status and code, then its message."""
    return (
        f'<div class="tc-queue-error" style="border-left:4px solid {ERROR};'
        f'padding:4px 8px;margin:4px 0"><b style="color:{ERROR}">'
        f"{html.escape(headline)}</b>"
        f'<pre style="white-space:pre-wrap;font-size:12px;margin:4px 0">'
        f"{html.escape(message)}</pre></div>"
    )


def cannot_show(failure: BaseException) -> str:
    """After "created …": why the new task's view could not be made."""
    return (
        f' <small style="color:{ERROR}">(cannot show it: '
        f"{html.escape(type(failure).__name__)}: {html.escape(str(failure))})</small>"
    )
