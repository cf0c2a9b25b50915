"""Fuzzing a live sandbox over loopback HTTP: generated and mutated task and
artifact bodies, malformed URL parameters and queries on every entry of
`api.ENTRIES` and on the sandbox's own routes, malformed Hawk credentials and
bewits, and malformed HTTP on a raw socket.

Every answer is checked: no 5xx; an answer at all, unless HTTP itself was
malformed; Taskcluster's `{code, message}` JSON for every 4xx under
/api/queue/v1/; and neither the root accessToken nor the MAC the server
expected (computed here with mohawk) in any body or header. Failures are
collected rather than raised, so that every case runs (shrinking would only
resend) and each test reports each distinct failure once, with its first
request, its answer and the exception the server logged. After each batch
`ping` must still answer 200; the terminal summary ends with a line counting
the requests by status.

Hypothesis runs derandomized, without a database or deadline: each run sends
the same cases.
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mohawk
import pytest
import taskcluster
from fuzz_helpers import (
    API,
    Answer,
    Incidents,
    Ledger,
    Raw,
    b64_json,
    dumps,
    error_format_problem,
    exchange,
    expected_bewit_mac,
    expected_header_mac,
    inline_refs,
    jsonschema_objects,
    leaks,
    make_bewit,
    nested,
    send,
    url_as_signed,
)
from helpers import claim_one, make_queue, make_task, new_task_id, s3_artifact
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from tc_notebook.sandbox import api
from tc_notebook.sandbox.schemas import own_schemas

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)

RUN_QUEUE = "fuzz-prov/running"  # the claimed task whose artifacts are read
SCRATCH_QUEUE = "fuzz-prov/scratch"  # the claimed task fuzzed createArtifact calls write to
VICTIM_QUEUE = "fuzz-prov/victim"  # the claimed task fuzzed report/claim calls may resolve
PENDING_QUEUE = "fuzz-prov/pending"  # a task left pending: the long poll answers at once
EMPTY_QUEUE = "fuzz-prov/empty"  # never holds a task: claimWork answers at once
GEN_QUEUE = "fuzz-prov/generated"  # generated tasks that happen to be valid
SCHEMA = "/schemas/queue/v1/{}.json#"
URL_LIMIT = 8000  # aiohttp refuses longer request targets and headers itself (8190)

# -- malformed values ------------------------------------------------------------

DEEP = [
    nested(900),
    nested(980),
    nested(1100),
    nested(5000),
    Raw('{"a":' * 2000 + "1}" + "}" * 1999),
]
NUMBERS = [
    Raw("1" + "0" * 4000),  # 10**4000: under Python's 4300-digit limit
    Raw("-1" + "0" * 4000),
    Raw("1" + "0" * 5000),  # over it
    *map(Raw, ["1e400", "-1e400", "1e-400", "NaN", "Infinity", "-Infinity", "-0"]),
    *map(Raw, [str(2**63), str(2**64)]),
]
# lone surrogates (written as JSON escapes), newlines, unicode digits, a long string
STRINGS = ["\ud800", "a\udfffb", "x\n", "\n", f"{RUN_QUEUE}\n", "\r\n", "\u0000", "\u2028"]
STRINGS += ["²", "١٢٣", "１２", "𝟗", "x" * 10000]
DATES = [
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59.999999Z",
    "0000-01-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "2024-01-01T24:00:00Z",
    "2024-01-01T00:00:00+23:59",
    "2024-01-01T00:00:00.1234567890Z",
    "²０24-01-01T00:00:00Z",
    "2024-01-01t00:00:00z",
]
WRONG_TYPES = [None, True, 0, -1, 1.5, "", [], {}, {"$ref": "#"}]
NASTY = WRONG_TYPES + NUMBERS + STRINGS + DATES + DEEP

# URL segments as sent, percent-encoded where needed: thousands of digits, > 2**63,
# CR/LF/NUL, dot segments, ² ٣ １ 𝟗, a UTF-8 lone surrogate, broken escapes
SEGMENTS = ["9" * 5000, str(2**63), str(2**64), "a" * 300]
SEGMENTS += "-1 1e3 0x10 %0A 0%0A %0D 0%0D%0A %00 0%00 .. . %2E%2E %2F ..%2F..".split()
SEGMENTS += "%C2%B2 %D9%A3 %EF%BC%91 %F0%9D%9F%97 %ED%A0%80 %zz % %E9 +1 %201".split()
RUN_SEGMENTS = "0%0A 0%0D %200 0%20 +0 -0 0.0 00 %C2%B2".split()
NAME_SEGMENTS = "public/%0A public/.. public/../private/fuzz.txt public%2Ffuzz.txt".split()
NAME_SEGMENTS += "public/%2E%2E/%2E%2E/%2E%2E public/fuzz.txt%00 public/%C2%B2".split()
NAME_SEGMENTS += ["public/%ED%A0%80", "private/fuzz.txt", "public/" + "a" * 5000, "../" * 8]
QUEUE_SEGMENTS = ["a/b%0A", "fuzz-prov/%0A", "a" * 40 + "/b", "a/B", "a", "a//b", "a/b/c", ".."]
LIMITS = ["5%0A", "99999999999999999999999", "-1", "", "1e3", "%C2%B2", "0", "9" * 5000, "%0A5"]
UNKNOWN_QUERIES = ["foo=bar", "%00=1", "limit", "=", "&&&", "a=%zz", "LIMIT=1", "limit=1&limit=x"]
HOSTS = ["127.0.0.1:abc", "127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:", ":80", "[::1"]
HOSTS += ["[::1]:abc", "", "a" * 1000, "127.0.0.1:\xb2", "127.0.0.1:%0A", "127.0.0.1:80:80"]
HOSTS += ["user@127.0.0.1:1"]  # "\xb2" is ² in latin-1, as the header goes out
FORWARDED = [
    {"X-Forwarded-Port": "abc"},
    {"X-Forwarded-Port": "99999"},
    {"X-Forwarded-Port": "-1"},
    {"X-Forwarded-Port": "\xb2"},
    {"X-Forwarded-Proto": "https", "X-Forwarded-Port": "abc"},
    {"X-Forwarded-Proto": "gopher"},
]
HAWK_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"\\')


def b64_token(tree: Any) -> str:
    """A continuation token as the sandbox writes them: URL-safe base64 of JSON."""
    return base64.urlsafe_b64encode(dumps(tree).encode()).decode()


def _iso(delta: datetime.timedelta = datetime.timedelta()) -> str:
    """Now plus `delta`, as Taskcluster writes dates."""
    moment = datetime.datetime.now(datetime.timezone.utc) + delta
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _now() -> str:
    """Now in epoch seconds, as a Hawk `ts`."""
    return str(int(datetime.datetime.now(datetime.timezone.utc).timestamp()))


# -- the sandbox and the recorder -----------------------------------------------


@dataclass
class World:
    """Tasks the cases point at."""

    running: str  # claimed; run 0 has public/private s3, reference, link and error artifacts
    scratch: str  # claimed; fuzzed createArtifact calls write to run 0
    victim: str  # claimed; state-changing calls are aimed at it
    temp: dict[str, str]  # temporary credentials issued by root


def _match(method: str, target: str) -> tuple[api.Entry, dict[str, str]] | None:
    """The entry a request is for and its (unquoted) URL parameters, as the table says."""
    path = target.split("?", 1)[0]
    if not path.startswith(API):
        return None
    for entry in api.ENTRIES:
        found = entry.pattern.match(path[len(API) :])
        if entry.method == method and found:
            values = [urllib.parse.unquote(v) for v in found.groups()]
            return entry, dict(zip(entry.route_params, values, strict=True))
    return None


def _where(method: str, target: str) -> str:
    """The entry (or sandbox route) a request is for, to group failures by."""
    matched = _match(method, target)
    if matched:
        return matched[0].name
    if target.startswith(API):
        return f"{method} {API}/… (no entry)"
    return f"{method} /" + "/".join(target.split("?", 1)[0].split("/")[1:3])


def _short(value: Any, limit: int = 200) -> str:
    """The start of a value, for reports."""
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return repr(text[:limit]) + (f"…({len(text)} chars)" if len(text) > limit else "")


def _describe(method: str, target: str, headers: dict[str, str | None], body: bytes) -> str:
    """A request, shortened, for reports."""
    shown = {k: _short(v, 120) for k, v in headers.items() if v is not None}
    return f"{method} {_short(target)} headers={shown} body={_short(body, 150)}"


class Fuzz:
    """Sends cases to the module's sandbox and checks every answer."""

    def __init__(self, sandbox: Any, world: World, ledger: Ledger, incidents: Incidents) -> None:
        self.port = sandbox.server.port
        self.root = sandbox.root_url
        self.token = sandbox.credentials["accessToken"]
        self.service = sandbox.server.service
        self.call = sandbox.call
        self.world = world
        self.ledger = ledger
        self.incidents = incidents
        self.batch = Ledger()  # this test's failures
        self.created_tasks: list[str] = []
        self.created_artifacts: list[str] = []

    def sign(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        content_type: str = "",
        *,
        credentials: dict[str, str] | None = None,
        url: str | None = None,
        ext: str | None = None,
    ) -> str:
        """A Hawk header made with mohawk, as the official client makes it: for root or
        `credentials` (whose certificate goes in ext), for this target or `url`."""
        creds = credentials or {"clientId": "root", "accessToken": self.token}
        if "certificate" in creds and ext is None:
            ext = b64_json({"certificate": json.loads(creds["certificate"])})
        sender = mohawk.Sender(
            {"id": creds["clientId"], "key": creds["accessToken"], "algorithm": "sha256"},
            url or self.root + target,
            method,
            content=body,
            content_type=content_type,
            ext=ext,
        )
        return sender.request_header

    def request(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        *,
        content_type: str | None = None,
        headers: dict[str, str | None] | None = None,
        signed: bool | dict[str, str] = False,
        secrets: dict[str, str | None] | None = None,
        timeout: float = 10.0,
    ) -> Answer:
        """Send one case, Hawk-signed by root when `signed` (by those credentials if it
        is a dict), and check its answer. A target or header longer than aiohttp reads
        is judged as malformed HTTP."""
        headers = dict(headers or {})
        if content_type is not None:
            headers["Content-Type"] = content_type
        if signed:
            creds = signed if isinstance(signed, dict) else None
            sign_args = (method, target, body, content_type or "")
            headers["Authorization"] = self.sign(*sign_args, credentials=creds)
        answer = send(self.port, method, target, body, headers, timeout)
        oversize = max([len(target), *(len(v or "") for v in headers.values())]) > URL_LIMIT
        request = _describe(method, target, headers, body)
        self.judge(method, target, answer, request, secrets, http_level=oversize)
        self._remember(method, target, answer)
        return answer

    def _remember(self, method: str, target: str, answer: Answer) -> None:
        """Note the tasks and artifacts a case created, for test_read_back."""
        matched = _match(method, target)
        if answer.status != 200 or not matched:
            return
        entry, params = matched
        if entry.name == "createTask":
            self.created_tasks.append(params["taskId"])
        if entry.name == "createArtifact" and params["name"] not in self.created_artifacts:
            self.created_artifacts.append(params["name"])

    def raw(self, label: str, data: bytes, *, hang_up: bool = False) -> None:
        """Send malformed HTTP on a raw socket; then the server must still answer ping."""
        answer = exchange(self.port, data, hang_up=hang_up)
        self.judge("RAW", label, answer, _short(data), http_level=True)
        self.check_alive(f"raw HTTP: {label}")

    def judge(
        self,
        method: str,
        target: str,
        answer: Answer,
        request: str,
        secrets: dict[str, str | None] | None = None,
        *,
        http_level: bool = False,
    ) -> None:
        """Record the answer's status and whatever is wrong with it. For malformed
        HTTP (`http_level`) a plain-text 4xx or a closed connection is fine."""
        self.ledger.count(answer)
        logged = self.incidents.take()
        where = f"malformed HTTP ({target[:60]})" if method == "RAW" else _where(method, target)
        problems = []
        if answer.status is None and not http_level:
            problems.append(f"no answer ({answer.error.split(':')[0]})")
        elif answer.status is not None and answer.status >= 500:
            problems.append(f"{answer.status} from {logged[0][0]}" if logged else "5xx")
        elif not http_level and target.startswith(API) and 400 <= (answer.status or 0) < 500:
            problems.append(error_format_problem(answer))
        everything = {"root accessToken": self.token, **(secrets or {})}
        problems += [f"leaks the {name}" for name in leaks(answer, everything)]
        server = f"{logged[0][0]}: {logged[0][1]}" if logged else ""
        for problem in filter(None, problems):
            self._fail(problem, where, request, answer, server)

    def _fail(self, problem: str, where: str, request: str, answer: Answer, server: str) -> None:
        """Record a failure in the module's ledger and in this batch's."""
        for ledger in (self.ledger, self.batch):
            ledger.fail(problem, where, request, answer, server)

    def check_alive(self, after: str) -> None:
        """`ping` answers 200, or that is a failure."""
        answer = send(self.port, "GET", f"{API}/ping", timeout=10)
        if answer.status != 200:
            problem = f"ping answered {answer.status} afterwards"
            self._fail(problem, after, f"GET {API}/ping", answer, "")

    def finish(self) -> None:
        """End a batch: ping must answer, and no case may have failed."""
        self.check_alive("end of batch")
        batch, self.batch = self.batch, Ledger()
        if batch.failures:
            pytest.fail(f"{len(batch.failures)} distinct failures:\n{batch.report()}", False)


