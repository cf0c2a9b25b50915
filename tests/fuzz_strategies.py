"""What the fuzz suite (tests/test_fuzz_*.py, see fuzz_world.py) sends: its
Hypothesis settings, malformed values (deep nesting, huge numbers, odd strings and
dates, wrong types), and strategies that draw task and artifact bodies from the
sandbox's schemas, mutate them and put them on the wire, spoilt or not.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable, Iterator
from typing import Any

from fuzz_requests import Raw, dumps, inline_refs, nested
from fuzz_world import GEN_QUEUE, RUN_QUEUE
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from tc_notebook.sandbox.schemas import own_schemas

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)
SCHEMA = "/schemas/{service}/v1/{name}.json#"


# -- malformed values ------------------------------------------------------------

DEEP = [
    nested(900),
    nested(980),
    nested(1100),
    nested(5000),
    Raw('{"a":' * 2000 + "1}" + "}" * 1999),
]
NUMBERS = [
    Raw("1" + "0" * 4000),  # 10**4000: under Python's 4300-digit limit
    Raw("-1" + "0" * 4000),
    Raw("1" + "0" * 5000),  # over it
    *map(Raw, ["1e400", "-1e400", "1e-400", "NaN", "Infinity", "-Infinity", "-0"]),
    *map(Raw, [str(2**63), str(2**64)]),
]
# lone surrogates (written as JSON escapes), newlines, unicode digits, a long string
STRINGS = ["\ud800", "a\udfffb", "x\n", "\n", f"{RUN_QUEUE}\n", "\r\n", "\u0000", "\u2028"]
STRINGS += ["²", "١٢٣", "１２", "𝟗", "x" * 10000]
DATES = [
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59.999999Z",
    "0000-01-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "2024-01-01T24:00:00Z",
    "2024-01-01T00:00:00+23:59",
    "2024-01-01T00:00:00.1234567890Z",
    "²０24-01-01T00:00:00Z",
    "2024-01-01t00:00:00z",
]
WRONG_TYPES = [None, True, 0, -1, 1.5, "", [], {}, {"$ref": "#"}]
NASTY = WRONG_TYPES + NUMBERS + STRINGS + DATES + DEEP
HAWK_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"\\')


def _iso(delta: datetime.timedelta = datetime.timedelta()) -> str:
    """Now plus `delta`, as Taskcluster writes dates."""
    moment = datetime.datetime.now(datetime.timezone.utc) + delta
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _now() -> str:
    """Now in epoch seconds, as a Hawk `ts`."""
    return str(int(datetime.datetime.now(datetime.timezone.utc).timestamp()))


# -- strategies -------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
GROUPS = (WRONG_TYPES, NUMBERS, STRINGS, DATES, DEEP)
NASTY_VALUES = st.one_of(*map(st.sampled_from, GROUPS), JSON_VALUES)


def _paths(tree: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path into a JSON tree, the root's () first."""
    yield prefix
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from _paths(value, (*prefix, index))


@st.composite
def mutated(draw: Callable, tree: Any, most: int = 3) -> Any:
    """`tree` with up to `most` values replaced, dropped, added or wrapped in a list."""
    tree = copy.deepcopy(tree)
    for _ in range(draw(st.integers(0, most))):
        path = draw(st.sampled_from(list(_paths(tree))))
        # a copy: a later round may change what is inside it, and NASTY's
        # values are shared by every test
        value = copy.deepcopy(draw(NASTY_VALUES))
        if not path:
            tree = value
            continue
        parent = tree
        for step in path[:-1]:
            parent = parent[step]
        op = draw(st.sampled_from(["replace", "replace", "drop", "add", "wrap"]))
        if op == "replace":
            parent[path[-1]] = value
        elif op == "drop":
            del parent[path[-1]]
        elif op == "wrap":
            parent[path[-1]] = [parent[path[-1]]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "", "\ud800", "a\nb"]))] = value
        else:
            parent.append(value)
    return tree


CONTENT_TYPES = ["application/json"] * 6 + [None, "text/plain", "application/JSON", "*/*"]
CONTENT_TYPES += ["application/json; charset=utf-8", "application/json; charset=latin-1"]
CONTENT_TYPES += ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]


@st.composite
def on_the_wire(draw: Callable, tree: Any) -> tuple[bytes, str | None]:
    """A body for `tree` (its JSON text, or that text spoilt) and a content type."""
    text = dumps(tree).encode()
    spoilt = {
        "empty": b"",
        "garbage": b"{not json",
        "cut": text[: len(text) // 2],
        "tail": text + b" x",
        "utf16": text.decode().encode("utf-16"),
        "bytes": text[:1] + b"\xff\xfe\xc0" + text[1:],
    }
    spoil = draw(st.sampled_from([None] * 8 + sorted(spoilt)))
    return spoilt.get(spoil, text), draw(st.sampled_from(CONTENT_TYPES))


def _schema(name: str, service: str = "queue") -> dict:
    """One of the sandbox's own schemas (the queue's, unless told), with its $refs inlined."""
    return inline_refs(own_schemas().by_id, SCHEMA.format(service=service, name=name))


@st.composite
def task_bodies(draw: Callable) -> Any:
    """createTask bodies from the sandbox's schema, often made acceptable, then mutated."""
    body = draw(from_schema(_schema("create-task-request")))
    if draw(st.booleans()):
        for key in ("provisionerId", "workerType", "taskGroupId", "dependencies"):
            body.pop(key, None)
        body.update(taskQueueId=GEN_QUEUE, schedulerId="-", created=_iso())
        body["deadline"] = _iso(datetime.timedelta(hours=1))
        if draw(st.booleans()):
            body["expires"] = draw(st.sampled_from(DATES + [_iso(datetime.timedelta(days=2))]))
    return draw(mutated(body))


@st.composite
def artifact_bodies(draw: Callable) -> Any:
    """createArtifact bodies from the sandbox's schema, often made acceptable, then mutated."""
    body = draw(from_schema(_schema("post-artifact-request")))
    if draw(st.booleans()):
        body["expires"] = _iso(datetime.timedelta(days=1))
    return draw(mutated(body))
