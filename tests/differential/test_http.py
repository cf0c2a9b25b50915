"""Differential scenarios at the HTTP level: HEAD and OPTIONS, the CORS and
caching headers of every answer, page sizes of 0 and tokens the queue never
handed out, and request bodies that are not JSON objects."""

from __future__ import annotations

import pytest
import requests

from .harness import Ids, Pair, Recorder, Scenario, Target, each_scenario

pytestmark = pytest.mark.differential

# Headers a browser acts on (CORS) or a cache does; compared as they are.
SHARED_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "cache-control",
)


def _group(t: Target, rec: Recorder, ids: Ids) -> tuple[str, str]:
    """A group of three tasks, two depending on the first: (taskGroupId, first)."""
    q = t.queue()
    group, first = ids.task("group"), ids.task("first")
    tq = ids.queue("http")
    rec("first", q.createTask, first, ids.definition(tq, taskGroupId=group)).expect()
    for name in ("second", "third"):
        rec(name, q.createTask, ids.task(name),
            ids.definition(tq, taskGroupId=group, dependencies=[first])).expect()
    return group, first


def methods(t: Target, rec: Recorder, ids: Ids) -> None:
    """HEAD answers as GET without the body; OPTIONS names a path's methods."""
    _, first = _group(t, rec, ids)
    head = {"method": "HEAD"}
    rec.http("HEAD ping", "ping", t.api_url("/ping"), **head)
    rec.http("HEAD a task's status", "status", t.api_url(f"/task/{first}/status"), **head)
    rec.http("HEAD an unknown task", "status",
             t.api_url(f"/task/{ids.task('unknown')}/status"), **head)
    rec.http("HEAD with a bad query", "listTaskGroup",
             t.api_url(f"/task-group/{first}/list?limit=x"), **head)
    rec.http("HEAD on a POST-only entry", "cancelTask",
             t.api_url(f"/task/{first}/cancel"), **head)
    rec.http("OPTIONS ping", "ping", t.api_url("/ping"), method="OPTIONS")
    rec.http("OPTIONS a task", "task", t.api_url(f"/task/{first}"), method="OPTIONS")
    rec.http("OPTIONS an artifact", "getArtifact",
             t.api_url(f"/task/{first}/runs/0/artifacts/public/x"), method="OPTIONS")


def paging(t: Target, rec: Recorder, ids: Ids) -> None:
    """limit=0 and continuation tokens the queue never handed out."""
    group, first = _group(t, rec, ids)
    anon = t.anonymous()
    for limit in ("0", "1"):
        rec(f"limit={limit}", anon.listTaskGroup, group, query={"limit": limit})
        rec(f"limit={limit}", anon.listDependentTasks, first, query={"limit": limit})
    for token in ("garbage", "W10", "MA==", "a-b"):
        rec(f"token {token}", anon.listTaskGroup, group, query={"continuationToken": token})
        rec(f"token {token}", anon.listDependentTasks, first,
            query={"continuationToken": token})
    rec("token garbage, limit=1", anon.listTaskGroup, group,
        query={"continuationToken": "garbage", "limit": "1"})
    rec("token garbage, limit=0", anon.listTaskGroup, group,
        query={"continuationToken": "garbage", "limit": "0"})


def bodies(t: Target, rec: Recorder, ids: Ids) -> None:
    """Bodies that are not JSON, or JSON but neither an object nor an array."""
    create = t.api_url(f"/task/{ids.task('never')}")
    cancel = t.api_url(f"/task/{ids.task('unknown')}/cancel")
    as_json = {"Content-Type": "application/json"}
    for name, body in (("not JSON", b"{nope"), ("a string", b' "x" '), ("a number", b"3"),
                       ("true", b"true"), ("null", b"null"), ("an array", b"[]")):
        rec.http(name, "createTask", create, method="PUT", data=body, headers=as_json)
    rec.http("charset parameter", "createTask", create, method="PUT", data=b"3",
             headers={"Content-Type": "application/json; charset=utf-8"})
    rec.http("text/plain", "createTask", create, method="PUT", data=b"{}",
             headers={"Content-Type": "text/plain"})
    rec.http("not JSON", "cancelTask", cancel, method="POST", data=b"{nope", headers=as_json)
    rec.http("a string", "cancelTask", cancel, method="POST", data=b'"x"', headers=as_json)
    rec.http("an array", "cancelTask", cancel, method="POST", data=b"[1]", headers=as_json)
    rec.http("not JSON, text/plain", "cancelTask", cancel, method="POST", data=b"{nope",
             headers={"Content-Type": "text/plain"})


@each_scenario(methods, paging, bodies)
def test_http_calls(pair: Pair, scenario: Scenario) -> None:
    """HEAD, OPTIONS, paging edge cases and malformed bodies answer alike."""
    pair.run(scenario)


def _headers(t: Target, method: str, path: str, **kwargs: object) -> dict[str, str | None]:
    response = requests.request(method, t.api_url(path), timeout=30, **kwargs)
    return {name: response.headers.get(name) for name in SHARED_HEADERS}


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/ping", None),
    ("HEAD", "/ping", None),
    ("OPTIONS", "/task/nCgRsLkbTDSsbLvzf1lpaA", None),
    ("GET", "/task/nCgRsLkbTDSsbLvzf1lpaA/status", None),  # a 404
    ("PUT", "/task/nCgRsLkbTDSsbLvzf1lpaA", b"{nope"),  # a 400
    ("POST", "/task/nCgRsLkbTDSsbLvzf1lpaA/cancel", None),  # a 404 (no such task)
])
def test_cors_and_cache_headers(pair: Pair, method: str, path: str, body: bytes | None) -> None:
    """Every answer, errors included, carries the CORS and caching headers the rig sends."""
    headers = {"Content-Type": "application/json"}
    sandbox = _headers(pair.sandbox, method, path, data=body, headers=headers)
    rig = _headers(pair.rig, method, path, data=body, headers=headers)
    assert rig["access-control-allow-origin"] == "*"
    assert sandbox == rig
