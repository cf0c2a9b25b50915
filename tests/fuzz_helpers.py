"""Helpers for the fuzz suite, tests/test_fuzz_*.py (no fixtures here): raw HTTP to
a live sandbox, JSON text that `json.dumps` will not write, the secrets an answer
must not carry (the root token, the Hawk and bewit MACs the server expects), the
server's logged exceptions, and a ledger of every answer and each distinct failure.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import re
import socket
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import hypothesis_jsonschema._from_schema as jsonschema_strategies
import mohawk.base
import mohawk.bewit
import mohawk.exc
import mohawk.util
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


# -- the secrets an answer must not carry --------------------------------------


def url_as_signed(root: str, target: str, headers: dict[str, str | None]) -> str:
    """The absolute URL the server checks a Hawk MAC against: the Host header (or
    X-Forwarded-Proto/Port) and the raw path, as the README describes."""
    host = headers.get("Host") or root.split("://", 1)[1]
    hostname, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    if not hostname:
        hostname, port = host, ""
    scheme = "http"
    if (headers.get("X-Forwarded-Proto") or "").lower() == "https":
        scheme, port = "https", "443"
    port = headers.get("X-Forwarded-Port") or port
    return f"{scheme}://{hostname}:{port}{target}" if port else f"{scheme}://{hostname}{target}"


def expected_header_mac(
    header: str, url: str, method: str, key: str, body: bytes, content_type: str
) -> str | None:
    """The MAC a server holding `key` expects with this Authorization header
    (None when the header or URL leaves it nothing to compute)."""
    try:
        parsed = mohawk.util.parse_authorization_header(header)
        resource = mohawk.base.Resource(
            url=url,
            method=method,
            credentials={"id": parsed["id"], "key": key, "algorithm": "sha256"},
            ext=parsed.get("ext"),
            app=parsed.get("app"),
            dlg=parsed.get("dlg"),
            nonce=parsed["nonce"],
            timestamp=parsed["ts"],
            content=body,
            content_type=content_type,
        )
        return mohawk.util.calculate_mac("header", resource, parsed.get("hash", "")).decode()
    except (mohawk.exc.HawkFail, KeyError, ValueError, UnicodeError):
        return None


def expected_bewit_mac(url: str, key: str) -> str | None:
    """The MAC a server holding `key` expects in the bewit of `url` (None if unparseable)."""
    try:
        raw, stripped = mohawk.bewit.strip_bewit(url)
        parts = mohawk.bewit.parse_bewit(raw + "=" * (-len(raw) % 4))
        resource = mohawk.base.Resource(
            url=stripped,
            method="GET",
            credentials={"id": parts.id, "key": key, "algorithm": "sha256"},
            timestamp=parts.expiration,
            nonce="",
            ext=parts.ext,
        )
        return mohawk.util.calculate_mac("bewit", resource, None).decode()
    except (mohawk.exc.HawkFail, KeyError, ValueError, UnicodeError):
        return None


def make_bewit(client_id: str, exp: str, mac: str, ext: str = "") -> str:
    """A bewit query value from its four parts (URL-safe base64, unpadded)."""
    inner = f"{client_id}\\{exp}\\{mac}\\{ext}".encode()
    return base64.urlsafe_b64encode(inner).decode().rstrip("=")


# -- what the server logged ----------------------------------------------------


def _describe(exc: BaseException) -> tuple[str, str]:
    """(`Type at file:line in function`, message) of an exception, located at
    its innermost frame in tc_notebook (or its innermost frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if "/tc_notebook/" in f.filename] or frames
    where = f" at {Path(own[-1].filename).name}:{own[-1].lineno} in {own[-1].name}" if own else ""
    message = str(exc)
    if len(message) > 240:
        message = f"{message[:150]} … {message[-80:]}"
    return f"{type(exc).__name__}{where}", message


