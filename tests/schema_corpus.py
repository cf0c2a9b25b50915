"""What tests/test_schemas.py compares the sandbox's Queue schemas with
Taskcluster's on: the schemas Taskcluster's queue reference names, the verdict
of each side on a document, and documents spoilt one change at a time.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from fuzz_requests import inline_refs
from fuzz_strategies import _paths as paths  # every path into a JSON tree
from helpers import UPSTREAM_SCHEMAS
from hypothesis import strategies as st

from tc_notebook.sandbox.schemas import SchemaSet, own_schemas

QUEUE_REFERENCE = UPSTREAM_SCHEMAS.parents[1] / "references" / "queue" / "v1" / "api.json"
SCHEMA_ID = "/schemas/queue/{}#"  # filled with an entry's "v1/<name>.json"
MAX_SAFE_INTEGER = 2**53 - 1

# Values put in place of a value: of the wrong type (for any value), and
# strings and numbers out of every range and pattern the schemas set, or
# dates that do not exist (for a value of that type).
WRONG_TYPES: list[Any] = [None, True, 1.5, "1", 1, [], {}]
BAD_STRINGS: list[Any] = [
    "", "x" * 39, "y" * 4097, "bad value!", "ü", "not-a-date", "2024-02-30T00:00:00Z", "/",
]
BAD_NUMBERS: list[Any] = [-1, 0, 33, 50, 1000, 1001, MAX_SAFE_INTEGER + 1]
# One change to a document: drop the key, add an unknown one, repeat a list's
# first item, append "!" to a string, or ("set", value) in its place.
Operation = str | tuple[str, Any]
EDITS: list[Operation] = ["drop", "add", "repeat", "suffix"]


def operations(value: Any) -> list[Operation]:
    """The changes worth trying on `value`."""
    if isinstance(value, str):
        extra = BAD_STRINGS
    elif isinstance(value, int) and not isinstance(value, bool):
        extra = BAD_NUMBERS
    else:
        extra = []
    replacements = [v for v in WRONG_TYPES + extra if v != value or type(v) is not type(value)]
    return EDITS + [("set", v) for v in replacements]


def reference_entries() -> list[dict[str, Any]]:
    """The entries of Taskcluster's queue reference (api.json)."""
    return json.loads(QUEUE_REFERENCE.read_text())["entries"]


@cache
def upstream_schemas() -> SchemaSet:
    """Taskcluster's rendered schemas (all services), keyed by $id."""
    return SchemaSet(UPSTREAM_SCHEMAS)


def referenced_ids() -> set[str]:
    """Every queue schema the reference names as input or output, and what those $ref."""
    found: set[str] = set()
    todo = [
        SCHEMA_ID.format(entry[kind].removesuffix("#"))
        for entry in reference_entries()
        for kind in ("input", "output")
        if entry.get(kind)
    ]
    while todo:
        schema_id = todo.pop()
        if schema_id in found:
            continue
        found.add(schema_id)
        text = json.dumps(upstream_schemas().by_id[schema_id])
        for address in re.findall(r'"\$ref": "(?:\./)?([^"#]+)#', text):
            todo.append(schema_id.rsplit("/", 1)[0] + "/" + address + "#")
    return found


def verdicts(schema_id: str, document: Any) -> tuple[bool, bool]:
    """Whether the sandbox's schema, and Taskcluster's, accept `document`."""
    ours = own_schemas().validator(schema_id).is_valid(document)
    return ours, upstream_schemas().validator(schema_id).is_valid(document)


POST_ARTIFACT = "/schemas/queue/v1/post-artifact-request.json#"
BIG_COUNT = (
    "contentLength at most 2**53-1: no byte count is larger, and SQLite's integers "
    "(and JavaScript's exact ones) end near there"
)
# Constraints only the sandbox's schemas have, on purpose: (schema, path to the
# keyword in `constraints(...)`, why).
OWN_EXTRAS: list[tuple[str, tuple, str]] = [
    (POST_ARTIFACT, ("oneOf", 0, "properties", "contentLength", "maximum"), BIG_COUNT),
    (POST_ARTIFACT, ("oneOf", 1, "properties", "contentLength", "maximum"), BIG_COUNT),
    (
        POST_ARTIFACT,
        ("oneOf", 2, "properties", "url", "pattern"),
        "a URL with a scheme, checked even where jsonschema lacks its optional `uri` "
        "format checker (the format alone admits exactly the same where it has one)",
    ),
    (POST_ARTIFACT, ("type",), "says for the whole what each branch of oneOf says"),
]


def without_own_extras(schema_id: str, tree: Any) -> Any:
    """`constraints(...)` of one of our schemas without its OWN_EXTRAS (a
    KeyError if one is no longer there)."""
    tree = copy.deepcopy(tree)
    for extra_id, path, _ in OWN_EXTRAS:
        if extra_id == schema_id:
            node = tree
            for step in path[:-1]:
                node = node[step]
            del node[path[-1]]
    return tree


def _big_content_length(document: Any) -> bool:
    return isinstance(document, dict) and (
        isinstance(document.get("contentLength"), int)
        and document["contentLength"] > MAX_SAFE_INTEGER
    )


