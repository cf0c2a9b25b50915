"""Fuzzing URLs: malformed values in each URL parameter of every entry of
`api.ENTRIES`, malformed pagination queries, queries no entry takes, paths under
the API prefix that are no entry, generated combinations of these, and the
sandbox's own routes (blobs, schemas). test_read_back then reads back what the
cases created, here and in test_fuzz_bodies.py (which runs before, on the same
sandbox). The sandbox, and what every answer is checked for: fuzz_world.py.
"""

from __future__ import annotations

import base64
import datetime
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from fuzz_requests import API, Raw, dumps, nested
from fuzz_strategies import FUZZ, _iso
from fuzz_world import EMPTY_QUEUE, GEN_QUEUE, Fuzz, World, _target
from helpers import make_task, new_task_id
from hypothesis import given, settings
from hypothesis import strategies as st

from tc_notebook.sandbox import api

# URL segments as sent, percent-encoded where needed: thousands of digits, > 2**63,
# CR/LF/NUL, dot segments, ² ٣ １ 𝟗, a UTF-8 lone surrogate, broken escapes
SEGMENTS = ["9" * 5000, str(2**63), str(2**64), "a" * 300]
SEGMENTS += "-1 1e3 0x10 %0A 0%0A %0D 0%0D%0A %00 0%00 .. . %2E%2E %2F ..%2F..".split()
SEGMENTS += "%C2%B2 %D9%A3 %EF%BC%91 %F0%9D%9F%97 %ED%A0%80 %zz % %E9 +1 %201".split()
RUN_SEGMENTS = "0%0A 0%0D %200 0%20 +0 -0 0.0 00 %C2%B2".split()
NAME_SEGMENTS = "public/%0A public/.. public/../private/fuzz.txt public%2Ffuzz.txt".split()
NAME_SEGMENTS += "public/%2E%2E/%2E%2E/%2E%2E public/fuzz.txt%00 public/%C2%B2".split()
NAME_SEGMENTS += ["public/%ED%A0%80", "private/fuzz.txt", "public/" + "a" * 5000, "../" * 8]
QUEUE_SEGMENTS = ["a/b%0A", "fuzz-prov/%0A", "a" * 40 + "/b", "a/B", "a", "a//b", "a/b/c", ".."]
IDENTIFIER_SEGMENTS = ["a" * 39, "a%2Fb", "a.b", "%C3%A9", "a%0A", "-" * 38]
LIMITS = ["5%0A", "99999999999999999999999", "-1", "", "1e3", "%C2%B2", "0", "9" * 5000, "%0A5"]
UNKNOWN_QUERIES = ["foo=bar", "%00=1", "limit", "=", "&&&", "a=%zz", "LIMIT=1", "limit=1&limit=x"]


def b64_token(tree: Any) -> str:
    """A continuation token as the sandbox writes them: URL-safe base64 of JSON."""
    return base64.urlsafe_b64encode(dumps(tree).encode()).decode()


# -- URL parameters and queries --------------------------------------------------------


def _valid_params(world: World, entry: api.Entry) -> dict[str, str]:
    """URL parameters that pass the entry's checks (a task fit for what it does)."""
    task_id = world.running
    if entry.name == "createArtifact":
        task_id = world.scratch
    elif entry.method == "POST":
        task_id = world.victim
    elif entry.name == "createTask":
        task_id = new_task_id()
    return {
        "taskId": task_id,
        "taskGroupId": world.running,
        "runId": "0",
        "taskQueueId": EMPTY_QUEUE,
        "name": "public/url" if entry.name == "createArtifact" else "public/fuzz.txt",
        "provisionerId": EMPTY_QUEUE.split("/")[0],
        "workerType": EMPTY_QUEUE.split("/")[1],
        "workerGroup": "fuzz",
        "workerId": "w",
    }


def _valid_body(entry: api.Entry) -> tuple[bytes, str | None]:
    """A body the entry accepts, and its content type."""
    bodies = {
        "v1/create-task-request.json#": make_task(GEN_QUEUE),
        "v1/post-artifact-request.json#": {
            "storageType": "s3",
            "contentType": "text/plain",
            "expires": _iso(datetime.timedelta(days=1)),
        },
        "v1/claim-work-request.json#": {"workerGroup": "fuzz", "workerId": "w", "tasks": 1},
        "v1/task-claim-request.json#": {"workerGroup": "fuzz", "workerId": "w"},
        "v1/task-exception-request.json#": {"reason": "malformed-payload"},
        "v1/finish-artifact-request.json#": {"uploadId": new_task_id()},
        "v1/tasks-request.json#": {"taskIds": [new_task_id()]},
        "v1/change-task-priority-request.json#": {"newPriority": "low"},
        "v1/quarantine-worker-request.json#": {"quarantineUntil": _iso(datetime.timedelta(0))},
        "v1/update-worker-request.json#": {"expires": _iso(datetime.timedelta(days=1))},
    }
    if entry.input is None:
        return b"", None
    return json.dumps(bodies[entry.input]).encode(), "application/json"


