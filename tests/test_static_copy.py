"""Static copies (widgets/static_copy.py) in a real kernel, driven over the
Jupyter protocol as nbclient drives it (no `cellId`) and as JupyterLab does
(`cellId` in each execute request's metadata)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from jupyter_client.manager import start_new_kernel
from static_exports import CLEARED, WIDGET_VIEW

SHOW = "from tc_notebook.widgets.shown import ShownHTML\nw = ShownHTML('<b>one</b>')\nw"


@pytest.fixture
def kernel() -> Iterator:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED)}
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run(client, code: str, cell_id: str | None = None) -> list[dict]:
    """Execute `code`; the display messages it caused (type, display id, mime types)."""
    metadata = {"cellId": cell_id} if cell_id else {}
    request = client.session.msg(
        "execute_request",
        {"code": code, "silent": False, "store_history": True, "user_expressions": {},
         "allow_stdin": False, "stop_on_error": True},
        metadata=metadata,
    )
    client.shell_channel.send(request)
    msg_id = request["header"]["msg_id"]
    shown = []
    while True:
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "error":
            raise AssertionError("\n".join(content["traceback"]))
        if kind in ("display_data", "update_display_data", "execute_result"):
            display_id = (content.get("transient") or {}).get("display_id")
            shown.append({"type": kind, "id": display_id, **content["data"]})
        if kind == "status" and content["execution_state"] == "idle":
            return shown


def test_a_program_run_gets_the_static_copy_from_the_next_cell(kernel):
    [shown] = run(kernel, SHOW)
    assert shown["type"] == "display_data" and shown["id"] and WIDGET_VIEW in shown
    assert shown["text/html"] == "<b>one</b>"
    [update] = run(kernel, "w.value = '<b>two</b>'")
    assert update["type"] == "update_display_data" and update["id"] == shown["id"]
    assert update["text/html"] == "<b>two</b>"
    assert WIDGET_VIEW not in update  # nbconvert then shows the HTML, with no widget manager
    assert run(kernel, "x = 1") == []  # unchanged since: nothing sent


def test_never_from_the_cell_that_displayed_it(kernel):
    """Voilà renders a cell when it has run: a change within that cell keeps the live view."""
    same_cell = SHOW.removesuffix("\nw") + "\ndisplay(w)\nw.value = '<b>two</b>'"
    assert [u["type"] for u in run(kernel, same_cell)] == ["display_data"]
    [update] = run(kernel, "x = 1")
    assert update["text/html"] == "<b>two</b>" and WIDGET_VIEW not in update


def test_a_person_s_front_end_is_never_sent_a_copy(kernel):
    """JupyterLab names its cells: it would replace the live view everywhere it is shown."""
    run(kernel, SHOW, cell_id="cell-1")
    assert run(kernel, "w.value = '<b>two</b>'", cell_id="cell-2") == []
    assert run(kernel, "x = 1", cell_id="cell-3") == []


def test_a_view_on_a_page_is_never_replaced(kernel):
    [shown] = run(kernel, SHOW)
    # What the view's JavaScript sends once on a page: an anywidget custom message.
    message = kernel.session.msg(
        "comm_msg",
        {"comm_id": shown[WIDGET_VIEW]["model_id"],
         "data": {"method": "custom", "content": {"type": "shown"}}},
    )
    kernel.shell_channel.send(message)
    assert run(kernel, "w.value = '<b>two</b>'\nassert w.view_shown") == []


def test_row_shows_its_children_side_by_side_without_a_kernel():
    import ipywidgets as widgets

    from tc_notebook.widgets import Row
    from tc_notebook.widgets.shown import ShownHTML

    chip = ShownHTML('<span class="tc-badge">FAILED</span>')
    row = Row([widgets.Label("exit <3>:"), chip, widgets.HTML("<i>note</i>")])
    html = row.static_html()
    assert html.index("exit &lt;3&gt;:") < html.index(chip.value) < html.index("<i>note</i>")
    bundle = row._repr_mimebundle_()
    assert bundle["text/html"] == html and WIDGET_VIEW in bundle
    assert not row.view_shown
    chip._on_message(chip, {"type": "shown"}, [])
    assert row.view_shown


def test_a_link_shows_the_url_the_kernel_gave_for_the_page_to_rewrite():
    from tc_notebook import Connection

    conn = Connection("http://127.0.0.1:4321")
    url = "http://127.0.0.1:4321/api/queue/v1/task/T/artifacts/public%2Fa.txt"
    html = conn.link(url, "public/a.txt", show_kernel_url=True)._repr_html_()
    assert f'<a href="{url}"' in html  # absolute: a saved copy still points at the queue
    assert f'<code data-tc-url="{url}">{url}</code>' in html  # reach.js shows the page's URL
