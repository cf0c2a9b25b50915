"""The sandbox's Queue v1 API reference, in Taskcluster's api-reference-v0
format, built from the entry table of `api.py` and served at
/references/queue/v1/api.json (where a deployment serves its own)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from aiohttp import web

from . import api
from .dispatch import Entry

REFERENCE_PATH = "/references/queue/v1/api.json"

DESCRIPTION = """\
The sandbox's Queue: it accepts tasks, hands them to workers that claim them,
records how each run ends, and keeps the artifacts the runs upload. It follows
Taskcluster's Queue v1 for the entries listed here, on one machine, with its
data in SQLite."""


def _title_and_description(entry: Entry) -> tuple[str, str]:
    """The handler docstring's first line, and the rest (a fallback made from
    the entry's name and route when the handler has no docstring)."""
    doc = inspect.getdoc(entry.handler)
    if doc:
        title, _, rest = doc.partition("\n")
        return title.strip(), rest.strip() or title.strip()
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", entry.name).lower()
    return words.capitalize(), f"The `{entry.name}` entry: `{entry.method} {entry.route}`."


def entry_reference(entry: Entry) -> dict[str, Any]:
    """One entry as the reference describes it."""
    title, description = _title_and_description(entry)
    described: dict[str, Any] = {
        "type": "function",
        "name": entry.name,
        "method": entry.method.lower(),
        "route": entry.route,
        "args": list(entry.route_params),
        "query": list(entry.query),
        "title": title,
        "description": description,
        "category": "Queue",
        "stability": entry.stability,
    }
    if entry.scopes is not None:
        described["scopes"] = entry.scopes
    for kind in ("input", "output"):
        if getattr(entry, kind):
            described[kind] = getattr(entry, kind)
    return described


def api_reference(entries: Iterable[Entry] | None = None) -> dict[str, Any]:
    """The whole reference document, for `entries` (default: every entry of api.py)."""
    return {
        "$schema": "/schemas/common/api-reference-v0.json#",
        "apiVersion": "v1",
        "serviceName": "queue",
        "title": "Queue (tc-notebook sandbox)",
        "description": DESCRIPTION,
        "entries": [entry_reference(e) for e in (api.ENTRIES if entries is None else entries)],
    }


@cache
def _served() -> dict[str, Any]:
    return api_reference()


async def serve_reference(request: web.Request) -> web.StreamResponse:
    """GET /references/queue/v1/api.json: the reference of the sandbox's Queue."""
    return web.json_response(_served())
