"""The differential harness: one scenario, run against two Taskcluster queues
(the sandbox and the rig), every call recorded, then the records compared.

A scenario is a function `scenario(target, rec, ids)`. It makes its calls
through `rec(step, client.method, *args)` (the official client) or
`rec.http(step, entry, url)` (plain `requests`, for signed URLs, uploads
and downloads); each call becomes an `Answer` (status, error code, body,
a few headers), whether it succeeded or not. `ids` hands out the names both
runs share (taskIds, task queues, worker ids, task definitions), so the two
records differ only in what must differ: timestamps, URLs, credentials.

`Pair.run(scenario)` runs it on both targets, normalises and compares the
answers (compare.py), and fails naming every call whose answers differ in a
way `accepted.py` does not list, with both answers side by side. The official
client does not show statuses or headers, so `install_capture` has it keep the
last HTTP response it received (a wrapper around
`taskcluster.utils.makeSingleHttpRequest`).
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import slugid
import taskcluster
import taskcluster.utils
from helpers import wait_until

from .accepted import ACCEPTED
from .compare import TALLY, compare, dump, find_accepted

# -- capturing the HTTP response behind each client call ----------------------

_last = threading.local()
_original_request = taskcluster.utils.makeSingleHttpRequest


def _recording_request(*args: Any, **kwargs: Any) -> requests.Response:
    response = _original_request(*args, **kwargs)
    _last.response = response
    return response


def install_capture() -> None:
    """Make the official client keep (per thread) the last HTTP response it got."""
    taskcluster.utils.makeSingleHttpRequest = _recording_request


def remove_capture() -> None:
    """Undo `install_capture`."""
    taskcluster.utils.makeSingleHttpRequest = _original_request


# -- answers -------------------------------------------------------------------

HEADERS = ("location", "x-taskcluster-artifact-storage-type", "www-authenticate", "content-type")


class ScenarioBroken(Exception):
    """A call the rest of the scenario depends on did not answer as expected."""


@dataclass
class Answer:
    """One recorded call: which API entry, and what came back."""

    label: str
    entry: str
    status: int
    body: Any
    headers: dict[str, str]

    @classmethod
    def of(cls, label: str, entry: str, response: requests.Response) -> Answer:
        """Record a `requests` response (JSON bodies parsed, others hashed)."""
        headers = {k: response.headers[k] for k in HEADERS if k in response.headers}
        if "content-type" in headers:
            headers["content-type"] = headers["content-type"].split(";")[0].strip().lower()
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = {"sha256": hashlib.sha256(response.content).hexdigest(),
                        "length": len(response.content)}
        return cls(label, entry, response.status_code, body, headers)

    @property
    def code(self) -> str | None:
        """The error `code` of the body, if any."""
        return self.body.get("code") if isinstance(self.body, dict) else None

    def expect(self, status: int = 200) -> Any:
        """The body, once the status is `status`; otherwise the scenario cannot go on."""
        if self.status != status:
            raise ScenarioBroken(f"{self.label}: expected {status}, got {self.summary()}")
        return self.body

    def summary(self) -> str:
        """`status code keys=[...]`, for failure messages."""
        if isinstance(self.body, dict):
            return f"{self.status} {self.code or '-'} keys={sorted(self.body)}"
        return f"{self.status} {self.code or '-'} body={type(self.body).__name__}"


# -- targets -------------------------------------------------------------------


@dataclass
class Target:
    """A queue to run scenarios against, and a way to make clients on it."""

    name: str
    root_url: str
    credentials: dict[str, str]
    add_client: Callable[[str, list[str]], str]
    """(clientId, scopes) -> accessToken of a new client with exactly those scopes."""
    clients: dict[str, dict[str, str]] = field(default_factory=dict)

    def queue(self, credentials: dict[str, str] | None = None, **options: Any) -> taskcluster.Queue:
        """A Queue client (no retries); root credentials unless others are given."""
        creds = copy.deepcopy(credentials or self.credentials)
        return taskcluster.Queue({"rootUrl": self.root_url, "credentials": creds,
                                  "maxRetries": 0, **options})

    def anonymous(self) -> taskcluster.Queue:
        """A Queue client without credentials."""
        return taskcluster.Queue({"rootUrl": self.root_url, "maxRetries": 0})

    def client(self, ids: Ids, name: str, scopes: list[str]) -> dict[str, str]:
        """Credentials of a client holding `scopes` (as auth.createClient makes),
        made once per scenario and name."""
        client_id = f"tc-notebook-diff/{ids.tag}/{name}"
        if client_id not in self.clients:
            token = self.add_client(client_id, scopes)
            self.clients[client_id] = {"clientId": client_id, "accessToken": token}
        return dict(self.clients[client_id])

    def api_url(self, path: str) -> str:
        """`<rootUrl>/api/queue/v1<path>`."""
        return f"{self.root_url}/api/queue/v1{path}"


class Recorder:
    """The answers of one scenario run on one target, in call order."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.answers: dict[str, Answer] = {}
        self.broken: str | None = None
        self.state: dict[str, Any] = {}  # what a later part of the scenario needs
        self.aliases: dict[str, str] = {}  # values of this target only -> placeholder

    def alias(self, value: str, placeholder: str) -> str:
        """Compare `value` (e.g. an uploadId the service chose) as `placeholder`,
        wherever it appears in a string of this run's answers; returns `value`."""
        self.aliases[value] = placeholder
        return value

    def masked(self, answer: Answer) -> Answer:
        """`answer` with every aliased value replaced by its placeholder."""
        def mask(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: mask(v) for k, v in value.items()}
            if isinstance(value, list):
                return [mask(v) for v in value]
            if isinstance(value, str):
                for original, placeholder in self.aliases.items():
                    value = value.replace(original, placeholder)
            return value
        return Answer(answer.label, answer.entry, answer.status, mask(answer.body),
                      mask(answer.headers))

    def _keep(self, answer: Answer) -> Answer:
        if answer.label in self.answers:
            raise AssertionError(f"scenario records {answer.label!r} twice")
        self.answers[answer.label] = answer
        return answer

    def __call__(self, step: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Answer:
        """Call an official client method; record its HTTP answer, error or not."""
        entry = method.__name__
        _last.response = None
        try:
            method(*args, **kwargs)
        except (taskcluster.TaskclusterRestFailure, taskcluster.TaskclusterAuthFailure):
            pass
        response = _last.response
        if response is None:
            raise AssertionError(f"{entry} ({step}) sent no request")
        return self._keep(Answer.of(f"{entry}: {step}", entry, response))

    def outcome(self, step: str, entry: str, action: Callable[[], Any]) -> Answer:
        """Record what a helper of the official client making several requests
        (`taskcluster.upload`, `taskcluster.download`) came to: 200 (with the
        bytes' hash and type, for a download), or the status of the error it raised."""
        try:
            result = action()
        except Exception as exc:  # the error itself is the outcome
            status = getattr(exc, "status_code", None) or 599
            return self._keep(Answer(f"{entry}: {step}", entry, status,
                                     {"error": type(exc).__name__}, {}))
        body: dict[str, Any] | None = None
        if isinstance(result, tuple):  # the ...ToBuf downloads: (bytes, contentType)
            data = bytes(result[0])
            body = {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data),
                    "contentType": result[1]}
        return self._keep(Answer(f"{entry}: {step}", entry, 200, body, {}))

    def http(self, step: str, entry: str, url: str, method: str = "GET", **kwargs: Any) -> Answer:
        """A plain HTTP request that does not follow redirects (signed URLs, downloads)."""
        kwargs.setdefault("timeout", 30)
        response = requests.request(method, url, allow_redirects=False, **kwargs)
        return self._keep(Answer.of(f"{entry}: {step}", entry, response))


