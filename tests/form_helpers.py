"""What the TaskForm tests share."""

from __future__ import annotations

from tc_notebook.widgets import TaskForm


def shown_error(form: TaskForm, field: str) -> str:
    """The error text under a field, asserting it is visible."""
    box = form.field_errors[field]
    assert box.layout.display != "none", f"no error shown under {field}"
    return box.value
