"""Colours for the widgets' HTML (and the sandbox's task pages): JupyterLab's
theme variables, so that text stays readable in light and dark themes, each
with a light-theme fallback for pages without them (static HTML, Voilà; the
task pages set the variables themselves). State chips keep the Taskcluster web
UI's own colours (`task_html.STATE_COLOURS`) in every theme. No widget imports
here: the sandbox uses it too."""

TEXT = "var(--jp-ui-font-color1, #333)"
MUTED = "var(--jp-ui-font-color2, #555)"
FAINT = "var(--jp-ui-font-color3, #777)"
ERROR = "var(--jp-error-color1, #c62828)"
WARNING = "var(--jp-warn-color1, #b26a00)"
SUCCESS = "var(--jp-success-color1, #2e7d32)"
LINK = "var(--jp-content-link-color, #1976d2)"
BORDER = "var(--jp-border-color2, #e0e0e0)"
BORDER_STRONG = "var(--jp-border-color1, #bdbdbd)"
PANEL = "var(--jp-layout-color2, #f5f5f5)"  # a box set off from the page
