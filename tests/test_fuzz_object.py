"""Fuzzing the Object service (/api/object/v1) and its bytes' routes
(/sandbox/objects/): malformed object names (which may hold `/`), queries and
paths, methods no entry has, generated and mutated bodies for createUpload,
finishUpload and startDownload, listed odd values in single fields (hashes of
the wrong form, odd proposedUploadMethods, bad base64, huge lengths), and
signed byte URLs with bad, expired, crossed or malformed signatures. Sequences
of calls checked against the service's rules: test_fuzz_object_lifecycle.py;
the Index: test_fuzz_index.py. On the fuzz suite's sandbox; what every answer
is checked for: fuzz_world.py.
"""

from __future__ import annotations

import base64
import datetime
import json
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import pytest
import taskcluster
from fuzz_requests import dumps, jsonschema_objects
from fuzz_strategies import FUZZ, JSON_VALUES, NASTY, _iso, _schema, mutated, on_the_wire
from fuzz_world import Fuzz, _target
from helpers import new_task_id
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from test_fuzz_bodies import SPOILT_BODIES
from test_fuzz_params import SEGMENTS, UNKNOWN_QUERIES

from tc_notebook.sandbox import object_api
from tc_notebook.sandbox.object_blobs import OBJECT_PREFIX, OBJECTS_DIR

OBJECTS = object_api.TABLE.prefix
PROJECT = "fuzz"
JSON = "application/json"
# Object names as sent (percent-encoded where needed): slashes raw and encoded,
# dot segments, control and non-ASCII characters, broken escapes, long names.
OBJECT_NAMES = ["a/b", "a%2Fb", "/", "%2F", "//", "a//b", "a/", "/a", "..", "a/../b", "%2E%2E"]
OBJECT_NAMES += "%00 a%0A %0D %7F %09 %C3%A9 %ED%A0%80 %zz % %20 a%20 ~ * %2A %3F %23".split()
OBJECT_NAMES += ["a" * 1100, "a%2F" * 1000, "fuzz%2Fdone%00", "fuzz%2Fdone%2F", "fuzz/done"]
# Odd values of createUpload's nested fields, beyond the NASTY ones.
HASHES = ["A" * 64, "g" * 64, "a" * 63, "a" * 65, "ａ" * 64, "a" * 128, "0" * 127 + "\n"]
OBJECT_DATA = ["!!!", "YQ", "YQ=", "Y", "YQ==\n", "YQ==YQ==", " YQ==", "ü", "a" * 10927]
OBJECT_DATA += [base64.b64encode(b"x" * 8192).decode(), "-_-_", "YQ%3D%3D"]
LENGTHS = [-1, 0, 2**31, 2**53, 2**63, 2**64, 10**30, 1.0, 1.5, "1", True, 64 * 2**30]
METHODS = [{}, [], None, "dataInline", {"other": {}}, {"dataInline": None}, {"putUrl": {}}]
METHODS += [{"dataInline": {}}, {"dataInline": {"contentType": "x", "objectData": "YQ=="}}]
ACCEPTED = [{}, {"simple": False}, {"getUrl": 1}, {"other": True}, [], None, {"simple": "true"}]


@dataclass
class Objects:
    """Objects the cases point at: `done` finished (inline, with hashes); `open`
    an upload in progress, given a putUrl of 4 text/plain bytes; `victim` an
    upload in progress that finishUpload cases may finish."""

    done: str
    open: str
    victim: str
    victim_upload: str


def _upload_body(**fields: Any) -> dict[str, Any]:
    """A createUpload body the service accepts (a fresh uploadId; no method)."""
    body = {"projectId": PROJECT, "uploadId": new_task_id(), "expires": _iso(datetime.timedelta(1))}
    return {**body, "proposedUploadMethods": {}, **fields}


@pytest.fixture(scope="module")
def objects(fuzz_sandbox: Fuzz) -> Objects:
    """The module's objects, created with the official client as root."""
    client = taskcluster.Object(fuzz_sandbox.options)
    done = _upload_body(hashes={"sha256": "a" * 64})
    inline = {"contentType": "text/plain", "objectData": base64.b64encode(b"done").decode()}
    client.createUpload("fuzz/done", {**done, "proposedUploadMethods": {"dataInline": inline}})
    client.finishUpload("fuzz/done", {"projectId": PROJECT, "uploadId": done["uploadId"]})
    put_url = {"putUrl": {"contentType": "text/plain", "contentLength": 4}}
    client.createUpload("fuzz/open", _upload_body(proposedUploadMethods=put_url))
    victim = _upload_body()
    client.createUpload("fuzz/victim", victim)
    return Objects("fuzz/done", "fuzz/open", "fuzz/victim", victim["uploadId"])


