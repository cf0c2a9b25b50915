"""The artifacts field of a `TaskForm`: a row per artifact (name, path, type
and a remove button) and a button that adds one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from . import polling
from .task_draft import as_text

KINDS = ("file", "directory")


class ArtifactRow(widgets.HBox):
    """One artifact: name, path, type, and a remove button; other keys kept as they were."""

    def __init__(
        self,
        name: str,
        spec: Any,
        on_change: Callable[[Any], None],
        on_remove: Callable[[ArtifactRow], None],
    ) -> None:
        spec = spec if isinstance(spec, dict) else {}
        self.extra = {k: v for k, v in spec.items() if k not in ("name", "path", "type")}
        kind = str(spec.get("type", "file"))
        self.name = widgets.Text(as_text(name), placeholder="public/name.txt")
        self.path = widgets.Text(as_text(spec.get("path", "")), placeholder="path in the task")
        self.kind = widgets.Dropdown(
            options=[*KINDS, *([] if kind in KINDS else [kind])],
            value=kind,
            layout=widgets.Layout(width="8em"),
        )
        self.remove = widgets.Button(
            icon="trash", tooltip="remove this artifact", layout=widgets.Layout(width="3em")
        )
        super().__init__([self.name, self.path, self.kind, self.remove])
        for part in (self.name, self.path, self.kind):
            part.observe(on_change, names="value")
        self.remove.on_click(lambda _button: on_remove(self))

    @property
    def entry(self) -> tuple[str, dict[str, Any]]:
        """(name, spec) as the row shows it."""
        return self.name.value, {"type": self.kind.value, "path": self.path.value, **self.extra}


class ArtifactEditor(widgets.VBox):
    """The rows, oldest first; `on_change` is called after each edit, add or remove."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self.rows: list[ArtifactRow] = []
        self._box = widgets.VBox()
        self.add_button = widgets.Button(description="artifact", icon="plus")
        self.add_button.on_click(self._add)
        super().__init__([self._box, self.add_button])

    def show(self, entries: list[tuple[str, Any]]) -> None:
        """Rows for these (name, spec) pairs, replacing the old ones (not an edit)."""
        old = self.rows
        self.rows = [ArtifactRow(name, spec, self._changed, self._remove) for name, spec in entries]
        self._box.children = self.rows
        polling.close_widgets(*old)

    def entries(self) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
        """The rows' (name, spec) pairs, and a name used twice, if any, as a problem
        (the payload's schema, not the editor, says what else a row needs)."""
        entries, seen = [row.entry for row in self.rows], set()
        for number, (name, _spec) in enumerate(entries, 1):
            if name and name in seen:
                return entries, f"artifact {number}: the name {name} is used twice"
            seen.add(name)
        return entries, None

    def _changed(self, _change: Any = None) -> None:
        self._on_change()

    def _add(self, _button: Any = None) -> None:
        row = ArtifactRow("public/", {"type": "file", "path": ""}, self._changed, self._remove)
        self.rows.append(row)
        self._box.children = self.rows
        self._on_change()

    def _remove(self, row: ArtifactRow) -> None:
        if row in self.rows:
            self.rows.remove(row)
            self._box.children = self.rows
            polling.close_widgets(row)
            self._on_change()
