"""The queue's create-task-request schema, fetched from a deployment's root URL
(with every schema it refers to) and ready to validate task definitions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin

import referencing.jsonschema
import requests
from jsonschema import Draft7Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError, best_match, relevance
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

SCHEMA_PATH = "/schemas/queue/v1/create-task-request.json"

# jsonschema's own format checks; "date-time" is RFC 3339 (rfc3339-validator), as
# Taskcluster's services check it: `2026-11-30` or `2026-W48-1` are not date-times.
FORMATS = FormatChecker()


def _without_dialect(contents: Any) -> Any:
    if isinstance(contents, dict):
        return {k: v for k, v in contents.items() if k != "$schema"}
    return contents


def _refs(node: Any) -> Iterator[str]:
    """Every `$ref` string in a schema document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


class TaskSchema:
    """The create-task-request schema served at a root URL, with the schemas it
    refers to (fetched from the same root URL), ready to validate definitions.

    Taskcluster's own schemas name a custom metaschema
    (`/schemas/common/metaschema.json#`, itself draft-06) and use relative
    `$ref`s such as `task.json#/properties/x`; the sandbox's are 2020-12.
    """

    def __init__(self, root_url: str, timeout: float = 15.0) -> None:
        self.root_url = root_url.rstrip("/")
        self.timeout = timeout
        self._documents: dict[str, Any] = {}
        self._lock = threading.Lock()
        schema = self._fetch(SCHEMA_PATH)
        base = urldefrag(schema.get("$id") or SCHEMA_PATH)[0]
        cls = self._validator_class(schema, base)
        dialect = cls.META_SCHEMA.get("$id") or cls.META_SCHEMA.get("id", "")
        self.specification = referencing.jsonschema.specification_with(
            dialect, default=referencing.jsonschema.DRAFT7
        )
        root = _without_dialect(schema)
        registry: Registry = Registry(retrieve=self._retrieve).with_resource(
            base, self.specification.create_resource(root)
        )
        registry = self._crawl(registry, base, root)
        self.validator = cls(root, registry=registry, format_checker=FORMATS)

    def _fetch(self, uri: str) -> Any:
        """A JSON document by root-relative path or absolute URL on the root URL."""
        url = self.root_url + uri if uri.startswith("/") else uri
        if not url.startswith(self.root_url + "/"):
            raise NoSuchResource(ref=uri)  # schemas come from the root URL only
        with self._lock:
            if url in self._documents:
                return self._documents[url]
        response = requests.get(url, timeout=self.timeout, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
        with self._lock:
            self._documents[url] = document
        return document

    def _retrieve(self, uri: str) -> Resource:
        return self.specification.create_resource(_without_dialect(self._fetch(uri)))

    def _validator_class(self, schema: dict[str, Any], base: str) -> Any:
        found = validators.validator_for(schema, default=None)
        dialect = schema.get("$schema")
        if found is None and isinstance(dialect, str):
            try:  # a deployment's own metaschema names the draft it extends
                meta = self._fetch(urldefrag(urljoin(base, dialect))[0])
                found = validators.validator_for(meta, default=None)
            except Exception:
                found = None
        return found or Draft7Validator

    @staticmethod
    def _crawl(registry: Registry, base: str, root: Any) -> Registry:
        """Fetch every referenced document now, so validating never waits on the network."""
        pending, seen = [(base, root)], {base}
        while pending:
            where, contents = pending.pop()
            for ref in _refs(contents):
                uri = urldefrag(urljoin(where, ref))[0]
                if not uri or uri in seen:
                    continue
                seen.add(uri)
                retrieved = registry.get_or_retrieve(uri)
                registry = retrieved.registry
                pending.append((uri, retrieved.value.contents))
        return registry

    def errors(self, definition: Any) -> list[ValidationError]:
        """Validation errors, most relevant first (each reduced to its best cause)."""
        found = [best_match([e]) for e in self.validator.iter_errors(definition)]
        return sorted(found, key=relevance, reverse=True)


_schemas: dict[str, TaskSchema] = {}
_schemas_lock = threading.Lock()


def task_schema(root_url: str) -> TaskSchema:
    """The create-task-request schema of a root URL, fetched once per root URL."""
    key = root_url.rstrip("/")
    with _schemas_lock:
        if key not in _schemas:
            _schemas[key] = TaskSchema(key)
        return _schemas[key]


def fetched_task_schema(root_url: str) -> TaskSchema | None:
    """The root URL's schema if `task_schema` has fetched it already, else None."""
    with _schemas_lock:
        return _schemas.get(root_url.rstrip("/"))
