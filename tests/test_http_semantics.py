"""HTTP-level behaviour of the queue API as Taskcluster's services have it:
HEAD and OPTIONS, CORS and caching headers, page sizes of 0, continuation
tokens the queue never handed out, and bodies that are not JSON objects."""

from __future__ import annotations

import pytest
import requests
import taskcluster
from helpers import API, make_task, new_queue_id, new_task_id

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Max-Age": "900",
    "Access-Control-Allow-Methods": "OPTIONS,GET,HEAD,POST,PUT,DELETE,TRACE,CONNECT",
    "Access-Control-Allow-Headers": (
        "X-Requested-With,Content-Type,Authorization,Accept,Origin,Cache-Control"
    ),
    "Cache-Control": "no-store no-cache must-revalidate",
}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def group(queue) -> tuple[str, str]:
    """A task group of three tasks, two depending on the first: (taskGroupId, first)."""
    group_id, first, tq = new_task_id(), new_task_id(), new_queue_id()
    queue.createTask(first, make_task(tq, taskGroupId=group_id))
    for _ in range(2):
        queue.createTask(new_task_id(), make_task(tq, taskGroupId=group_id, dependencies=[first]))
    return group_id, first


def _url(root_url: str, path: str) -> str:
    return f"{root_url}{API}{path}"


def _assert_cors(response: requests.Response) -> None:
    assert {name: response.headers.get(name) for name in CORS} == CORS


# -- HEAD, OPTIONS and headers ---------------------------------------------------


def test_head_answers_as_get_without_body(root_url, pending_task):
    """HEAD on a GET entry: the GET's status and headers, no body."""
    url = _url(root_url, f"/task/{pending_task}/status")
    got = requests.get(url, timeout=10)
    head = requests.head(url, timeout=10)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["Content-Type"] == got.headers["Content-Type"]
    _assert_cors(head)
    unknown = requests.head(_url(root_url, f"/task/{new_task_id()}/status"), timeout=10)
    assert (unknown.status_code, unknown.content) == (404, b"")
    bad_query = requests.head(_url(root_url, f"/task-group/{pending_task}/list?limit=x"),
                              timeout=10)
    assert bad_query.status_code == 400


def test_head_on_other_entries_is_404(root_url, pending_task):
    """Only GET entries answer HEAD."""
    res = requests.head(_url(root_url, f"/task/{pending_task}/cancel"), timeout=10)
    assert res.status_code == 404


@pytest.mark.parametrize(("path", "allowed"), [
    ("/ping", "GET, HEAD"),
    ("/task/{task}", "GET, HEAD, PUT"),
    ("/task/{task}/runs/0/artifacts/public/x", "GET, HEAD, POST, PUT"),
])
def test_options_names_the_methods(root_url, path, allowed):
    """OPTIONS (a CORS preflight) names the path's methods, with the CORS headers."""
    res = requests.options(_url(root_url, path.format(task=new_task_id())), timeout=10)
    assert res.status_code == 200
    assert res.headers["Allow"] == res.text == allowed
    _assert_cors(res)


def test_options_on_unknown_path_is_404(root_url):
    """A path no entry has: 404 as Taskcluster's web framework answers it."""
    res = requests.options(_url(root_url, "/no/such/entry"), timeout=10)
    assert (res.status_code, res.json()) == (404, {"error": "Not found"})
    _assert_cors(res)


def test_every_answer_has_cors_and_cache_headers(root_url, queue, pending_task):
    """Successes, errors (from the entry or from no entry) and redirects alike."""
    _assert_cors(requests.get(_url(root_url, "/ping"), timeout=10))
    _assert_cors(requests.get(_url(root_url, f"/task/{new_task_id()}"), timeout=10))
    _assert_cors(requests.get(_url(root_url, "/nope"), timeout=10))
    _assert_cors(requests.put(_url(root_url, f"/task/{new_task_id()}"), data=b"{",
                              headers=JSON, timeout=10))
    _assert_cors(requests.post(_url(root_url, f"/task/{pending_task}/cancel"), timeout=10))


# -- paging ----------------------------------------------------------------------


