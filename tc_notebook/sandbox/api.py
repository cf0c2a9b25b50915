"""The Queue v1 API: every entry declared once (name, method, route, query,
scope expression, input and output schema) with its handler, in the order of
Taskcluster's reference. `dispatch` turns an HTTP request into a call of one
entry, in Taskcluster's order: route match, the body read and parsed, the
scopes of entries whose scopes need only the URL, parameter and query checks,
input validation, the handler (which checks the other entries' scopes), and
output validation when enabled. Credentials are verified when scopes are
first checked, so an invalid body or an unknown task may answer before a 401.
"""

from __future__ import annotations

import functools
import json
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from ..timestamps import iso, now
from . import keys, strict_json
from . import scopes as scope_rules
from .auth import Authenticator, Caller
from .errors import APIError, error_response, internal_error
from .queue import QueueService
from .schemas import SchemaSet, own_schemas

API_PREFIX = "/api/queue/v1"
SCHEMA_PREFIX = "/schemas/queue/"
STORAGE_TYPE_HEADER = "x-taskcluster-artifact-storage-type"

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
PAGINATION = ("continuationToken", "limit")

Reply = dict[str, Any] | web.StreamResponse | None
Handler = Callable[["Call"], Awaitable[Reply]]


@dataclass(frozen=True)
class Entry:
    """One API entry, as Taskcluster's reference describes it."""

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


ENTRIES: list[Entry] = []


def declare(
    name: str,
    method: str,
    route: str,
    scopes: scope_rules.Expression | None,
    input: str | None = None,
    output: str | None = None,
    query: tuple[str, ...] = (),
    max_body: int | None = SMALL_BODY,
) -> Callable[[Handler], Handler]:
    """Add an entry to the table; decorates its handler. `max_body` is the
    request-body limit in bytes (None: the settings' `max_request_bytes`)."""

    def add(handler: Handler) -> Handler:
        ENTRIES.append(Entry(name, method, route, scopes, handler, input, output, query, max_body))
        return handler

    return add


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


def _task_action_scopes(verb: str) -> scope_rules.Expression:
    return {
        "AnyOf": [
            f"queue:{verb}:<schedulerId>/<taskGroupId>/<taskId>",
            f"queue:{verb}-in-project:<projectId>",
            {"AllOf": [f"queue:{verb}", "assume:scheduler-id:<schedulerId>/<taskGroupId>"]},
        ]
    }


GET_ARTIFACT_SCOPES = {
    "AllOf": [{"for": "name", "in": "names", "each": "queue:get-artifact:<name>"}]
}
RESOLVE_SCOPES = "queue:resolve-task:<taskId>/<runId>"
CREATE_ARTIFACT_SCOPES = "queue:create-artifact:<taskId>/<runId>"
STATUS_OUT = "v1/task-status-response.json#"

# -- the table ------------------------------------------------------------------


@declare("ping", "GET", "/ping", None)
async def ping(call: Call) -> Reply:
    return {"alive": True, "uptime": time.monotonic() - call.request.app[keys.STARTED]}


@declare(
    "createTask",
    "PUT",
    "/task/<taskId>",
    {
        "AllOf": [
            {"for": "scope", "in": "scopes", "each": "<scope>"},
            {"for": "route", "in": "routes", "each": "queue:route:<route>"},
            "queue:create-task:project:<projectId>",
            "queue:scheduler-id:<schedulerId>",
            {
                "AnyOf": [
                    {
                        "for": "priority",
                        "in": "priorities",
                        "each": "queue:create-task:<priority>:<taskQueueId>",
                    }
                ]
            },
        ]
    },
    input="v1/create-task-request.json#",
    output=STATUS_OUT,
    max_body=None,  # task definitions may be large: the settings' max_request_bytes
)
async def create_task(call: Call) -> Reply:
    return call.service.create_task(call.params["taskId"], call.payload, call.authorize)


@declare("task", "GET", "/task/<taskId>", "queue:get-task:<taskId>", output="v1/task.json#")
async def task(call: Call) -> Reply:
    return call.service.task(call.params["taskId"])


@declare("status", "GET", "/task/<taskId>/status", "queue:status:<taskId>", output=STATUS_OUT)
async def status(call: Call) -> Reply:
    return call.service.status(call.params["taskId"])


