"""The task the Taskcluster tutorial creates, as the kit's default example."""

from __future__ import annotations

import os
from typing import Any

import taskcluster

TUTORIAL_TASK_QUEUE = "aws-provisioner-v1/tutorial"


def tutorial_task_queue() -> str:
    """The task queue the notebooks use: `TC_NOTEBOOK_TASK_QUEUE` if set (on a
    real deployment, a worker pool you may create tasks in), else the tutorial's."""
    return os.environ.get("TC_NOTEBOOK_TASK_QUEUE") or TUTORIAL_TASK_QUEUE


def tutorial_task(task_queue_id: str | None = None) -> dict[str, Any]:
    """A fresh definition of the tutorial's task: list files, measure /usr,
    and publish /etc/passwd as `public/passwd.txt`."""
    task_queue_id = task_queue_id or tutorial_task_queue()
    provisioner_id, worker_type = task_queue_id.split("/", 1)
    return {
        "provisionerId": provisioner_id,
        "workerType": worker_type,
        "created": taskcluster.fromNowJSON("0 seconds"),
        "deadline": taskcluster.fromNowJSON("2 days 3 hours"),
        "payload": {
            "image": "ubuntu:latest",
            "command": ["/bin/bash", "-c", "ls && du /usr"],
            "maxRunTime": 600,
            "artifacts": {
                "public/passwd.txt": {
                    "type": "file",
                    "path": "/etc/passwd",
                    "expires": taskcluster.fromNowJSON("2 months"),
                },
            },
        },
        "metadata": {
            "name": "Tutorial: list files and publish /etc/passwd",
            "description": "The example task of the Taskcluster tutorial, replayed by tc-notebook.",
            "owner": "learner@example.com",
            "source": "https://github.com/taskcluster/taskcluster",
        },
    }
