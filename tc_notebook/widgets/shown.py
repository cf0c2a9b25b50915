"""`ShownHTML`: an HTML widget that tells the kernel when it is on a page.

IPython calls `_repr_mimebundle_` only for the widget a cell displays, not for
the widgets inside a box, so a badge in an `HBox` would never learn that it is
shown. This widget's view sends `{type: "shown"}` whenever it renders; the
live widgets start polling then (and still on `_repr_mimebundle_`, for front
ends that render nothing, such as nbval). Its links to a sandbox on the
kernel's loopback are made reachable by the page (reach.js)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
from traitlets import Unicode

from .static_copy import StaticCopy


def view_source(name: str) -> str:
    """The ES module of a view in this folder, after reach.js (whose functions it may call)."""
    here = Path(__file__).parent
    return (here / "reach.js").read_text() + "\n" + (here / name).read_text()


class ShownHTML(StaticCopy, anywidget.AnyWidget):
    """Like `ipywidgets.HTML`, plus `on_shown(callback)`."""

    _esm = view_source("shown_html.js")
    _css = Path(__file__).with_name("shown_html.css")
    value = Unicode("", help="The HTML shown.").tag(sync=True)

    def __init__(self, value: str = "", plain: str = "", **kwargs: Any) -> None:
        """`plain`: what it shows as text (`static_text`); its repr if empty."""
        super().__init__(value=value, **kwargs)
        self._plain = plain
        self._shown_callbacks: list[Callable[[], None]] = []
        self._view_shown = False
        self.on_msg(self._on_message)

    @property
    def view_shown(self) -> bool:
        """True once a view has reached a page."""
        return self._view_shown

    def on_shown(self, callback: Callable[[], None]) -> None:
        """Call `callback()` each time a view of this widget reaches a page."""
        self._shown_callbacks.append(callback)

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "shown":
            self._view_shown = True
            for callback in list(self._shown_callbacks):
                callback()

    def static_html(self) -> str:
        """The HTML itself."""
        return self.value

    def static_text(self) -> str:
        """`plain` if given, else its repr."""
        return self._plain or repr(self)
