"""The fuzz suite's sandbox, the tasks its cases point at, and `Fuzz`, which
sends the cases and checks every answer. The suite is tests/test_fuzz_*.py; what
it sends is in fuzz_strategies.py; JSON text and raw HTTP in fuzz_requests.py; the
secrets and the ledger in fuzz_checks.py; its fixtures (`fuzz_sandbox`, `fuzz`) in
conftest.py.

The suite fuzzes a live sandbox over loopback HTTP: generated and mutated task
and artifact bodies, malformed URL parameters and queries on every entry of
`api.ENTRIES` (and of the Index and Object services: test_fuzz_index.py,
test_fuzz_object*.py) and on the sandbox's own routes, malformed Hawk
credentials and bewits, and malformed HTTP on a raw socket.

Every answer is checked: no 5xx; an answer at all, unless HTTP itself was
malformed; Taskcluster's `{code, message}` JSON for every 4xx under a service's
prefix (/api/queue/v1/, /api/index/v1/, /api/object/v1/) and on the object bytes'
routes (/sandbox/objects/); and neither the root accessToken nor the MAC the server
expected (computed here with mohawk) in any body or header. Failures are
collected rather than raised, so that every case runs (shrinking would only
resend) and each test reports each distinct failure once, with its first
request, its answer and the exception the server logged. After each batch
`ping` must still answer 200; the terminal summary ends with a line counting
the requests by status.

One sandbox, one set of tasks and one ledger serve all the suite's modules (the
`fuzz_sandbox` fixture is session-scoped): the summary line counts the requests
of every module, and test_read_back (test_fuzz_params.py) reads back what the
cases before it created, test_fuzz_bodies.py's included (pytest runs the
modules in the order of their names).

Hypothesis runs derandomized, without a database or deadline: each run sends
the same cases.
"""

from __future__ import annotations

import datetime
import json
import re
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import mohawk
import pytest
import taskcluster
from fuzz_checks import Incidents, Ledger, error_format_problem, leaks
from fuzz_requests import API, Answer, b64_json, exchange, send
from helpers import claim_one, make_queue, make_task, new_task_id, s3_artifact

from tc_notebook.sandbox import api, index_api, object_api
from tc_notebook.sandbox.object_blobs import OBJECT_PREFIX

RUN_QUEUE = "fuzz-prov/running"  # the claimed task whose artifacts are read
SCRATCH_QUEUE = "fuzz-prov/scratch"  # the claimed task fuzzed createArtifact calls write to
VICTIM_QUEUE = "fuzz-prov/victim"  # the claimed task fuzzed report/claim calls may resolve
PENDING_QUEUE = "fuzz-prov/pending"  # a task left pending: the long poll answers at once
EMPTY_QUEUE = "fuzz-prov/empty"  # never holds a task: claimWork answers at once
GEN_QUEUE = "fuzz-prov/generated"  # generated tasks that happen to be valid
URL_LIMIT = 8000  # aiohttp refuses longer request targets and headers itself (8190)
TABLES = (api.TABLE, index_api.TABLE, object_api.TABLE)  # the services a case may be for
# Where a 4xx must be Taskcluster's `{code, message}` JSON: the services, and the
# object bytes' routes (which answer as the API does).
JSON_ERRORS = (*(table.prefix for table in TABLES), OBJECT_PREFIX)


# -- the sandbox and the recorder -----------------------------------------------


@dataclass
class World:
    """Tasks the cases point at."""

    running: str  # claimed; run 0 has public/private s3, reference, link and error artifacts
    scratch: str  # claimed; fuzzed createArtifact calls write to run 0
    victim: str  # claimed; state-changing calls are aimed at it
    temp: dict[str, str]  # temporary credentials issued by root


def _match(method: str, target: str) -> tuple[api.Entry, dict[str, str]] | None:
    """The entry a request is for (in any service's table) and its (unquoted) URL
    parameters, as the table says."""
    path = target.split("?", 1)[0]
    for table in TABLES:
        if not path.startswith(table.prefix):
            continue
        for entry in table.entries:
            found = entry.pattern.match(path[len(table.prefix) :])
            if entry.method == method and found:
                pairs = zip(entry.route_params, found.groups(), strict=True)
                return entry, {k: urllib.parse.unquote(v) for k, v in pairs if v is not None}
    return None


def _target(entry: api.Entry, params: dict[str, str], query: str = "") -> str:
    """The entry's URL (below the root URL, under its service's prefix) with these
    parameters and query (an optional parameter left out when not given)."""
    path = re.sub(r"\{(/<(\w+)>)\}", lambda m: m[1] if m[2] in params else "", entry.route)
    for name in entry.route_params:
        if name in params:
            path = path.replace(f"<{name}>", params[name])
    prefix = next(t.prefix for t in TABLES if any(e is entry for e in t.entries))
    return prefix + path + (f"?{query}" if query else "")


def _where(method: str, target: str) -> str:
    """The entry (or sandbox route) a request is for, to group failures by."""
    matched = _match(method, target)
    if matched:
        return matched[0].name
    prefix = next((t.prefix for t in TABLES if target.startswith(t.prefix)), None)
    if prefix:
        return f"{method} {prefix}/… (no entry)"
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
    """Sends cases to the suite's sandbox and checks every answer."""

    def __init__(self, sandbox: Any, world: World, ledger: Ledger, incidents: Incidents) -> None:
        self.port = sandbox.server.port
        self.root = sandbox.root_url
        self.token = sandbox.credentials["accessToken"]
        self.options = sandbox.client_options()  # an official client's, as root
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
        elif not http_level and target.startswith(JSON_ERRORS) and 400 <= (answer.status or 0):
            problems.append(error_format_problem(answer))
        everything = {"root accessToken": self.token, **(secrets or {})}
        problems += [f"leaks the {name}" for name in leaks(answer, everything)]
        server = f"{logged[0][0]}: {logged[0][1]}" if logged else ""
        for problem in filter(None, problems):
            self._fail(problem, where, request, answer, server)

    def _fail(self, problem: str, where: str, request: str, answer: Answer, server: str) -> None:
        """Record a failure in the suite's ledger and in this batch's."""
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


def fuzz_session(
    tmp_path_factory: pytest.TempPathFactory,
    config: pytest.Config,
) -> Iterator[Fuzz]:
    """A sandbox of its own (no worker, claimWork answers at once), its tasks, the ledger
    (whose summary line ends the terminal report); the sandbox stops afterwards."""
    from tc_notebook.sandbox import QueueSettings, Sandbox

    sandbox = Sandbox(
        tmp_path_factory.mktemp("fuzz-sandbox"),
        host="127.0.0.1",
        settings=QueueSettings(claim_work_wait=0),
        capacity=0,
    )
    sandbox.start()
    ledger = Ledger()
    config.pluginmanager.register(_Summary(ledger), "tc-notebook-fuzz-summary")
    try:
        world = _build_world(sandbox)
        yield Fuzz(sandbox, world, ledger, Incidents())
    finally:
        sandbox.stop()


@contextmanager
def fuzz_batch(fuzz: Fuzz) -> Iterator[Fuzz]:
    """`fuzz` for one test: a new batch, and the server's logged exceptions taken."""
    fuzz.batch = Ledger()
    with fuzz.incidents.installed():
        yield fuzz