def _segments(param: str, world: World) -> list[str]:
    """Malformed values for one URL parameter."""
    running = world.running
    extra = {
        "taskId": [f"{running}%0A", f"%0A{running}", running[:-1] + "%0D"],
        "taskGroupId": [f"{running}%0A"],
        "runId": RUN_SEGMENTS,
        "name": NAME_SEGMENTS,
        "taskQueueId": QUEUE_SEGMENTS,
    }
    return SEGMENTS + extra.get(param, IDENTIFIER_SEGMENTS)


@pytest.mark.parametrize("entry", api.ENTRIES, ids=lambda e: e.name)
def test_url_parameters(fuzz: Fuzz, entry: api.Entry):
    """Each malformed value in each URL parameter of the entry, signed and unsigned."""
    body, content_type = _valid_body(entry)
    for param in entry.route_params:
        for value in _segments(param, fuzz.world):
            params = {**_valid_params(fuzz.world, entry), param: value}
            target = _target(entry, params)
            for signed in (False, True):
                fuzz.request(entry.method, target, body, content_type=content_type, signed=signed)
    fuzz.finish()


def _tokens(world: World) -> list[str]:
    """Malformed continuation tokens, percent-encoded."""
    running = world.running
    trees = [nested(2500), nested(900), -1, "x", "\ud800", [running, 0, "public/a"]]
    trees += [Raw("1" + "0" * 4000), Raw(str(2**63)), Raw(str(2**64)), Raw("1e400"), Raw("NaN")]
    trees += [[running, 10**30, "public/a"], [running, 0, nested(900)], [running, Raw("NaN"), "a"]]
    tokens = [urllib.parse.quote(b64_token(tree), safe="") for tree in trees]
    return tokens + ["!!!", "%00", "%zz", "=", "a", base64.urlsafe_b64encode(b"\xff\xfe").decode()]


@pytest.mark.parametrize("entry", [e for e in api.ENTRIES if e.query], ids=lambda e: e.name)
def test_pagination_queries(fuzz: Fuzz, entry: api.Entry):
    """Malformed limit and continuationToken values, and unknown query parameters."""
    params = _valid_params(fuzz.world, entry)
    tokens = _tokens(fuzz.world)
    queries = [f"limit={v}" for v in LIMITS] + UNKNOWN_QUERIES
    queries += [f"continuationToken={t}" for t in tokens]
    queries += [f"limit=1&continuationToken={t}" for t in tokens[:4]]
    for query in queries:
        for signed in (False, True):
            fuzz.request(entry.method, _target(entry, params, query), signed=signed)
    fuzz.finish()


def test_queries_everywhere(fuzz: Fuzz):
    """Query parameters that no entry takes (or pagination where there is none)."""
    queries = UNKNOWN_QUERIES + ["limit=1", "continuationToken=x", "bewit", "%0A=%0D"]
    for entry in api.ENTRIES:
        body, content_type = _valid_body(entry)
        for query in queries:
            target = _target(entry, _valid_params(fuzz.world, entry), query)
            fuzz.request(entry.method, target, body, content_type=content_type)
    fuzz.finish()


def test_api_paths(fuzz: Fuzz):
    """Paths under the API prefix that are no entry, and methods no entry has."""
    running = fuzz.world.running
    paths = ["", "/", "/..", "/../..", "/%2E%2E", "//ping", "/ping/", "/PING", "/ping%00"]
    paths += ["/task", "/task/", f"/task/{running}/", f"/task/{running}/status/.."]
    paths += [f"/task/{running}/runs/0/artifacts/" + "../" * 9, "/" + "a" * 6000]
    paths += ["/%ED%A0%80", "/task/%", "/task/%zz/status"]
    for path in paths:
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            fuzz.request(method, API + path)
    fuzz.finish()


def test_url_generated(fuzz: Fuzz):
    """Generated entry/parameter/value/query combinations, signed or not."""
    world = fuzz.world
    values = (
        st.sampled_from(SEGMENTS + RUN_SEGMENTS + NAME_SEGMENTS + QUEUE_SEGMENTS)
        | st.text(min_size=1, max_size=30).map(lambda s: urllib.parse.quote(s, safe=""))
        | st.integers(-(2**70), 2**70).map(str)
    )
    pairs = st.tuples(
        st.sampled_from(["limit", "continuationToken", "bewit", "foo", ""]),
        values | st.sampled_from(_tokens(world)),
    )
    queries = st.lists(pairs.map("=".join), max_size=3).map("&".join)

    @settings(FUZZ, max_examples=150)
    @given(entry=st.sampled_from(api.ENTRIES), data=st.data(), signed=st.booleans())
    def case(entry: api.Entry, data: st.DataObject, signed: bool) -> None:
        """One generated case."""
        params = _valid_params(world, entry)
        for param in entry.route_params:
            if data.draw(st.booleans()):
                params[param] = data.draw(values)
        body, content_type = _valid_body(entry)
        target = _target(entry, params, data.draw(queries))
        fuzz.request(entry.method, target, body, content_type=content_type, signed=signed)

    case()
    fuzz.finish()


