"""Who makes a call: the URLs a client may have signed for a request (as it
reached the sandbox, and as an official client builds it from the root URL),
handed to the `Authenticator` with the request's credentials."""

from __future__ import annotations

import re
import urllib.parse
from typing import TYPE_CHECKING

from aiohttp import web

from .auth import Authenticator, Caller

if TYPE_CHECKING:
    from .dispatch import Entry


def signed_url(request: web.Request) -> str | None:
    """The absolute URL a client signed: scheme, Host (or forwarded port), raw
    path; None when the Host or forwarded port is not one a client could sign."""
    scheme = "http"
    host = request.headers.get("Host", request.host)
    hostname, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    if not hostname:
        hostname, port = host, ""
    if request.headers.get("X-Forwarded-Proto", "").lower() == "https":
        scheme, port = "https", "443"
    port = request.headers.get("X-Forwarded-Port", port)
    if not _HOSTNAME.fullmatch(hostname) or not (port == "" or _is_port(port)):
        return None
    netloc = f"{hostname}:{port}" if port else hostname
    return f"{scheme}://{netloc}{request.raw_path}"


_HOSTNAME = re.compile(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253}")


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 5 and 0 < int(text) < 65536


def authenticate(
    authenticator: Authenticator,
    entry: Entry,
    params: dict[str, str],
    request: web.Request,
    body: bytes,
    base: str,
) -> Caller:
    """Who makes this call to `entry` (`base`: the root URL and the service's
    prefix); nobody needs to be for an entry without scopes."""
    if entry.scopes is None:
        return Caller("anonymous", (), False)
    return authenticator.authenticate(
        request.method,
        signed_url(request),
        request.headers.get("Authorization"),
        request.query.get("bewit"),
        body,
        request.headers.get("Content-Type", ""),
        canonical_url(entry, params, request, base) if "bewit" in request.query else None,
    )


def canonical_url(entry: Entry, params: dict[str, str], request: web.Request, base: str) -> str:
    """The URL of this call as an official client builds it from `base`, the
    root URL and the service's prefix."""
    path = entry.route
    for name, value in params.items():
        path = path.replace(f"<{name}>", urllib.parse.quote(value, safe=""))
    path = re.sub(r"\{/<[a-zA-Z]+>\}", "", path).replace("{", "").replace("}", "")
    query = request.raw_path.partition("?")[2]
    return f"{base}{path}" + (f"?{query}" if query else "")