class _Summary:
    """Prints the ledger's summary line at the end of the terminal report."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_line(self.ledger.summary())


def _claimed(sandbox: Any, queue_id: str) -> tuple[str, taskcluster.Queue]:
    """A new task on `queue_id`, claimed: (taskId, a client with the claim's credentials)."""
    queue = make_queue(sandbox.root_url, sandbox.credentials)
    task_id = new_task_id()
    queue.createTask(task_id, make_task(queue_id))
    return task_id, make_queue(sandbox.root_url, claim_one(queue, queue_id)["credentials"])


def _build_world(sandbox: Any) -> World:
    """Create the tasks and artifacts the cases point at."""
    running, worker = _claimed(sandbox, RUN_QUEUE)
    s3_artifact(worker, running, 0, "public/fuzz.txt", b"fuzz")
    s3_artifact(worker, running, 0, "private/fuzz.txt", b"private")
    typed = {"expires": taskcluster.fromNowJSON("1 day"), "contentType": "text/plain"}
    reference = {**typed, "storageType": "reference", "url": "https://example.com/"}
    worker.createArtifact(running, 0, "public/ref", reference)
    link = {**typed, "storageType": "link", "artifact": "public/fuzz.txt"}
    worker.createArtifact(running, 0, "public/link", link)
    error = {"storageType": "error", "reason": "file-missing-on-worker", "message": "fuzz"}
    worker.createArtifact(running, 0, "public/error", {**error, "expires": typed["expires"]})
    scratch, _ = _claimed(sandbox, SCRATCH_QUEUE)
    victim, _ = _claimed(sandbox, VICTIM_QUEUE)
    queue = make_queue(sandbox.root_url, sandbox.credentials)
    queue.createTask(new_task_id(), make_task(PENDING_QUEUE))
    queue.createTask(new_task_id(), make_task(GEN_QUEUE, dependencies=[running]))
    now = datetime.datetime.now(datetime.timezone.utc)
    temp = taskcluster.createTemporaryCredentials(
        "root",
        sandbox.credentials["accessToken"],
        now - datetime.timedelta(minutes=1),
        now + datetime.timedelta(hours=1),
        ["queue:status:*", "queue:get-artifact:*"],
    )
    return World(running, scratch, victim, temp)


@pytest.fixture(scope="module")
def fuzz_sandbox(
    tmp_path_factory: pytest.TempPathFactory,
    output_schema_dir: Path | None,
    request: pytest.FixtureRequest,
) -> Iterator[Fuzz]:
    """A sandbox of its own (no worker, claimWork answers at once), its tasks, the ledger."""
    from tc_notebook.sandbox import QueueSettings, Sandbox

    sandbox = Sandbox(
        tmp_path_factory.mktemp("fuzz-sandbox"),
        host="127.0.0.1",
        settings=QueueSettings(claim_work_wait=0),
        output_schema_dir=output_schema_dir,
        capacity=0,
    )
    sandbox.start()
    ledger = Ledger()
    request.config.pluginmanager.register(_Summary(ledger), "tc-notebook-fuzz-summary")
    try:
        world = _build_world(sandbox)
        with Incidents().installed() as incidents:
            yield Fuzz(sandbox, world, ledger, incidents)
    finally:
        sandbox.stop()


@pytest.fixture
def fuzz(fuzz_sandbox: Fuzz) -> Fuzz:
    """The module's Fuzz, starting a new batch."""
    fuzz_sandbox.batch = Ledger()
    return fuzz_sandbox


# -- strategies -------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
GROUPS = (WRONG_TYPES, NUMBERS, STRINGS, DATES, DEEP)
NASTY_VALUES = st.one_of(*map(st.sampled_from, GROUPS), JSON_VALUES)


def _paths(tree: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path into a JSON tree, the root's () first."""
    yield prefix
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from _paths(value, (*prefix, index))


@st.composite
def mutated(draw: Callable, tree: Any, most: int = 3) -> Any:
    """`tree` with up to `most` values replaced, dropped, added or wrapped in a list."""
    tree = copy.deepcopy(tree)
    for _ in range(draw(st.integers(0, most))):
        path = draw(st.sampled_from(list(_paths(tree))))
        value = draw(NASTY_VALUES)
        if not path:
            tree = value
            continue
        parent = tree
        for step in path[:-1]:
            parent = parent[step]
        op = draw(st.sampled_from(["replace", "replace", "drop", "add", "wrap"]))
        if op == "replace":
            parent[path[-1]] = value
        elif op == "drop":
            del parent[path[-1]]
        elif op == "wrap":
            parent[path[-1]] = [parent[path[-1]]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "", "\ud800", "a\nb"]))] = value
        else:
            parent.append(value)
    return tree