def test_limit_zero_gives_no_token(anon, group):
    """limit=0 from the start: no tasks and no token (nothing to loop on)."""
    group_id, first = group
    page = anon.listTaskGroup(group_id, query={"limit": 0})
    assert page["tasks"] == [] and "continuationToken" not in page
    page = anon.listDependentTasks(first, query={"limit": 0})
    assert page["tasks"] == [] and "continuationToken" not in page


def test_pages_of_one_reach_the_end(anon, group):
    """Following tokens page by page lists each task once, then stops."""
    group_id, _ = group
    seen: list[str] = []
    query: dict = {"limit": 1}
    for _ in range(4):
        page = anon.listTaskGroup(group_id, query=query)
        seen += [t["status"]["taskId"] for t in page["tasks"]]
        if "continuationToken" not in page:
            break
        query = {"limit": 1, "continuationToken": page["continuationToken"]}
    assert len(seen) == len(set(seen)) == 3
    assert "continuationToken" not in page


@pytest.mark.parametrize("token", ["garbage", "W10", "A" * 100])
def test_unknown_token_starts_over(anon, group, token):
    """A token of letters and digits the queue never handed out starts the list over."""
    group_id, first = group
    assert len(anon.listTaskGroup(group_id, query={"continuationToken": token})["tasks"]) == 3
    assert len(anon.listDependentTasks(first, query={"continuationToken": token})["tasks"]) == 2


@pytest.mark.parametrize("token", ["MA==", "a-b", "abc!"])
def test_token_with_other_characters_is_400(root_url, group, token):
    """By-offset lists refuse a token with a character none of theirs has."""
    group_id, _ = group
    res = requests.get(_url(root_url, f"/task-group/{group_id}/list"),
                       params={"continuationToken": token}, timeout=10)
    assert res.status_code == 400
    assert res.json()["code"] == "InputError"


def test_artifact_list_limit_zero_and_unknown_token(anon, running):
    """listArtifacts: limit=0 is an empty page without a token; an unknown token
    (any characters) starts over."""
    task_id, _, worker = running
    for name in ("public/a", "public/b"):
        worker.createArtifact(task_id, 0, name, {
            "storageType": "reference", "url": "https://example.com/x",
            "expires": taskcluster.fromNowJSON("1 hour"), "contentType": "text/plain"})
    assert anon.listArtifacts(task_id, 0, query={"limit": 0}) == {"artifacts": []}
    for token in ("garbage", "MA==", "a-b"):
        page = anon.listArtifacts(task_id, 0, query={"continuationToken": token})
        assert [a["name"] for a in page["artifacts"]] == ["public/a", "public/b"]


# -- bodies ----------------------------------------------------------------------


@pytest.mark.parametrize(("body", "payload"), [
    (b"{nope", "{nope"),
    (b' "x" ', "x"),
    (b"3", 3),
    (b"true", True),
    (b"null", None),
])
@pytest.mark.parametrize("path", ["/task/{task}", "/task/{task}/cancel"])
def test_body_not_an_object_or_array(root_url, body, payload, path):
    """An application/json body that is not JSON, or JSON but neither object nor
    array: 400 MalformedPayload, showing the text or value, for every entry."""
    method = "PUT" if path == "/task/{task}" else "POST"
    res = requests.request(method, _url(root_url, path.format(task=new_task_id())),
                           data=body, headers=JSON, timeout=10)
    assert res.status_code == 400
    error = res.json()
    assert error["code"] == "MalformedPayload"
    assert error["message"].startswith("Failed to parse JSON: ")
    assert error["requestInfo"]["payload"] == payload


def test_array_body_fails_the_schema(root_url):
    res = requests.put(_url(root_url, f"/task/{new_task_id()}"), data=b"[]", headers=JSON,
                       timeout=10)
    assert res.status_code == 400
    assert res.json()["code"] == "InputValidationError"


def test_other_content_type_names_it(root_url):
    res = requests.put(_url(root_url, f"/task/{new_task_id()}"), data=b"{}",
                       headers={"Content-Type": "text/plain"}, timeout=10)
    assert res.status_code == 400
    assert res.json()["code"] == "MalformedPayload"
    assert "got content-type: text/plain" in res.json()["message"]