@declare(
    "scheduleTask",
    "POST",
    "/task/<taskId>/schedule",
    _task_action_scopes("schedule-task"),
    output=STATUS_OUT,
)
async def schedule_task(call: Call) -> Reply:
    return call.service.schedule_task(call.params["taskId"], call.authorize)


@declare(
    "rerunTask",
    "POST",
    "/task/<taskId>/rerun",
    _task_action_scopes("rerun-task"),
    output=STATUS_OUT,
)
async def rerun_task(call: Call) -> Reply:
    return call.service.rerun_task(call.params["taskId"], call.authorize)


@declare(
    "cancelTask",
    "POST",
    "/task/<taskId>/cancel",
    _task_action_scopes("cancel-task"),
    output=STATUS_OUT,
)
async def cancel_task(call: Call) -> Reply:
    return call.service.cancel_task(call.params["taskId"], call.authorize)


@declare(
    "listTaskGroup",
    "GET",
    "/task-group/<taskGroupId>/list",
    "queue:list-task-group:<taskGroupId>",
    output="v1/list-task-group-response.json#",
    query=PAGINATION,
)
async def list_task_group(call: Call) -> Reply:
    return call.service.list_task_group(call.params["taskGroupId"], *call.page())


@declare(
    "getTaskGroup",
    "GET",
    "/task-group/<taskGroupId>",
    "queue:list-task-group:<taskGroupId>",
    output="v1/task-group-response.json#",
)
async def get_task_group(call: Call) -> Reply:
    return call.service.get_task_group(call.params["taskGroupId"])


@declare(
    "listDependentTasks",
    "GET",
    "/task/<taskId>/dependents",
    "queue:list-dependent-tasks:<taskId>",
    output="v1/list-dependent-tasks-response.json#",
    query=PAGINATION,
)
async def list_dependent_tasks(call: Call) -> Reply:
    return call.service.list_dependent_tasks(call.params["taskId"], *call.page())


@declare(
    "claimWork",
    "POST",
    "/claim-work/<taskQueueId>",
    {"AllOf": ["queue:claim-work:<taskQueueId>", "queue:worker-id:<workerGroup>/<workerId>"]},
    input="v1/claim-work-request.json#",
    output="v1/claim-work-response.json#",
)
async def claim_work(call: Call) -> Reply:
    return await call.service.claim_work(call.params["taskQueueId"], call.payload, call.authorize)


@declare(
    "claimTask",
    "POST",
    "/task/<taskId>/runs/<runId>/claim",
    {
        "AllOf": [
            "queue:claim-task:<provisionerId>/<workerType>",
            "queue:worker-id:<workerGroup>/<workerId>",
        ]
    },
    input="v1/task-claim-request.json#",
    output="v1/task-claim-response.json#",
)
async def claim_task(call: Call) -> Reply:
    return call.service.claim_task(
        call.params["taskId"], call.run_id(), call.payload, call.authorize
    )


@declare(
    "reclaimTask",
    "POST",
    "/task/<taskId>/runs/<runId>/reclaim",
    "queue:reclaim-task:<taskId>/<runId>",
    output="v1/task-reclaim-response.json#",
)
async def reclaim_task(call: Call) -> Reply:
    return call.service.reclaim_task(call.params["taskId"], call.run_id())


@declare(
    "reportCompleted",
    "POST",
    "/task/<taskId>/runs/<runId>/completed",
    RESOLVE_SCOPES,
    output=STATUS_OUT,
)
async def report_completed(call: Call) -> Reply:
    # Legacy workers said `{"success": false}` to mean failed.
    failed = isinstance(call.payload, dict) and call.payload.get("success") is False
    state = "failed" if failed else "completed"
    return call.service.report(call.params["taskId"], call.run_id(), state, state)


@declare(
    "reportFailed", "POST", "/task/<taskId>/runs/<runId>/failed", RESOLVE_SCOPES, output=STATUS_OUT
)
async def report_failed(call: Call) -> Reply:
    return call.service.report(call.params["taskId"], call.run_id(), "failed", "failed")


