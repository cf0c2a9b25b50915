"""The Index v1 API of the sandbox, through the official `taskcluster.Index`:
inserting, finding, listing (paged), ranks, expiry, deletion, errors, scopes."""

from __future__ import annotations

import datetime

import pytest
import requests
import taskcluster
from helpers import expect_error, from_now, new_task_id, raw_request
from index_helpers import fresh_namespace, make_index

from tc_notebook.timestamps import iso, parse_time

API = "/api/index/v1"


@pytest.fixture
def index(sandbox) -> taskcluster.Index:
    """An Index client with the root credentials."""
    return make_index(sandbox, sandbox.credentials)


@pytest.fixture
def ns() -> str:
    """A namespace of the root no other test uses."""
    return fresh_namespace()


def insert(index: taskcluster.Index, path: str, rank: int = 0, **fields) -> dict:
    """insertTask of a fresh task at `path` (fields replace the defaults)."""
    body = {"taskId": new_task_id(), "rank": rank, "data": {}, "expires": from_now(days=1)}
    return index.insertTask(path, {**body, **fields})


def test_insert_then_find(index, ns):
    """insertTask answers what findTask then finds, expiry in Taskcluster's format."""
    task_id = new_task_id()
    body = {"taskId": task_id, "rank": 3, "data": {"k": [1]}, "expires": "2999-01-02T03:04:05Z"}
    answer = index.insertTask(f"{ns}.a.b", body)
    expected = {**body, "namespace": f"{ns}.a.b", "expires": "2999-01-02T03:04:05.000Z"}
    assert answer == expected
    assert index.findTask(f"{ns}.a.b") == expected


def test_every_prefix_becomes_a_namespace(index, sandbox, ns):
    """Indexing a.b.c creates a and a.b, each expiring the midnight after its
    child's expiry (a.b after the task's, a one day later still)."""
    expires = "2999-05-06T07:08:09.000Z"
    insert(index, f"{ns}.a.b.c", expires=expires)
    anonymous = make_index(sandbox)
    top = [n for n in anonymous.listNamespaces("")["namespaces"] if n["name"] == ns]
    assert top == [{"namespace": ns, "name": ns, "expires": "2999-05-09T00:00:00.000Z"}]
    assert anonymous.listNamespaces(ns)["namespaces"] == [
        {"namespace": f"{ns}.a", "name": "a", "expires": "2999-05-08T00:00:00.000Z"}
    ]
    assert anonymous.listNamespaces(f"{ns}.a")["namespaces"] == [
        {"namespace": f"{ns}.a.b", "name": "b", "expires": "2999-05-07T00:00:00.000Z"}
    ]
    assert anonymous.listNamespaces(f"{ns}.a.b")["namespaces"] == []  # c is a task
    assert [t["namespace"] for t in anonymous.listTasks(f"{ns}.a.b")["tasks"]] == [f"{ns}.a.b.c"]


def test_namespaces_only_ever_last_longer(index, ns):
    """A later task pushes its namespaces' expiry back; an earlier one does not."""
    insert(index, f"{ns}.x.late", expires="2999-01-10T00:00:00Z")
    insert(index, f"{ns}.x.early", expires="2999-01-01T00:00:00Z")
    assert index.listNamespaces(ns)["namespaces"][0]["expires"] == "2999-01-11T00:00:00.000Z"
    insert(index, f"{ns}.x.later", expires="2999-02-01T00:00:00Z")
    assert index.listNamespaces(ns)["namespaces"][0]["expires"] == "2999-02-02T00:00:00.000Z"


def test_a_lower_rank_does_not_replace_a_higher_one(index, ns):
    """Same or higher rank replaces the task at a path; lower leaves it, and
    the answer shows what stays."""
    path = f"{ns}.ranked"
    first = insert(index, path, rank=5)
    lower = insert(index, path, rank=4)
    assert lower == first
    assert index.findTask(path)["taskId"] == first["taskId"]
    same = insert(index, path, rank=5, data={"second": True})
    assert index.findTask(path) == same != first
    higher = insert(index, path, rank=6)
    assert index.findTask(path) == higher


