"""Who is calling: Hawk headers, bewits (signed URLs) and temporary credentials.

Verification of MACs and payload hashes is mohawk's; this module finds the
key to verify with (a client's token, or one derived from a temporary
credential's certificate) and the scopes the caller ends up with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import mohawk.bewit
import mohawk.exc

from . import hawk, strict_json
from .errors import APIError
from .scopes import satisfies
from .strict_json import is_text

# Read-only scopes a public deployment grants to the `anonymous` role; every
# caller holds them, with or without credentials.
ANONYMOUS_SCOPES = (
    "index:find-task:*",
    "index:list-namespaces:*",
    "index:list-tasks:*",
    "queue:get-artifact:public/*",
    "queue:get-provisioner:*",
    "queue:get-task:*",
    "queue:get-worker-type:*",
    "queue:get-worker:*",
    "queue:list-artifacts:*",
    "queue:list-dependent-tasks:*",
    "queue:list-provisioners",
    "queue:list-task-group:*",
    "queue:list-worker-types:*",
    "queue:list-workers:*",
    "queue:pending-count:*",
    "queue:status:*",
)

TIMESTAMP_SKEW = 15 * 60  # seconds, as Taskcluster allows
CERTIFICATE_SKEW_MS = 5 * 60 * 1000
MAX_REMEMBERED_CERTIFICATES = 1024
MAX_CERTIFICATE_MS = 31 * 24 * 3600 * 1000

# mohawk warns on every request that has no nonce cache; Taskcluster keeps none.
logging.getLogger("mohawk").setLevel(logging.ERROR)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """The authenticated party of one request and the scopes it holds."""

    client_id: str
    scopes: tuple[str, ...]
    authenticated: bool


ANONYMOUS = Caller("anonymous", ANONYMOUS_SCOPES, False)

ClientLookup = Callable[[str], "tuple[str, list[str]] | None"]
"""clientId -> (accessToken, scopes), or None when there is no such client."""


def _unauthorized(message: str) -> APIError:
    return APIError("AuthenticationFailed", message)


# Anything a malformed credential can make the parsers raise; each becomes a
# 401 with a fixed message, never a 500 and never the parser's own text
# (mohawk's messages carry the MAC it expected).
MALFORMED = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    RecursionError,
    UnicodeError,
)
MAX_EXT_BYTES = 64 * 1024
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEADER_FIELDS = ("id", "ts", "nonce", "mac")
_BEWIT = re.compile(r"[A-Za-z0-9_-]{1,8192}={0,2}")
CERTIFICATE_FIELDS = ("version", "seed", "start", "expiry", "scopes", "signature")


def _b64decode(text: str) -> bytes:
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _is_time(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) < 2**53
    )


def _decode_ext(ext: str | None) -> dict:
    if not ext:
        return {}
    if len(ext) > MAX_EXT_BYTES:
        raise _unauthorized("Failed to parse ext: too long")
    try:
        value = strict_json.loads(_b64decode(ext))
    except MALFORMED as exc:
        raise _unauthorized("Failed to parse ext") from exc
    if not isinstance(value, dict):
        raise _unauthorized("ext must be a JSON object")
    return value


def _hmac_b64(key: str, message: str) -> str:
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def temporary_access_token(issuer_token: str, seed: str) -> str:
    """The accessToken that goes with a certificate's seed (URL-safe, no padding)."""
    return _hmac_b64(issuer_token, seed).replace("+", "-").replace("/", "_").rstrip("=")


def certificate_text(cert: dict, client_id: str) -> str:
    """The text a temporary credential's certificate signature is computed over."""
    lines = [f"version:{cert['version']}"]
    if "issuer" in cert:
        lines += [f"clientId:{client_id}", f"issuer:{cert['issuer']}"]
    lines += [
        f"seed:{cert['seed']}",
        f"start:{cert['start']}",
        f"expiry:{cert['expiry']}",
        "scopes:",
        *cert["scopes"],
    ]
    return "\n".join(lines)


def _check_times(cert: dict) -> None:
    """A certificate is valid now, give or take the allowed skew, and lasts at most 31 days."""
    now_ms = time.time() * 1000
    if cert["start"] > now_ms + CERTIFICATE_SKEW_MS:
        raise _unauthorized("ext.certificate.start is in the future")
    if cert["expiry"] < now_ms - CERTIFICATE_SKEW_MS:
        raise _unauthorized("ext.certificate.expiry is in the past")
    if cert["expiry"] - cert["start"] > MAX_CERTIFICATE_MS:
        raise _unauthorized("ext.certificate cannot last longer than 31 days")


