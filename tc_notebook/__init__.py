"""tc-notebook: Taskcluster in Jupyter."""

from .connect import Connection, connect

__all__ = ["Connection", "connect"]
