"""What the fuzz suite, tests/test_fuzz_*.py, sends (no fixtures here): JSON text
that `json.dumps` will not write, hypothesis-jsonschema on the sandbox's schemas, raw
HTTP to a live sandbox and bewits. What the server sends back is an `Answer`, which
fuzz_checks.py checks.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from unittest import mock

import hypothesis_jsonschema._from_schema as jsonschema_strategies
from hypothesis.internal.conjecture import utils as conjecture_utils

API = "/api/queue/v1"
EXCERPT = 300


# -- JSON text with values json.dumps does not write ---------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text written as is where this stands in a tree (10**4000, NaN, deep nesting)."""

    text: str


def nested(depth: int, inner: str = "") -> Raw:
    """`depth` arrays, one inside the other."""
    return Raw("[" * depth + inner + "]" * depth)


def dumps(tree: Any) -> str:
    """`json.dumps`, with each `Raw` replaced by its text; lone surrogates stay escaped."""
    raws: list[str] = []

    def swap(node: Any) -> Any:
        """`node` with each Raw replaced by a placeholder string."""
        if isinstance(node, Raw):
            raws.append(node.text)
            return f"\x00raw{len(raws) - 1}\x00"
        if isinstance(node, dict):
            return {key: swap(value) for key, value in node.items()}
        if isinstance(node, list):
            return [swap(value) for value in node]
        return node

    text = json.dumps(swap(tree))
    for index, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{index}\x00"), raw, 1)
    return text


def b64_json(tree: Any) -> str:
    """Base64 of `dumps(tree)`, as Hawk's ext and continuation tokens carry JSON."""
    return base64.b64encode(dumps(tree).encode()).decode()


# -- hypothesis-jsonschema on the sandbox's schemas ----------------------------


def inline_refs(schemas: dict[str, dict], schema_id: str) -> dict:
    """The schema `schema_id` with every `$ref` replaced by what it points to."""

    def resolve(ref: str, base: str) -> tuple[Any, str]:
        """The node a $ref points to, and the $id it is resolved against."""
        address, _, pointer = ref.partition("#")
        doc_id = base.rsplit("/", 1)[0] + "/" + address + "#" if address else base
        if address.startswith("/"):  # another service's schema, by its absolute $id
            doc_id = address + "#"
        node: Any = schemas[doc_id]
        for part in filter(None, pointer.split("/")):
            node = node[part]
        return node, doc_id

    def inline(node: Any, base: str) -> Any:
        """`node` with its $refs replaced."""
        if isinstance(node, list):
            return [inline(value, base) for value in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target, target_base = resolve(node["$ref"], base)
            siblings = {k: inline(v, base) for k, v in node.items() if k != "$ref"}
            return {**inline(target, target_base), **siblings}
        skipped = ("$schema", "$id", "$defs")
        return {k: inline(v, base) for k, v in node.items() if k not in skipped}

    return inline(schemas[schema_id], schema_id)


class _OldStyleMany:
    """`cu.many` with the `more()`/`reject()` interface hypothesis-jsonschema 0.23 calls."""

    _DONE = object()

    def __init__(self, data: Any, **sizes: Any) -> None:
        self._many = conjecture_utils.many(data, **sizes)
        self._many.__enter__()
        self._steps = iter(self._many)

    def more(self) -> bool:
        """Whether to draw one more element."""
        if next(self._steps, self._DONE) is self._DONE:
            self._many.__exit__(None, None, None)
            return False
        return True

    def reject(self, why: str | None = None) -> None:
        """The element just drawn does not count."""
        self._many.reject(why)


@contextmanager
def jsonschema_objects() -> Iterator[None]:
    """Let hypothesis-jsonschema draw objects with this Hypothesis (6.170.10 dropped
    `many.more()`, which its object strategy calls); a no-op where it still works."""
    if hasattr(conjecture_utils.many, "more"):
        yield
        return
    with mock.patch.object(jsonschema_strategies, "cu", SimpleNamespace(many=_OldStyleMany)):
        yield


# -- HTTP ----------------------------------------------------------------------


@dataclass
class Answer:
    """What the server sent back; `status` is None when it sent nothing."""

    status: int | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: str = ""

    def header(self, name: str) -> str:
        """The first header of that name, or ''."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    def excerpt(self) -> str:
        """Status and the start of the body, for reports."""
        if self.status is None:
            return f"no answer ({self.error})"
        text = self.body.decode("utf-8", "replace")
        more = "…" if len(text) > EXCERPT else ""
        return f"{self.status} {self.header('Content-Type')!r} {text[:EXCERPT]!r}{more}"


def send(
    port: int,
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str | None] | None = None,
    timeout: float = 10.0,
) -> Answer:
    """One request on a fresh connection; `target` goes on the wire as is.
    A header given as None is not sent (Host included)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": f"127.0.0.1:{port}", **(headers or {})}.items():
            if value is not None:
                conn.putheader(name, value)
        if body or method in ("POST", "PUT"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        reply = conn.getresponse()
        return Answer(reply.status, reply.getheaders(), reply.read())
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, error=f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def exchange(port: int, data: bytes, *, hang_up: bool = False, timeout: float = 3.0) -> Answer:
    """Write raw bytes and read one response (or hang up right away). No response
    within `timeout`, or the connection closed first, is an Answer with status None."""
    received = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(data)
            if hang_up:
                return Answer(None, error="hung up")
            deadline = time.monotonic() + timeout
            while not _complete(received) and time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
    except OSError as exc:
        if not received:
            return Answer(None, error=f"{type(exc).__name__}: {exc}")
    head, _, body = received.partition(b"\r\n\r\n")
    found = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    if not found:
        return Answer(None, body=received, error="closed without a response")
    lines = head.decode("latin-1").split("\r\n")[1:]
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines if ":" in line]
    return Answer(int(found.group(1)), headers, body)


def _complete(received: bytes) -> bool:
    """Whether `received` holds a whole response."""
    head, sep, body = received.partition(b"\r\n\r\n")
    if not sep:
        return False
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    if length:
        return len(body) >= int(length.group(1))
    return b"chunked" not in head.lower() or body.endswith(b"0\r\n\r\n")


# -- bewits -------------------------------------------------------------------


def make_bewit(client_id: str, exp: str, mac: str, ext: str = "") -> str:
    """A bewit query value from its four parts (URL-safe base64, unpadded)."""
    inner = f"{client_id}\\{exp}\\{mac}\\{ext}".encode()
    return base64.urlsafe_b64encode(inner).decode().rstrip("=")
