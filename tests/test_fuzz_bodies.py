"""Fuzzing request bodies: generated and mutated createTask and createArtifact
bodies from the sandbox's schemas, mutated bodies for the other entries that take
one, listed malformed bodies sent to each of them, and malformed values in single
fields of an otherwise valid task or artifact, signed by root or not. The
sandbox, and what every answer is checked for: fuzz_world.py.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from fuzz_requests import API, dumps, jsonschema_objects, nested
from fuzz_strategies import (
    FUZZ,
    JSON_VALUES,
    NASTY,
    _iso,
    _schema,
    artifact_bodies,
    mutated,
    on_the_wire,
    task_bodies,
)
from fuzz_world import EMPTY_QUEUE, GEN_QUEUE, Fuzz, World
from helpers import make_task, new_task_id
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema


def _send_bodies(fuzz: Fuzz, method: str, routes: st.SearchStrategy[str],
                 trees: st.SearchStrategy, max_examples: int) -> None:
    """`max_examples` requests `method` to a drawn route, each with a drawn tree put on
    the wire (see on_the_wire), signed by root or not."""

    @settings(FUZZ, max_examples=max_examples)
    @given(route=routes, tree=trees, data=st.data(), signed=st.booleans())
    def case(route: str, tree: Any, data: st.DataObject, signed: bool) -> None:
        """One generated case."""
        body, content_type = data.draw(on_the_wire(tree))
        fuzz.request(method, API + route, body, content_type=content_type, signed=signed)

    with jsonschema_objects():
        case()
    fuzz.finish()


# hypothesis-jsonschema compiles the strings it draws for `format: regex` (metadata.source)
@pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")
def test_create_task_bodies(fuzz: Fuzz):
    """Generated, mutated createTask bodies, signed by root or not."""
    new_tasks = st.builds(lambda: f"/task/{new_task_id()}")
    _send_bodies(fuzz, "PUT", new_tasks, task_bodies(), max_examples=140)


def test_artifact_bodies(fuzz: Fuzz):
    """Generated, mutated createArtifact bodies on a running run, signed or not."""
    names = st.sampled_from(["public/a", "public/b", "private/c"])
    artifacts = names.map(lambda name: f"/task/{fuzz.world.scratch}/runs/0/artifacts/{name}")
    _send_bodies(fuzz, "POST", artifacts, artifact_bodies(), max_examples=90)


def _other_inputs(world: World) -> list[tuple[str, str, st.SearchStrategy]]:
    """(method, route, body strategy) of the other entries that read a body."""
    victim = world.victim
    return [
        ("POST", f"/claim-work/{EMPTY_QUEUE}", from_schema(_schema("claim-work-request"))),
        ("POST", f"/task/{victim}/runs/0/claim", from_schema(_schema("task-claim-request"))),
        (
            "POST",
            f"/task/{victim}/runs/0/exception",
            from_schema(_schema("task-exception-request")),
        ),
        (
            "PUT",
            f"/task/{world.running}/runs/0/artifacts/public/fuzz.txt",
            from_schema(_schema("finish-artifact-request")),
        ),
        ("POST", f"/task/{victim}/runs/0/completed", JSON_VALUES),
        ("POST", f"/task/{victim}/runs/0/failed", JSON_VALUES),
        ("POST", f"/task/{victim}/runs/0/reclaim", JSON_VALUES),
        ("POST", f"/task/{victim}/cancel", JSON_VALUES),
    ]


def test_other_bodies(fuzz: Fuzz):
    """Mutated bodies for the other entries that take one (or ignore it)."""
    entries = _other_inputs(fuzz.world)

    @settings(FUZZ, max_examples=70)
    @given(index=st.integers(0, len(entries) - 1), data=st.data(), signed=st.booleans())
    def case(index: int, data: st.DataObject, signed: bool) -> None:
        """One generated case."""
        method, route, bodies = entries[index]
        body, content_type = data.draw(on_the_wire(data.draw(mutated(data.draw(bodies)))))
        fuzz.request(method, API + route, body, content_type=content_type, signed=signed)

    with jsonschema_objects():
        case()
    fuzz.finish()


SPOILT_BODIES = [
    b"",  # empty
    b"{not json",
    b'{"a": "\xff\xfe"}',  # invalid UTF-8
    '{"a": 1}'.encode("utf-16"),
    b"null",
    b'"\\ud800"',
    b"NaN",
    b"1" + b"0" * 4000,
    b"1" + b"0" * 5000,
    dumps(nested(990)).encode(),
    dumps(nested(100_000)).encode(),
    ('{"a":' * 50_000 + "1}" + "}" * 49_999).encode(),
    b"{} x",
    b"{}\x00",
]


def test_spoilt_bodies(fuzz: Fuzz):
    """Every listed malformed body to every entry that takes one: as JSON and untyped
    (signed by root), and as text/plain (unsigned)."""
    world = fuzz.world
    targets = [("PUT", "/task/{new}"), ("POST", f"/task/{world.scratch}/runs/0/artifacts/public/x")]
    targets += [(method, route) for method, route, _ in _other_inputs(world)]
    for body in SPOILT_BODIES:
        for method, route in targets:
            for content_type in ("application/json", "text/plain", None):
                target = API + route.replace("{new}", new_task_id())
                signed = content_type != "text/plain"
                fuzz.request(method, target, body, content_type=content_type, signed=signed)
    fuzz.finish()


@pytest.mark.parametrize("field", ["created", "deadline", "expires", "retries", "extra", "tags"])
def test_task_fields(fuzz: Fuzz, field: str):
    """Each malformed value in one field of an otherwise valid task, signed by root."""
    for value in NASTY:
        task = make_task(GEN_QUEUE, created=_iso(), deadline=_iso(datetime.timedelta(hours=1)))
        task[field] = {"key": value} if field in ("extra", "tags") else value
        target = f"{API}/task/{new_task_id()}"
        fuzz.request(
            "PUT", target, dumps(task).encode(), content_type="application/json", signed=True
        )
    fuzz.finish()


def test_artifact_fields(fuzz: Fuzz):
    """Each malformed value in one field of an otherwise valid artifact, signed by root."""
    base = {
        "storageType": "s3",
        "contentType": "text/plain",
        "expires": _iso(datetime.timedelta(1)),
    }
    target = f"{API}/task/{fuzz.world.scratch}/runs/0/artifacts/public/fields"
    for field in ("expires", "contentType", "contentLength", "url", "storageType"):
        for value in NASTY:
            body = {**base, field: value}
            if field == "url":
                body["storageType"] = "reference"
            body_bytes = dumps(body).encode()
            fuzz.request("POST", target, body_bytes, content_type="application/json", signed=True)
    fuzz.finish()
