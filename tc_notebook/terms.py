"""Taskcluster's own names that the kit relies on in several places."""

RESOLVED = ("completed", "failed", "exception")  # a task in one of these is done
ACTIVE = ("unscheduled", "pending", "running")

LIVE_LOG = "public/logs/live.log"  # a link to the log server while running
BACKING_LOG = "public/logs/live_backing.log"  # the whole log, once the run ends


def status_version(status: dict) -> str:
    """What the sandbox's status long poll calls `since`: a task status's
    number of runs and its state. Every change of a task's runs changes it,
    but a reclaim (a new `takenUntil`)."""
    return f"{len(status['runs'])}:{status['state']}"
