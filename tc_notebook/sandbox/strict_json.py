"""JSON as Taskcluster accepts it: no `NaN` or `Infinity`, no lone surrogates,
and nesting bounded, so that what is stored can be served again and no
input can exhaust the parser's recursion."""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 100


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is beyond the range of JSON numbers")
    return value


def loads(data: str | bytes) -> Any:
    """Parse JSON; ValueError (with a readable message) for what JSON or
    Taskcluster would refuse."""
    try:
        value = json.loads(data, parse_constant=_no_constants, parse_float=_finite)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    check(value)
    return value


def check(value: Any) -> None:
    """ValueError unless `value` nests at most MAX_DEPTH levels and every
    string in it (keys included) is valid Unicode."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                for key in item:
                    _check_text(key)
                children = item.values()
            else:
                children = item
            pending.extend(
                (child, depth + 1) for child in children if isinstance(child, (str, dict, list))
            )


def is_text(value: object) -> bool:
    """A string that is valid Unicode (JSON's escapes let lone surrogates through)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_text(text: str) -> None:
    if not is_text(text):
        raise ValueError("JSON string holds a lone surrogate (invalid Unicode)")
