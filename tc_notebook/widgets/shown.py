"""`ShownHTML`: an HTML widget that tells the kernel when it is on a page.

IPython calls `_repr_mimebundle_` only for the widget a cell displays, not for
the widgets inside a box, so a badge in an `HBox` would never learn that it is
shown. This widget's view sends `{type: "shown"}` whenever it renders; the
live widgets start polling then (and still on `_repr_mimebundle_`, for front
ends that render nothing, such as nbval)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
from traitlets import Unicode


class ShownHTML(anywidget.AnyWidget):
    """Like `ipywidgets.HTML`, plus `on_shown(callback)`."""

    _esm = Path(__file__).with_name("shown_html.js")
    value = Unicode("", help="The HTML shown.").tag(sync=True)

    def __init__(self, value: str = "", **kwargs: Any) -> None:
        super().__init__(value=value, **kwargs)
        self._shown_callbacks: list[Callable[[], None]] = []
        self.on_msg(self._on_message)

    def on_shown(self, callback: Callable[[], None]) -> None:
        """Call `callback()` each time a view of this widget reaches a page."""
        self._shown_callbacks.append(callback)

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "shown":
            for callback in list(self._shown_callbacks):
                callback()

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The widget view, with the HTML itself for pages without widgets."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        return {**data, "text/html": self.value, "text/plain": repr(self)}, metadata