# -- names shared by both runs -------------------------------------------------


class Ids:
    """taskIds, task queues, worker names and task definitions for one
    scenario, the same on both targets (fresh for every scenario, so runs
    never meet earlier state on the rig)."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:10]
        self._tasks: dict[str, str] = {}
        self.now = datetime.datetime.now(datetime.timezone.utc)

    def task(self, name: str) -> str:
        """The taskId called `name` in this scenario."""
        return self._tasks.setdefault(name, slugid.nice())

    def queue(self, name: str) -> str:
        """A taskQueueId of this scenario (`tcnb-diff/<name>-<tag>`)."""
        return f"tcnb-diff/{name}-{self.tag}"

    def worker(self, name: str) -> dict[str, str]:
        """`{workerGroup, workerId}` of a worker of this scenario."""
        return {"workerGroup": f"diff-{self.tag}", "workerId": name}

    def definition(self, task_queue_id: str, **fields: Any) -> dict[str, Any]:
        """A task definition (created now, deadline in an hour, expires in a day);
        `fields` add to or replace its keys."""
        definition: dict[str, Any] = {
            "taskQueueId": task_queue_id,
            "schedulerId": "tcnb-diff",
            "created": taskcluster.stringDate(self.now),
            "deadline": taskcluster.stringDate(self.now + datetime.timedelta(hours=1)),
            "expires": taskcluster.stringDate(self.now + datetime.timedelta(days=1)),
            "payload": {},
            "metadata": {
                "name": "differential test",
                "description": "tc-notebook: the sandbox compared with Taskcluster",
                "owner": "tests@example.com",
                "source": "https://example.com/tc-notebook/tests/differential",
            },
        }
        definition.update(fields)
        return definition

    def later(self, **delta: float) -> str:
        """An ISO date `delta` after the scenario's start."""
        return taskcluster.stringDate(self.now + datetime.timedelta(**delta))