CONTENT_TYPES = ["application/json"] * 6 + [None, "text/plain", "application/JSON", "*/*"]
CONTENT_TYPES += ["application/json; charset=utf-8", "application/json; charset=latin-1"]
CONTENT_TYPES += ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]


@st.composite
def on_the_wire(draw: Callable, tree: Any) -> tuple[bytes, str | None]:
    """A body for `tree` (its JSON text, or that text spoilt) and a content type."""
    text = dumps(tree).encode()
    spoilt = {
        "empty": b"",
        "garbage": b"{not json",
        "cut": text[: len(text) // 2],
        "tail": text + b" x",
        "utf16": text.decode().encode("utf-16"),
        "bytes": text[:1] + b"\xff\xfe\xc0" + text[1:],
    }
    spoil = draw(st.sampled_from([None] * 8 + sorted(spoilt)))
    return spoilt.get(spoil, text), draw(st.sampled_from(CONTENT_TYPES))


def _schema(name: str) -> dict:
    """One of the sandbox's own schemas, with its $refs inlined."""
    return inline_refs(own_schemas().by_id, SCHEMA.format(name))


@st.composite
def task_bodies(draw: Callable) -> Any:
    """createTask bodies from the sandbox's schema, often made acceptable, then mutated."""
    body = draw(from_schema(_schema("create-task-request")))
    if draw(st.booleans()):
        for key in ("provisionerId", "workerType", "taskGroupId", "dependencies"):
            body.pop(key, None)
        body.update(taskQueueId=GEN_QUEUE, schedulerId="-", created=_iso())
        body["deadline"] = _iso(datetime.timedelta(hours=1))
        if draw(st.booleans()):
            body["expires"] = draw(st.sampled_from(DATES + [_iso(datetime.timedelta(days=2))]))
    return draw(mutated(body))


@st.composite
def artifact_bodies(draw: Callable) -> Any:
    """createArtifact bodies from the sandbox's schema, often made acceptable, then mutated."""
    body = draw(from_schema(_schema("post-artifact-request")))
    if draw(st.booleans()):
        body["expires"] = _iso(datetime.timedelta(days=1))
    return draw(mutated(body))


# -- 1. bodies --------------------------------------------------------------------


# hypothesis-jsonschema compiles the strings it draws for `format: regex` (metadata.source)
@pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")
def test_create_task_bodies(fuzz: Fuzz):
    """Generated, mutated createTask bodies, signed by root or not."""

    @settings(FUZZ, max_examples=140)
    @given(tree=task_bodies(), data=st.data(), signed=st.booleans())
    def case(tree: Any, data: st.DataObject, signed: bool) -> None:
        """One generated case."""
        body, content_type = data.draw(on_the_wire(tree))
        target = f"{API}/task/{new_task_id()}"
        fuzz.request("PUT", target, body, content_type=content_type, signed=signed)

    with jsonschema_objects():
        case()
    fuzz.finish()


def test_artifact_bodies(fuzz: Fuzz):
    """Generated, mutated createArtifact bodies on a running run, signed or not."""
    names = st.sampled_from(["public/a", "public/b", "private/c"])

    @settings(FUZZ, max_examples=90)
    @given(tree=artifact_bodies(), data=st.data(), name=names, signed=st.booleans())
    def case(tree: Any, data: st.DataObject, name: str, signed: bool) -> None:
        """One generated case."""
        body, content_type = data.draw(on_the_wire(tree))
        target = f"{API}/task/{fuzz.world.scratch}/runs/0/artifacts/{name}"
        fuzz.request("POST", target, body, content_type=content_type, signed=signed)

    with jsonschema_objects():
        case()
    fuzz.finish()


def _other_inputs(world: World) -> list[tuple[str, str, st.SearchStrategy]]:
    """(method, route, body strategy) of the other entries that read a body."""
    victim = world.victim
    return [
        ("POST", f"/claim-work/{EMPTY_QUEUE}", from_schema(_schema("claim-work-request"))),
        ("POST", f"/task/{victim}/runs/0/claim", from_schema(_schema("task-claim-request"))),
        (
            "POST",
            f"/task/{victim}/runs/0/exception",
            from_schema(_schema("task-exception-request")),
        ),
        (
            "PUT",
            f"/task/{world.running}/runs/0/artifacts/public/fuzz.txt",
            from_schema(_schema("finish-artifact-request")),
        ),
        ("POST", f"/task/{victim}/runs/0/completed", JSON_VALUES),
        ("POST", f"/task/{victim}/runs/0/failed", JSON_VALUES),
        ("POST", f"/task/{victim}/runs/0/reclaim", JSON_VALUES),
        ("POST", f"/task/{victim}/cancel", JSON_VALUES),
    ]


def test_other_bodies(fuzz: Fuzz):
    """Mutated bodies for the other entries that take one (or ignore it)."""
    entries = _other_inputs(fuzz.world)

    @settings(FUZZ, max_examples=70)
    @given(index=st.integers(0, len(entries) - 1), data=st.data(), signed=st.booleans())
    def case(index: int, data: st.DataObject, signed: bool) -> None:
        """One generated case."""
        method, route, bodies = entries[index]
        body, content_type = data.draw(on_the_wire(data.draw(mutated(data.draw(bodies)))))
        fuzz.request(method, API + route, body, content_type=content_type, signed=signed)

    with jsonschema_objects():
        case()
    fuzz.finish()


SPOILT_BODIES = [
    b"",  # empty
    b"{not json",
    b'{"a": "\xff\xfe"}',  # invalid UTF-8
    '{"a": 1}'.encode("utf-16"),
    b"null",
    b'"\\ud800"',
    b"NaN",
    b"1" + b"0" * 4000,
    b"1" + b"0" * 5000,
    dumps(nested(990)).encode(),
    dumps(nested(100_000)).encode(),
    ('{"a":' * 50_000 + "1}" + "}" * 49_999).encode(),
    b"{} x",
    b"{}\x00",
]


def test_spoilt_bodies(fuzz: Fuzz):
    """Every listed malformed body to every entry that takes one: as JSON and untyped
    (signed by root), and as text/plain (unsigned)."""
    world = fuzz.world
    targets = [("PUT", "/task/{new}"), ("POST", f"/task/{world.scratch}/runs/0/artifacts/public/x")]
    targets += [(method, route) for method, route, _ in _other_inputs(world)]
    for body in SPOILT_BODIES:
        for method, route in targets:
            for content_type in ("application/json", "text/plain", None):
                target = API + route.replace("{new}", new_task_id())
                signed = content_type != "text/plain"
                fuzz.request(method, target, body, content_type=content_type, signed=signed)
    fuzz.finish()


@pytest.mark.parametrize("field", ["created", "deadline", "expires", "retries", "extra", "tags"])
def test_task_fields(fuzz: Fuzz, field: str):
    """Each malformed value in one field of an otherwise valid task, signed by root."""
    for value in NASTY:
        task = make_task(GEN_QUEUE, created=_iso(), deadline=_iso(datetime.timedelta(hours=1)))
        task[field] = {"key": value} if field in ("extra", "tags") else value
        target = f"{API}/task/{new_task_id()}"
        fuzz.request(
            "PUT", target, dumps(task).encode(), content_type="application/json", signed=True
        )
    fuzz.finish()


def test_artifact_fields(fuzz: Fuzz):
    """Each malformed value in one field of an otherwise valid artifact, signed by root."""
    base = {
        "storageType": "s3",
        "contentType": "text/plain",
        "expires": _iso(datetime.timedelta(1)),
    }
    target = f"{API}/task/{fuzz.world.scratch}/runs/0/artifacts/public/fields"
    for field in ("expires", "contentType", "contentLength", "url", "storageType"):
        for value in NASTY:
            body = {**base, field: value}
            if field == "url":
                body["storageType"] = "reference"
            body_bytes = dumps(body).encode()
            fuzz.request("POST", target, body_bytes, content_type="application/json", signed=True)
    fuzz.finish()


# -- 2. URL parameters and queries ----------------------------------------------------


def _valid_params(world: World, entry: api.Entry) -> dict[str, str]:
    """URL parameters that pass the entry's checks (a task fit for what it does)."""
    task_id = world.running
    if entry.name == "createArtifact":
        task_id = world.scratch
    elif entry.method == "POST":
        task_id = world.victim
    elif entry.name == "createTask":
        task_id = new_task_id()
    return {
        "taskId": task_id,
        "taskGroupId": world.running,
        "runId": "0",
        "taskQueueId": EMPTY_QUEUE,
        "name": "public/url" if entry.name == "createArtifact" else "public/fuzz.txt",
    }


def _valid_body(entry: api.Entry) -> tuple[bytes, str | None]:
    """A body the entry accepts, and its content type."""
    bodies = {
        "v1/create-task-request.json#": make_task(GEN_QUEUE),
        "v1/post-artifact-request.json#": {
            "storageType": "s3",
            "contentType": "text/plain",
            "expires": _iso(datetime.timedelta(days=1)),
        },
        "v1/claim-work-request.json#": {"workerGroup": "fuzz", "workerId": "w", "tasks": 1},
        "v1/task-claim-request.json#": {"workerGroup": "fuzz", "workerId": "w"},
        "v1/task-exception-request.json#": {"reason": "malformed-payload"},
        "v1/finish-artifact-request.json#": {"uploadId": new_task_id()},
    }
    if entry.input is None:
        return b"", None
    return json.dumps(bodies[entry.input]).encode(), "application/json"


def _target(entry: api.Entry, params: dict[str, str], query: str = "") -> str:
    """The entry's URL (below the root URL) with these parameters and query."""
    path = entry.route
    for name in entry.route_params:
        path = path.replace(f"<{name}>", params[name])
    return API + path + (f"?{query}" if query else "")


def _segments(param: str, world: World) -> list[str]:
    """Malformed values for one URL parameter."""
    running = world.running
    extra = {
        "taskId": [f"{running}%0A", f"%0A{running}", running[:-1] + "%0D"],
        "taskGroupId": [f"{running}%0A"],
        "runId": RUN_SEGMENTS,
        "name": NAME_SEGMENTS,
        "taskQueueId": QUEUE_SEGMENTS,
    }
    return SEGMENTS + extra[param]


@pytest.mark.parametrize("entry", api.ENTRIES, ids=lambda e: e.name)
def test_url_parameters(fuzz: Fuzz, entry: api.Entry):
    """Each malformed value in each URL parameter of the entry, signed and unsigned."""
    body, content_type = _valid_body(entry)
    for param in entry.route_params:
        for value in _segments(param, fuzz.world):
            params = {**_valid_params(fuzz.world, entry), param: value}
            target = _target(entry, params)
            for signed in (False, True):
                fuzz.request(entry.method, target, body, content_type=content_type, signed=signed)
    fuzz.finish()


def _tokens(world: World) -> list[str]:
    """Malformed continuation tokens, percent-encoded."""
    running = world.running
    trees = [nested(2500), nested(900), -1, "x", "\ud800", [running, 0, "public/a"]]
    trees += [Raw("1" + "0" * 4000), Raw(str(2**63)), Raw(str(2**64)), Raw("1e400"), Raw("NaN")]
    trees += [[running, 10**30, "public/a"], [running, 0, nested(900)], [running, Raw("NaN"), "a"]]
    tokens = [urllib.parse.quote(b64_token(tree), safe="") for tree in trees]
    return tokens + ["!!!", "%00", "%zz", "=", "a", base64.urlsafe_b64encode(b"\xff\xfe").decode()]


@pytest.mark.parametrize("entry", [e for e in api.ENTRIES if e.query], ids=lambda e: e.name)
def test_pagination_queries(fuzz: Fuzz, entry: api.Entry):
    """Malformed limit and continuationToken values, and unknown query parameters."""
    params = _valid_params(fuzz.world, entry)
    tokens = _tokens(fuzz.world)
    queries = [f"limit={v}" for v in LIMITS] + UNKNOWN_QUERIES
    queries += [f"continuationToken={t}" for t in tokens]
    queries += [f"limit=1&continuationToken={t}" for t in tokens[:4]]
    for query in queries:
        for signed in (False, True):
            fuzz.request(entry.method, _target(entry, params, query), signed=signed)
    fuzz.finish()


def test_queries_everywhere(fuzz: Fuzz):
    """Query parameters that no entry takes (or pagination where there is none)."""
    queries = UNKNOWN_QUERIES + ["limit=1", "continuationToken=x", "bewit", "%0A=%0D"]
    for entry in api.ENTRIES:
        body, content_type = _valid_body(entry)
        for query in queries:
            target = _target(entry, _valid_params(fuzz.world, entry), query)
            fuzz.request(entry.method, target, body, content_type=content_type)
    fuzz.finish()


def test_api_paths(fuzz: Fuzz):
    """Paths under the API prefix that are no entry, and methods no entry has."""
    running = fuzz.world.running
    paths = ["", "/", "/..", "/../..", "/%2E%2E", "//ping", "/ping/", "/PING", "/ping%00"]
    paths += ["/task", "/task/", f"/task/{running}/", f"/task/{running}/status/.."]
    paths += [f"/task/{running}/runs/0/artifacts/" + "../" * 9, "/" + "a" * 6000]
    paths += ["/%ED%A0%80", "/task/%", "/task/%zz/status"]
    for path in paths:
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            fuzz.request(method, API + path)
    fuzz.finish()


def test_url_generated(fuzz: Fuzz):
    """Generated entry/parameter/value/query combinations, signed or not."""
    world = fuzz.world
    values = (
        st.sampled_from(SEGMENTS + RUN_SEGMENTS + NAME_SEGMENTS + QUEUE_SEGMENTS)
        | st.text(min_size=1, max_size=30).map(lambda s: urllib.parse.quote(s, safe=""))
        | st.integers(-(2**70), 2**70).map(str)
    )
    pairs = st.tuples(
        st.sampled_from(["limit", "continuationToken", "bewit", "foo", ""]),
        values | st.sampled_from(_tokens(world)),
    )
    queries = st.lists(pairs.map("=".join), max_size=3).map("&".join)

    @settings(FUZZ, max_examples=150)
    @given(entry=st.sampled_from(api.ENTRIES), data=st.data(), signed=st.booleans())
    def case(entry: api.Entry, data: st.DataObject, signed: bool) -> None:
        """One generated case."""
        params = _valid_params(world, entry)
        for param in entry.route_params:
            if data.draw(st.booleans()):
                params[param] = data.draw(values)
        body, content_type = _valid_body(entry)
        target = _target(entry, params, data.draw(queries))
        fuzz.request(entry.method, target, body, content_type=content_type, signed=signed)

    case()
    fuzz.finish()


def test_read_back(fuzz: Fuzz):
    """What the cases above created reads back without a failure: each task (with
    its group and dependents), every artifact of the scratch run, and the generated
    tasks that are pending, claimed and driven with their claims' credentials."""
    for task_id in fuzz.created_tasks:
        answer = fuzz.request("GET", f"{API}/task/{task_id}")
        for route in ("status", "dependents"):
            fuzz.request("GET", f"{API}/task/{task_id}/{route}")
        if answer.status == 200:
            group = urllib.parse.quote(str(json.loads(answer.body).get("taskGroupId")), safe="")
            fuzz.request("GET", f"{API}/task-group/{group}/list")
    scratch = fuzz.world.scratch
    for route in ("runs/0/artifacts", "artifacts"):
        fuzz.request("GET", f"{API}/task/{scratch}/{route}")
    for name in fuzz.created_artifacts:
        quoted = urllib.parse.quote(name, safe="")
        for route in ("runs/0/artifact-info", "artifact-info", "runs/0/artifacts", "artifacts"):
            fuzz.request("GET", f"{API}/task/{scratch}/{route}/{quoted}", signed=True)
        fuzz.request("GET", f"{API}/task/{scratch}/artifact-content/{quoted}", signed=True)
    for claim in _claims(fuzz, GEN_QUEUE):
        _drive(fuzz, claim)
    fuzz.finish()


def _claims(fuzz: Fuzz, queue_id: str) -> Iterator[dict]:
    """Claim every pending task of a queue, 32 at a time, as a root-signed worker."""
    body = json.dumps({"workerGroup": "fuzz", "workerId": "reader", "tasks": 32}).encode()
    for _ in range(20):
        answer = fuzz.request(
            "POST",
            f"{API}/claim-work/{queue_id}",
            body,
            content_type="application/json",
            signed=True,
        )
        claims = json.loads(answer.body).get("tasks", []) if answer.status == 200 else []
        if not claims:
            return
        yield from claims


def _drive(fuzz: Fuzz, claim: dict) -> None:
    """reclaimTask, createArtifact and reportCompleted with the claim's credentials."""
    task_id, run = claim["status"]["taskId"], claim["runId"]
    prefix = f"{API}/task/{task_id}/runs/{run}"
    answer = fuzz.request("POST", f"{prefix}/reclaim", signed=claim["credentials"])
    creds = json.loads(answer.body)["credentials"] if answer.status == 200 else claim["credentials"]
    artifact = {
        "storageType": "s3",
        "contentType": "text/plain",
        "expires": _iso(datetime.timedelta(1)),
    }
    body = json.dumps(artifact).encode()
    fuzz.request(
        "POST",
        f"{prefix}/artifacts/public/read-back",
        body,
        content_type="application/json",
        signed=creds,
    )
    fuzz.request("POST", f"{prefix}/completed", signed=creds)


# -- 2b. the sandbox's own routes ----------------------------------------------------


def test_blob_routes(fuzz: Fuzz):
    """/sandbox/blobs/<taskId>/<runId>/<name> with malformed parts and signatures."""
    running = fuzz.world.running
    targets = [f"/sandbox/blobs/{running}/{run}/public/fuzz.txt" for run in SEGMENTS + RUN_SEGMENTS]
    targets += [f"/sandbox/blobs/{running}/0/{name}" for name in SEGMENTS + NAME_SEGMENTS]
    targets += [f"/sandbox/blobs/{task}/0/public/fuzz.txt" for task in SEGMENTS]
    targets += [f"/sandbox/blobs/{running}", "/sandbox/blobs/", f"/sandbox/blobs/{running}/0"]
    for target in targets:
        fuzz.request("GET", target)
        fuzz.request("PUT", target, b"x", content_type="text/plain")
    for expires in ["", "%C2%B2", "9" * 5000, str(2**63), "-1", "1e10", "%0A1", "1%0A", "00"]:
        for name in ("public/fuzz.txt", "private/fuzz.txt"):
            target = f"/sandbox/blobs/{running}/0/{name}?expires={expires}&signature=00"
            for method in ("GET", "PUT"):
                secret = _blob_signature(fuzz, method, running, name, expires)
                body = b"x" if method == "PUT" else b""
                secrets = {"blob signature": secret}
                fuzz.request(method, target, body, content_type="text/plain", secrets=secrets)
    fuzz.finish()


def _blob_signature(fuzz: Fuzz, method: str, task_id: str, name: str, expires: str) -> str | None:
    """The signature the server expects for this blob and method, when `expires` is a number."""
    try:
        moment = int(urllib.parse.unquote(expires))
    except ValueError:
        return None
    return fuzz.call(fuzz.service.blob_signature, method, task_id, 0, name, moment)


def test_schema_route(fuzz: Fuzz):
    """/schemas/queue/<name> with malformed names."""
    for name in SEGMENTS + ["v1/task.json", "v1/../v1/task.json", "v1/task.json%00", "v1/"]:
        fuzz.request("GET", f"/schemas/queue/{name}")
    fuzz.finish()


# -- 3. credentials ---------------------------------------------------------------------


def _auth_targets(world: World) -> list[tuple[str, str, bytes, str]]:
    """(method, target, body, content type) that authentication is tried on."""
    task = json.dumps(make_task(GEN_QUEUE)).encode()
    return [
        ("GET", f"{API}/task/{world.running}/status", b"", ""),
        ("GET", f"{API}/task/{world.running}/artifacts/private/fuzz.txt", b"", ""),
        ("PUT", f"{API}/task/{new_task_id()}", task, "application/json"),
    ]


def _hawk(attrs: dict[str, str]) -> str:
    """A Hawk Authorization header with exactly these attributes."""
    return "Hawk " + ", ".join(f'{key}="{value}"' for key, value in attrs.items())


@dataclass
class AuthCase:
    """A request that authentication is tried on."""

    method: str
    target: str
    body: bytes
    content_type: str

    def signed(self, fuzz: Fuzz, attrs: dict[str, str], key: str | None = None) -> dict:
        """`attrs` and the mac root (or `key`) computes for them on this request."""
        url = fuzz.root + self.target
        header = _hawk(attrs)
        mac = expected_header_mac(
            header, url, self.method, key or fuzz.token, self.body, self.content_type
        )
        return {**attrs, "mac": mac or "x"}

    def send(
        self,
        fuzz: Fuzz,
        authorization: str,
        headers: dict | None = None,
        keys: dict[str, str] | None = None,
    ) -> None:
        """Send with this Authorization; the MAC each key would expect is a secret."""
        headers = {**(headers or {}), "Authorization": authorization}
        if self.content_type:
            headers["Content-Type"] = self.content_type
        urls = {
            "server's": url_as_signed(fuzz.root, self.target, headers),
            "client's": fuzz.root + self.target,
        }
        sent = _hawk_mac(authorization)
        secrets: dict[str, str | None] = {}
        for name, key in {"root": fuzz.token, **(keys or {})}.items():
            for where, url in urls.items():
                mac = expected_header_mac(
                    authorization, url, self.method, key, self.body, self.content_type
                )
                if mac and mac != sent:
                    secrets[f"MAC expected with the {name} key for the {where} URL"] = mac
        fuzz.request(self.method, self.target, self.body, headers=headers, secrets=secrets)


def _auth_cases(world: World) -> list[AuthCase]:
    """The requests that authentication is tried on."""
    return [AuthCase(*each) for each in _auth_targets(world)]


def _hawk_mac(header: str) -> str | None:
    """The mac attribute of a Hawk header, if it parses."""
    try:
        return mohawk.util.parse_authorization_header(header).get("mac")
    except (mohawk.exc.HawkFail, ValueError):
        return None


MALFORMED_HEADERS = ["garbage", "Hawk", "Hawk ", "Hawk  ", "hawk", "Basic cm9vdDp4", "Bearer x"]
MALFORMED_HEADERS += ["Hawk ,", "Hawk id=root", 'Hawk id="root", id="root"', 'Hawk foo="bar"']
MALFORMED_HEADERS += ['Hawk id="ro\\"ot"', 'Hawk id="root" ts="1"', 'Hawk id="root",,ts="1"']
MALFORMED_HEADERS += ["Hawk " + "a" * 5000]
TIMESTAMPS = ["abc", "", "-1", "0", "1e10", " 1", "1.5", "9" * 400, str(2**64), "0x10"]
EXTS = [
    "!!!",
    "e30",
    b64_json([]),
    b64_json(None),
    b64_json(1),
    b64_json(nested(1200)),
    b64_json({"certificate": "[" * 1200}),
    b64_json({"certificate": "{"}),
    b64_json({"certificate": nested(1200)}),
    b64_json({"certificate": []}),
    *[b64_json({"authorizedScopes": v}) for v in ["x", [1], ["\ud800"], Raw("NaN"), {}, [["*"]]]],
]


def _header_cases(fuzz: Fuzz, case: AuthCase) -> list[str]:
    """Malformed Authorization headers for one request; MACs right where it matters."""
    good = {"id": "root", "ts": _now(), "nonce": "fuzz01"}
    headers = list(MALFORMED_HEADERS)
    for missing in ("id", "ts", "nonce", "mac"):
        headers.append(_hawk({k: v for k, v in case.signed(fuzz, good).items() if k != missing}))
    skewed = [str(int(_now()) + 16 * 60), str(int(_now()) - 16 * 60)]
    for ts in TIMESTAMPS + skewed:
        attrs = case.signed(fuzz, {**good, "ts": ts})
        headers += [_hawk(attrs), _hawk({**attrs, "mac": "AAAA"})]
    headers += [_hawk({**good, "mac": mac}) for mac in ["", "x", "!!!", "A" * 44]]
    for client_id in ["", "nobody", "root ", "a" * 300]:
        headers.append(_hawk(case.signed(fuzz, {**good, "id": client_id})))
    for extra in [
        {"hash": "x"},
        {"hash": ""},
        {"app": "a"},
        {"app": "a", "dlg": "d"},
        {"tsm": "x"},
    ]:
        headers.append(_hawk(case.signed(fuzz, {**good, **extra})))
    for ext in EXTS:
        attrs = case.signed(fuzz, {**good, "ext": ext})
        headers += [_hawk(attrs), _hawk({**attrs, "mac": "AAAA"})]
    wrong = {"clientId": "root", "accessToken": "wrong-token"}
    args = (case.method, case.target, case.body, case.content_type)
    headers.append(fuzz.sign(*args, credentials=wrong))
    headers.append(fuzz.sign(*args, url=f"{fuzz.root}{API}/task/{fuzz.world.victim}/status"))
    return headers


def test_malformed_authorization(fuzz: Fuzz):
    """Malformed Hawk headers, wrong MACs and odd ext, on reads, downloads and writes."""
    for case in _auth_cases(fuzz.world):
        for header in _header_cases(fuzz, case):
            case.send(fuzz, header)
    fuzz.finish()


CERTIFICATE_SPOILS: list[tuple[str, Any]] = [
    ("start", "abc"),
    ("expiry", None),
    ("start", None),
    ("issuer", [1]),
    ("issuer", {}),
    ("issuer", 1),
    ("issuer", "root"),
    ("seed", 12345),
    ("seed", None),
    ("scopes", ["\ud800"]),
    ("scopes", "*"),
    ("scopes", [1]),
    ("scopes", None),
    ("start", Raw("NaN")),
    ("expiry", Raw("NaN")),
    ("start", Raw("1" + "0" * 4000)),
    ("expiry", Raw("Infinity")),
    ("version", "1"),
    ("version", None),
    ("version", Raw("NaN")),
    ("signature", 5),
    ("signature", None),
    ("signature", []),
    ("start", nested(1200)),
    ("scopes", nested(1200)),
]


def _certificate_ext(cert: Any, as_text: bool) -> str:
    """Hawk ext carrying a certificate, as an object or as its JSON text."""
    return b64_json({"certificate": dumps(cert) if as_text else cert})


def test_malformed_certificates(fuzz: Fuzz):
    """Temporary credentials whose certificate has fields of the wrong types or values,
    as an object and as a JSON string, correctly signed by their holder."""
    temp = fuzz.world.temp
    cert = json.loads(temp["certificate"])
    spoilt: list[Any] = [{**cert, field: value} for field, value in CERTIFICATE_SPOILS]
    spoilt += [{k: v for k, v in cert.items() if k != field} for field in cert]
    spoilt += [[], 5, "x", None]
    keys = {"temporary": temp["accessToken"]}
    for case in _auth_cases(fuzz.world):
        args = (case.method, case.target, case.body, case.content_type)
        for each in spoilt:
            for as_text in (False, True):
                header = fuzz.sign(*args, ext=_certificate_ext(each, as_text), credentials=temp)
                case.send(fuzz, header, keys=keys)
    fuzz.finish()


def test_hosts_and_forwarding(fuzz: Fuzz):
    """Bad Host and X-Forwarded-* headers, unsigned and with a header signed for what the
    server would rebuild (or, where that is no URL, for the client's URL)."""
    for case in _auth_cases(fuzz.world):
        args = (case.method, case.target, case.body, case.content_type)
        for headers in [{"Host": host} for host in HOSTS] + FORWARDED:
            try:
                header = fuzz.sign(*args, url=url_as_signed(fuzz.root, case.target, headers))
            except ValueError:
                header = fuzz.sign(*args)
            case.send(fuzz, header, headers)
            typed = {**headers, "Content-Type": case.content_type or None}
            fuzz.request(case.method, case.target, case.body, headers=typed)
    fuzz.finish()


def _bewit(
    fuzz: Fuzz, target: str, client_id: str, exp: str, mac: str | None, ext: str = ""
) -> str:
    """A bewit for `target` with these parts; `mac` None: the MAC root would compute."""
    if mac is None:
        probe = f"{fuzz.root}{target}?bewit={make_bewit(client_id, exp, '', ext)}"
        mac = expected_bewit_mac(probe, fuzz.token) or "x"
    return make_bewit(client_id, exp, mac, ext)


def _send_bewit(fuzz: Fuzz, method: str, target: str, bewit: str, **options: Any) -> None:
    """Send `target?bewit=…`; the MAC root would expect there, for the URL as sent or as
    the official client builds it (parameters quoted whole), is a secret."""
    url = f"{target}{'&' if '?' in target else '?'}bewit={bewit}"
    try:
        sent = mohawk.bewit.parse_bewit(bewit + "=" * (-len(bewit) % 4)).mac
    except (mohawk.exc.HawkFail, ValueError):
        sent = None
    secrets = {}
    for form, candidate in (("sent", url), ("client's", _as_client_builds(method, url))):
        expected = expected_bewit_mac(fuzz.root + candidate, fuzz.token)
        secrets[f"bewit MAC expected for the {form} URL"] = expected if expected != sent else None
    fuzz.request(method, url, secrets=secrets, **options)


def _as_client_builds(method: str, target: str) -> str:
    """`target` as the official client writes it: each URL parameter quoted whole."""
    matched = _match(method, target)
    if not matched:
        return target
    entry, params = matched
    quoted = {name: urllib.parse.quote(value, safe="") for name, value in params.items()}
    return _target(entry, quoted, target.partition("?")[2])


def test_malformed_bewits(fuzz: Fuzz):
    """Garbage bewits, valid-looking ones with wrong MACs, and odd expiries or ext."""
    target = f"{API}/task/{fuzz.world.running}/artifacts/private/fuzz.txt"
    future = str(int(_now()) + 600)
    bewits = ["", "!!!", "=", "%00", "a", "%zz", base64.urlsafe_b64encode(b"a\\b\\c").decode()]
    bewits.append(base64.urlsafe_b64encode("root\\é\\x\\".encode()).decode())
    for client_id, exp, mac, ext in [
        ("root", future, "wrong", ""),
        ("root", future, "", ""),
        ("root", "abc", None, ""),
        ("root", "1e10", None, ""),
        ("root", "-1", None, ""),
        ("root", "9" * 30, None, ""),
        ("root", " 1", None, ""),
        ("nobody", future, "x", ""),
        ("root", future, None, "!!!"),
        ("root", future, None, b64_json([])),
        ("root", future, None, b64_json(nested(1200))),
        ("root", future, "AAAA", b64_json({"authorizedScopes": "x"})),
        ("root", future, None, b64_json({"certificate": {"start": "abc"}})),
    ]:
        bewits.append(_bewit(fuzz, target, client_id, exp, mac, ext))
    for bewit in bewits:
        _send_bewit(fuzz, "GET", target, bewit)
    good = _bewit(fuzz, target, "root", future, None)
    _send_bewit(fuzz, "POST", target, good)
    _send_bewit(fuzz, "GET", target, good, headers={"Authorization": fuzz.sign("GET", target)})
    _send_bewit(fuzz, "GET", f"{API}/ping", good)
    _send_bewit(fuzz, "GET", f"{target}?bewit=x", good)
    fuzz.finish()


def test_hawk_generated(fuzz: Fuzz):
    """Generated Hawk attributes, with the right MAC, a wrong one or none, and
    sometimes a bad Host or X-Forwarded-* header."""
    cases = _auth_cases(fuzz.world)
    text = st.text(HAWK_CHARS, max_size=24)
    timestamps = st.sampled_from(["now", "", "abc", "1e10", "-1", "9" * 400])
    ext_trees = NASTY_VALUES | st.fixed_dictionaries(
        {}, optional={"certificate": NASTY_VALUES, "authorizedScopes": NASTY_VALUES}
    )
    attrs = st.fixed_dictionaries(
        {
            "id": st.sampled_from(["root"]) | text,
            "ts": timestamps | st.integers(-(2**64), 2**64).map(str),
            "nonce": text,
        },
        optional={"ext": ext_trees.map(b64_json) | text, "hash": text, "app": text, "dlg": text},
    )
    extra_headers = st.sampled_from([{}] * 3 + [{"Host": host} for host in HOSTS] + FORWARDED)

    @settings(FUZZ, max_examples=120)
    @given(index=st.integers(0, len(cases) - 1), attrs=attrs, data=st.data())
    def case(index: int, attrs: dict[str, str], data: st.DataObject) -> None:
        """One generated case."""
        request = cases[index]
        if attrs["ts"] == "now":
            attrs["ts"] = _now()
        mac = data.draw(st.sampled_from(["right", "wrong", "garbage", "absent"]))
        if mac == "right":
            attrs = request.signed(fuzz, attrs)
        elif mac == "wrong":
            attrs = request.signed(fuzz, attrs, "wrong-token")
        elif mac == "garbage":
            attrs = {**attrs, "mac": data.draw(text)}
        request.send(fuzz, _hawk(attrs), data.draw(extra_headers))

    case()
    fuzz.finish()


def test_certificates_generated(fuzz: Fuzz):
    """Generated values in each certificate field, correctly signed by its holder."""
    temp = fuzz.world.temp
    cert = json.loads(temp["certificate"])
    request = _auth_cases(fuzz.world)[0]
    args = (request.method, request.target, request.body, request.content_type)

    @settings(FUZZ, max_examples=60)
    @given(field=st.sampled_from(sorted(cert)), value=NASTY_VALUES, as_text=st.booleans())
    def case(field: str, value: Any, as_text: bool) -> None:
        """One generated case."""
        ext = _certificate_ext({**cert, field: value}, as_text)
        header = fuzz.sign(*args, ext=ext, credentials=temp)
        request.send(fuzz, header, keys={"temporary": temp["accessToken"]})

    case()
    fuzz.finish()


def test_bewits_generated(fuzz: Fuzz):
    """Generated bewit parts, with the right MAC or another."""
    target = f"{API}/task/{fuzz.world.running}/artifacts/private/fuzz.txt"
    part = st.text(HAWK_CHARS.filter(lambda c: c != "\\"), max_size=16)

    @settings(FUZZ, max_examples=60)
    @given(
        client_id=st.sampled_from(["root"]) | part,
        exp=st.integers(-(2**64), 2**64).map(str) | part,
        right=st.booleans(),
        ext=part | NASTY_VALUES.map(b64_json),
    )
    def case(client_id: str, exp: str, right: bool, ext: str) -> None:
        """One generated case."""
        mac = None if right else "AAAA"
        _send_bewit(fuzz, "GET", target, _bewit(fuzz, target, client_id, exp, mac, ext))

    case()
    fuzz.finish()


# -- 4. malformed HTTP on a raw socket ---------------------------------------------------


def _raw_cases(port: int, running: str) -> list[tuple[str, bytes, bool]]:
    """(label, bytes, hang up after sending) of malformed HTTP."""
    host = f"Host: 127.0.0.1:{port}\r\n".encode()
    close = b"Connection: close\r\n\r\n"
    ping = f"{API}/ping".encode()
    status = f"{API}/task/{running}/status".encode()
    get = b"GET " + ping + b" HTTP/1.1\r\n" + host
    put = f"PUT {API}/task/{running} HTTP/1.1\r\n".encode() + host

    def line(target: bytes) -> bytes:
        """A GET of `target`, otherwise well-formed."""
        return b"GET " + target + b" HTTP/1.1\r\n" + host + close

    chunked = put + b"Transfer-Encoding: chunked\r\n\r\n"
    return [
        ("garbage request line", b"GARBAGE\r\n\r\n", False),
        ("no version", b"GET " + ping + b"\r\n\r\n", False),
        ("HTTP/9.9", b"GET " + ping + b" HTTP/9.9\r\n" + host + b"\r\n", False),
        ("lower-case method", b"get " + ping + b" HTTP/1.1\r\n" + host + close, False),
        ("no Host", b"GET " + ping + b" HTTP/1.1\r\n" + close, False),
        ("absolute form", line(b"http://evil" + ping), False),
        ("LF in path", line(ping + b"\n/x"), False),
        ("CR in path", line(ping + b"\r/x"), False),
        ("space in path", line(ping + b" x"), False),
        ("NUL in path", line(ping + b"\x00"), False),
        ("raw UTF-8 in path", line(f"{API}/task/é/status".encode()), False),
        ("bad percent-encoding", line(f"{API}/task/%zz%/status".encode()), False),
        ("lone-surrogate bytes", line(f"{API}/task/".encode() + b"\xed\xa0\x80/status"), False),
        ("huge header", get + b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n", False),
        ("huge request line", line(ping + b"?" + b"a" * 100_000), False),
        ("many headers", get + b"".join(b"X-%d: 1\r\n" % i for i in range(5000)) + b"\r\n", False),
        ("header without colon", get + b"Nonsense\r\n\r\n", False),
        ("NUL in header", get + b"X-A: a\x00b\r\n\r\n", False),
        ("folded header", get + b"X-A: a\r\n b\r\n\r\n", False),
        (
            "latin-1 Authorization",
            b"GET "
            + status
            + b" HTTP/1.1\r\n"
            + host
            + b'Authorization: Hawk id="\xff"\r\n'
            + close,
            False,
        ),
        (
            "non-UTF-8 Host, signed",
            b"GET "
            + status
            + b" HTTP/1.1\r\nHost: 127.0.0.1:\xff\r\n"
            + b'Authorization: Hawk id="root", ts="1", nonce="n", mac="x"\r\n'
            + close,
            False,
        ),
        ("Content-Length abc", put + b"Content-Length: abc\r\n\r\n{}", False),
        ("Content-Length -1", put + b"Content-Length: -1\r\n\r\n{}", False),
        ("Content-Length huge", put + b"Content-Length: 99999999999999999999999\r\n\r\n{}", False),
        ("two Content-Lengths", put + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", False),
        (
            "Content-Length and chunked",
            put
            + b"Content-Length: 2\r\n"
            + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            False,
        ),
        ("chunk size ZZ", chunked + b"ZZ\r\n{}\r\n0\r\n\r\n", False),
        ("chunk size -1", chunked + b"-1\r\n{}\r\n0\r\n\r\n", False),
        ("chunk longer than said", chunked + b"1\r\n{}}\r\n0\r\n\r\n", False),
        ("chunk size overflow", chunked + b"F" * 40 + b"\r\n{}\r\n0\r\n\r\n", False),
        ("chunked, no end, hang up", chunked + b"2\r\n{}\r\n", True),
        (
            "closed mid-body",
            put + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + b'{"a": ',
            True,
        ),
        ("closed mid-headers", b"GET " + ping + b" HTTP/1.1\r\nHo", True),
        ("Transfer-Encoding gzip", put + b"Transfer-Encoding: gzip\r\n\r\n{}", False),
    ]


def test_raw_http(fuzz: Fuzz):
    """Malformed HTTP: answered without a 5xx (a plain 400 or a closed connection is
    fine), and the server answers ping after each."""
    for label, data, hang_up in _raw_cases(fuzz.port, fuzz.world.running):
        fuzz.raw(label, data, hang_up=hang_up)
    fuzz.finish()