# Documents the sandbox rejects on purpose where Taskcluster's schema lets them through.
STRICTER: dict[str, tuple[Callable[[Any], bool], str]] = {
    POST_ARTIFACT: (_big_content_length, BIG_COUNT),
}


def compiled_accepts(schema_id: str, document: Any) -> bool:
    """The verdict of the sandbox's compiled check (its quick path)."""
    try:
        own_schemas().compiled(schema_id)(document)
    except Exception:  # noqa: BLE001 - any failure is a rejection
        return False
    return True


def disagreement(schema_id: str, document: Any) -> str | None:
    """Why the two sides disagree on `document`, unless they agree or the
    sandbox is stricter on purpose (see STRICTER); or why the sandbox's
    compiled check and jsonschema disagree."""
    ours, theirs = verdicts(schema_id, document)
    if compiled_accepts(schema_id, document) != ours:
        side = "rejects" if ours else "accepts"
        return f"{schema_id}: only the compiled check {side} {json.dumps(document)[:2000]}"
    if ours == theirs:
        return None
    known, _ = STRICTER.get(schema_id, (lambda _: False, ""))
    if theirs and not ours and known(document):
        return None
    side = "only ours" if ours else "only Taskcluster's"
    return f"{schema_id}: {side} accepts {json.dumps(document)[:2000]}"


def mutate(tree: Any, path: tuple, operation: Operation) -> Any | None:
    """`tree` changed by one operation (see EDITS) at `path`; None when the
    operation means nothing there (e.g. dropping the root)."""
    tree = copy.deepcopy(tree)
    parent, value = None, tree
    for step in path:
        parent, value = value, value[step]
    if operation == "add":
        if not isinstance(value, dict):
            return None
        value["unknownKey"] = 1
    elif operation == "repeat":
        if not isinstance(value, list) or not value:
            return None
        value.append(copy.deepcopy(value[0]))
    elif parent is None:
        return operation[1] if isinstance(operation, tuple) else None
    elif operation == "drop":
        del parent[path[-1]]
    elif operation == "suffix":
        if not isinstance(value, str):
            return None
        parent[path[-1]] = value + "!"
    else:
        parent[path[-1]] = copy.deepcopy(operation[1])
    return tree


def _at(tree: Any, path: tuple) -> Any:
    for step in path:
        tree = tree[step]
    return tree


def every_mutation(tree: Any) -> Iterator[Any]:
    """`tree` spoilt in every single way `mutate` knows."""
    for path in paths(tree):
        for operation in operations(_at(tree, path)):
            changed = mutate(tree, path, operation)
            if changed is not None:
                yield changed


@st.composite
def mutated(draw: Callable, tree: Any, most: int = 2) -> Any:
    """`tree` after up to `most` changes drawn from `mutate`'s operations."""
    for _ in range(draw(st.integers(0, most))):
        path = draw(st.sampled_from(list(paths(tree))))
        changed = mutate(tree, path, draw(st.sampled_from(operations(_at(tree, path)))))
        tree = tree if changed is None else changed
    return tree


# -- the constraints of a schema, written either side's way ------------------------

ANNOTATIONS = {"title", "description", "default", "examples", "$comment", "$id", "$schema"}
# RFC 3339 in a pattern beside `format: date-time`: the sandbox's spelling,
# which admits everything the format check admits.
OWN_DATE_PATTERN = own_schemas().by_id["/schemas/queue/v1/task.json#"]["$defs"]["dateTime"][
    "pattern"
]


def constraints(schemas: dict[str, dict], schema_id: str) -> Any:
    """The schema with its $refs inlined and only what constrains documents
    left, in one spelling: `const` as a one-item `enum`, no `type` beside an
    `enum` of strings, no limit that limits nothing (`minLength: 0`,
    `uniqueItems: false`, `required: []`), no date pattern beside its format,
    printable ASCII written ` -~`."""
    return _normal(inlined(schemas, schema_id))


def inlined(schemas: dict[str, dict], schema_id: str) -> dict:
    """A schema with its $refs inlined (Taskcluster's may write `./x.json`)."""
    aliases = {k.replace("/v1/", "/v1/./"): v for k, v in schemas.items()}
    return inline_refs({**schemas, **aliases}, schema_id)


def _normal(node: Any) -> Any:
    if isinstance(node, list):
        return [_normal(value) for value in node]
    if not isinstance(node, dict):
        return node
    if "const" in node:
        node = {**{k: v for k, v in node.items() if k != "const"}, "enum": [node["const"]]}
    out = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _normal(sub) for name, sub in value.items()}
        elif key not in ANNOTATIONS:
            out[key] = _normal(value)
    if all(isinstance(v, str) for v in out.get("enum", [None])) and out.get("type") == "string":
        del out["type"]
    if out.get("format") == "date-time" and out.get("pattern") == OWN_DATE_PATTERN:
        del out["pattern"]
    if isinstance(out.get("pattern"), str):
        out["pattern"] = out["pattern"].replace("\\x20-\\x7e", " -~")
    for key, idle in (("minLength", 0), ("uniqueItems", False), ("required", [])):
        if out.get(key) == idle:
            del out[key]
    if isinstance(out.get("required"), list):
        out["required"] = sorted(out["required"])
    return out
