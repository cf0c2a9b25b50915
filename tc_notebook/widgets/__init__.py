"""Notebook widgets that create, follow and inspect Taskcluster tasks."""

from .artifacts import ArtifactList
from .badge import StatusBadge
from .form import TaskForm
from .livelog import LiveLog
from .row import Row
from .taskview import TaskView

__all__ = ["ArtifactList", "LiveLog", "Row", "StatusBadge", "TaskForm", "TaskView"]
