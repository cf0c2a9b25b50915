"""The HTML of a task's page in a `TaskView`: its details and runs tables,
its dates, and the words for what a cancel, a rerun or a failed call came to."""

from __future__ import annotations

import html
from typing import Any

import taskcluster.exceptions

from .. import theme
from ..failures import error_code, queue_message
from ..task_html import STATE_COLOURS, chip_html, when
from ..terms import RESOLVED

MAX_DEPENDENCIES = 50  # dependencies whose state is looked up and shown


def action_outcome(action: str, run: dict[str, Any]) -> tuple[str, str]:
    """What a cancel or rerun came to, as the run stands now, and its colour:
    `Rerun: run 1 is pending.`, then `Rerun: run 1 completed.`;
    `Canceled: run 0 ended as exception (canceled).`"""
    run_id, state = run.get("runId"), run.get("state", "unknown")
    reason = run.get("reasonResolved") or ""
    if state == "completed":
        how = "completed"
    elif state in RESOLVED:
        how = f"ended as {state}" + (f" ({reason})" if reason and reason != state else "")
    else:
        how = f"is {state}"
    if action == "rerun":
        verb = "Rerun"
    elif state in RESOLVED and reason != "canceled":
        verb = "Too late to cancel"  # the run ended before the cancel arrived
    else:
        verb = "Canceled"
    colour = STATE_COLOURS[state] if state in RESOLVED else theme.TEXT
    return f"{verb}: run {run_id} {how}.", colour


def failure_text(failure: BaseException) -> str:
    """A failed call in one line: `403 InsufficientScopes: <the queue's message>`."""
    if isinstance(failure, taskcluster.exceptions.TaskclusterRestFailure):
        code = error_code(failure)
        return f"{failure.status_code} {code}: {queue_message(failure)}".replace(" :", ":")
    return f"{type(failure).__name__}: {failure}"


def _table(rows: list[tuple[str, str]], css: str) -> str:
    """A two-column table: a heading and its value on each row."""
    body = "".join(
        f'<tr><th style="text-align:left;padding:1px 10px 1px 0;vertical-align:top">{k}</th>'
        f'<td style="text-align:left">{v}</td></tr>'
        for k, v in rows
    )
    return f'<table class="{css}" style="font-size:13px">{body}</table>'


def title_html(definition: dict[str, Any], task_id: str, web_page: str | None) -> str:
    """The task's name and id, with a link to its page in the web UI, if any."""
    name = html.escape((definition.get("metadata") or {}).get("name") or "Task")
    link = f' <a href="{html.escape(web_page)}" target="_blank">open</a>' if web_page else ""
    return f"<b>{name}</b> <code>{html.escape(task_id)}</code>{link}&nbsp;"


def message_html(message: str, colour: str) -> str:
    """The view's message line (an action's outcome or error), if any."""
    if not message:
        return ""
    return f'<div class="tc-view-message" style="color:{colour}">{html.escape(message)}</div>'


def details_html(
    definition: dict[str, Any], status: dict[str, Any], dependencies: dict[str, str]
) -> str:
    """The details table: name, description, owner, source, queue, group,
    dates, retries left, and each dependency with its state (`dependencies`)."""
    d, s = definition, status
    meta = d.get("metadata") or {}
    source = meta.get("source") or ""
    if source.startswith(("http://", "https://")):
        source_html = f'<a href="{html.escape(source)}" target="_blank">{html.escape(source)}</a>'
    else:
        source_html = html.escape(source)
    queue_id = d.get("taskQueueId") or f"{d.get('provisionerId')}/{d.get('workerType')}"
    retries = d.get("retries")
    left = s.get("retriesLeft")
    retries_html = f"{left} of {retries}" if left is not None else html.escape(str(retries))
    rows = [
        ("Name", html.escape(str(meta.get("name", "")))),
        ("Description", html.escape(str(meta.get("description", "")))),
        ("Owner", html.escape(str(meta.get("owner", "")))),
        ("Source", source_html),
        ("Task queue", f"<code>{html.escape(str(queue_id))}</code>"),
        ("Task group", f"<code>{html.escape(str(d.get('taskGroupId', '')))}</code>"),
        ("Created", when(d.get("created"))),
        ("Deadline", when(d.get("deadline"), relative=True)),
        ("Expires", when(d.get("expires"), relative=True)),
        ("Retries left", retries_html),
        ("Dependencies", _dependencies_html(d, dependencies)),
    ]
    return _table(rows, "tc-task-details")


def _dependencies_html(definition: dict[str, Any], states: dict[str, str]) -> str:
    dependencies = definition.get("dependencies") or []
    if not dependencies:
        return "none"
    items = "".join(
        f'<li><code class="tc-dependency">{html.escape(t)}</code> '
        f"{chip_html(states.get(t, ''))}</li>"
        for t in dependencies[:MAX_DEPENDENCIES]
    )
    more = len(dependencies) - MAX_DEPENDENCIES
    if more > 0:
        items += f"<li>and {more} more</li>"
    requires = html.escape(str(definition.get("requires", "all-completed")))
    return f'<ul style="margin:0;padding-left:1.2em">{items}</ul><small>requires {requires}</small>'
