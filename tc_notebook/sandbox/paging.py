"""Paged lists: opaque continuation tokens and page sizes, as the queue's
list entries (listTaskGroup, listDependentTasks, listArtifacts) use them.

As in Taskcluster, a token that is not one the sandbox handed out starts the
list over, but for a by-offset list's token with a character outside
`[A-Za-z0-9]` (which cannot be one of its tokens there): a 400 `InputError`,
as is one longer than MAX_TOKEN_CHARS (the sandbox's own limit)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any

from . import strict_json
from .errors import APIError

MAX_PAGE = 1000
MAX_TOKEN_CHARS = 4096
MAX_OFFSET = 2**53  # beyond every list, and within SQLite's integers
_OFFSET_TOKEN = re.compile(r"[A-Za-z0-9]*")


def encode_token(value: Any) -> str:
    """An opaque continuation token for a JSON value."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def decode_token(token: str | None) -> Any:
    """The value of a continuation token; None when absent or unreadable."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        return strict_json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        return None


def page_size(limit: str | None) -> int:
    """The page size asked for (digits only, checked by the API), at most 1000."""
    if not limit:
        return MAX_PAGE
    return min(int(limit), MAX_PAGE) if len(limit) <= 4 else MAX_PAGE


def encode_offset(offset: int) -> str | None:
    """The token of a by-offset list's page starting at `offset` (letters and
    digits only); None for offset 0, as Taskcluster has it."""
    if not offset:
        return None
    return json.dumps(["offset", offset]).encode().hex()


def offset_page(
    key: str, rows_at: Callable[[int, int], list], token: str | None, limit: str | None
) -> dict[str, Any]:
    """A page of a by-offset list, `{key: [...], continuationToken?}`:
    `rows_at(offset, count)` reads `count` rows from `offset` (one more than
    the page holds, which tells whether more follow)."""
    offset, size = offset_of(token), page_size(limit)
    rows = rows_at(offset, size + 1)
    reply: dict[str, Any] = {key: rows[:size]}
    if len(rows) > size and (next_token := encode_offset(offset + size)):
        reply["continuationToken"] = next_token
    return reply


def offset_of(token: str | None) -> int:
    """Where a page of a by-offset list starts: the offset a token of
    `encode_offset` holds, else 0 (InputError for a character no such token
    has, or too many)."""
    if not token:
        return 0
    if len(token) > MAX_TOKEN_CHARS or not _OFFSET_TOKEN.fullmatch(token):
        raise APIError("InputError", "Invalid continuation token")
    try:
        value = strict_json.loads(bytes.fromhex(token))
    except ValueError:
        return 0
    if not (isinstance(value, list) and len(value) == 2 and value[0] == "offset"):
        return 0
    offset = value[1]
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        return 0
    if offset > MAX_OFFSET:
        raise APIError("InputError", "Invalid continuation token: offset out of range")
    return offset
