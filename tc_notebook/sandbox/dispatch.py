"""How an HTTP request under a service's prefix (`/api/queue/v1/`,
`/api/index/v1/`) becomes a call of one entry of that service's `ApiTable`
(the entries themselves are declared in `api.py` and `index_api.py`).

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
from .auth import Caller
from .body import BodyError, parse_body, read_body
from .errors import APIError, error_response, internal_error
from .schemas import own_schemas
from .signing import authenticate

SLUGID = r"^[A-Za-z0-9_-]{8}[Q-T][A-Za-z0-9_-][CGKOSWaeimquy26-][A-Za-z0-9_-]{10}[AQgw]$"
IDENTIFIER = r"^[a-zA-Z0-9-_]{1,38}$"
PARAM_PATTERNS = {  # the queue's; see `ApiTable.params`
    "taskId": SLUGID,
    "taskGroupId": SLUGID,
    "runId": r"^[1-9]*[0-9]+$",  # matched whole, as are the others
    "taskQueueId": r"^[a-zA-Z0-9-_]{1,38}/[a-z]([-a-z0-9]{0,36}[a-z0-9])?$",
    "name": r"^[\x20-\x7e]{1,1024}$",  # Taskcluster lists names of at most 1024
    "provisionerId": IDENTIFIER,
    "workerType": IDENTIFIER,
    "workerGroup": IDENTIFIER,
    "workerId": IDENTIFIER,
}
QUERY_PATTERNS = {  # what a query parameter must match, whole
    "limit": "[0-9]+",
    "continuationToken": r"[\s\S]+",  # any non-empty text
    "quarantined": "(true|false)",
}
WILDCARD_PARAMS = {"taskQueueId", "name"}  # may hold raw slashes
_OPTIONAL = re.compile(r"\{/<([a-zA-Z]+)>\}")  # an optional last parameter
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
    the request-body limit in bytes (None: the settings' `max_request_bytes`);
    `one_segment` names wildcard parameters that this route matches within one
    path segment (a slash in them must then be percent-encoded); `stability`
    is Taskcluster's word for it (stable, experimental or deprecated). A route may
    end in an optional parameter, as `/namespaces{/<namespace>}`; it then
    also matches with a trailing slash, as Express does."""

    name: str
    method: str
    route: str
    scopes: scope_rules.Expression | None
    handler: Handler
    input: str | None = None
    output: str | None = None
    query: tuple[str, ...] = ()
    max_body: int | None = SMALL_BODY
    one_segment: tuple[str, ...] = ()
    stability: str = "stable"
    pattern: re.Pattern = field(init=False, repr=False, compare=False)
    route_params: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = tuple(re.findall(r"<([a-zA-Z]+)>", self.route))
        regex = re.escape(self.route)
        for param in names:
            wildcard = param in WILDCARD_PARAMS and param not in self.one_segment
            group = "(.+)" if wildcard else "([^/]+)"
            regex = regex.replace(re.escape(f"<{param}>"), group)
        regex = regex.replace(re.escape("{"), "(?:").replace(re.escape("}"), ")?/?")
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))
        object.__setattr__(self, "route_params", names)

    @property
    def checked_early(self) -> bool:
        """Scopes that only use URL parameters (not optional ones) are checked
        before the handler."""
        required = set(self.route_params) - set(_OPTIONAL.findall(self.route))
        return self.scopes is not None and scope_rules.template_params(self.scopes) <= required


@dataclass(frozen=True)
class ApiTable:
    """One service's API: its entries, served under `prefix`, their schemas'
    ids starting with `schemas`, and the patterns URL parameters must match
    (a parameter with no pattern may hold anything)."""

    prefix: str
    schemas: str
    entries: list[Entry]
    params: dict[str, str] = field(default_factory=lambda: PARAM_PATTERNS)


def declarer(entries: list[Entry]) -> Callable[..., Callable[[Handler], Handler]]:
    """A decorator factory that adds an entry to `entries`, with the fields
    of `Entry` but the handler, which it decorates."""

    def declare(*fields: Any, **named: Any) -> Callable[[Handler], Handler]:
        def add(handler: Handler) -> Handler:
            entry = Entry(*fields[:4], handler, *fields[4:], **named)
            entries.append(entry)
            return handler

        return add

    return declare


@dataclass
class Call:
    """One request to one entry, with everything its handler needs
    (`service` is the table's: the `QueueService` or the `IndexService`)."""

    entry: Entry
    request: web.Request
    service: Any
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


def _match(table: ApiTable, method: str, raw_path: str) -> tuple[Entry, dict[str, str]] | None:
    route = raw_path[len(table.prefix) :] or "/"
    for entry in table.entries:
        if entry.method != method:
            continue
        found = entry.pattern.match(route)
        if found:
            pairs = zip(entry.route_params, found.groups(), strict=True)
            return entry, {k: urllib.parse.unquote(v) for k, v in pairs if v is not None}
    return None


def _check_query(entry: Entry, query: dict[str, str]) -> None:
    unknown = sorted(set(query) - set(entry.query) - {"bewit"})
    if unknown:
        raise APIError(
            "InvalidRequestArguments",
            "Unknown query parameters: {{unknown}}",
            unknown=", ".join(unknown),
        )
    for name, value in query.items():
        pattern = QUERY_PATTERNS.get(name)
        if pattern is not None and not re.fullmatch(pattern, value):
            raise APIError(
                "InvalidRequestArguments",
                "Query-string parameter: {{name}}={{value}} does not match {{pattern}}",
                name=name,
                value=json.dumps(value),
                pattern=f"/^{pattern}$/",
            )


