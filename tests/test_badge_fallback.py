"""StatusBadge where there is no long poll to wait on: it polls `queue.status`,
never more than 2 s apart (the tutorial's loop). A stand-in for a
deployment's ingress sits in front of the module's sandbox and passes on the
Queue's API only (as Taskcluster routes each service's path to it), so the
sandbox's own path is a 404 there, as on Taskcluster; on loopback the badge
tries the long poll once, then polls; on any other host it never tries."""

from __future__ import annotations

import time

import aiohttp
import pytest
from aiohttp import web
from widget_helpers import create, run, until
from widget_lifecycle import UNSERVED, displayed

from tc_notebook.connection import Connection
from tc_notebook.sandbox import status_watch
from tc_notebook.widgets import StatusBadge, long_poll, polling
from tc_notebook.widgets.long_poll import LongPoll

SANDBOX_PATH = "/api/sandbox/"


class Ingress:
    """Serves GETs of `/api/queue/v1/…` from `upstream`, 404 for any other
    path; records each path asked, with when."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.asked: list[tuple[float, str]] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self, host: str) -> str:
        """Serve on `host` (any free port); returns the root URL."""
        app = web.Application()
        app.router.add_get(r"/{tail:[\s\S]*}", self._pass_on)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        self._session = aiohttp.ClientSession()
        return f"http://{host}:{site._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        await self._session.close()
        await self._runner.cleanup()

    def paths(self, fragment: str = "") -> list[str]:
        return [path for _when, path in self.asked if fragment in path]

    async def _pass_on(self, request: web.Request) -> web.Response:
        self.asked.append((time.monotonic(), request.path))
        if not request.path.startswith("/api/queue/v1/"):
            return web.json_response({"code": "ResourceNotFound"}, status=404)
        async with self._session.get(self.upstream + request.path_qs) as answer:
            body = await answer.read()
            return web.Response(body=body, status=answer.status,
                                content_type=answer.content_type)


async def ingress_on(conn: Connection, host: str) -> tuple[Ingress, Connection]:
    """An ingress in front of `conn`'s sandbox, and an anonymous connection
    through it (status is public)."""
    ingress = Ingress(conn.root_url)
    return ingress, Connection(await ingress.start(host))


def test_on_loopback_without_the_endpoint_it_polls_after_one_try(conn, gate):
    """Taskcluster on this machine (the rig, say): one 404 from the long poll,
    `queue.status` answers, the badge polls from then on, and so do later
    badges of that root URL."""

    async def body():
        ingress, through = await ingress_on(conn, "127.0.0.1")
        try:
            task_id = create(conn, gate.wait())
            badge = displayed(StatusBadge(through, task_id))
            await until(lambda: badge.state == "running")
            gate.open()
            assert await badge.wait() == "completed"
            assert len(ingress.paths(SANDBOX_PATH)) == 1, ingress.paths()
            assert len(ingress.paths(f"/api/queue/v1/task/{task_id}/status")) >= 2
            later = StatusBadge(Connection(through.root_url), create(conn, "true"))
            assert await later.wait() == "completed"
            assert len(ingress.paths(SANDBOX_PATH)) == 1, ingress.paths()
            assert not LongPoll(through, task_id).usable
        finally:
            await ingress.stop()

    run(body)


def test_on_a_deployment_it_never_asks_and_polls_at_most_2_s_apart(conn):
    """A root URL on another host (127.0.0.2 is not one of the kit's loopback
    names): no long poll; a pending task's status asked at intervals that grow
    to 2 s and no further."""
    assert max(polling.POLL_INTERVALS) == 2.0
    schedule = polling.Schedule()
    assert max(schedule.next() for _ in range(50)) == 2.0

    async def body():
        ingress, through = await ingress_on(conn, "127.0.0.2")
        assert through.has_web_ui  # the kit takes it for a deployment
        task_id = create(conn, "true", **UNSERVED)
        badge = StatusBadge(through, task_id)
        try:
            badge.watch()
            await until(lambda: len(ingress.asked) >= 9, message="nine status requests")
            badge.close()
            times = [when for when, _path in ingress.asked]
            gaps = [later - earlier for earlier, later in zip(times[:-1], times[1:], strict=True)]
            assert max(gaps) < 2.5, gaps
            assert gaps[-1] > 1.8, gaps  # grown to the 2 s of the tutorial's loop
            assert ingress.paths(SANDBOX_PATH) == []
            assert badge.state == "pending"
        finally:
            badge.close()
            await ingress.stop()
            conn.queue.cancelTask(task_id)

    run(body)


def test_any_failure_of_the_long_poll_falls_back_to_polling(conn, gate, monkeypatch):
    """The sandbox refuses every wait (429, no room): the badge polls
    `queue.status` and still follows its task to the end; it tries the long
    poll again (a 429 is no sign that there is none)."""
    monkeypatch.setattr(status_watch, "MAX_PER_TASK", 0)
    loopback = Connection(conn.root_url, conn.credentials)

    async def body():
        task_id = create(conn, gate.wait())
        badge = displayed(StatusBadge(loopback, task_id))
        await until(lambda: badge.state == "running")
        polls = badge.polls
        await until(lambda: badge.polls >= polls + 4, message="more polls")
        gate.open()
        assert await badge.wait() == "completed"
        assert LongPoll(loopback, task_id).usable
        assert conn.sandbox.server.status_watch.waited_on == []

    run(body)


def test_past_the_kernels_bound_on_held_polls_badges_poll(conn, gate, monkeypatch):
    """At most `MAX_HELD` long polls under way (the session's connections are
    shared with every widget): one more badge polls instead, and both follow
    their tasks to the end."""
    monkeypatch.setattr(long_poll, "MAX_HELD", 1)
    watch = conn.sandbox.server.status_watch

    async def body():
        first, second = (create(conn, gate.wait()) for _ in range(2))
        waiting = displayed(StatusBadge(conn, first))
        await until(lambda: watch.waited_on == [first], message="the first badge waiting")
        polling_badge = displayed(StatusBadge(conn, second))
        await until(lambda: polling_badge.polls >= 4 and polling_badge.state == "running")
        assert second not in watch.waited_on  # it polls, never waiting at the sandbox
        gate.open()
        assert [await waiting.wait(), await polling_badge.wait()] == ["completed"] * 2

    run(body)


@pytest.mark.parametrize("answer", [b"not json", b'{"status": {"state": "completed"}}', b"[]"])
def test_a_strange_answer_is_a_failure_too(answer):
    """Something on loopback answers the path with what is no task status:
    the badge takes nothing from it (and the queue's own answer is used)."""

    async def serve(_request: web.Request) -> web.Response:
        return web.Response(body=answer, content_type="application/json")

    async def body():
        app = web.Application()
        app.router.add_get(r"/{tail:[\s\S]*}", serve)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            port = site._server.sockets[0].getsockname()[1]
            pushes = LongPoll(Connection(f"http://127.0.0.1:{port}"), "fake-task")
            assert pushes.usable and await pushes.status({}) is None
            assert not pushes.refused
        finally:
            await runner.cleanup()

    run(body)
