"""`TaskView`: one task as the Taskcluster UI's task page shows it: details,
runs, state, the selected run's artifacts and log, Cancel and Rerun."""

from __future__ import annotations

import asyncio
import html
from datetime import datetime, timezone
from typing import Any

import ipywidgets as widgets
import taskcluster.exceptions
from traitlets import Bool, Dict, Int, Unicode, observe

from ..connection import Connection
from . import polling
from .artifacts import ArtifactList
from .badge import RESOLVED, STATE_COLOURS, StatusBadge, chip_html, format_seconds
from .livelog import LiveLog

ACTIVE = ("unscheduled", "pending", "running")
MAX_DEPENDENCIES = 50  # dependencies whose state is looked up and shown
ERROR_COLOUR = "#c62828"
NEUTRAL_COLOUR = "#444"
ACTIONS = {
    "cancel": ("cancelTask", "Really cancel?"),
    "rerun": ("rerunTask", "Really rerun?"),
}


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
    colour = STATE_COLOURS[state] if state in RESOLVED else NEUTRAL_COLOUR
    return f"{verb}: run {run_id} {how}.", colour


def _when(stamp: str | None, relative: bool = False) -> str:
    """`2026-11-28 15:43:04 UTC`, optionally with `(in 2 days 3 h)` / `(5 min ago)`."""
    if not stamp:
        return "—"
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return html.escape(stamp)
    text = moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    if relative:
        seconds = (moment - datetime.now(timezone.utc)).total_seconds()
        span = abs(seconds)
        days, rest = divmod(int(span), 86400)
        amount = f"{days} d {rest // 3600} h" if days else format_seconds(span)
        text += f" ({'in ' + amount if seconds >= 0 else amount + ' ago'})"
    return text


def _failure_text(failure: BaseException) -> str:
    if isinstance(failure, taskcluster.exceptions.TaskclusterRestFailure):
        body = failure.body if isinstance(failure.body, dict) else {}
        message = str(body.get("message") or failure).split("\n\n---")[0].strip()
        return f"{failure.status_code} {body.get('code') or ''}: {message}".replace(" :", ":")
    return f"{type(failure).__name__}: {failure}"


def _table(rows: list[tuple[str, str]], css: str) -> str:
    body = "".join(
        f'<tr><th style="text-align:left;padding:1px 10px 1px 0;vertical-align:top">{k}</th>'
        f'<td style="text-align:left">{v}</td></tr>'
        for k, v in rows
    )
    return f'<table class="{css}" style="font-size:13px">{body}</table>'


