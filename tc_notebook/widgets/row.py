"""`Row`: widgets side by side, like `ipywidgets.HBox`, with a static copy."""

from __future__ import annotations

import html

import ipywidgets as widgets

from .static_copy import StaticCopy


class Row(StaticCopy, widgets.HBox):
    """An `HBox` whose plain HTML is its children's, side by side: a page
    without a live kernel shows the badges in it (an `HBox` shows nothing).

    >>> Row([Label("exit 3:"), failing_badge, Label("sleep 60:"), slow_badge])
    """

    def static_html(self) -> str:
        """Each child's static copy; a Label's or an HTML widget's value; else its repr."""
        cells = "".join(
            f'<span style="margin-right:8px">{_child_html(child)}</span>' for child in self.children
        )
        return f'<div style="display:flex;align-items:center;flex-wrap:wrap">{cells}</div>'

    @property
    def view_shown(self) -> bool:
        """True once a view of any child has reached a page."""
        return any(getattr(child, "view_shown", False) for child in self.children)


def _child_html(child: widgets.Widget) -> str:
    if isinstance(child, StaticCopy):
        return child.static_html()
    if isinstance(child, widgets.HTML):
        return child.value
    if isinstance(child, widgets.Label):
        return html.escape(child.value)
    return html.escape(repr(child))