def _check_params(params: dict[str, str], patterns: dict[str, str]) -> None:
    for name, value in params.items():
        if name not in patterns:
            continue
        too_long = name == "runId" and len(value) > MAX_RUN_ID_DIGITS
        if too_long or not re.fullmatch(patterns[name], value):
            raise APIError(
                "InvalidRequestArguments",
                "Invalid URL parameter {{name}}: {{value}} does not match {{pattern}}",
                name=name,
                value=value,
                pattern=patterns[name]
                + (f" (at most {MAX_RUN_ID_DIGITS} digits)" if too_long else ""),
            )


def _fill_defaults(schema: dict[str, Any], payload: Any) -> None:
    if isinstance(payload, dict):
        for key, spec in schema.get("properties", {}).items():
            if key not in payload and isinstance(spec, dict) and "default" in spec:
                payload[key] = json.loads(json.dumps(spec["default"]))


def _validate_input(
    table: ApiTable, entry: Entry, request: web.Request, body: bytes, payload: Any
) -> None:
    """Check the parsed body against the entry's input schema, filling in the
    schema's top-level defaults first (error answers show the payload so)."""
    if entry.input is None:
        return
    # As Taskcluster: a request with no body at all (neither Content-Length nor
    # Transfer-Encoding) has no JSON content type either.
    has_body = "Content-Length" in request.headers or "Transfer-Encoding" in request.headers
    if not has_body or request.content_type != "application/json":
        raise APIError(
            "MalformedPayload",
            "Payload must be JSON with content-type: application/json got content-type: {{type}}",
            type=request.headers.get("Content-Type", "undefined"),
        )
    schema_id = table.schemas + entry.input
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


def mount(app: web.Application, table: ApiTable, service: Any) -> None:
    """Serve `table`'s entries, with `service`, under its prefix, and the
    sandbox's own schemas of that service under its schema prefix."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return await dispatch(table, service, request)

    # `[\s\S]*`, not `.*`: a path may hold a (percent-encoded) newline,
    # which must reach the handlers' own checks rather than a bare 404.
    app.router.add_route("*", table.prefix + r"/{tail:[\s\S]*}", handle)
    app.router.add_get(table.schemas + r"{name:[\s\S]*}", serve_schema)


async def dispatch(table: ApiTable, service: Any, request: web.Request) -> web.StreamResponse:
    """Serve one request under the table's prefix with its entries."""
    response = await _serve(table, service, request)
    if not response.prepared:
        response.headers.update(API_HEADERS)
    return response


def _no_entry() -> web.Response:
    """404 for a path (or method) no entry has: Taskcluster's services answer
    these from their web framework, not in their error format."""
    return web.json_response({"error": "Not found"}, status=404)


def _options(table: ApiTable, raw_path: str) -> web.Response:
    """OPTIONS: the methods of the entries the path names (200), as Express answers."""
    route = raw_path[len(table.prefix) :] or "/"
    methods = {e.method for e in table.entries if e.pattern.match(route)}
    if not methods:
        return _no_entry()
    allowed = ", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set())))
    return web.Response(text=allowed, headers={"Allow": allowed})


async def _serve(table: ApiTable, service: Any, request: web.Request) -> web.StreamResponse:
    app = request.app
    raw_path = request.raw_path.split("?", 1)[0]
    received = now()  # the error body's requestInfo.time
    if request.method == "OPTIONS":
        return _options(table, raw_path)
    method = "GET" if request.method == "HEAD" else request.method
    matched = _match(table, method, raw_path)
    if matched is None:
        return _no_entry()
    entry, params = matched
    payload: Any = {}
    try:
        limit = service.settings.max_request_bytes
        body = await read_body(request, min(entry.max_body or limit, limit))
        payload = parse_body(entry.input is not None, request, body)
        base = service.root_url + table.prefix
        who = functools.partial(
            authenticate, app[keys.AUTHENTICATOR], entry, params, request, body, base
        )
        call = Call(entry, request, service, params, dict(request.query), payload, who)
        # Taskcluster's order: scopes that need only the URL, the URL's
        # parameters and query, the input schema, then the handler (which
        # checks the other scopes, and only then the credentials).
        if entry.checked_early:
            call.authorize()
        _check_params(params, table.params)
        _check_query(entry, call.query)
        _validate_input(table, entry, request, body, payload)
        reply = await entry.handler(call)
        body_json, response = _json_body(reply)
        if entry.output and body_json is not None:
            _validate_output(table.schemas + entry.output, body_json)
        if response is not None:
            return response
        if reply is None:
            return web.Response(status=204)
        return web.json_response(reply)
    except APIError as error:
        if isinstance(error, BodyError):
            payload = error.payload
        return error_response(error, entry.name, iso(received), params, payload)
    except Exception:
        error = internal_error(entry.name)
        return error_response(error, entry.name, iso(received), params, payload)


class OutputMismatch(Exception):
    """A response body does not follow the entry's output schema (a bug of
    the sandbox's, answered 500 as Taskcluster answers it)."""


def _validate_output(schema_id: str, body: Any) -> None:
    problems = own_schemas().errors(schema_id, body)
    if problems:
        raise OutputMismatch(f"an answer does not follow {schema_id}: {problems}")


async def serve_schema(request: web.Request) -> web.StreamResponse:
    """GET /schemas/<service>/v1/<name>.json: the sandbox's own schemas."""
    schema = own_schemas().by_id.get(request.path + "#")
    if schema is None:
        raise web.HTTPNotFound()
    return web.json_response(schema)