class TaskView(widgets.VBox):
    """A task's page: details, dependencies and their states, runs, the
    `StatusBadge`, the selected run's `ArtifactList` and `LiveLog`, and
    Cancel / Rerun (each asks for confirmation). Follows the task while it
    changes.

    >>> view = TaskView(conn, task_id)
    >>> view.state, view.definition["metadata"]["name"], len(view.status["runs"])
    """

    task_id = Unicode(help="The task shown.")
    state = Unicode("", help="The task's state, as the badge last saw it; empty before.")
    phase = Unicode("loading", help="loading, ready, missing (no such task) or error.")
    definition = Dict(help="The task definition, from queue.task.")
    status = Dict(help="The latest task status structure.")
    dependencies = Dict(help="Each shown dependency's taskId and state.")
    run_id = Int(None, allow_none=True, help="The run whose artifacts and log are shown.")
    confirming = Unicode("", help="'cancel' or 'rerun' while asking for confirmation.")
    busy = Bool(False, help="True while a cancel or rerun call is under way.")
    message = Unicode("", help="The last action's outcome or error, as text.")

    def __init__(self, conn: Connection, task_id: str, **kwargs: Any) -> None:
        self.conn = conn
        self._follow_latest = True
        self._selecting = False
        self._resolved_runs: set[int] = set()
        self._tasks = polling.Tasks()
        self._loader: asyncio.Task | None = None
        self._outcome: tuple[str, int] | None = None  # the last action and the run it made
        self._message_colour = NEUTRAL_COLOUR
        self.artifacts: ArtifactList | None = None
        self.live_log: LiveLog | None = None

        self._title = widgets.HTML()
        self.badge = StatusBadge(conn, task_id)
        self._message = widgets.HTML()
        self.details = widgets.HTML()
        self.runs_table = widgets.HTML()
        self.cancel_button = widgets.Button(description="Cancel task", icon="stop", disabled=True)
        self.rerun_button = widgets.Button(description="Rerun", icon="redo", disabled=True)
        self._prompt = widgets.HTML()
        self.yes_button = widgets.Button(description="Yes", button_style="danger")
        self.no_button = widgets.Button(description="No")
        self.confirm_box = widgets.HBox(
            [self._prompt, self.yes_button, self.no_button],
            layout=widgets.Layout(display="none"),
        )
        self._actions = widgets.HBox([self.cancel_button, self.rerun_button])
        self.run_selector = widgets.Dropdown(description="Run", options=[])
        self._artifact_slot = widgets.VBox([widgets.HTML("<i>No run yet.</i>")])
        self._log_slot = widgets.VBox([widgets.HTML("<i>No run yet.</i>")])
        self._run_tabs = widgets.Tab(
            [self._artifact_slot, self._log_slot], titles=("Artifacts", "Log")
        )
        self._body = [
            self.details,
            widgets.HBox([self._actions, self.confirm_box]),
            self.runs_table,
            self.run_selector,
            self._run_tabs,
        ]
        super().__init__(
            children=[widgets.HBox([self._title, self.badge]), self._message, *self._body],
            task_id=task_id,
            **kwargs,
        )
        self.cancel_button.on_click(lambda _b: self._ask("cancel"))
        self.rerun_button.on_click(lambda _b: self._ask("rerun"))
        self.yes_button.on_click(self._on_yes)
        self.no_button.on_click(lambda _b: setattr(self, "confirming", ""))
        self.run_selector.observe(self._on_select, names="value")
        self.badge.observe(self._on_badge_status, names="status")
        self.badge.observe(self._on_badge_state, names="state")
        self._render()
        self._loader = self._tasks.spawn(self._load())
        if self._loader is None:  # no event loop (a script): load with the sync client
            self._load_blocking()

    # -- plain values ----------------------------------------------------------------------

    @property
    def runs(self) -> list[dict[str, Any]]:
        """The task's runs, oldest first."""
        return list(self.status.get("runs") or [])

    async def ready(self) -> None:
        """Wait until the definition (and dependencies' states) are loaded."""
        if self._loader is not None:
            await asyncio.shield(self._loader)

    # -- loading ---------------------------------------------------------------------------

    async def _load(self) -> None:
        queue = self.conn.aio_queue(polling.session())
        try:
            definition = await queue.task(self.task_id)
        except Exception as failure:
            self._load_failed(failure)
            return
        self.definition = definition
        self.phase = "ready"
        self._render()
        await self._refresh_dependencies()

    def _load_blocking(self) -> None:
        try:
            self.definition = self.conn.queue.task(self.task_id)
            status = self.conn.queue.status(self.task_id)["status"]
        except Exception as failure:
            self._load_failed(failure)
            return
        self.phase = "ready"
        self._apply_status(status)
        for dependency in self.definition.get("dependencies", [])[:MAX_DEPENDENCIES]:
            try:
                state = self.conn.queue.status(dependency)["status"]["state"]
            except Exception:
                state = "unknown"
            self.dependencies = {**self.dependencies, dependency: state}
        self._render()

    def _load_failed(self, failure: BaseException) -> None:
        missing = (
            isinstance(failure, taskcluster.exceptions.TaskclusterRestFailure)
            and failure.status_code == 404
        )
        self._message_colour = ERROR_COLOUR
        if missing:
            self.phase = "missing"
            self.badge.stop()
            self.message = f"Task {self.task_id} does not exist on {self.conn.root_url}."
            self.children = (self.children[0], self._message)
        else:
            self.phase = "error"
            self.message = f"Could not load task {self.task_id}: {_failure_text(failure)}"
        self._render()

    async def _refresh_dependencies(self) -> None:
        wanted = list(self.definition.get("dependencies") or [])[:MAX_DEPENDENCIES]
        if not wanted:
            return
        queue = self.conn.aio_queue(polling.session())

        async def state_of(task_id: str) -> str:
            try:
                return (await queue.status(task_id))["status"]["state"]
            except taskcluster.exceptions.TaskclusterRestFailure as failure:
                return "missing" if failure.status_code == 404 else "unknown"
            except Exception:
                return "unknown"

        states = await asyncio.gather(*(state_of(t) for t in wanted))
        self.dependencies = dict(zip(wanted, states, strict=True))
        self._render()

    async def refresh(self) -> None:
        """Load the definition, dependencies' states and status again."""
        await self._load()
        queue = self.conn.aio_queue(polling.session())
        if self.phase == "ready":
            self._apply_status((await queue.status(self.task_id))["status"])

    # -- following the badge ---------------------------------------------------------------

    def _on_badge_status(self, change: dict[str, Any]) -> None:
        if change["new"] and self.phase != "missing":
            self._apply_status(change["new"])

    def _on_badge_state(self, change: dict[str, Any]) -> None:
        if self.phase == "ready" and self.definition.get("dependencies"):
            self._tasks.spawn(self._refresh_dependencies())

    def _apply_status(self, status: dict[str, Any]) -> None:
        self.status = status
        self.state = status.get("state", "unknown")
        self._sync_runs()
        resolved = {r["runId"] for r in self.runs if r.get("state") in RESOLVED}
        if resolved - self._resolved_runs:
            self._resolved_runs |= resolved
            if self.artifacts is not None:
                self._tasks.spawn(self.artifacts.refresh())
        if self._outcome is not None:  # the last action's message follows its run
            action, run_id = self._outcome
            run = next((r for r in self.runs if r["runId"] == run_id), {"runId": run_id})
            self.message, self._message_colour = action_outcome(action, run)
        self._render()

    # -- the selected run ------------------------------------------------------------------

    def _sync_runs(self) -> None:
        runs = self.runs
        options = [(f"run {r['runId']} · {r.get('state', '?')}", r["runId"]) for r in runs]
        latest = runs[-1]["runId"] if runs else None
        target = latest if self._follow_latest or self.run_id is None else self.run_id
        self._selecting = True
        try:
            if [tuple(o) for o in self.run_selector.options] != options:
                self.run_selector.options = options
            if target is not None:
                self.run_selector.value = target
        finally:
            self._selecting = False
        if target != self.run_id:
            self.run_id = target

    def _on_select(self, change: dict[str, Any]) -> None:
        if self._selecting or change["new"] is None:
            return
        runs = self.runs
        self._follow_latest = bool(runs) and change["new"] == runs[-1]["runId"]
        self.run_id = change["new"]

    @observe("run_id")
    def _on_run_id(self, change: dict[str, Any]) -> None:
        run_id = change["new"]
        if run_id is None:
            return
        if self.artifacts is None:
            # The view's run selector is the only one: the list's own is hidden.
            self.artifacts = ArtifactList(self.conn, self.task_id, run_id=run_id, choose_run=False)
            self._artifact_slot.children = [self.artifacts]
        else:
            self.artifacts.run_id = run_id
        if self.live_log is None:
            self.live_log = LiveLog(self.conn, self.task_id, run_id=run_id)
            self._log_slot.children = [self.live_log]
        else:
            self.live_log.run_id = run_id
        self._render()

    # -- cancel and rerun ------------------------------------------------------------------

    def _ask(self, action: str) -> None:
        allowed = self.cancel_button if action == "cancel" else self.rerun_button
        if self.busy or allowed.disabled:
            return
        self.confirming = action

    @observe("confirming")
    def _on_confirming(self, change: dict[str, Any]) -> None:
        action = change["new"]
        self._prompt.value = f"<b>{ACTIONS[action][1]}</b>" if action else ""
        self.confirm_box.layout.display = None if action else "none"
        self._actions.layout.display = "none" if action else None

    def _on_yes(self, _button: Any = None) -> None:
        action, self.confirming = self.confirming, ""
        if not action or self.busy:
            return
        self.busy = True
        self._render()
        if self._tasks.spawn(self._act(action)) is None:  # no event loop: the sync client
            try:
                result = getattr(self.conn.queue, ACTIONS[action][0])(self.task_id)
            except Exception as failure:
                self._action_failed(action, failure)
            else:
                self._action_done(action, result["status"])
            finally:
                self.busy = False
                self._render()

    async def _act(self, action: str) -> None:
        method = ACTIONS[action][0]
        try:
            queue = self.conn.aio_queue(polling.session())
            result = await getattr(queue, method)(self.task_id)
        except Exception as failure:  # shown in the view
            self._action_failed(action, failure)
        else:
            self._action_done(action, result["status"])
            self.badge.watch()  # a rerun makes the task pending again: follow it
        finally:
            self.busy = False
            self._render()

    def _action_done(self, action: str, status: dict[str, Any]) -> None:
        runs = status.get("runs") or []
        self._outcome = (action, runs[-1]["runId"]) if runs else None
        self._apply_status(status)  # sets the message from the run's state

    def _action_failed(self, action: str, failure: BaseException) -> None:
        self._outcome = None
        self.message = f"{ACTIONS[action][0]} failed: {_failure_text(failure)}"
        self._message_colour = ERROR_COLOUR

    # -- rendering -------------------------------------------------------------------------

    def _render(self) -> None:
        name = (self.definition.get("metadata") or {}).get("name") or "Task"
        link = ""
        if self.conn.has_web_ui:
            url = f"{self.conn.root_url}/tasks/{self.task_id}"
            link = f' <a href="{html.escape(url)}" target="_blank">open</a>'
        self._title.value = (
            f"<b>{html.escape(name)}</b> <code>{html.escape(self.task_id)}</code>{link}&nbsp;"
        )
        colour = self._message_colour
        self._message.value = (
            f'<div class="tc-view-message" style="color:{colour}">{html.escape(self.message)}</div>'
            if self.message
            else ""
        )
        self.details.value = self._details_html()
        self.runs_table.value = self._runs_html()
        active = self.phase == "ready" and not self.busy
        self.cancel_button.disabled = not (active and self.state in ACTIVE)
        self.rerun_button.disabled = not (active and self.state in RESOLVED)

    def _details_html(self) -> str:
        if self.phase == "loading":
            return "<i>Loading…</i>"
        if self.phase != "ready":
            return ""
        d, s = self.definition, self.status
        meta = d.get("metadata") or {}
        source = meta.get("source") or ""
        if source.startswith(("http://", "https://")):
            source_html = (
                f'<a href="{html.escape(source)}" target="_blank">{html.escape(source)}</a>'
            )
        else:
            source_html = html.escape(source)
        queue_id = d.get("taskQueueId") or f"{d.get('provisionerId')}/{d.get('workerType')}"
        retries = d.get("retries")
        left = s.get("retriesLeft")
        retries_html = f"{left} of {retries}" if left is not None else html.escape(str(retries))
        dependencies = d.get("dependencies") or []
        if dependencies:
            items = "".join(
                f'<li><code class="tc-dependency">{html.escape(t)}</code> '
                f"{chip_html(self.dependencies.get(t, ''))}</li>"
                for t in dependencies[:MAX_DEPENDENCIES]
            )
            more = len(dependencies) - MAX_DEPENDENCIES
            if more > 0:
                items += f"<li>and {more} more</li>"
            deps_html = (
                f'<ul style="margin:0;padding-left:1.2em">{items}</ul>'
                f"<small>requires {html.escape(str(d.get('requires', 'all-completed')))}</small>"
            )
        else:
            deps_html = "none"
        rows = [
            ("Name", html.escape(str(meta.get("name", "")))),
            ("Description", html.escape(str(meta.get("description", "")))),
            ("Owner", html.escape(str(meta.get("owner", "")))),
            ("Source", source_html),
            ("Task queue", f"<code>{html.escape(str(queue_id))}</code>"),
            ("Task group", f"<code>{html.escape(str(d.get('taskGroupId', '')))}</code>"),
            ("Created", _when(d.get("created"))),
            ("Deadline", _when(d.get("deadline"), relative=True)),
            ("Expires", _when(d.get("expires"), relative=True)),
            ("Retries left", retries_html),
            ("Dependencies", deps_html),
        ]
        return _table(rows, "tc-task-details")

    def _runs_html(self) -> str:
        if self.phase != "ready" and not self.runs:
            return ""
        if not self.runs:
            return "<i>No runs yet.</i>"
        head = "".join(
            f'<th style="text-align:left;padding-right:12px">{h}</th>'
            for h in (
                "run",
                "state",
                "reasonCreated",
                "reasonResolved",
                "worker",
                "started",
                "resolved",
            )
        )
        rows = []
        for run in self.runs:
            worker = "/".join(filter(None, (run.get("workerGroup"), run.get("workerId")))) or "—"
            selected = run["runId"] == self.run_id
            style = ' style="background:#e3f2fd"' if selected else ""
            cells = [
                str(run["runId"]),
                chip_html(run.get("state", "unknown")),
                html.escape(run.get("reasonCreated", "")),
                html.escape(run.get("reasonResolved", "—")),
                html.escape(worker),
                _when(run.get("started")),
                _when(run.get("resolved")),
            ]
            tds = "".join(f'<td style="padding-right:12px">{c}</td>' for c in cells)
            rows.append(f'<tr class="tc-run" data-run="{run["runId"]}"{style}>{tds}</tr>')
        return (
            f'<table class="tc-runs" style="font-size:13px"><tr>{head}</tr>{"".join(rows)}</table>'
        )

    # -- outside a live kernel -------------------------------------------------------------

    def stop(self) -> None:
        """Stop following the task: badge polling, the log, listings and actions' follow-ups."""
        self._tasks.cancel()
        self.badge.stop()
        for part in (self.live_log, self.artifacts):
            if part is not None:
                part.stop()

    def close(self) -> None:
        """Stop following the task and remove the view and all its parts from the page."""
        if self.comm is not None:  # once (ipywidgets' __del__ closes again)
            self.stop()
            polling.close_widgets(*self.children, *self._body)
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/html"] = (
            f"<div>{self._title.value} {self.badge.value}{self._message.value}"
            f"{self.details.value}{self.runs_table.value}</div>"
        )
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        if self.phase == "missing":
            return f"<TaskView {self.task_id}: not found>"
        count = len(self.runs)
        state = self.state or "loading"
        return f"<TaskView {self.task_id}: {state}, {count} run{'s' * (count != 1)}>"
