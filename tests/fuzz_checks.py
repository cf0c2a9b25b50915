"""How the fuzz suite, tests/test_fuzz_*.py, checks what the server answers (no
fixtures here): the secrets an answer must not carry (the root token, the Hawk and
bewit MACs the server expects), the server's logged exceptions, the `{code, message}`
JSON of errors, and a ledger of every answer and each distinct failure. What is sent,
and the `Answer` that comes back, are in fuzz_requests.py.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mohawk.base
import mohawk.bewit
import mohawk.exc
import mohawk.util
from fuzz_requests import Answer

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
    """Why a 4xx answer is not Taskcluster's `{code, message}` JSON (nor its 404
    for a path no entry has), or None."""
    content_type = answer.header("Content-Type")
    if not content_type.startswith("application/json"):
        return f"{answer.status} is {content_type or 'untyped'}, not JSON"
    try:
        body = _PARSER.submit(_strict_json, answer.body.decode("utf-8")).result()
    except (ValueError, RecursionError) as exc:
        return f"{answer.status} body is not strict JSON ({type(exc).__name__}: {str(exc)[:40]})"
    if answer.status == 404 and body == {"error": "Not found"}:
        return None  # a path no entry has, answered as Taskcluster's web framework does
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
