"""Hawk request headers, checked by mohawk's rules without mohawk's cost.

mohawk's `Receiver` formats debug messages (`pprint.pformat` of the parsed
header, of the URL's parts, of the hashed payload) on every request whether
or not debug logging is on, and parses the header a second time: about a
tenth of the sandbox's time per request. The checks here reuse mohawk's own
pieces (its header pattern, allowed keys and characters, normalized string)
and keep its order: MAC, then payload hash, then timestamp.
tests/test_hawk_equivalence.py holds them to `mohawk.Receiver`'s verdicts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from types import SimpleNamespace
from urllib.parse import urlparse

import mohawk.exc
import mohawk.util

DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_header(header: str) -> dict[str, str]:
    """The attributes of a `Hawk id="…", ts="…", …` header; raises
    `mohawk.exc.HawkFail` (or ValueError) where mohawk's parser does."""
    if len(header) > mohawk.util.MAX_LENGTH:
        raise mohawk.exc.BadHeaderValue("header too long")
    scheme, attributes_text = header.split(" ", 1)
    if scheme.lower() != "hawk":
        raise mohawk.exc.HawkFail("not a Hawk header")
    attributes: dict[str, str] = {}

    def take(match: object) -> str:
        key, value = match.group("key"), match.group("value")
        if key not in mohawk.util.allowable_header_keys:
            raise mohawk.exc.HawkFail("unknown Hawk key")
        mohawk.util.validate_header_attr(value, name=key)
        if key in attributes:
            raise mohawk.exc.BadHeaderValue("duplicate key")
        attributes[key] = value
        return ""

    if mohawk.util.HAWK_HEADER_RE.sub(take, attributes_text) != "":
        raise mohawk.exc.BadHeaderValue("unparsed text in the header")
    return attributes


def payload_hash(body: bytes, content_type: str) -> str:
    """Hawk's payload hash (SHA-256) of a body and its content type."""
    digest = hashlib.sha256()
    media_type = mohawk.util.parse_content_type(content_type)
    digest.update(f"hawk.{mohawk.util.HAWK_VER}.payload\n{media_type}\n".encode())
    digest.update(body)
    digest.update(b"\n")
    return base64.b64encode(digest.digest()).decode()


def check_request(
    attributes: dict[str, str],
    key: str,
    url: str,
    method: str,
    body: bytes,
    content_type: str,
    skew_seconds: float,
) -> None:
    """Check a parsed header against the request, as `mohawk.Receiver` does
    with no nonce check and `accept_untrusted_content=True`. Raises
    MacMismatch, MisComputedContentHash or TokenExpired."""
    parts = urlparse(url)  # as mohawk: a last segment's `;params` are not signed
    resource = parts.path + (f"?{parts.query}" if parts.query else "")
    port = parts.port if parts.port is not None else DEFAULT_PORTS.get(parts.scheme)
    their_hash = attributes.get("hash", "")
    request = SimpleNamespace(
        timestamp=attributes["ts"],
        nonce=attributes["nonce"],
        method=method.upper(),
        name=resource,
        host=parts.hostname or "",
        port=str(port),
        ext=attributes.get("ext"),
        app=attributes.get("app"),
        dlg=attributes.get("dlg"),
    )
    normalized = mohawk.util.normalize_string("header", request, their_hash)
    mac = hmac.new(key.encode("ascii"), normalized.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(base64.b64encode(mac), attributes.get("mac", "").encode()):
        raise mohawk.exc.MacMismatch("MACs do not match")
    if "hash" in attributes:
        if not hmac.compare_digest(payload_hash(body, content_type), their_hash):
            raise mohawk.exc.MisComputedContentHash("payload hash does not match")
    if abs(int(attributes["ts"]) - int(time.time())) > skew_seconds:
        raise mohawk.exc.TokenExpired("stale timestamp", localtime_in_seconds=0,
                                      www_authenticate="")
