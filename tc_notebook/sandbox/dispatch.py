"""How an HTTP request under `/api/queue/v1/` becomes a call of one API
entry (the entries themselves are declared in `api.py`).

`dispatch` follows Taskcluster's order: route match, the body read and
parsed, the scopes of entries whose scopes need only the URL, parameter and
query checks, input validation, the handler (which checks the other entries'
scopes), and output validation when enabled. Credentials are verified when
scopes are first checked, so an invalid body or an unknown task may answer
before a 401. As Taskcluster's services, it answers `HEAD` as the `GET`
without its body, `OPTIONS` with the path's methods, and every answer with
CORS and no-caching headers.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..timestamps import iso, now
from . import keys
from . import scopes as scope_rules
from .auth import Authenticator, Caller
from .body import BodyError, parse_body, read_body
from .errors import APIError, error_response, internal_error
from .queue import QueueService
from .schemas import SchemaSet, own_schemas

API_PREFIX = "/api/queue/v1"
SCHEMA_PREFIX = "/schemas/queue/"

SLUGID = r"^[A-Za-z0-9_-]{8}[Q-T][A-Za-z0-9_-][CGKOSWaeimquy26-][A-Za-z0-9_-]{10}[AQgw]$"
PARAM_PATTERNS = {
    "taskId": SLUGID,
    "taskGroupId": SLUGID,
    "runId": r"^[1-9]*[0-9]+$",  # matched whole, as are the others
    "taskQueueId": r"^[a-zA-Z0-9-_]{1,38}/[a-z]([-a-z0-9]{0,36}[a-z0-9])?$",
    "name": r"^[\x20-\x7e]{1,1024}$",  # Taskcluster lists names of at most 1024
}
WILDCARD_PARAMS = {"taskQueueId", "name"}  # may hold raw slashes
MAX_RUN_ID_DIGITS = 9  # a longer runId names no run, and would not fit SQLite
SMALL_BODY = 64 * 1024  # request-body limit of every entry but createTask

# The headers of every answer of Taskcluster's API (as the rig sends them).
API_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Max-Age": "900",
    "Access-Control-Allow-Methods": "OPTIONS,GET,HEAD,POST,PUT,DELETE,TRACE,CONNECT",
    "Access-Control-Request-Method": "*",
    "Access-Control-Allow-Headers": (
        "X-Requested-With,Content-Type,Authorization,Accept,Origin,Cache-Control"
    ),
    "Cache-Control": "no-store no-cache must-revalidate",
}

Reply = dict[str, Any] | web.StreamResponse | None
Handler = Callable[["Call"], Awaitable[Reply]]


@dataclass(frozen=True)
class Entry:
    """One API entry, as Taskcluster's reference describes it. `max_body` is
    the request-body limit in bytes (None: the settings' `max_request_bytes`)."""

    name: str
    method: str
    route: str
    scopes: scope_rules.Expression | None
    handler: Handler
    input: str | None = None
    output: str | None = None
    query: tuple[str, ...] = ()
    max_body: int | None = SMALL_BODY
    pattern: re.Pattern = field(init=False, repr=False, compare=False)
    route_params: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = tuple(re.findall(r"<([a-zA-Z]+)>", self.route))
        regex = re.escape(self.route)
        for param in names:
            group = "(.+)" if param in WILDCARD_PARAMS else "([^/]+)"
            regex = regex.replace(re.escape(f"<{param}>"), group)
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))
        object.__setattr__(self, "route_params", names)

    @property
    def checked_early(self) -> bool:
        """Scopes that only use URL parameters are checked before the handler."""
        return self.scopes is not None and scope_rules.template_params(self.scopes) <= set(
            self.route_params
        )