@declare(
    "reportException",
    "POST",
    "/task/<taskId>/runs/<runId>/exception",
    RESOLVE_SCOPES,
    input="v1/task-exception-request.json#",
    output=STATUS_OUT,
)
async def report_exception(call: Call) -> Reply:
    return call.service.report(
        call.params["taskId"], call.run_id(), "exception", call.payload["reason"]
    )


@declare(
    "createArtifact",
    "POST",
    "/task/<taskId>/runs/<runId>/artifacts/<name>",
    CREATE_ARTIFACT_SCOPES,
    input="v1/post-artifact-request.json#",
    output="v1/post-artifact-response.json#",
)
async def create_artifact(call: Call) -> Reply:
    return call.service.create_artifact(
        call.params["taskId"], call.run_id(), call.params["name"], call.payload
    )


@declare(
    "finishArtifact",
    "PUT",
    "/task/<taskId>/runs/<runId>/artifacts/<name>",
    CREATE_ARTIFACT_SCOPES,
    input="v1/finish-artifact-request.json#",
)
async def finish_artifact(call: Call) -> Reply:
    call.service.finish_artifact(call.params["taskId"], call.run_id(), call.params["name"])


def _redirect(call: Call, run_id: int | None) -> web.StreamResponse:
    """The 303 (or 424 for error artifacts) of getArtifact / getLatestArtifact."""
    artifact = call.service.resolve_artifact(
        call.params["taskId"], run_id, call.params["name"], call.authorize
    )
    headers = {STORAGE_TYPE_HEADER: artifact["storageType"]}
    if artifact["storageType"] == "error":
        body = {"reason": artifact["details"]["reason"], "message": artifact["details"]["message"]}
        return web.json_response(body, status=424, headers=headers)
    url = call.service.download_url(artifact)
    root = call.service.root_url
    # A Location on the sandbox itself is sent root-relative, so that a proxy
    # in front of the sandbox (jupyter-server-proxy on Binder) can rewrite it.
    location = url[len(root) :] if url.startswith(root + "/") else url
    headers["Location"] = location
    reply = web.json_response(
        {"storageType": artifact["storageType"], "url": url}, status=303, headers=headers
    )
    reply[keys.VALIDATE_BODY] = True
    return reply


def _content(call: Call, run_id: int | None) -> web.StreamResponse:
    """The 200 JSON of artifact / latestArtifact."""
    artifact = call.service.resolve_artifact(
        call.params["taskId"], run_id, call.params["name"], call.authorize
    )
    kind = artifact["storageType"]
    if kind == "error":
        body = {"storageType": kind, **artifact["details"]}
    else:
        body = {"storageType": kind, "url": call.service.download_url(artifact)}
    reply = web.json_response(body)  # no storage-type header here, unlike the 303
    reply[keys.VALIDATE_BODY] = True
    return reply


@declare(
    "getArtifact",
    "GET",
    "/task/<taskId>/runs/<runId>/artifacts/<name>",
    GET_ARTIFACT_SCOPES,
    output="v1/get-artifact-response.json#",
)
async def get_artifact(call: Call) -> Reply:
    return _redirect(call, call.run_id())


@declare(
    "getLatestArtifact",
    "GET",
    "/task/<taskId>/artifacts/<name>",
    GET_ARTIFACT_SCOPES,
    output="v1/get-artifact-response.json#",
)
async def get_latest_artifact(call: Call) -> Reply:
    return _redirect(call, None)


@declare(
    "listArtifacts",
    "GET",
    "/task/<taskId>/runs/<runId>/artifacts",
    "queue:list-artifacts:<taskId>:<runId>",
    output="v1/list-artifacts-response.json#",
    query=PAGINATION,
)
async def list_artifacts(call: Call) -> Reply:
    return call.service.list_artifacts(call.params["taskId"], call.run_id(), *call.page())


@declare(
    "listLatestArtifacts",
    "GET",
    "/task/<taskId>/artifacts",
    "queue:list-artifacts:<taskId>",
    output="v1/list-artifacts-response.json#",
    query=PAGINATION,
)
async def list_latest_artifacts(call: Call) -> Reply:
    return call.service.list_artifacts(call.params["taskId"], None, *call.page())