class Authenticator:
    """Checks the credentials of a request against the clients of the store.

    Every failure is a 401 whose message names what was wrong ("Bad mac",
    "Stale timestamp") and never carries a computed MAC, signature or token."""

    def __init__(self, lookup: ClientLookup) -> None:
        self._lookup = lookup
        # (clientId, ext) -> what `_ext_key_scopes` found for a certificate.
        self._verified: dict[tuple[str, str | None], tuple] = {}

    def _client(self, client_id: str) -> tuple[str, list[str]] | None:
        return self._lookup(client_id) if is_text(client_id) else None

    def _ext_key_scopes(self, client_id: str, ext_text: str | None) -> tuple[dict, str, list[str]]:
        """The request's ext, and the key and scopes its credentials give. A
        certificate is checked in full once per distinct ext: later requests
        with the same one check its times again, and that its issuer's
        record has not changed since (else it is checked in full again)."""
        remembered = self._verified.get((client_id, ext_text))
        if remembered is not None:
            ext, cert, issuer_record, key, scopes = remembered
            _check_times(cert)
            if self._client(cert.get("issuer", client_id)) == issuer_record:
                return ext, key, scopes
        ext = _decode_ext(ext_text)
        cert = ext.get("certificate")
        if cert is None:
            found = self._client(client_id)
            if found is None:
                raise _unauthorized(f"Client ID {client_id!r} does not exist")
            return ext, *found
        if isinstance(cert, str):
            try:
                cert = strict_json.loads(cert)
            except ValueError as exc:
                raise _unauthorized("ext.certificate is not valid JSON") from exc
        key, scopes = self._check_certificate(client_id, cert)
        if len(self._verified) >= MAX_REMEMBERED_CERTIFICATES:
            self._verified.pop(next(iter(self._verified)))  # the oldest
        issuer_record = self._client(cert.get("issuer", client_id))
        self._verified[(client_id, ext_text)] = (ext, cert, issuer_record, key, scopes)
        return ext, key, scopes

    @staticmethod
    def _check_certificate_fields(cert: object) -> dict:
        if not isinstance(cert, dict):
            raise _unauthorized("ext.certificate must be a JSON object")
        missing = [f for f in CERTIFICATE_FIELDS if f not in cert]
        if missing:
            raise _unauthorized(f"ext.certificate lacks {', '.join(missing)}")
        if cert["version"] != 1 or isinstance(cert["version"], bool):
            raise _unauthorized("ext.certificate.version must be 1")
        for name in ("seed", "signature", *(["issuer"] if "issuer" in cert else [])):
            if not is_text(cert[name]):
                raise _unauthorized(f"ext.certificate.{name} must be a string")
        for name in ("start", "expiry"):
            if not _is_time(cert[name]):
                raise _unauthorized(f"ext.certificate.{name} must be a time in milliseconds")
        scopes = cert["scopes"]
        if not isinstance(scopes, list) or not all(is_text(s) for s in scopes):
            raise _unauthorized("ext.certificate.scopes must be a list of strings")
        return cert

    def _check_certificate(self, client_id: str, cert: object) -> tuple[str, list[str]]:
        cert = self._check_certificate_fields(cert)
        _check_times(cert)
        issuer = cert.get("issuer", client_id)
        if "issuer" in cert and issuer == client_id:
            raise _unauthorized("ext.certificate.issuer must differ from the clientId it names")
        found = self._client(issuer)
        if found is None:
            raise _unauthorized(f"Client ID {issuer!r} (the certificate's issuer) does not exist")
        issuer_token, issuer_scopes = found
        if "issuer" in cert and not satisfies(issuer_scopes, f"auth:create-client:{client_id}"):
            raise _unauthorized(
                f"Issuer {issuer} lacks auth:create-client:{client_id} to name these credentials"
            )
        expected = _hmac_b64(issuer_token, certificate_text(cert, client_id))
        if not hmac.compare_digest(expected.encode(), cert["signature"].encode()):
            raise _unauthorized("ext.certificate has a bad signature")
        if not all(satisfies(issuer_scopes, s) for s in cert["scopes"]):
            raise _unauthorized("ext.certificate claims scopes its issuer does not have")
        return temporary_access_token(issuer_token, cert["seed"]), cert["scopes"]

    def _caller(self, client_id: str, scopes: list[str], ext: dict) -> Caller:
        restricted = ext.get("authorizedScopes")
        if restricted is not None:
            if not isinstance(restricted, list) or not all(is_text(s) for s in restricted):
                raise _unauthorized("ext.authorizedScopes must be a list of strings")
            # Every client holds the anonymous role's scopes, so they count here too.
            held = [*scopes, *ANONYMOUS_SCOPES]
            if not all(satisfies(held, s) for s in restricted):
                raise _unauthorized("ext.authorizedScopes oversteps the client's scopes")
            scopes = restricted
        return Caller(client_id, tuple(scopes) + ANONYMOUS_SCOPES, True)

    def authenticate(
        self,
        method: str,
        url: str | None,
        authorization: str | None,
        bewit: str | None,
        body: bytes,
        content_type: str,
        canonical_url: str | None = None,
    ) -> Caller:
        """The caller of a request; `url` is absolute, as the client signed it
        (None when the request's Host cannot have been signed).

        A bewit is also accepted for `canonical_url`, the URL as the official
        clients build it from the root URL: a proxy in front of the sandbox
        (jupyter-server-proxy) changes the Host and re-encodes the path of
        the signed URLs it forwards."""
        authorization = authorization or None
        if authorization is not None and bewit is not None:
            raise _unauthorized("Use either a Hawk header or a bewit, not both")
        if authorization is None and bewit is None:
            return ANONYMOUS
        try:
            if authorization is not None:
                if url is None:
                    raise _unauthorized("Bad Host header")
                return self._from_header(method, url, authorization, body, content_type)
            urls = [u for u in dict.fromkeys((url, canonical_url)) if u is not None]
            return self._from_bewit(method, urls, bewit)
        except MALFORMED as exc:
            log.debug("malformed credentials (%s)", type(exc).__name__)
            raise _unauthorized("Bad credentials") from None

    def _from_header(
        self, method: str, url: str, header: str, body: bytes, content_type: str
    ) -> Caller:
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "hawk" or not rest.strip():
            raise _unauthorized("Bad header format: expected Hawk credentials")
        try:
            parsed = hawk.parse_header(header)
        except (mohawk.exc.HawkFail, *MALFORMED) as exc:
            raise _unauthorized("Bad header format") from exc
        missing = [f for f in _HEADER_FIELDS if not parsed.get(f)]
        if missing:
            raise _unauthorized(f"Missing attributes: {', '.join(missing)}")
        if not _TIMESTAMP.fullmatch(parsed["ts"]):
            raise _unauthorized("Bad timestamp: expected seconds since the epoch")
        ext, key, scopes = self._ext_key_scopes(parsed["id"], parsed.get("ext"))
        try:
            hawk.check_request(parsed, key, url, method, body, content_type, TIMESTAMP_SKEW)
        except mohawk.exc.TokenExpired as exc:
            raise _unauthorized("Stale timestamp (more than 15 minutes off)") from exc
        except mohawk.exc.MisComputedContentHash as exc:
            raise _unauthorized("Bad payload hash") from exc
        except mohawk.exc.MacMismatch as exc:
            raise _unauthorized("Bad mac") from exc
        return self._caller(parsed["id"], scopes, ext)

    def _from_bewit(self, method: str, urls: list[str], bewit: str) -> Caller:
        if method != "GET":
            raise _unauthorized("Invalid method: a bewit is only valid on GET requests")
        if not bewit or not _BEWIT.fullmatch(bewit):
            raise _unauthorized("Bad bewit")
        bewit = bewit.rstrip("=")
        padded = bewit + "=" * (-len(bewit) % 4)
        try:
            parts = mohawk.bewit.parse_bewit(padded)
        except (mohawk.exc.HawkFail, *MALFORMED) as exc:
            raise _unauthorized("Bad bewit") from exc
        if not parts.id or not parts.mac or not _TIMESTAMP.fullmatch(parts.expiration):
            raise _unauthorized("Bad bewit")
        ext, key, scopes = self._ext_key_scopes(parts.id, parts.ext)
        for url in urls:
            padded_url = re.sub(r"([?&]bewit=)[^&]*", lambda m: m.group(1) + padded, url, count=1)
            try:
                mohawk.bewit.check_bewit(
                    padded_url, lambda cid: {"id": cid, "key": key, "algorithm": "sha256"}
                )
            except mohawk.exc.TokenExpired as exc:
                raise _unauthorized("Access expired: the signed URL has expired") from exc
            except mohawk.exc.MacMismatch:
                continue
            except mohawk.exc.HawkFail as exc:
                raise _unauthorized("Bad bewit") from exc
            return self._caller(parts.id, scopes, ext)
        raise _unauthorized("Bad mac")