class Incidents(logging.Filter):
    """Takes the exceptions the server logs, to say what each 5xx came from, and
    keeps their tracebacks out of pytest's report (the failures quote them)."""

    PREFIXES = ("tc_notebook", "aiohttp")

    def __init__(self) -> None:
        super().__init__()
        self._seen: list[tuple[str, str]] = []

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep a record, unless it is a logged exception (taken here)."""
        if record.levelno >= logging.ERROR and record.exc_info and record.exc_info[1]:
            self._seen.append(_describe(record.exc_info[1]))
            return False
        return True

    def take(self) -> list[tuple[str, str]]:
        """The exceptions logged since the last call."""
        seen, self._seen = self._seen, []
        return seen

    @contextmanager
    def installed(self) -> Iterator[Incidents]:
        """Filter the server's loggers (a filter only sees its own logger's records)."""
        names = [n for n in logging.root.manager.loggerDict if n.startswith(self.PREFIXES)]
        loggers = [logging.getLogger(name) for name in (*self.PREFIXES, *names)]
        for logger in loggers:
            logger.addFilter(self)
        try:
            yield self
        finally:
            for logger in loggers:
                logger.removeFilter(self)


# -- checks and the ledger -----------------------------------------------------


def _no_constants(name: str) -> Any:
    """Refuse NaN and Infinity, which JSON does not have."""
    raise ValueError(f"{name} is not JSON")


def _strict_json(text: str) -> Any:
    """Parse JSON as RFC 8259 has it."""
    return json.loads(text, parse_constant=_no_constants)


# A fresh thread's stack is nearly empty, so any nesting the server managed to
# write can be read back there.
_PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fuzz-json")


def error_format_problem(answer: Answer) -> str | None:
    """Why a 4xx answer is not Taskcluster's `{code, message}` JSON, or None."""
    content_type = answer.header("Content-Type")
    if not content_type.startswith("application/json"):
        return f"{answer.status} is {content_type or 'untyped'}, not JSON"
    try:
        body = _PARSER.submit(_strict_json, answer.body.decode("utf-8")).result()
    except (ValueError, RecursionError) as exc:
        return f"{answer.status} body is not strict JSON ({type(exc).__name__}: {str(exc)[:40]})"
    if not (
        isinstance(body, dict)
        and isinstance(body.get("code"), str)
        and isinstance(body.get("message"), str)
    ):
        return f"{answer.status} JSON body lacks a string code or message"
    return None


def leaks(answer: Answer, secrets: dict[str, str]) -> list[str]:
    """The names of the secrets found in the body or headers of an answer."""
    text = answer.body.decode("latin-1") + "\n".join(f"{k}: {v}" for k, v in answer.headers)
    return [name for name, value in secrets.items() if value and value.rstrip("=") in text]


@dataclass
class Failure:
    """One distinct failure (a problem, whatever entry shows it), its first example,
    and how often each entry or route showed it."""

    problem: str
    request: str
    answer: str
    server: str
    places: Counter[str] = field(default_factory=Counter)

    def describe(self) -> str:
        """The failure as a few report lines."""
        where = ", ".join(f"{place} ({n})" for place, n in sorted(self.places.items()))
        lines = [f"[{sum(self.places.values())}x] {self.problem}", f"    at:      {where}"]
        lines += [f"    request: {self.request}", f"    answer:  {self.answer}"]
        if self.server:
            lines.append(f"    server:  {self.server}")
        return "\n".join(lines)


class Ledger:
    """Every answer's status, and each distinct failure with its first example."""

    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        self.failures: dict[str, Failure] = {}

    def count(self, answer: Answer) -> None:
        """Tally an answer by status."""
        self.statuses[str(answer.status) if answer.status is not None else "none"] += 1

    def fail(self, problem: str, where: str, request: str, answer: Answer, server: str) -> None:
        """Record a failure seen at `where` (an entry or route)."""
        if problem not in self.failures:
            self.failures[problem] = Failure(problem, request, answer.excerpt(), server)
        self.failures[problem].places[where] += 1

    def report(self) -> str:
        """Every failure, in the order of their problems."""
        return "\n".join(self.failures[key].describe() for key in sorted(self.failures))

    def summary(self) -> str:
        """One line: how many requests, by status, and how many distinct failures."""
        total = sum(self.statuses.values())
        by_status = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        failed = sum(sum(f.places.values()) for f in self.failures.values())
        return (
            f"fuzz: {total} cases sent to the sandbox; answers by status: "
            f"{by_status}; {failed} failed checks in {len(self.failures)} distinct failures"
        )
