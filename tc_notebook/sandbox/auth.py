"""Who is calling: Hawk headers, bewits (signed URLs) and temporary credentials.

Verification of MACs and payload hashes is mohawk's; this module finds the
key to verify with (a client's token, or one derived from a temporary
credential's certificate) and the scopes the caller ends up with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import mohawk
import mohawk.bewit
import mohawk.exc
import mohawk.util

from .errors import APIError
from .scopes import satisfies

# Read-only scopes a public deployment grants to the `anonymous` role; every
# caller holds them, with or without credentials.
ANONYMOUS_SCOPES = (
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
MAX_CERTIFICATE_MS = 31 * 24 * 3600 * 1000

# mohawk warns on every request that has no nonce cache; Taskcluster keeps none.
logging.getLogger("mohawk").setLevel(logging.ERROR)


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


def _b64decode(text: str) -> bytes:
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _decode_ext(ext: str | None) -> dict:
    if not ext:
        return {}
    try:
        value = json.loads(_b64decode(ext))
    except ValueError as exc:
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


def _certificate_text(cert: dict, client_id: str) -> str:
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


def issue_temporary_credentials(
    issuer: str, issuer_token: str, client_id: str, scopes: list[str], start_ms: int, expiry_ms: int
) -> dict[str, str]:
    """Named temporary credentials, as the queue hands out with claims."""
    cert = {
        "version": 1,
        "scopes": list(scopes),
        "start": start_ms,
        "expiry": expiry_ms,
        "seed": secrets.token_urlsafe(33),  # 44 characters, as Taskcluster's
        "issuer": issuer,
    }
    cert["signature"] = _hmac_b64(issuer_token, _certificate_text(cert, client_id))
    return {
        "clientId": client_id,
        "accessToken": temporary_access_token(issuer_token, cert["seed"]),
        "certificate": json.dumps(cert),
    }


class Authenticator:
    """Checks the credentials of a request against the clients of the store."""

    def __init__(self, lookup: ClientLookup) -> None:
        self._lookup = lookup

    def _key_and_scopes(self, client_id: str, ext: dict) -> tuple[str, list[str]]:
        cert = ext.get("certificate")
        if cert is None:
            found = self._lookup(client_id)
            if found is None:
                raise _unauthorized(f"Unknown clientId {client_id!r}")
            return found
        if isinstance(cert, str):
            try:
                cert = json.loads(cert)
            except ValueError as exc:
                raise _unauthorized("ext.certificate is not valid JSON") from exc
        return self._check_certificate(client_id, cert)

    def _check_certificate(self, client_id: str, cert: object) -> tuple[str, list[str]]:
        fields = ("version", "seed", "start", "expiry", "scopes", "signature")
        if not isinstance(cert, dict) or any(f not in cert for f in fields):
            raise _unauthorized("ext.certificate is malformed")
        if cert["version"] != 1:
            raise _unauthorized("ext.certificate.version must be 1")
        if not isinstance(cert["scopes"], list) or not all(
            isinstance(s, str) for s in cert["scopes"]
        ):
            raise _unauthorized("ext.certificate.scopes must be a list of strings")
        now_ms = time.time() * 1000
        if cert["start"] > now_ms + CERTIFICATE_SKEW_MS:
            raise _unauthorized("ext.certificate.start is in the future")
        if cert["expiry"] < now_ms - CERTIFICATE_SKEW_MS:
            raise _unauthorized("ext.certificate.expiry is in the past")
        if cert["expiry"] - cert["start"] > MAX_CERTIFICATE_MS:
            raise _unauthorized("ext.certificate cannot last longer than 31 days")
        issuer = cert.get("issuer", client_id)
        if "issuer" in cert and issuer == client_id:
            raise _unauthorized("ext.certificate.issuer must differ from the clientId it names")
        found = self._lookup(issuer)
        if found is None:
            raise _unauthorized(f"Unknown issuer {issuer!r} of the temporary credentials")
        issuer_token, issuer_scopes = found
        if "issuer" in cert and not satisfies(issuer_scopes, f"auth:create-client:{client_id}"):
            raise _unauthorized(
                f"Issuer {issuer} lacks auth:create-client:{client_id} to name these credentials"
            )
        expected = _hmac_b64(issuer_token, _certificate_text(cert, client_id))
        if not hmac.compare_digest(expected, str(cert["signature"])):
            raise _unauthorized("ext.certificate has an invalid signature")
        if not all(satisfies(issuer_scopes, s) for s in cert["scopes"]):
            raise _unauthorized("ext.certificate claims scopes its issuer does not have")
        return temporary_access_token(issuer_token, cert["seed"]), cert["scopes"]

    def _caller(self, client_id: str, scopes: list[str], ext: dict) -> Caller:
        restricted = ext.get("authorizedScopes")
        if restricted is not None:
            if not isinstance(restricted, list) or not all(isinstance(s, str) for s in restricted):
                raise _unauthorized("ext.authorizedScopes must be a list of strings")
            if not all(satisfies(scopes, s) for s in restricted):
                raise _unauthorized("ext.authorizedScopes oversteps the client's scopes")
            scopes = restricted
        return Caller(client_id, tuple(scopes) + ANONYMOUS_SCOPES, True)

    def authenticate(
        self,
        method: str,
        url: str,
        authorization: str | None,
        bewit: str | None,
        body: bytes,
        content_type: str,
        canonical_url: str | None = None,
    ) -> Caller:
        """The caller of a request; `url` is absolute, as the client signed it.

        A bewit is also accepted for `canonical_url`, the URL as the official
        clients build it from the root URL: a proxy in front of the sandbox
        (jupyter-server-proxy) changes the Host and re-encodes the path of
        the signed URLs it forwards."""
        if authorization and bewit is not None:
            raise _unauthorized("Use either a Hawk header or a bewit, not both")
        if authorization:
            return self._from_header(method, url, authorization, body, content_type)
        if bewit is not None:
            urls = [url] if canonical_url in (None, url) else [url, canonical_url]
            return self._from_bewit(method, urls, bewit)
        return ANONYMOUS

    def _from_header(
        self, method: str, url: str, header: str, body: bytes, content_type: str
    ) -> Caller:
        try:
            parsed = mohawk.util.parse_authorization_header(header)
        except mohawk.exc.HawkFail as exc:
            raise _unauthorized(f"Malformed Hawk header: {exc}") from exc
        ext = _decode_ext(parsed.get("ext"))
        key, scopes = self._key_and_scopes(parsed["id"], ext)
        try:
            mohawk.Receiver(
                lambda cid: {"id": cid, "key": key, "algorithm": "sha256"},
                header,
                url,
                method,
                content=body,
                content_type=content_type.split(";")[0].strip().lower(),
                seen_nonce=lambda *_: False,
                accept_untrusted_content=True,
                timestamp_skew_in_seconds=TIMESTAMP_SKEW,
            )
        except mohawk.exc.TokenExpired as exc:
            raise _unauthorized("Hawk timestamp is outside the allowed 15 minutes skew") from exc
        except mohawk.exc.MisComputedContentHash as exc:
            raise _unauthorized("Payload hash does not match the request body") from exc
        except mohawk.exc.HawkFail as exc:
            raise _unauthorized(f"Hawk signature is invalid: {exc}") from exc
        return self._caller(parsed["id"], scopes, ext)

    def _from_bewit(self, method: str, urls: list[str], bewit: str) -> Caller:
        if method != "GET":
            raise _unauthorized("A bewit is only valid on GET requests")
        padded = bewit + "=" * (-len(bewit) % 4)
        try:
            parts = mohawk.bewit.parse_bewit(padded)
        except (mohawk.exc.HawkFail, ValueError) as exc:
            raise _unauthorized("Malformed bewit") from exc
        ext = _decode_ext(parts.ext)
        key, scopes = self._key_and_scopes(parts.id, ext)
        for url in urls:
            padded_url = re.sub(r"([?&]bewit=)[^&]*", lambda m: m.group(1) + padded, url, count=1)
            try:
                mohawk.bewit.check_bewit(
                    padded_url, lambda cid: {"id": cid, "key": key, "algorithm": "sha256"}
                )
            except mohawk.exc.TokenExpired as exc:
                raise _unauthorized("The signed URL has expired") from exc
            except mohawk.exc.MacMismatch as exc:
                mismatch = exc
                continue
            except mohawk.exc.HawkFail as exc:
                raise _unauthorized(f"The bewit is invalid: {exc}") from exc
            return self._caller(parts.id, scopes, ext)
        raise _unauthorized(f"The bewit is invalid: {mismatch}")