def test_expired_tasks_are_neither_found_nor_listed(index, ns):
    """A task indexed with a past expiry is stored, then found nowhere."""
    past = iso(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1))
    answer = insert(index, f"{ns}.old.gone", expires=past)
    assert answer["expires"] == past
    body = expect_error(index.findTask, f"{ns}.old.gone", status=404, code="ResourceNotFound")
    assert body["message"].startswith("Indexed task not found")
    assert body["requestInfo"]["method"] == "findTask"
    assert body["requestInfo"]["params"] == {"indexPath": f"{ns}.old.gone"}
    assert index.listTasks(f"{ns}.old")["tasks"] == []
    insert(index, f"{ns}.old.gone")  # an expired task gives way to any rank
    assert index.findTask(f"{ns}.old.gone")["expires"] > past


def test_delete_task(index, ns):
    """deleteTask forgets the task (not its namespace); deleting nothing is fine."""
    insert(index, f"{ns}.d.task")
    assert index.deleteTask(f"{ns}.d.task") == {}
    expect_error(index.findTask, f"{ns}.d.task", status=404, code="ResourceNotFound")
    assert [n["name"] for n in index.listNamespaces(ns)["namespaces"]] == ["d"]
    assert index.deleteTask(f"{ns}.d.task") == {}


@pytest.mark.parametrize("listing", ["listTasks", "listNamespaces"])
def test_lists_are_paged_in_taskclusters_order(index, ns, listing):
    """limit and continuationToken walk the list in pages, sorted by name as
    Taskcluster's database sorts (case and punctuation second)."""
    names = ["b", "A", "a", "a-1", "c0", "C"]
    for name in names:
        insert(index, f"{ns}.{name}" + (".leaf" if listing == "listNamespaces" else ""))
    key = "tasks" if listing == "listTasks" else "namespaces"
    seen, pages, token = [], 0, None
    while True:
        query = {"limit": 4, **({"continuationToken": token} if token else {})}
        page = getattr(index, listing)(ns, query=query)
        pages += 1
        seen += [item["namespace"] for item in page[key]]
        token = page.get("continuationToken")
        if token is None:
            break
    assert pages == 2
    assert seen == [f"{ns}.{name}" for name in ["a", "A", "a-1", "b", "C", "c0"]]


def test_post_forms_answer_the_first_page(index, sandbox, ns):
    """The deprecated POST forms of the lists answer as the GET forms (to
    anyone, as those), check their body, and take no query."""
    insert(index, f"{ns}.p.task")
    url, root = f"{sandbox.root_url}{API}", sandbox.credentials
    listed = raw_request("POST", f"{url}/namespaces/{ns}", None, {"limit": 5})
    assert listed.status_code == 200, listed.text
    assert [n["namespace"] for n in listed.json()["namespaces"]] == [f"{ns}.p"]
    tasks = raw_request("POST", f"{url}/tasks/{ns}.p", root, {})
    assert [t["namespace"] for t in tasks.json()["tasks"]] == [f"{ns}.p.task"]
    bad_body = raw_request("POST", f"{url}/namespaces/{ns}", root, {"limit": 0})
    assert bad_body.json()["code"] == "InputValidationError"
    paged = raw_request("POST", f"{url}/namespaces/{ns}?limit=1", root, {})
    assert paged.json()["code"] == "InvalidRequestArguments"


def test_find_tasks_at_index(index, ns):
    """findTasksAtIndex answers the tasks at the paths asked, in that order,
    skipping paths with nothing (or no dot)."""
    second = insert(index, f"{ns}.two")
    first = insert(index, f"{ns}.one")
    answer = index.findTasksAtIndex(
        {"indexes": [f"{ns}.one", f"{ns}.none", f"{ns}.two", ns]}
    )
    assert answer["tasks"] == [first, second]


