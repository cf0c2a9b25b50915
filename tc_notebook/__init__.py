"""tc-notebook: Taskcluster in Jupyter."""
