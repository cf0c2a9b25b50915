"""Scope satisfaction and scope expressions (`AllOf` / `AnyOf` / `for-each`).

A scope `a:b*` satisfies every scope starting with `a:b`; `*` alone satisfies
all. Expressions are templates whose `<param>` placeholders are filled from
the request before they are checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Expression = str | dict[str, Any]

Authorize = Callable[..., None]
"""Checks the scope expression of the entry being called, filled with the
given parameters (`Call.authorize`); raises InsufficientScopes."""

_PLACEHOLDER = re.compile(r"<([a-zA-Z]+)>")


def satisfies(have: Iterable[str], need: str) -> bool:
    """True when one of the scopes in `have` satisfies the scope `need`."""
    for scope in have:
        if scope == need or (scope.endswith("*") and need.startswith(scope[:-1])):
            return True
    return False


def template_params(expression: Expression) -> set[str]:
    """Names of the parameters an expression template needs."""
    if isinstance(expression, str):
        return set(_PLACEHOLDER.findall(expression))
    if "for" in expression:
        return (template_params(expression["each"]) - {expression["for"]}) | {expression["in"]}
    key = "AllOf" if "AllOf" in expression else "AnyOf"
    return set().union(*(template_params(item) for item in expression[key]))


def fill(expression: Expression, params: Mapping[str, Any]) -> Expression:
    """Replace placeholders with values, expanding `for`/`in`/`each` loops."""
    if isinstance(expression, str):
        return _PLACEHOLDER.sub(lambda m: str(params[m.group(1)]), expression)
    if "for" in expression:
        raise ValueError("a for-each must sit inside AllOf or AnyOf")
    key = "AllOf" if "AllOf" in expression else "AnyOf"
    items: list[Expression] = []
    for item in expression[key]:
        if isinstance(item, dict) and "for" in item:
            for value in params[item["in"]]:
                items.append(fill(item["each"], {**params, item["for"]: value}))
        else:
            items.append(fill(item, params))
    return {key: items}


def missing(have: list[str], expression: Expression) -> Expression | None:
    """None if `have` satisfies the filled expression, else what is missing."""
    if isinstance(expression, str):
        return None if satisfies(have, expression) else expression
    if "AllOf" in expression:
        gaps = [m for m in (missing(have, e) for e in expression["AllOf"]) if m is not None]
        if not gaps:
            return None
        return gaps[0] if len(gaps) == 1 else {"AllOf": gaps}
    gaps = []
    for item in expression["AnyOf"]:
        gap = missing(have, item)
        if gap is None:
            return None
        gaps.append(gap)
    return {"AnyOf": gaps} if len(gaps) != 1 else gaps[0]