def test_read_back(fuzz: Fuzz):
    """What the cases above created reads back without a failure: each task (with
    its group and dependents), every artifact of the scratch run, and the generated
    tasks that are pending, claimed and driven with their claims' credentials."""
    for task_id in fuzz.created_tasks:
        answer = fuzz.request("GET", f"{API}/task/{task_id}")
        for route in ("status", "dependents"):
            fuzz.request("GET", f"{API}/task/{task_id}/{route}")
        if answer.status == 200:
            group = urllib.parse.quote(str(json.loads(answer.body).get("taskGroupId")), safe="")
            fuzz.request("GET", f"{API}/task-group/{group}/list")
    scratch = fuzz.world.scratch
    for route in ("runs/0/artifacts", "artifacts"):
        fuzz.request("GET", f"{API}/task/{scratch}/{route}")
    for name in fuzz.created_artifacts:
        quoted = urllib.parse.quote(name, safe="")
        for route in ("runs/0/artifact-info", "artifact-info", "runs/0/artifacts", "artifacts"):
            fuzz.request("GET", f"{API}/task/{scratch}/{route}/{quoted}", signed=True)
        fuzz.request("GET", f"{API}/task/{scratch}/artifact-content/{quoted}", signed=True)
    for claim in _claims(fuzz, GEN_QUEUE):
        _drive(fuzz, claim)
    fuzz.finish()


def _claims(fuzz: Fuzz, queue_id: str) -> Iterator[dict]:
    """Claim every pending task of a queue, 32 at a time, as a root-signed worker."""
    body = json.dumps({"workerGroup": "fuzz", "workerId": "reader", "tasks": 32}).encode()
    for _ in range(20):
        answer = fuzz.request(
            "POST",
            f"{API}/claim-work/{queue_id}",
            body,
            content_type="application/json",
            signed=True,
        )
        claims = json.loads(answer.body).get("tasks", []) if answer.status == 200 else []
        if not claims:
            return
        yield from claims


def _drive(fuzz: Fuzz, claim: dict) -> None:
    """reclaimTask, createArtifact and reportCompleted with the claim's credentials."""
    task_id, run = claim["status"]["taskId"], claim["runId"]
    prefix = f"{API}/task/{task_id}/runs/{run}"
    answer = fuzz.request("POST", f"{prefix}/reclaim", signed=claim["credentials"])
    creds = json.loads(answer.body)["credentials"] if answer.status == 200 else claim["credentials"]
    artifact = {
        "storageType": "s3",
        "contentType": "text/plain",
        "expires": _iso(datetime.timedelta(1)),
    }
    body = json.dumps(artifact).encode()
    fuzz.request(
        "POST",
        f"{prefix}/artifacts/public/read-back",
        body,
        content_type="application/json",
        signed=creds,
    )
    fuzz.request("POST", f"{prefix}/completed", signed=creds)


# -- the sandbox's own routes ----------------------------------------------------------


def test_blob_routes(fuzz: Fuzz):
    """/sandbox/blobs/<taskId>/<runId>/<name> with malformed parts and signatures."""
    running = fuzz.world.running
    targets = [f"/sandbox/blobs/{running}/{run}/public/fuzz.txt" for run in SEGMENTS + RUN_SEGMENTS]
    targets += [f"/sandbox/blobs/{running}/0/{name}" for name in SEGMENTS + NAME_SEGMENTS]
    targets += [f"/sandbox/blobs/{task}/0/public/fuzz.txt" for task in SEGMENTS]
    targets += [f"/sandbox/blobs/{running}", "/sandbox/blobs/", f"/sandbox/blobs/{running}/0"]
    for target in targets:
        fuzz.request("GET", target)
        fuzz.request("PUT", target, b"x", content_type="text/plain")
    for expires in ["", "%C2%B2", "9" * 5000, str(2**63), "-1", "1e10", "%0A1", "1%0A", "00"]:
        for name in ("public/fuzz.txt", "private/fuzz.txt"):
            target = f"/sandbox/blobs/{running}/0/{name}?expires={expires}&signature=00"
            for method in ("GET", "PUT"):
                secret = _blob_signature(fuzz, method, running, name, expires)
                body = b"x" if method == "PUT" else b""
                secrets = {"blob signature": secret}
                fuzz.request(method, target, body, content_type="text/plain", secrets=secrets)
    fuzz.finish()


def _blob_signature(fuzz: Fuzz, method: str, task_id: str, name: str, expires: str) -> str | None:
    """The signature the server expects for this blob and method, when `expires` is a number."""
    try:
        moment = int(urllib.parse.unquote(expires))
    except ValueError:
        return None
    return fuzz.call(fuzz.service.blobs.signature, method, task_id, 0, name, moment)


def test_schema_route(fuzz: Fuzz):
    """/schemas/queue/<name> with malformed names."""
    for name in SEGMENTS + ["v1/task.json", "v1/../v1/task.json", "v1/task.json%00", "v1/"]:
        fuzz.request("GET", f"/schemas/queue/{name}")
    fuzz.finish()
