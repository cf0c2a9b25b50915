"""`TaskView`: one task as the Taskcluster UI's task page shows it: details,
runs, state, the selected run's artifacts and log, Cancel and Rerun."""

from __future__ import annotations

import asyncio
from typing import Any

import ipywidgets as widgets
import taskcluster.exceptions
from traitlets import Bool, Dict, Int, Unicode, observe

from .. import theme
from ..connection import Connection
from ..task_html import runs_html
from ..terms import ACTIVE, RESOLVED
from . import polling
from .artifacts import ArtifactList
from .badge import StatusBadge
from .livelog import LiveLog
from .shown import ShownHTML
from .static_copy import StaticCopy
from .task_page import (
    MAX_DEPENDENCIES,
    action_outcome,
    details_html,
    failure_text,
    message_html,
    title_html,
)

ACTIONS = {
    "cancel": ("cancelTask", "Really cancel?"),
    "rerun": ("rerunTask", "Really rerun?"),
}


class TaskView(StaticCopy, widgets.VBox):
    """A task's page: details, dependencies and their states, runs, the
    `StatusBadge`, the selected run's `ArtifactList` and `LiveLog`, and
    Cancel / Rerun (each asks for confirmation). Follows the task while it
    changes, from when it is shown (a cell's value, `display`), or on
    `watch()` / `await view.ready()` / `await view.refresh()`; `close()` stops it.

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
        self._watching = False  # following the task: parts made from now on follow it too
        self._outcome: tuple[str, int] | None = None  # the last action and the run it made
        self._message_colour = theme.TEXT
        self.artifacts: ArtifactList | None = None
        self.live_log: LiveLog | None = None

        self._title = ShownHTML()  # its task page link: made reachable by the page
        self.badge = StatusBadge(conn, task_id)
        self.badge.on_shown(self.watch)  # shown inside a box too: start then
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

    # -- plain values ----------------------------------------------------------------------

    @property
    def runs(self) -> list[dict[str, Any]]:
        """The task's runs, oldest first."""
        return list(self.status.get("runs") or [])

    async def ready(self) -> None:
        """Follow the task; wait until the definition (and dependencies' states) are loaded."""
        self.watch()
        if self._loader is not None:
            await asyncio.shield(self._loader)

    # -- following -------------------------------------------------------------------------

    def watch(self) -> None:
        """Follow the task: load it, poll its state, follow the selected run's
        artifacts and log. A no-op once closed; without an event loop (a plain
        script), load the task once instead, so that the view shows it."""
        if self.comm is None:
            return
        self._watching = True
        if polling.running_loop() is None:
            self._load_blocking()
        elif self.phase == "loading" and (self._loader is None or self._loader.done()):
            self._loader = self._tasks.spawn(self._load())
        if self.phase != "missing":
            self.badge.watch()
        if self.artifacts is not None:
            self.artifacts.watch()
        if self.live_log is not None:
            self.live_log.watch()

    def stop(self) -> None:
        """Stop following the task: badge polling, the log, listings and actions' follow-ups."""
        self._watching = False
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
        """`_load` with the sync client (no event loop); the badge fetches the status."""
        try:
            self.definition = self.conn.queue.task(self.task_id)
        except Exception as failure:
            self._load_failed(failure)
            return
        self.phase = "ready"
        for dependency in self.definition.get("dependencies", [])[:MAX_DEPENDENCIES]:
            try:
                state = self.conn.queue.status(dependency)["status"]["state"]
            except Exception:
                state = "unknown"
            self.dependencies = {**self.dependencies, dependency: state}
        self._render()

    def _load_failed(self, failure: BaseException) -> None:
        self._message_colour = theme.ERROR
        if getattr(failure, "status_code", None) == 404:  # the queue knows no such task
            self.phase = "missing"
            self.badge.stop()
            self.message = f"Task {self.task_id} does not exist on {self.conn.root_url}."
            self.children = (self.children[0], self._message)
        else:
            self.phase = "error"
            self.message = f"Could not load task {self.task_id}: {failure_text(failure)}"
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
        """Load the definition, dependencies' states and status again (and
        follow the task from now on)."""
        if self.comm is None:
            return
        self._loader = self._tasks.spawn(self._load())
        self.watch()
        await asyncio.shield(self._loader)
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
            if self._watching:
                self.artifacts.watch()
        else:
            self.artifacts.run_id = run_id
        if self.live_log is None:
            self.live_log = LiveLog(self.conn, self.task_id, run_id=run_id)
            self._log_slot.children = [self.live_log]
            if self._watching:
                self.live_log.watch()
        else:
            self.live_log.run_id = run_id
        self._render()

    # -- cancel and rerun ------------------------------------------------------------------

    def _ask(self, action: str) -> None:
        allowed = self.cancel_button if action == "cancel" else self.rerun_button
        if not (self.busy or allowed.disabled):
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
        self.message = f"{ACTIONS[action][0]} failed: {failure_text(failure)}"
        self._message_colour = theme.ERROR

    # -- rendering -------------------------------------------------------------------------

    def _render(self) -> None:
        page = f"{self.conn.root_url}/tasks/{self.task_id}"
        web_page = self.conn.browser_url(page) if self.conn.has_task_pages else None
        self._title.value = title_html(self.definition, self.task_id, web_page)
        self._message.value = message_html(self.message, self._message_colour)
        if self.phase == "ready":
            self.details.value = details_html(self.definition, self.status, self.dependencies)
        else:
            self.details.value = "<i>Loading…</i>" if self.phase == "loading" else ""
        shown = self.phase == "ready" or self.runs
        self.runs_table.value = runs_html(self.runs, self.run_id) if shown else ""
        active = self.phase == "ready" and not self.busy
        self.cancel_button.disabled = not (active and self.state in ACTIVE)
        self.rerun_button.disabled = not (active and self.state in RESOLVED)

    # -- outside a live kernel -------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        self.watch()  # displayed: follow the task
        return super()._repr_mimebundle_(**kwargs)

    def static_html(self) -> str:
        """Title, badge, details and runs, then the artifacts of the run shown."""
        parts = [self.artifacts.static_html()] if self.artifacts is not None else []
        return (
            f"<div>{self._title.value} {self.badge.value}{self._message.value}"
            f"{self.details.value}{self.runs_table.value}{''.join(parts)}</div>"
        )

    @property
    def view_shown(self) -> bool:
        """True once a view has reached a page."""
        return self.badge.view_shown

    def __repr__(self) -> str:
        if self.phase == "missing":
            return f"<TaskView {self.task_id}: not found>"
        count = len(self.runs)
        state = self.state or "loading"
        return f"<TaskView {self.task_id}: {state}, {count} run{'s' * (count != 1)}>"
