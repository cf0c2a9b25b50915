"""Reading and parsing a request body, as Taskcluster's services do before
anything else of the request is checked."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from . import strict_json
from .errors import APIError


class BodyError(APIError):
    """A request body that is not a JSON object or array, with what to show
    of it as the error's `requestInfo.payload`."""

    def __init__(self, message: str, payload: Any, **details: Any) -> None:
        super().__init__("MalformedPayload", message, **details)
        self.payload = payload


def _too_large(limit: int) -> APIError:
    return APIError("InputTooLarge", "Request body is larger than {{limit}} bytes", limit=limit)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body's bytes; InputTooLarge beyond `limit`."""
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    body = bytearray()
    try:
        async for chunk in request.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > limit:
                raise _too_large(limit)
    except (BadHttpMessage, ConnectionResetError) as exc:
        raise APIError("MalformedPayload", "The request body was cut short or malformed") from exc
    return bytes(body)


def parse_body(has_input: bool, request: web.Request, body: bytes) -> Any:
    """The body as JSON: an `application/json` body must be an object or an
    array (BodyError otherwise, showing the text or value). An empty body, or
    another type's, reads as `{}` (the input schema check then refuses the
    latter), but for entries without input, whose bodies are otherwise
    ignored: for the legacy `{"success": false}` of reportCompleted."""
    is_json = request.content_type == "application/json"
    if not body or (has_input and not is_json):
        return {}
    try:
        payload = strict_json.loads(body)
    except ValueError as exc:
        if not is_json:
            return {}
        text = body.decode("utf-8", "replace")
        raise BodyError("Failed to parse JSON: {{error}}", text, error=str(exc)) from exc
    if is_json and not isinstance(payload, dict | list):
        raise BodyError("Failed to parse JSON: Must be an object or array", payload)
    return payload
