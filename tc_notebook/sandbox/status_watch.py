"""A long poll on one task's status, for the notebook's badges.

`GET /api/sandbox/v1/task/<taskId>/status?since=<runs>:<state>` is the
sandbox's own endpoint, beside the Queue's API (which stays Taskcluster's):
no Taskcluster service is called `sandbox`, so a real deployment answers 404
there and the badge polls `queue.status` instead. `since` names the status
the caller last saw (see `terms.status_version`); the answer, `{status}` exactly as
`queue.status` gives it, comes at once when the task's status differs from
that (or without `since`), else as soon as the task changes, else after
`hold` seconds with the status unchanged. Status is public in Taskcluster
(anonymous `queue:status:*`), so no credentials are asked for.

The waits are woken by the queue's transition listeners; they are bounded
per task and in all (429 past either bound), and all answer at once when the
sandbox stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from ..terms import status_version
from .dispatch import SLUGID
from .errors import APIError
from .limits import Slots
from .runs import Runs, status_of
from .waiters import Waiters

ROUTE = r"/api/sandbox/v1/task/{taskId:[\s\S]*}/status"
HOLD_SECONDS = 20.0  # under the 30 s the widgets' HTTP session allows a request
MAX_PER_TASK = 16  # a few badges of one task (a task view, reruns of a cell)
MAX_WAITING = 256
_SINCE = re.compile(r"(0|[1-9][0-9]{0,5}):(unscheduled|pending|running|completed|failed|exception)")



def _invalid(message: str, **details: Any) -> APIError:
    return APIError("InvalidRequestArguments", message, **details)


class StatusWatch:
    """The long polls waiting on tasks, woken by the queue's transitions."""

    def __init__(self, runs: Runs, hold: float = HOLD_SECONDS) -> None:
        self.runs = runs
        self.hold = hold
        self.slots = Slots("status long polls", MAX_WAITING)
        self._waiters = Waiters()  # by task
        self._stopped = False
        runs.transition_listeners.append(self._task_changed)

    @property
    def waited_on(self) -> list[str]:
        """The tasks long polls are waiting on now."""
        return self._waiters.keys

    def _task_changed(self, _event: str, status: dict[str, Any]) -> None:
        """A transition listener: wake the polls waiting on this task."""
        self._waiters.wake(status["taskId"])

    def stop(self) -> None:
        """The sandbox is stopping: every wait answers now, and later ones at once."""
        self._stopped = True
        self._waiters.wake_all()

    @contextlib.contextmanager
    def _waiter(self, task_id: str) -> Iterator[asyncio.Future]:
        """A future set when `task_id` changes; forgotten when the block ends."""
        if self._waiters.count(task_id) >= MAX_PER_TASK:
            raise APIError(
                "TooManyRequests",
                "The sandbox already serves {{size}} long polls on task `{{taskId}}`; "
                "try again later",
                size=MAX_PER_TASK,
                taskId=task_id,
            )
        with self.slots.hold(), self._waiters.waiter(task_id) as future:
            yield future

    async def next_status(self, task_id: str, since: str | None) -> dict[str, Any]:
        """The task's status once its `status_version` differs from `since`, or after
        `hold` seconds; 404 when there is no such task."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.hold
        while True:
            status = status_of(self.runs.require_task(task_id))
            remaining = give_up - loop.time()
            if since is None or status_version(status) != since or remaining <= 0 or self._stopped:
                return status
            # No await between reading the status and waiting: no change is missed.
            with self._waiter(task_id) as changed:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(changed, remaining)

    async def serve(self, request: web.Request) -> web.Response:
        """The endpoint: checks its arguments (400), then `next_status`."""
        task_id = request.match_info["taskId"]
        if not re.fullmatch(SLUGID, task_id):  # whole: `$` alone lets a last newline by
            raise _invalid(
                "Invalid URL parameter taskId: {{value}} does not match {{pattern}}",
                value=task_id,
                pattern=SLUGID,
            )
        unknown = sorted(set(request.query) - {"since"})
        if unknown:
            raise _invalid("Unknown query parameters: {{unknown}}", unknown=", ".join(unknown))
        since = request.query.get("since")
        if since is not None and not _SINCE.fullmatch(since):
            raise _invalid(
                "Query-string parameter: since={{value}} is not <runs>:<state> (as `1:running`)",
                value=since,
            )
        return web.json_response({"status": await self.next_status(task_id, since)})


def mount(app: web.Application, runs: Runs) -> StatusWatch:
    """Serve the long poll on `app`; its waits end when the app shuts down."""
    watch = StatusWatch(runs)
    app.router.add_get(ROUTE, watch.serve)

    async def release(_app: web.Application) -> None:
        watch.stop()

    app.on_shutdown.append(release)
    return watch
