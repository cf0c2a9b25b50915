"""`tc-notebook replay`: the tutorial's download-artifacts program, headless.

Creates the tutorial task, waits for it to resolve, lists the latest
artifacts with their URLs, then downloads `public/passwd.txt` and prints it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import requests
import slugid
import taskcluster

from .sandbox import Sandbox
from .terms import RESOLVED
from .tutorial import TUTORIAL_TASK_QUEUE, tutorial_task


def replay(
    queue: taskcluster.Queue,
    task_queue_id: str = TUTORIAL_TASK_QUEUE,
    say: Callable[[str], None] = print,
    poll_seconds: float = 1.0,
    timeout: float = 900,
) -> str:
    """Run the tutorial flow against `queue`; returns the resolved state."""
    task_id = slugid.nice()
    result = queue.createTask(task_id, tutorial_task(task_queue_id))
    say("Created task:\n" + json.dumps(result["status"], indent=2))
    give_up = time.monotonic() + timeout
    while True:
        say("waiting for completion..")
        state = queue.status(task_id)["status"]["state"]
        if state in RESOLVED:
            say(f"Task is now resolved: {state}")
            break
        if time.monotonic() > give_up:
            raise TimeoutError(f"task {task_id} still {state} after {timeout} s")
        time.sleep(poll_seconds)
    say("Artifacts:")
    for artifact in queue.listLatestArtifacts(task_id)["artifacts"]:
        say(queue.buildUrl("getLatestArtifact", task_id, artifact["name"]))
    reply = requests.get(
        queue.buildUrl("getLatestArtifact", task_id, "public/passwd.txt"), timeout=60
    )
    reply.raise_for_status()
    say(reply.text)
    return state


def main(task_queue_id: str = TUTORIAL_TASK_QUEUE) -> int:
    """Replay against TASKCLUSTER_ROOT_URL if set, else an embedded sandbox."""
    if os.environ.get("TASKCLUSTER_ROOT_URL"):
        state = replay(taskcluster.Queue(taskcluster.optionsFromEnvironment()), task_queue_id)
    else:
        with Sandbox() as sandbox:
            print(f"(embedded sandbox at {sandbox.root_url})")
            queue = taskcluster.Queue(sandbox.client_options())
            state = replay(queue, task_queue_id, poll_seconds=0.2)
    return 0 if state == "completed" else 1
