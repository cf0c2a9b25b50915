"""Taskcluster's error responses: codes, HTTP statuses and the body format."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from aiohttp import web

STATUS_BY_CODE = {
    "MalformedPayload": 400,
    "InvalidRequestArguments": 400,
    "InputValidationError": 400,
    "InputError": 400,
    "AuthenticationFailed": 401,
    "InsufficientScopes": 403,
    "AccessDenied": 403,  # the sandbox's blob store: a missing or bad URL signature
    "ResourceNotFound": 404,
    "NoMatchingMethod": 406,  # the Object service: no download method both sides accept
    "RequestConflict": 409,
    "ResourceExpired": 410,
    "InputTooLarge": 413,
    "TooManyRequests": 429,
    "InternalServerError": 500,
}


log = logging.getLogger(__name__)


class APIError(Exception):
    """An error answered in Taskcluster's `{code, message, requestInfo}` format."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.status = STATUS_BY_CODE[code]
        self.message = _fill(message, details)


def _fill(message: str, details: dict[str, Any]) -> str:
    """Substitute `{{key}}` placeholders; non-strings become pretty JSON."""
    for key, value in details.items():
        text = value if isinstance(value, str) else json.dumps(value, indent=2)
        message = message.replace("{{" + key + "}}", text)
    return message


def error_body(
    error: APIError, method: str, params: dict[str, str], payload: Any, time: str
) -> dict[str, Any]:
    """The JSON body Taskcluster sends for an error (see express-error.js upstream)."""
    footer = (
        f"\n\n---\n\n* method:     {method}\n* errorCode:  {error.code}\n"
        f"* statusCode: {error.status}\n* time:       {time}"
    )
    return {
        "code": error.code,
        "message": error.message + footer,
        "requestInfo": {"method": method, "params": params, "payload": payload, "time": time},
    }


_NO_PAYLOAD: Any = object()


def error_response(
    error: APIError,
    method: str,
    time: str,
    params: dict[str, str] | None = None,
    payload: Any = _NO_PAYLOAD,
) -> web.Response:
    """`error` as a JSON response in Taskcluster's format (the payload shown is
    `{}` when none is given; a JSON `null` body shows as `null`)."""
    headers = {"WWW-Authenticate": "hawk"} if error.status == 401 else None
    shown = {} if payload is _NO_PAYLOAD else payload
    body = error_body(error, method, params or {}, shown, time)
    return web.json_response(body, status=error.status, headers=headers)


def internal_error(where: str) -> APIError:
    """Log the exception being handled under a fresh incident id; the 500 to
    answer names only that id."""
    incident = uuid.uuid4()
    log.exception("incident %s in %s", incident, where)
    return APIError("InternalServerError", f"Internal Server Error, incidentId {incident}.")
