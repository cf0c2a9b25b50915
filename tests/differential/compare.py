"""What the differential tests compare of two answers to the same call, and how:
each answer normalised (timestamps, secrets, continuation tokens and the root
URL replaced by placeholders), the two diffed, and each difference looked up in
accepted.py. TALLY counts what the session compared."""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .accepted import ACCEPTED, ANY, Accepted

if TYPE_CHECKING:
    from .harness import Answer

# -- normalising ---------------------------------------------------------------

_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
_UNTIL = re.compile(r"/until/\d+(\.\d+)?$")
_FENCED = re.compile(r"```\n(.*?)\n```", re.S)
_INDEX = re.compile(r"\[\d+\]")
SECRETS = {"accessToken", "seed", "signature"}
MOMENTS = {"start", "expiry", "uptime"}  # numbers that are times


def scopes_named(message: str) -> list[Any]:
    """The fenced blocks of an error message (the scopes a 403 names), parsed as
    JSON when they are JSON."""
    blocks: list[Any] = []
    for block in _FENCED.findall(message):
        try:
            blocks.append(json.loads(block))
        except ValueError:
            blocks.append(block)
    return blocks


def normalise(value: Any, root_url: str, key: str = "") -> Any:
    """`value` with what must differ between deployments replaced by
    placeholders: timestamps, secrets, times in numbers, continuation tokens
    (opaque), the root URL."""
    if isinstance(value, dict):
        return {k: normalise(v, root_url, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, root_url, key) for v in value]
    if key in SECRETS and isinstance(value, str):
        return "<secret>"
    if key == "continuationToken" and isinstance(value, str):
        return "<token>"  # opaque: only whether there is one is compared
    if key in MOMENTS and isinstance(value, (int, float)):
        return "<time>"
    if key == "certificate" and isinstance(value, str):
        return normalise(json.loads(value), root_url)
    if isinstance(value, str):
        if _TIME.match(value):
            return "<time>"
        if key == "clientId":
            value = _UNTIL.sub("/until/<time>", value)
        if value.startswith(root_url):
            return "<root>" + value[len(root_url):]
    return value


def view(answer: Answer, root_url: str) -> dict[str, Any]:
    """What is compared of an answer: status, code, headers and body, normalised.
    An error body keeps its code, requestInfo and the scopes its message names
    (the wording of messages is the sandbox's own)."""
    body = answer.body
    if answer.code is not None and isinstance(body, dict) and answer.status >= 400:
        message = body.get("message", "")
        body = {**body, "message": scopes_named(message) if answer.code == "InsufficientScopes"
                else "<text>"}
    return {
        "status": answer.status,
        "code": answer.code,
        "headers": normalise(answer.headers, root_url),
        "body": normalise(body, root_url),
    }


# -- comparing -----------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One way two answers to the same call differ."""

    label: str
    entry: str
    path: str
    kind: str  # missing | status | code | keys | value
    sandbox: Any
    rig: Any

    def __str__(self) -> str:
        return f"{self.path} ({self.kind}): sandbox {self.sandbox!r} / rig {self.rig!r}"


def diff(a: Any, b: Any, path: str = "") -> list[tuple[str, str, Any, Any]]:
    """(path, kind, a-side, b-side) for every place the two values differ:
    key sets of every dict (recursively), list lengths, and values."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        if set(a) != set(b):
            found.append((path, "keys", sorted(set(a) - set(b)), sorted(set(b) - set(a))))
        for key in sorted(set(a) & set(b)):
            found += diff(a[key], b[key], f"{path}.{key}" if path else key)
        return found
    if isinstance(a, list) and isinstance(b, list):
        found = []
        if len(a) != len(b):
            found.append((path, "length", len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found += diff(x, y, f"{path}[{i}]")
        return found
    return [] if a == b else [(path, "value", a, b)]


def compare(sandbox: Answer, rig: Answer, sandbox_root: str, rig_root: str) -> list[Difference]:
    """Every difference between two answers to the same call."""
    found = []
    for path, kind, left, right in diff(view(sandbox, sandbox_root), view(rig, rig_root)):
        if path in ("status", "code"):
            kind = path
        found.append(Difference(sandbox.label, sandbox.entry, path, kind, left, right))
    return found


def _holds(value: Any, pattern: Any) -> bool:
    if isinstance(pattern, str) and isinstance(value, str):
        return fnmatch.fnmatchcase(value, pattern)
    return pattern == ANY or value == pattern


def find_accepted(difference: Difference) -> Accepted | None:
    """The entry of accepted.py that covers a difference, if any."""
    path = _INDEX.sub("[]", difference.path)
    for entry in ACCEPTED:
        if (
            (difference.entry in entry.entries or ANY in entry.entries)
            and entry.kind == difference.kind
            and fnmatch.fnmatchcase(path, entry.path)
            and _holds(difference.sandbox, entry.sandbox)
            and _holds(difference.rig, entry.rig)
            and (not entry.steps or difference.label.split(": ", 1)[-1] in entry.steps)
        ):
            return entry
    return None


@dataclass
class Tally:
    """What the session compared: calls per API entry, accepted entries used."""

    calls: Counter = field(default_factory=Counter)
    used: set[int] = field(default_factory=set)

    @property
    def total(self) -> int:
        """Number of calls compared."""
        return sum(self.calls.values())


TALLY = Tally()


DUMP_VARIABLE = "TC_NOTEBOOK_DIFFERENTIAL_DUMP"


def dump(sandbox: Answer, rig: Answer, sandbox_root: str, rig_root: str) -> None:
    """With $TC_NOTEBOOK_DIFFERENTIAL_DUMP set to a file, append both normalised
    answers of each compared call to it (one JSON object a line), to read them."""
    path = os.environ.get(DUMP_VARIABLE)
    if path:
        line = {"call": sandbox.label, "sandbox": view(sandbox, sandbox_root),
                "rig": view(rig, rig_root)}
        with open(path, "a") as out:
            out.write(json.dumps(line) + "\n")