@dataclass
class Call:
    """One request to one entry, with everything its handler needs."""

    entry: Entry
    request: web.Request
    service: QueueService
    params: dict[str, str]
    query: dict[str, str]
    payload: Any
    authenticate: Callable[[], Caller]

    @functools.cached_property
    def caller(self) -> Caller:
        """Who is calling. As in Taskcluster, credentials are only checked when
        scopes are (so an invalid body or an unknown task can answer first)."""
        return self.authenticate()

    def authorize(self, **values: Any) -> None:
        """Check the entry's scope expression, filled with URL params and `values`."""
        expression = scope_rules.fill(self.entry.scopes, {**self.params, **values})
        gap = scope_rules.missing(list(self.caller.scopes), expression)
        if gap is not None and not self.caller.authenticated:
            raise APIError(
                "InsufficientScopes",
                "This request needs credentials, with scopes that satisfy this "
                "expression:\n\n```\n{{required}}\n```",
                required=expression,
            )
        if gap is not None:
            raise APIError(
                "InsufficientScopes",
                "Client ID {{clientId}} does not have sufficient scopes and is missing the "
                "following scopes:\n\n```\n{{missing}}\n```\n\nThis request requires the "
                "client to satisfy the following scope expression:\n\n```\n{{required}}\n```",
                clientId=self.caller.client_id,
                missing=gap,
                required=expression,
            )

    def run_id(self) -> int:
        """The `<runId>` URL parameter as an integer (`_check_params` bounds its length)."""
        return int(self.params["runId"])

    def page(self) -> tuple[str | None, str | None]:
        """(continuationToken, limit) from the query."""
        return self.query.get("continuationToken"), self.query.get("limit")


def _match(entries: list[Entry], method: str, raw_path: str) -> tuple[Entry, dict[str, str]] | None:
    route = raw_path[len(API_PREFIX) :] or "/"
    for entry in entries:
        if entry.method != method:
            continue
        found = entry.pattern.match(route)
        if found:
            values = [urllib.parse.unquote(v) for v in found.groups()]
            return entry, dict(zip(entry.route_params, values, strict=True))
    return None


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


def _check_query(entry: Entry, query: dict[str, str]) -> None:
    unknown = sorted(set(query) - set(entry.query) - {"bewit"})
    if unknown:
        raise APIError(
            "InvalidRequestArguments",
            "Unknown query parameters: {{unknown}}",
            unknown=", ".join(unknown),
        )
    if "limit" in query and not re.fullmatch(r"[0-9]+", query["limit"]):
        raise APIError("InvalidRequestArguments", "limit must be a non-negative integer")
    if "continuationToken" in query and not query["continuationToken"]:
        raise APIError("InvalidRequestArguments", "continuationToken must not be empty")


def _check_params(params: dict[str, str]) -> None:
    for name, value in params.items():
        too_long = name == "runId" and len(value) > MAX_RUN_ID_DIGITS
        if too_long or not re.fullmatch(PARAM_PATTERNS[name], value):
            raise APIError(
                "InvalidRequestArguments",
                "Invalid URL parameter {{name}}: {{value}} does not match {{pattern}}",
                name=name,
                value=value,
                pattern=PARAM_PATTERNS[name]
                + (f" (at most {MAX_RUN_ID_DIGITS} digits)" if too_long else ""),
            )


def _fill_defaults(schema: dict[str, Any], payload: Any) -> None:
    if isinstance(payload, dict):
        for key, spec in schema.get("properties", {}).items():
            if key not in payload and isinstance(spec, dict) and "default" in spec:
                payload[key] = json.loads(json.dumps(spec["default"]))


def _validate_input(entry: Entry, request: web.Request, body: bytes, payload: Any) -> None:
    """Check the parsed body against the entry's input schema, filling in the
    schema's top-level defaults first (error answers show the payload so)."""
    if entry.input is None:
        return
    if body and request.content_type != "application/json":
        raise APIError(
            "MalformedPayload",
            "Payload must be JSON with content-type: application/json got content-type: {{type}}",
            type=request.headers.get("Content-Type", "undefined"),
        )
    schema_id = SCHEMA_PREFIX + entry.input
    schemas = own_schemas()
    _fill_defaults(schemas.by_id[schema_id], payload)
    problems = schemas.errors(schema_id, payload)
    if problems:
        raise APIError(
            "InputValidationError",
            "Request payload must follow the schema: {{schema}}\nErrors:\n{{errors}}",
            schema=schema_id.rstrip("#"),
            errors="\n".join(f"  * {p}" for p in problems[:10]),
        )


def _json_body(reply: Reply) -> tuple[Any, web.StreamResponse | None]:
    if isinstance(reply, web.Response) and reply.get(keys.VALIDATE_BODY):
        return json.loads(reply.text), reply
    if isinstance(reply, web.StreamResponse):
        return None, reply
    return reply, None


async def dispatch(request: web.Request) -> web.StreamResponse:
    """Serve one request under `/api/queue/v1/` with the application's entries."""
    response = await _serve(request)
    if not response.prepared:
        response.headers.update(API_HEADERS)
    return response


