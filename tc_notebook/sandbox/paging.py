"""Paged lists: opaque continuation tokens and page sizes, as the queue's
list entries (listTaskGroup, listDependentTasks, listArtifacts) use them."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from . import strict_json
from .errors import APIError

MAX_PAGE = 1000
MAX_TOKEN_CHARS = 4096
MAX_OFFSET = 2**53  # beyond every list, and within SQLite's integers


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


def offset_of(token: str | None) -> int:
    """Where a page of a list by offset starts: 0 without a token, else the
    offset the token holds (InputError when it holds none)."""
    if not token:
        return 0
    offset = decode_token(token)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise APIError("InputError", "Invalid continuation token")
    if offset > MAX_OFFSET:
        raise APIError("InputError", "Invalid continuation token: offset out of range")
    return offset