def _quoted(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _valid_body(entry: object_api.Entry) -> bytes:
    """A body the entry accepts (empty when it takes none)."""
    bodies = {
        "v1/create-upload-request.json#": _upload_body(),
        "v1/finish-upload-request.json#": {"projectId": PROJECT, "uploadId": new_task_id()},
        "v1/download-object-request.json#": {"acceptDownloadMethods": {"simple": True}},
    }
    return json.dumps(bodies[entry.input]).encode() if entry.input else b""


def _send(fuzz: Fuzz, method: str, target: str, body: bytes = b"", signed: bool = True) -> Any:
    """One case with a JSON body (or none)."""
    return fuzz.request(method, target, body, content_type=JSON if body else None, signed=signed)


# -- URLs ----------------------------------------------------------------------------


@pytest.mark.parametrize("entry", object_api.ENTRIES, ids=lambda e: e.name)
def test_object_names(fuzz: Fuzz, objects: Objects, entry: object_api.Entry):
    """Each malformed name (or any other segment) in the entry's URL, signed and
    unsigned; and queries no entry takes."""
    body = _valid_body(entry)
    for param in entry.route_params:
        for value in OBJECT_NAMES + SEGMENTS:
            for signed in (False, True):
                _send(fuzz, entry.method, _target(entry, {param: value}), body, signed)
    params = dict.fromkeys(entry.route_params, _quoted(objects.done))
    for query in [*UNKNOWN_QUERIES, "bewit", "limit=1", "continuationToken=x", "%0A=%0D"]:
        _send(fuzz, entry.method, _target(entry, params, query), body)
    fuzz.finish()


def test_object_paths_and_methods(fuzz: Fuzz, objects: Objects):
    """Paths under the Object prefix that are no entry, and every entry's route
    with methods it does not have."""
    done = _quoted(objects.done)
    paths = ["", "/", "/..", "//ping", "/ping/", "/PING", "/upload", "/upload/", "/metadata/"]
    paths += [f"/metadata/{done}/x/..", f"/download/{done}/", "/download//", "/" + "a" * 6000]
    paths += [f"/upload/{objects.done}", f"/finish-upload/{objects.victim}", "/%ED%A0%80"]
    for path in paths:
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            fuzz.request(method, OBJECTS + path)
    for entry in object_api.ENTRIES:
        target = _target(entry, dict.fromkeys(entry.route_params, done))
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "TRACE", "OPTIONS"):
            if method != entry.method:
                _send(fuzz, method, target, _valid_body(entry))
    fuzz.finish()


# -- bodies ----------------------------------------------------------------------------


@st.composite
def upload_bodies(draw: Any) -> Any:
    """createUpload bodies from the sandbox's schema, often made acceptable, then mutated."""
    body = draw(from_schema(_schema("create-upload-request", "object")))
    if draw(st.booleans()):
        body.update(projectId=PROJECT, uploadId=new_task_id(), expires=_iso(datetime.timedelta(1)))
    return draw(mutated(body))


def _bodies_cases(fuzz: Fuzz, cases: list[tuple[str, list[str], st.SearchStrategy]]) -> None:
    """Generated cases: (method, route, drawn body on the wire) for each of `cases`
    (method, routes below the Object prefix, body trees), signed or not."""

    @settings(FUZZ, max_examples=250)
    @given(index=st.integers(0, len(cases) - 1), data=st.data(), signed=st.booleans())
    def case(index: int, data: st.DataObject, signed: bool) -> None:
        """One generated case."""
        method, routes, trees = cases[index]
        route = data.draw(st.sampled_from(routes))
        body, content_type = data.draw(on_the_wire(data.draw(trees)))
        fuzz.request(method, OBJECTS + route, body, content_type=content_type, signed=signed)

    with jsonschema_objects():
        case()
    fuzz.finish()


