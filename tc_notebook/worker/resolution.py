"""How a run that ran its commands is resolved, by generic-worker's rules: the
first thing that went wrong decides.

- A command's exit code listed in `onExitStatus.retry`: exception with reason
  `intermittent-task`, which the queue retries while the task has retries
  left; whatever happened to the artifacts after.
- Any other non-zero exit code, `maxRunTime` exceeded or a command that could
  not start: failed.
- Then a required artifact that became an error artifact: failed.
- Else completed.

`onExitStatus.purgeCaches` does not change the resolution in generic-worker
either (it only empties the task's writable caches, and this worker has none).
"""

from __future__ import annotations

from dataclasses import dataclass

from .engine import Outcome
from .payload import Payload

INTERMITTENT = "intermittent-task"


@dataclass(frozen=True)
class Resolution:
    """The run's resolution and the words the log's last line gives it."""

    state: str  # "completed", "failed" or "exception"
    summary: str  # e.g. "exit code 3", "timed out", "an artifact was missing"
    reason: str | None = None  # reportException's reason, for an exception

    @property
    def verdict(self) -> str:
        """`completed`, `failed` or `exception (<reason>)`."""
        return f"{self.state} ({self.reason})" if self.reason else self.state


def resolve(outcome: Outcome, payload: Payload, artifacts_ok: bool) -> Resolution:
    """The resolution of a run whose commands ended with `outcome`."""
    code = outcome.exit_code
    if code is not None and code in payload.retry_exit_codes:
        summary = f"exit code {code}, listed in payload.onExitStatus.retry"
        return Resolution("exception", summary, INTERMITTENT)
    if outcome.timed_out:
        return Resolution("failed", "timed out")
    if outcome.error:
        return Resolution("failed", outcome.error)
    if code != 0:
        return Resolution("failed", f"exit code {code}")
    if not artifacts_ok:
        return Resolution("failed", "an artifact was missing")
    return Resolution("completed", "exit code 0")


def exit_notes(outcome: Outcome, payload: Payload) -> list[str]:
    """What the log says of the exit code's place in `onExitStatus`."""
    code = outcome.exit_code
    notes = []
    if code is not None and code in payload.retry_exit_codes:
        notes.append(
            f"exit code {code} is in payload.onExitStatus.retry: the run is resolved "
            f"exception/{INTERMITTENT}, and the queue retries the task if it has retries left"
        )
    if code is not None and code in payload.purge_caches_exit_codes:
        notes.append(
            f"exit code {code} is in payload.onExitStatus.purgeCaches: "
            "this worker keeps no caches, so there is nothing to purge"
        )
    return notes