def _no_entry(request: web.Request, raw_path: str, moment: str) -> web.Response:
    error = APIError(
        "ResourceNotFound",
        "No such API entry: {{method}} {{path}}",
        method=request.method,
        path=raw_path,
    )
    return error_response(error, "unknown", moment)


def _options(request: web.Request, raw_path: str, moment: str) -> web.Response:
    """OPTIONS: the methods of the entries the path names (200), as Express answers."""
    route = raw_path[len(API_PREFIX) :] or "/"
    methods = {e.method for e in request.app[keys.ENTRIES] if e.pattern.match(route)}
    if not methods:
        return _no_entry(request, raw_path, moment)
    allowed = ", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set())))
    return web.Response(text=allowed, headers={"Allow": allowed})


async def _serve(request: web.Request) -> web.StreamResponse:
    app = request.app
    service: QueueService = app[keys.SERVICE]
    raw_path = request.raw_path.split("?", 1)[0]
    moment = iso(now())
    if request.method == "OPTIONS":
        return _options(request, raw_path, moment)
    method = "GET" if request.method == "HEAD" else request.method
    matched = _match(app[keys.ENTRIES], method, raw_path)
    if matched is None:
        return _no_entry(request, raw_path, moment)
    entry, params = matched
    payload: Any = {}
    try:
        limit = service.settings.max_request_bytes
        body = await read_body(request, min(entry.max_body or limit, limit))
        payload = parse_body(entry.input is not None, request, body)
        authenticate = functools.partial(
            _authenticate, app[keys.AUTHENTICATOR], entry, params, request, body
        )
        call = Call(entry, request, service, params, dict(request.query), payload, authenticate)
        # Taskcluster's order: scopes that need only the URL, the URL's
        # parameters and query, the input schema, then the handler (which
        # checks the other scopes, and only then the credentials).
        if entry.checked_early:
            call.authorize()
        _check_params(params)
        _check_query(entry, call.query)
        _validate_input(entry, request, body, payload)
        reply = await entry.handler(call)
        body_json, response = _json_body(reply)
        if entry.output and app[keys.OUTPUT_SCHEMAS] is not None and body_json is not None:
            _validate_output(app[keys.OUTPUT_SCHEMAS], entry, body_json)
        if response is not None:
            return response
        if reply is None:
            return web.Response(status=204)
        return web.json_response(reply)
    except APIError as error:
        if isinstance(error, BodyError):
            payload = error.payload
        return error_response(error, entry.name, moment, params, payload)
    except Exception:
        error = internal_error(entry.name)
        return error_response(error, entry.name, moment, params, payload)


def _authenticate(
    authenticator: Authenticator,
    entry: Entry,
    params: dict[str, str],
    request: web.Request,
    body: bytes,
) -> Caller:
    if entry.scopes is None:
        return Caller("anonymous", (), False)
    return authenticator.authenticate(
        request.method,
        signed_url(request),
        request.headers.get("Authorization"),
        request.query.get("bewit"),
        body,
        request.headers.get("Content-Type", ""),
        canonical_url(entry, params, request) if "bewit" in request.query else None,
    )


def canonical_url(entry: Entry, params: dict[str, str], request: web.Request) -> str:
    """The URL of this call as an official client builds it from the root URL."""
    path = entry.route
    for name, value in params.items():
        path = path.replace(f"<{name}>", urllib.parse.quote(value, safe=""))
    query = request.raw_path.partition("?")[2]
    root_url = request.app[keys.SERVICE].root_url
    return f"{root_url}{API_PREFIX}{path}" + (f"?{query}" if query else "")


class OutputMismatch(Exception):
    """A response body does not follow the entry's output schema."""


def _validate_output(schemas: SchemaSet, entry: Entry, body: Any) -> None:
    problems = schemas.errors(SCHEMA_PREFIX + entry.output, body)
    if problems:
        raise OutputMismatch(f"{entry.name} answered against its output schema: {problems}")


async def serve_schema(request: web.Request) -> web.StreamResponse:
    """GET /schemas/queue/v1/<name>.json: the sandbox's own schemas."""
    schema = own_schemas().by_id.get(request.path + "#")
    if schema is None:
        raise web.HTTPNotFound()
    return web.json_response(schema)
