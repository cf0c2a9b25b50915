"""Notebook widgets that create, follow and inspect Taskcluster tasks."""

from .artifacts import ArtifactList
from .badge import StatusBadge
from .form import TaskForm
from .livelog import LiveLog
from .taskview import TaskView

__all__ = ["ArtifactList", "LiveLog", "StatusBadge", "TaskForm", "TaskView"]
