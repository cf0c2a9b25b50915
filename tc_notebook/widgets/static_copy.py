"""Static copies: the plain HTML each widget puts beside its live view, kept
true when a notebook runs without a browser.

A page without a live kernel (a notebook exported with `jupyter nbconvert
--to html --execute`, papermill's output, GitHub's preview) can only show
an output's `text/html`. Two things would make that a lie: the output keeps
the HTML of the moment the widget was displayed (a badge before its first
poll), and nbconvert's HTML prefers the widget view, which needs the widget
manager and scripts from a CDN: offline, a blank.

So a widget is displayed with a display id, and when a notebook runs
without a person's front end, at the end of each *later* cell the kernel
replaces that output with the widget's HTML as it is then (`text/html` and
`text/plain`, no widget view), when it changed since the last time:

- Which front end sent a cell is in its execute request: JupyterLab and
  Notebook 7 name the cell (`cellId` in its metadata); nbclient
  (nbconvert, papermill, Voilà's executor) and nbval do not. Display updates
  cannot be kept from live pages otherwise: JupyterLab applies them to the
  outputs of every earlier cell that showed that display id.
- Only from a later cell: Voilà sends each cell to the page as soon as it
  has run, so an update from a later cell changes its copy of the notebook,
  never the live widget on the page.
- A widget whose view has reached a page (its `shown` message) is never
  replaced.

A widget displayed by a notebook's last cell keeps the HTML it had when
displayed: no cell runs after it.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from IPython import get_ipython
from IPython.display import display, update_display


class StaticCopy:
    """Mixin for a widget: its plain HTML beside its live view, refreshed as
    this module says. Subclasses give `static_html()` and, where a view tells
    the kernel it reached a page, `view_shown`."""

    def static_html(self) -> str:
        """What a page without a live kernel shows of this widget, now."""
        raise NotImplementedError

    def static_text(self) -> str:
        """The same as plain text."""
        return repr(self)

    @property
    def view_shown(self) -> bool:
        """True once a view of this widget has reached a page."""
        return False

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live view's bundle (data, or data and metadata), plus the static copy."""
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if isinstance(bundle, tuple):
            return {**bundle[0], **static_bundle(self)}, bundle[1]
        return {**(bundle or {}), **static_bundle(self)}

    def _ipython_display_(self) -> None:
        show(self)


def static_bundle(widget: StaticCopy) -> dict[str, str]:
    """The output data of a page without widgets."""
    return {"text/html": widget.static_html(), "text/plain": widget.static_text()}


@dataclass
class _Displayed:
    widget: weakref.ref
    cell: str  # the execute request that displayed it
    sent: str | None = None  # the HTML of the last update (None: still the live view)


_displayed: dict[str, _Displayed] = {}  # by display id
_hooked: weakref.WeakSet = weakref.WeakSet()  # the shells whose cells end with `refresh()`


def show(widget: StaticCopy) -> None:
    """Display `widget` (a cell's value, `display`) with a display id, so
    that later cells can refresh its static copy."""
    bundle = widget._repr_mimebundle_()
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    model_id = getattr(widget, "model_id", None)
    if kernel is None or model_id is None:  # no kernel messages to update: as IPython would
        display(data, raw=True, metadata=metadata)
        return
    display_id = f"tc-notebook-{model_id}"
    display(data, raw=True, metadata=metadata, display_id=display_id)
    _displayed[display_id] = _Displayed(weakref.ref(widget), _request_id(kernel.get_parent()))
    if shell not in _hooked:
        shell.events.register("post_run_cell", refresh)
        _hooked.add(shell)


def refresh(_result: Any = None) -> None:
    """At the end of a cell run by a program: replace the output of each
    widget displayed by an earlier cell, never shown on a page, with its
    static copy if it changed."""
    request = get_ipython().kernel.get_parent()
    if request.get("metadata", {}).get("cellId"):  # a person's front end: live views
        return
    cell = _request_id(request)
    for display_id, entry in list(_displayed.items()):
        widget = entry.widget()
        if widget is None or widget.view_shown or getattr(widget, "comm", True) is None:
            del _displayed[display_id]  # gone, live on a page, or closed: never again
            continue
        if entry.cell == cell:
            continue
        data = static_bundle(widget)
        if data["text/html"] != entry.sent:
            update_display(data, raw=True, display_id=display_id)
            entry.sent = data["text/html"]


def _request_id(request: dict[str, Any]) -> str:
    """The msg_id of an execute request (the cell it runs)."""
    return request.get("header", {}).get("msg_id", "")