def poll(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """helpers.wait_until for a scenario (every 0.25 s, sparing the rig): a wait
    that times out is ScenarioBroken, which stops the scenario on that target only."""
    try:
        return wait_until(check, timeout, what, interval=0.25)
    except pytest.fail.Exception as timed_out:
        raise ScenarioBroken(str(timed_out)) from None


def wait_for_state(queue: taskcluster.Queue, task_id: str, states: tuple[str, ...],
                   timeout: float = 30.0) -> None:
    """Poll `status` (unrecorded) until the task is in one of `states`."""
    poll(lambda: queue.status(task_id)["status"]["state"] in states,
         f"task {task_id} to become {'/'.join(states)}", timeout)


Scenario = Callable[[Target, Recorder, Ids], None]


def each_scenario(*scenarios: Scenario) -> pytest.MarkDecorator:
    """Run a test (with a `scenario` argument) once per scenario, named after it."""
    return pytest.mark.parametrize("scenario", scenarios, ids=[s.__name__ for s in scenarios])


@dataclass
class Pair:
    """The two targets a scenario runs against."""

    sandbox: Target
    rig: Target

    def start(self, scenario: Scenario) -> Comparison:
        """Run `scenario` on both targets; compare later (see Comparison)."""
        return Comparison(Ids(), [Recorder(self.sandbox), Recorder(self.rig)]).then(scenario)

    def run(self, scenario: Scenario) -> None:
        """Run `scenario` on both targets and fail on any difference that
        accepted.py does not list."""
        self.start(scenario).check()


@dataclass
class Comparison:
    """A scenario run on both targets, possibly in several parts (a later part
    finds what an earlier one kept in `rec.state`), then compared."""

    ids: Ids
    recorders: list[Recorder]

    def then(self, scenario: Scenario) -> Comparison:
        """Run one more part on each target whose run has not stopped."""
        for rec in self.recorders:
            if rec.broken:
                continue
            try:
                scenario(rec.target, rec, self.ids)
            except ScenarioBroken as exc:
                rec.broken = str(exc)
            except Exception as exc:  # an answer the scenario could not use
                rec.broken = f"{type(exc).__name__}: {exc}"
        return self

    def check(self) -> None:
        """Compare the two records call by call; fail naming every call whose
        answers differ beyond accepted.py, with both answers."""
        left, right = self.recorders
        problems: list[str] = []
        for label in dict.fromkeys([*left.answers, *right.answers]):
            a, b = left.answers.get(label), right.answers.get(label)
            a, b = (a and left.masked(a)), (b and right.masked(b))
            if a is None or b is None:
                present = a or b
                side = "sandbox" if a else "rig"
                problems.append(f"{label}: only the {side} answered ({present.summary()})")
                continue
            TALLY.calls[a.entry] += 1
            dump(a, b, left.target.root_url, right.target.root_url)
            unexplained = []
            for difference in compare(a, b, left.target.root_url, right.target.root_url):
                accepted = find_accepted(difference)
                if accepted is None:
                    unexplained.append(difference)
                else:
                    TALLY.used.add(ACCEPTED.index(accepted))
            if unexplained:
                problems.append(
                    f"{label}\n    sandbox: {a.summary()}\n    rig:     {b.summary()}\n"
                    + "\n".join(f"    - {d}" for d in unexplained)
                )
        for rec in (left, right):
            if rec.broken:
                problems.append(f"the scenario stopped on the {rec.target.name}: {rec.broken}")
        if problems:
            raise AssertionError(
                f"{len(problems)} call(s) answered differently by the sandbox and the rig "
                "(see tests/differential/accepted.py for the differences that are accepted):\n"
                + "\n".join(problems)
            )