@pytest.mark.parametrize(
    "path", ["a..b", ".a", "a.", "a b", "a/b", "é"], ids=["empty-part", "lead", "trail", "space",
                                                         "slash", "accent"]
)
def test_paths_must_be_namespaces(index, path):
    """A path that is not a dotted list of allowed names is a 400."""
    body = expect_error(index.findTask, path, status=400, code="InvalidRequestArguments")
    assert "indexPath" in body["message"]


def test_insert_checks_its_body(index, ns):
    """insertTask's body follows its schema: ranks are whole numbers."""
    body = {"taskId": new_task_id(), "rank": 1.5, "data": {}, "expires": from_now(days=1)}
    err = expect_error(index.insertTask, f"{ns}.x", body, status=400, code="InputValidationError")
    assert "/schemas/index/v1/insert-task-request.json" in err["message"]
    expect_error(index.insertTask, f"{ns}.x", {**body, "rank": 1, "taskId": "nope"},
                 status=400, code="InputValidationError")


def test_scopes_of_writes(sandbox, ns):
    """insertTask needs index:insert-task:<path>, deleteTask
    index:delete-task:<path>; a 403 names the scope; bad credentials are a 401."""
    scopes = [f"index:insert-task:{ns}.mine.*", f"index:delete-task:{ns}.mine.one"]
    client_id = f"index-writer-{ns}"
    token = sandbox.add_client(client_id, scopes)
    writer = make_index(sandbox, {"clientId": client_id, "accessToken": token})
    insert(writer, f"{ns}.mine.one")
    body = expect_error(insert, writer, f"{ns}.theirs.one", status=403, code="InsufficientScopes")
    assert f"index:insert-task:{ns}.theirs.one" in body["message"]
    assert writer.deleteTask(f"{ns}.mine.one") == {}
    body = expect_error(writer.deleteTask, f"{ns}.mine.two", status=403, code="InsufficientScopes")
    assert f"index:delete-task:{ns}.mine.two" in body["message"]
    expect_error(insert, make_index(sandbox), f"{ns}.mine.x", status=403, code="InsufficientScopes")
    wrong = make_index(sandbox, {"clientId": client_id, "accessToken": "x" * 44})
    expect_error(insert, wrong, f"{ns}.mine.x", status=401, code="AuthenticationFailed")


def test_reading_needs_no_credentials(index, sandbox, ns):
    """Anyone may find and list, as the anonymous role of a deployment allows."""
    inserted = insert(index, f"{ns}.r.t")
    anonymous = make_index(sandbox)
    assert anonymous.findTask(f"{ns}.r.t") == inserted
    assert anonymous.listTasks(f"{ns}.r")["tasks"] == [inserted]


def test_service_entries(sandbox):
    """ping, the heartbeats, HEAD and OPTIONS, and the index's own schemas."""
    anonymous = make_index(sandbox)
    assert anonymous.ping()["alive"] is True
    assert anonymous.heartbeat() == {}
    assert anonymous.lbheartbeat() == {}
    url = f"{sandbox.root_url}{API}"
    head = requests.head(f"{url}/task/nothing.here", timeout=10)
    assert head.status_code == 404 and head.content == b""
    options = requests.options(f"{url}/task/a.b", timeout=10)
    assert options.headers["Allow"] == "DELETE, GET, HEAD, PUT"
    assert requests.get(f"{url}/namespaces", timeout=10).json()["namespaces"] is not None
    unknown = requests.get(f"{url}/nothing", timeout=10)
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Not found"})
    schema = requests.get(f"{sandbox.root_url}/schemas/index/v1/insert-task-request.json",
                          timeout=10)
    assert schema.json()["$id"] == "/schemas/index/v1/insert-task-request.json#"


def test_expiry_is_kept_to_the_millisecond(index, ns):
    """An expiry with an offset or more digits is answered in UTC, to the ms."""
    answer = insert(index, f"{ns}.tz", expires="2999-01-01T01:00:00.123456+01:00")
    assert answer["expires"] == "2999-01-01T00:00:00.123Z"
    assert parse_time(index.findTask(f"{ns}.tz")["expires"]).microsecond == 123000
