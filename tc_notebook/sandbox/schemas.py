"""JSON schemas: the sandbox's own, served, and checked on every request's
input and every answer.

Each check runs a validator compiled to Python (fastjsonschema), about 30
times quicker than jsonschema's; only a document it rejects goes to
jsonschema, whose verdict stands and whose messages describe the errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ..timestamps import parse_time

OWN_SCHEMA_DIR = Path(__file__).with_name("schemas")

format_checker = FormatChecker()


# RFC 3339's date-time, in ASCII digits (Python's `\d` also takes `²`).
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


@lru_cache(maxsize=4096)  # answers repeat the same few dates many times
def _valid_date_time(text: str) -> bool:
    """RFC 3339, and a moment that stays within the years 1 to 9999 in UTC."""
    if not _DATE_TIME.fullmatch(text):
        return False
    try:
        parse_time(text)
    except ValueError:
        return False
    return True


@format_checker.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str) and not _valid_date_time(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time within the years 1 to 9999")
    return True


class SchemaSet:
    """Schemas keyed by their `$id`, e.g. `/schemas/queue/v1/task.json#`."""

    def __init__(self, directory: Path) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        for path in sorted(Path(directory).rglob("*.json")):
            schema = json.loads(path.read_text())
            if isinstance(schema, dict) and "$id" in schema:
                self.by_id[schema["$id"]] = schema
        self._registry = Registry().with_resources(
            (sid, Resource.from_contents(s, default_specification=DRAFT202012))
            for sid, s in self.by_id.items()
        )
        self._validators: dict[str, Draft202012Validator] = {}
        self._compiled: dict[str, Callable[[Any], Any]] = {}

    def validator(self, schema_id: str) -> Draft202012Validator:
        """A validator for one schema (its `$schema` is ignored: 2020-12 semantics)."""
        if schema_id not in self._validators:
            schema = {k: v for k, v in self.by_id[schema_id].items() if k != "$schema"}
            self._validators[schema_id] = Draft202012Validator(
                schema, registry=self._registry, format_checker=format_checker
            )
        return self._validators[schema_id]

    def compiled(self, schema_id: str) -> Callable[[Any], Any]:
        """A compiled check of one schema: raises when the document is invalid."""
        if schema_id not in self._compiled:
            self._compiled[schema_id] = fastjsonschema.compile(
                _with_draft7_refs(self.by_id[schema_id]),
                handlers={"": self._remote},
                formats=COMPILED_FORMATS,
                use_default=False,  # never fill in the caller's document
            )
        return self._compiled[schema_id]

    def _remote(self, uri: str) -> dict[str, Any]:
        return _with_draft7_refs(self.by_id[uri.split("#")[0] + "#"])

    def errors(self, schema_id: str, instance: Any) -> list[str]:
        """Readable validation errors, most relevant first; empty when valid."""
        try:
            self.compiled(schema_id)(instance)
            return []
        except Exception:  # noqa: BLE001 - jsonschema decides, and describes why
            pass
        found = list(self.validator(schema_id).iter_errors(instance))
        if not found:
            return []
        first = best_match(found)
        rest = [e for e in found if e is not first]
        return [_describe(e) for e in [first, *rest]]


def _format_check(name: str) -> Callable[[Any], bool]:
    return lambda value: format_checker.conforms(value, name)


# The compiled checks use the same format rules as jsonschema's.
COMPILED_FORMATS = {
    "date-time": _valid_date_time,
    **{name: _format_check(name) for name in ("uri", "regex")},
}
_ANNOTATIONS = {"$ref", "$id", "$schema", "title", "description", "$comment", "default"}


def _with_draft7_refs(node: Any) -> Any:
    """The schema with each `$ref` that has constraints beside it (which
    2020-12 applies, and draft 7 ignores) moved into an `allOf`, and without
    `$schema` (the compiled checks read it as draft 7)."""
    if isinstance(node, list):
        return [_with_draft7_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {k: _with_draft7_refs(v) for k, v in node.items() if k != "$schema"}
    beside = {k: v for k, v in node.items() if k not in _ANNOTATIONS}
    if "$ref" in node and beside:
        kept = {k: v for k, v in node.items() if k in _ANNOTATIONS and k != "$ref"}
        return {**kept, "allOf": [{"$ref": node["$ref"]}, beside]}
    return node


def _describe(error: Any) -> str:
    where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"data{where}: {error.message}"


@cache
def own_schemas() -> SchemaSet:
    """The sandbox's own schemas, shipped in the package."""
    return SchemaSet(OWN_SCHEMA_DIR)
