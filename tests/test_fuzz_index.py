"""Fuzzing the Index (/api/index/v1): malformed values in each URL parameter
of every entry (an optional namespace included), malformed pagination and
queries no entry takes, and bodies generated from the entries' input schemas,
mutated and put on the wire spoilt or not. On the fuzz suite's sandbox; what
every answer is checked for: fuzz_world.py.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
import taskcluster
from fuzz_requests import jsonschema_objects
from fuzz_strategies import FUZZ, _iso, _schema, mutated, on_the_wire
from fuzz_world import Fuzz, _target
from helpers import expect_error
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from test_fuzz_object import _send
from test_fuzz_params import LIMITS, SEGMENTS, UNKNOWN_QUERIES, _tokens

from tc_notebook.sandbox import index_api

# Index URL parameters that pass its checks (the task indexed by `indexed`).
INDEX_PARAMS = {"namespace": "fuzz", "indexPath": "fuzz.indexed", "name": "public/fuzz.txt"}


def _insert_body(fuzz: Fuzz) -> dict[str, Any]:
    """An insertTask body the Index accepts: the suite's running task, for a day."""
    body = {"taskId": fuzz.world.running, "rank": 0, "data": {}}
    return {**body, "expires": _iso(datetime.timedelta(1))}


@pytest.fixture(scope="module")
def indexed(fuzz_sandbox: Fuzz) -> str:
    """The suite's running task, indexed at `fuzz.indexed` by root."""
    index = taskcluster.Index(fuzz_sandbox.options)
    index.insertTask("fuzz.indexed", _insert_body(fuzz_sandbox))
    return "fuzz.indexed"


# insertTask files a task at a path of any length, then answers 500: its answer
# fails the output schema, which caps a namespace at 255 characters. Taskcluster's
# Index does the same (nothing bounds the path before it is stored), so the fuzz
# leaves such paths out of insertTask; test_insert_task_long_path keeps the case.
LONGEST_PATH = 255
INDEX_SEGMENTS = ["a..b", ".a", "a.", "a.%0A", "%2E", "a%20b", "a/b", "a%2Fb", "%C3%A9", "a" * 5000]


@pytest.mark.parametrize("entry", index_api.ENTRIES, ids=lambda e: e.name)
def test_index_entries(fuzz: Fuzz, indexed: str, entry: index_api.Entry):
    """Each malformed value in each URL parameter of the Index entry (signed and
    unsigned), malformed pagination and unknown queries (with and without an
    optional namespace), and mutated bodies."""
    valid = INDEX_PARAMS
    bodies = {
        "v1/insert-task-request.json#": _insert_body(fuzz),
        "v1/list-tasks-at-index.json#": {"indexes": [indexed]},
        "v1/list-namespaces-request.json#": {},
    }
    body = json.dumps(bodies[entry.input]).encode() if entry.input else b""
    for param in entry.route_params:
        for value in INDEX_SEGMENTS + SEGMENTS:
            for signed in (False, True):
                _send(fuzz, entry.method, _target(entry, {**valid, param: value}), body, signed)
    tokens = [f"continuationToken={token}" for token in _tokens(fuzz.world)]
    # an optional namespace also left out (the top level)
    forms = [valid, {}] if "{" in entry.route else [valid]
    for query in [f"limit={v}" for v in LIMITS] + tokens + UNKNOWN_QUERIES:
        for params in forms:
            _send(fuzz, entry.method, _target(entry, params, query), body)
    if entry.input:
        _index_bodies(fuzz, entry, _target(entry, valid))
    fuzz.finish()


def _index_bodies(fuzz: Fuzz, entry: index_api.Entry, target: str) -> None:
    """Mutated bodies from the entry's input schema, on the wire spoilt or not."""
    schema = _schema(entry.input.removeprefix("v1/").removesuffix(".json#"), "index")

    @settings(FUZZ, max_examples=40)
    @given(tree=from_schema(schema).flatmap(mutated), data=st.data(), signed=st.booleans())
    def case(tree: Any, data: st.DataObject, signed: bool) -> None:
        """One generated case."""
        body, content_type = data.draw(on_the_wire(tree))
        fuzz.request(entry.method, target, body, content_type=content_type, signed=signed)

    with jsonschema_objects():
        case()


def test_insert_task_long_path(fuzz_sandbox: Fuzz):
    """insertTask at a path longer than an answer may name is a 400 saying so,
    and nothing is filed (Taskcluster files it, then answers 500); the longest
    allowed path is filed and found."""
    index = taskcluster.Index({**fuzz_sandbox.options, "maxRetries": 0})
    too_long = "fuzz-long." + "a" * (LONGEST_PATH - len("fuzz-long.") + 1)
    body = expect_error(index.insertTask, too_long, _insert_body(fuzz_sandbox),
                        status=400, code="InputError")
    assert f"at most {LONGEST_PATH} characters" in body["message"]
    expect_error(index.findTask, too_long, status=404)
    longest = too_long[:-1]
    index.insertTask(longest, _insert_body(fuzz_sandbox))
    assert index.findTask(longest)["namespace"] == longest
