"""The widgets in JupyterLab's dark theme: a TaskView (badge, details, runs)
and two exercise verdicts stay readable, their text light on the dark page
(their colours are the theme's), while state chips keep the Taskcluster web
UI's colours."""

from __future__ import annotations

import pytest
from browser_helpers import CREATE, expect_completed_chip, outputs, run_cells, screenshot
from playwright.sync_api import Locator, expect

pytestmark = pytest.mark.browser

NOTEBOOK = "browser-dark-theme.ipynb"

VIEW = CREATE + """
from tc_notebook.exercises import check_hello_task
from tc_notebook.widgets import TaskView

task_id = create("echo hello world")
view = TaskView(conn, task_id)
view"""

RIGHT = """\
await view.badge.wait()
check_hello_task(conn.queue, task_id)"""

CELLS = (VIEW, RIGHT, "check_hello_task(conn.queue, None)")

# The relative luminance (WCAG 2) of an element's text and of what is behind
# it (the backgrounds of its ancestors, translucent ones blended), and their
# contrast ratio: 1 (none) to 21 (black on white).
CONTRAST = """element => {
  const parse = colour => {
    const [r, g, b, a = 1] = colour.match(/[\\d.]+/g).map(Number);
    return [r, g, b, a];
  };
  const over = (top, under) => [0, 1, 2].map(i => top[i] * top[3] + under[i] * (1 - top[3]));
  const layers = [];
  for (let node = element; node; node = node.parentElement) {
    const layer = parse(getComputedStyle(node).backgroundColor);
    if (layer[3] > 0) layers.unshift(layer);
    if (layer[3] >= 1) break;
  }
  const behind = layers.reduce((under, layer) => over(layer, under), [255, 255, 255]);
  const text = over(parse(getComputedStyle(element).color), behind);
  const luminance = rgb => rgb.map(v => v / 255)
    .map(v => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const [fore, back] = [luminance(text), luminance(behind)];
  return {text: fore, background: back,
          ratio: (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05)};
}"""


def assert_light_on_dark(element: Locator, least_ratio: float) -> None:
    """`element`'s text is lighter than the dark page behind it, by `least_ratio` at least."""
    seen = element.evaluate(CONTRAST)
    assert seen["background"] < 0.1, ("not a dark background", element, seen)
    assert seen["text"] > seen["background"], ("dark text", element, seen)
    assert seen["ratio"] >= least_ratio, ("too little contrast", element, seen)


def test_task_view_and_verdicts_are_readable_in_the_dark_theme(dark_lab, page):
    panel = run_cells(page, dark_lab, NOTEBOOK, *CELLS)
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")

    view = outputs(panel, 1)
    expect_completed_chip(view.locator(".tc-badge").first)  # the web UI's green, as in light
    details = view.locator(".tc-task-details td").first  # the task's name
    expect(details).to_contain_text("Tutorial", timeout=30_000)
    selected_run = view.locator(".tc-runs tr.tc-run").first
    expect(selected_run).to_contain_text("completed", timeout=30_000)
    right = outputs(panel, 2).locator("div", has_text="✔").last
    expect(right).to_contain_text("Right", timeout=60_000)
    not_yet = outputs(panel, 3).locator("div", has_text="✘").last
    expect(not_yet).to_contain_text("Not yet")
    screenshot(page, "08-dark-theme-task-view-and-verdicts", view, block="start")

    assert_light_on_dark(details, 4.5)
    assert_light_on_dark(view.locator(".tc-task-details th").first, 4.5)
    assert_light_on_dark(selected_run.locator("td").nth(2), 3)  # reasonCreated, highlighted
    assert_light_on_dark(view.locator(".tc-badge + span").first, 3)  # run · reason · time
    assert_light_on_dark(right, 3)
    assert_light_on_dark(not_yet, 3)
