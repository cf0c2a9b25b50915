"""The tasks of the Taskcluster tutorial and the notebooks' small helpers.

`tutorial_task()` is the tutorial's own task (`ls && du /usr`, publishing
/etc/passwd), the kit's default example. `task_definition()` builds any other
task of the same shape with its own command, name and description;
`counting_task()` is the tutorial's hello-world loop (a number a second), for
tasks that should run long enough to be watched. `head_tail()` and
`print_json()` keep long text short on the page; `wait_for_state()` waits
without blocking the notebook's widgets.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import taskcluster

from .connection import Connection
from .terms import RESOLVED

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


def task_definition(
    command: str,
    name: str,
    description: str,
    *,
    artifacts: dict[str, Any] | None = None,
    max_run_time: int = 600,
    task_queue_id: str | None = None,
) -> dict[str, Any]:
    """A fresh task definition of the tutorial's shape that runs `command`
    with bash, under its own name and description; `created` is now."""
    return {
        "taskQueueId": task_queue_id or tutorial_task_queue(),
        "created": taskcluster.fromNowJSON("0 seconds"),
        "deadline": taskcluster.fromNowJSON("2 days 3 hours"),
        "payload": {
            "image": "ubuntu:latest",
            "command": ["/bin/bash", "-c", command],
            "maxRunTime": max_run_time,
            "artifacts": dict(artifacts or {}),
        },
        "metadata": {
            "name": name,
            "description": description,
            "owner": "learner@example.com",
            "source": "https://github.com/taskcluster/taskcluster",
        },
    }


def counting_script(count: int) -> str:
    """The tutorial's hello-world loop: print 1 to `count`, one a second."""
    return f"for ((i=1;i<={count};i++)); do echo $i; sleep 1; done"


def counting_task(count: int = 10, task_queue_id: str | None = None) -> dict[str, Any]:
    """The hello-world task of the tutorial, counting to `count` (it counts to
    60 there): it runs long enough to watch it run and its log grow."""
    return task_definition(
        counting_script(count),
        name=f"Count to {count}",
        description=(
            f"Counts from 1 to {count}, one number a second: the tutorial's hello-world "
            "loop, long enough to watch the task run and its log grow."
        ),
        max_run_time=count + 60,
        task_queue_id=task_queue_id,
    )


def head_tail(text: str, head: int = 10, tail: int = 10) -> str:
    """`text` as is when it has at most `head + tail + 1` lines, else its
    first `head` and last `tail` lines around a line saying how many are left out."""
    lines = text.splitlines()
    if len(lines) <= head + tail + 1:
        return "\n".join(lines)
    hidden = len(lines) - head - tail
    middle = f"… {hidden:,} lines not shown …"
    return "\n".join([*lines[:head], middle, *lines[len(lines) - tail :]])


def print_json(value: Any, max_lines: int = 40) -> None:
    """Print `value` as indented JSON, as the tutorial's `JSON.stringify(x, null, 2)`;
    beyond `max_lines` lines, only its beginning and end."""
    text = json.dumps(value, indent=2)
    keep = max(max_lines - 1, 2)
    print(head_tail(text, head=keep - keep // 3, tail=keep // 3))


async def wait_for_state(
    conn: Connection, task_id: str, states: tuple[str, ...] = RESOLVED, timeout: float = 600
) -> dict[str, Any]:
    """Poll `queue.status` until the task's state is one of `states` (by
    default, resolved) or the task is resolved; returns the status. It awaits
    between polls, so the notebook's widgets keep updating meanwhile."""
    give_up = time.monotonic() + timeout
    while True:
        status = (await asyncio.to_thread(conn.queue.status, task_id))["status"]
        if status["state"] in states or status["state"] in RESOLVED:
            return status
        if time.monotonic() > give_up:
            raise TimeoutError(f"task {task_id} still {status['state']} after {timeout} s")
        await asyncio.sleep(0.5)