@declare(
    "artifactInfo",
    "GET",
    "/task/<taskId>/runs/<runId>/artifact-info/<name>",
    "queue:list-artifacts:<taskId>:<runId>",
    output="v1/artifact-response.json#",
)
async def artifact_info(call: Call) -> Reply:
    return call.service.artifact_info(call.params["taskId"], call.run_id(), call.params["name"])


@declare(
    "latestArtifactInfo",
    "GET",
    "/task/<taskId>/artifact-info/<name>",
    "queue:list-artifacts:<taskId>",
    output="v1/artifact-response.json#",
)
async def latest_artifact_info(call: Call) -> Reply:
    return call.service.artifact_info(call.params["taskId"], None, call.params["name"])


@declare(
    "artifact",
    "GET",
    "/task/<taskId>/runs/<runId>/artifact-content/<name>",
    GET_ARTIFACT_SCOPES,
    output="v1/artifact-content-response.json#",
)
async def artifact(call: Call) -> Reply:
    return _content(call, call.run_id())


@declare(
    "latestArtifact",
    "GET",
    "/task/<taskId>/artifact-content/<name>",
    GET_ARTIFACT_SCOPES,
    output="v1/artifact-content-response.json#",
)
async def latest_artifact(call: Call) -> Reply:
    return _content(call, None)


@declare(
    "pendingTasks",
    "GET",
    "/pending/<taskQueueId>",
    "queue:pending-count:<taskQueueId>",
    output="v1/pending-tasks-response.json#",
)
async def pending_tasks(call: Call) -> Reply:
    return call.service.pending_tasks(call.params["taskQueueId"])


# -- dispatch -------------------------------------------------------------------


def _match(method: str, raw_path: str) -> tuple[Entry, dict[str, str]] | None:
    route = raw_path[len(API_PREFIX) :] or "/"
    for entry in ENTRIES:
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


def _too_large(limit: int) -> APIError:
    return APIError("InputTooLarge", "Request body is larger than {{limit}} bytes", limit=limit)


async def _read_body(request: web.Request, limit: int) -> bytes:
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


def _parse_body(entry: Entry, request: web.Request, body: bytes) -> Any:
    """The request body as JSON, parsed before anything else is checked; an
    empty body, or one that is not `application/json`, reads as `{}` (the
    input schema check then refuses the latter)."""
    if entry.input is None:
        # Bodies of entries without input are ignored, but for the legacy
        # `{"success": false}` of reportCompleted.
        try:
            return strict_json.loads(body) if body else {}
        except ValueError:
            return {}
    if not body or request.content_type != "application/json":
        return {}
    try:
        return strict_json.loads(body)
    except ValueError as exc:
        raise APIError(
            "MalformedPayload", "Failed to parse JSON: {{error}}", error=str(exc)
        ) from exc


def _validate_input(entry: Entry, request: web.Request, body: bytes, payload: Any) -> None:
    """Check the parsed body against the entry's input schema, filling in the
    schema's top-level defaults first (error answers show the payload so)."""
    if entry.input is None:
        return
    if body and request.content_type != "application/json":
        raise APIError(
            "MalformedPayload", "Payload must be JSON with content-type: application/json"
        )
    schema_id = "/schemas/queue/" + entry.input
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
    """Serve one request under `/api/queue/v1/`."""
    app = request.app
    service: QueueService = app[keys.SERVICE]
    raw_path = request.raw_path.split("?", 1)[0]
    matched = _match(request.method, raw_path)
    moment = iso(now())
    if matched is None:
        error = APIError(
            "ResourceNotFound",
            "No such API entry: {{method}} {{path}}",
            method=request.method,
            path=raw_path,
        )
        return error_response(error, "unknown", moment)
    entry, params = matched
    payload: Any = {}
    try:
        limit = service.settings.max_request_bytes
        body = await _read_body(request, min(entry.max_body or limit, limit))
        payload = _parse_body(entry, request, body)
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
    problems = schemas.errors("/schemas/queue/" + entry.output, body)
    if problems:
        raise OutputMismatch(f"{entry.name} answered against its output schema: {problems}")


async def serve_schema(request: web.Request) -> web.StreamResponse:
    """GET /schemas/queue/v1/<name>.json: the sandbox's own schemas."""
    schema = own_schemas().by_id.get(request.path + "#")
    if schema is None:
        raise web.HTTPNotFound()
    return web.json_response(schema)