def test_object_bodies(fuzz: Fuzz, objects: Objects):
    """Generated, mutated createUpload, finishUpload and startDownload bodies, on
    new, finished and unfinished objects, put on the wire spoilt or not."""
    fresh = [f"fuzz%2Fgen%2F{letter}" for letter in "abc"]
    names = [_quoted(name) for name in (objects.done, objects.victim)] + fresh
    finish = from_schema(_schema("finish-upload-request", "object")).map(
        lambda body: {**body, "projectId": PROJECT, "uploadId": objects.victim_upload}
    ) | from_schema(_schema("finish-upload-request", "object"))
    download = from_schema(_schema("download-object-request", "object")) | JSON_VALUES
    _bodies_cases(
        fuzz,
        [
            ("PUT", [f"/upload/{name}" for name in names], upload_bodies()),
            ("POST", [f"/finish-upload/{name}" for name in names], finish.flatmap(mutated)),
            ("PUT", [f"/start-download/{name}" for name in names], download.flatmap(mutated)),
        ],
    )


def _field_cases(objects: Objects) -> list[tuple[str, str | tuple[str, ...], Any]]:
    """(route, field path, value): each odd value in one field of a valid body."""
    inline = ("proposedUploadMethods", "dataInline")
    put_url = ("proposedUploadMethods", "putUrl")
    upload = [("projectId", v) for v in NASTY] + [("uploadId", v) for v in NASTY]
    upload += [("expires", v) for v in NASTY] + [("hashes", v) for v in NASTY[:12]]
    upload += [(("hashes", algorithm), v) for algorithm in ("sha256", "sha512", "md5")
               for v in HASHES + NASTY[:12]]
    upload += [("proposedUploadMethods", v) for v in METHODS]
    upload += [((*inline, "objectData"), v) for v in OBJECT_DATA + NASTY[:12]]
    upload += [((*inline, "contentType"), v) for v in NASTY[:12]]
    upload += [((*put_url, "contentLength"), v) for v in LENGTHS]
    upload += [((*put_url, "contentType"), v) for v in NASTY[:12]]
    finish = [(key, v) for key in ("projectId", "uploadId") for v in NASTY]
    finish += [(("hashes", "sha256"), v) for v in HASHES + NASTY[:12]]
    download = [(("acceptDownloadMethods",), v) for v in ACCEPTED + NASTY[:12]]
    return (
        [("/upload/fuzz%2Ffield%2F{n}", path, v) for path, v in upload]
        + [(f"/finish-upload/{_quoted(objects.victim)}", path, v) for path, v in finish]
        + [(f"/start-download/{_quoted(objects.done)}", path, v) for path, v in download]
    )


def _with(body: dict[str, Any], path: str | tuple[str, ...], value: Any) -> dict[str, Any]:
    """`body` with the value at `path` (made where missing) set to `value`."""
    path = (path,) if isinstance(path, str) else path
    node = body
    for step in path[:-1]:
        node = node.setdefault(step, {})
    node[path[-1]] = value
    return body


def test_object_fields(fuzz: Fuzz, objects: Objects):
    """Each odd value in one field of an otherwise valid body (a fresh name and
    uploadId for each createUpload; dataInline or putUrl proposed), signed by root."""
    inline = {"contentType": "text/plain", "objectData": "ZnV6eg=="}
    methods = {"dataInline": inline, "putUrl": {"contentType": "text/plain", "contentLength": 4}}
    for number, (route, path, value) in enumerate(_field_cases(objects)):
        method = "PUT" if route.startswith(("/upload", "/start")) else "POST"
        if route.startswith("/upload"):
            chosen = "putUrl" if "putUrl" in path else "dataInline"
            body = _upload_body(proposedUploadMethods={chosen: dict(methods[chosen])})
        elif method == "POST":
            body = {"projectId": PROJECT, "uploadId": objects.victim_upload}
        else:
            body = {"acceptDownloadMethods": {"simple": True}}
        tree = _with(body, path, value)
        _send(fuzz, method, OBJECTS + route.replace("{n}", str(number)), dumps(tree).encode())
    fuzz.finish()


def test_spoilt_object_bodies(fuzz: Fuzz, objects: Objects):
    """Every listed malformed body to each Object entry that takes one: as JSON
    and untyped (signed by root), and as text/plain (unsigned)."""
    routes = [("PUT", "/upload/fuzz%2Fspoilt"), ("PUT", f"/start-download/{_quoted(objects.done)}")]
    routes.append(("POST", f"/finish-upload/{_quoted(objects.victim)}"))
    for body in SPOILT_BODIES:
        for method, route in routes:
            for content_type in (JSON, "text/plain", None):
                signed = content_type != "text/plain"
                target = OBJECTS + route
                fuzz.request(method, target, body, content_type=content_type, signed=signed)
    fuzz.finish()


# -- the object bytes' signed URLs --------------------------------------------------------


