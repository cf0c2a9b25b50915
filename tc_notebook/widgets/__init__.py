"""Notebook widgets that create, follow and inspect Taskcluster tasks."""

from .badge import StatusBadge

__all__ = ["StatusBadge"]
