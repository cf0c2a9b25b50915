"""The sandbox's long poll on a task's status, from the kernel's side.

A sandbox answers `GET <rootUrl>/api/sandbox/v1/task/<taskId>/status?since=`
as soon as the task's status differs from the one the badge shows (see
`tc_notebook.sandbox.status_watch`), so a badge there sees a change within
milliseconds instead of at its next poll. It is tried only where a sandbox
may be: this kernel's own, or a queue on loopback; a root URL where it was
refused (a 404 while `queue.status` answered: Taskcluster itself on this
machine) is polled from then on. Every other failure falls back to one
`queue.status` poll, and the long poll is tried again the next time.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from ..connection import Connection
from ..terms import ACTIVE, RESOLVED, status_version
from . import polling

PATH = "/api/sandbox/v1/task/{}/status"
# Long polls waiting at once, at most: each holds one of the widgets' HTTP
# session's 100 connections; past this, badges poll (leaving room for the rest).
MAX_HELD = 40

_absent: set[str] = set()  # root URLs that refused it
_held = 0  # long polls under way in this process



def _is_status(status: Any, task_id: str) -> bool:
    return (
        isinstance(status, dict)
        and status.get("taskId") == task_id
        and status.get("state") in (*ACTIVE, *RESOLVED)
        and isinstance(status.get("runs"), list)
    )


class LongPoll:
    """One badge's long polls of one task, on the running loop's session."""

    def __init__(self, conn: Connection, task_id: str) -> None:
        self.conn = conn
        self.task_id = task_id
        self.url = conn.root_url + PATH.format(urllib.parse.quote(task_id, safe=""))
        self.refused = False  # the last one answered 404

    @property
    def usable(self) -> bool:
        """True where a sandbox may answer it (and none refused it), unless
        `MAX_HELD` long polls are under way."""
        if _held >= MAX_HELD:
            return False
        if self.conn.is_sandbox:
            return True
        return not self.conn.has_web_ui and self.conn.root_url not in _absent

    async def status(self, seen: dict[str, Any]) -> dict[str, Any] | None:
        """The task's status once it differs from `seen` (at once without
        one), or unchanged after the sandbox's hold; None if it failed."""
        global _held
        params = {"since": status_version(seen)} if _is_status(seen, self.task_id) else {}
        self.refused = False
        _held += 1
        try:
            async with polling.session().get(self.url, params=params) as answer:
                self.refused = answer.status == 404
                if answer.status != 200:
                    return None
                status = (await answer.json()).get("status")
        except Exception:  # any failure: the badge polls the queue instead
            return None
        finally:
            _held -= 1
        return status if _is_status(status, self.task_id) else None

    def queue_answered(self) -> None:
        """`queue.status` answered after this failed: if it was refused, there
        is no such endpoint here (Taskcluster on loopback): never ask again."""
        if self.refused and not self.conn.is_sandbox:
            _absent.add(self.conn.root_url)