def _signature(fuzz: Fuzz, method: str, name: str, expires: int) -> str:
    """The signature the server expects for `method` on the bytes of `name`."""
    blobs = fuzz.service.objects.files.blobs
    return fuzz.call(blobs.signature, method, *OBJECTS_DIR, name, expires)


def _bytes_target(name: str, query: str) -> str:
    return OBJECT_PREFIX + _quoted(name) + (f"?{query}" if query else "")


def _bad_queries(good: str, future: int) -> list[str]:
    """Queries that must not open an object's bytes, `good` being the signature
    expected until `future`."""
    wrong = ["%C2%B2", "9" * 5000, str(2**63), "-1", "1e10", "%0A1", "1%0A", "00", "%zz", "%201"]
    queries = ["", "expires=&signature=", f"expires={future}", f"signature={good}"]
    queries += [f"expires={e}&signature={good}" for e in wrong]
    queries += [f"expires={future}&signature={bad}" for bad in (good[:-1], good.upper(), "%zz")]
    return queries + [f"expires={future + 1}&signature={good}", f"expires={future}%00&signature=x"]


def test_object_bytes_routes(fuzz: Fuzz, objects: Objects):
    """/sandbox/objects/<name> with malformed names, no or malformed `expires`,
    wrong, expired or other-method signatures, and PUTs of the wrong type or
    length; a well signed PUT and GET still work."""
    future, past = int(time.time()) + 600, int(time.time()) - 10
    names = [objects.done, objects.open, objects.victim, "fuzz/none"]
    for raw in OBJECT_NAMES + SEGMENTS:
        for method in ("GET", "PUT", "DELETE", "POST"):
            fuzz.request(method, OBJECT_PREFIX + raw + f"?expires={future}&signature=00")
    for name in names:
        for method, body in (("GET", b""), ("PUT", b"fuzz")):
            good = _signature(fuzz, method, name, future)
            queries = _bad_queries(good, future)
            for query in queries:
                _bytes_case(fuzz, method, name, query, body, good)
            other = "PUT" if method == "GET" else "GET"
            crossed = f"expires={future}&signature={_signature(fuzz, other, name, future)}"
            expired = f"expires={past}&signature={_signature(fuzz, method, name, past)}"
            doubled = f"expires={past}&expires={future}&signature=00&signature={good}"
            for query in (crossed, expired, doubled):
                answer = _bytes_case(fuzz, method, name, query, body, good)
                assert answer.status == 403, (method, name, query, answer.excerpt())
    _well_signed(fuzz, objects, future)
    fuzz.finish()


def _bytes_case(fuzz: Fuzz, method: str, name: str, query: str, body: bytes, good: str) -> Any:
    """A request for `name`'s bytes with `query`; the answer must not show the
    right signature `good`, unless the query sent it."""
    secrets = {"object signature": good} if good not in query else None
    return fuzz.request(
        method, _bytes_target(name, query), body, content_type="text/plain", secrets=secrets
    )


def _signed_target(fuzz: Fuzz, method: str, name: str, expires: int) -> str:
    """The URL of `name`'s bytes, signed for `method` until `expires`."""
    signature = _signature(fuzz, method, name, expires)
    return _bytes_target(name, f"expires={expires}&signature={signature}")


def _well_signed(fuzz: Fuzz, objects: Objects, expires: int) -> None:
    """Well signed PUTs to the unfinished object: of the wrong type or length
    (refused), then right (accepted), and its bytes not served before
    finishUpload; the finished object's bytes served, and never replaced."""
    target = _signed_target(fuzz, "PUT", objects.open, expires)
    for body, content_type in [(b"fuzz", None), (b"fuzz", "text/html"), (b"fuz", "text/plain"),
                               (b"fuzzz", "text/plain"), (b"", "text/plain"),
                               (b"x" * 100_000, "text/plain")]:
        answer = fuzz.request("PUT", target, body, content_type=content_type)
        assert answer.status is not None and 400 <= answer.status < 500, answer.excerpt()
    assert fuzz.request("PUT", target, b"fuzz", content_type="text/plain").status == 200
    assert fuzz.request("GET", _signed_target(fuzz, "GET", objects.open, expires)).status == 404
    done = fuzz.request("GET", _signed_target(fuzz, "GET", objects.done, expires))
    assert (done.status, done.body) == (200, b"done")
    target = _signed_target(fuzz, "PUT", objects.done, expires)
    assert fuzz.request("PUT", target, b"fuzz", content_type="text/plain").status == 404
