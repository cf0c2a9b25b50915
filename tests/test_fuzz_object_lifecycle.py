"""Fuzzing the Object service's rules: generated sequences of createUpload,
byte PUTs, finishUpload and downloads on a few names, with uploadIds,
projectIds, expiries and hashes drawn from small pools so that calls agree and
disagree often. Each answer is checked against a model of Taskcluster's rules
(see object_service.py): which calls succeed, which conflict, the hashes and
bytes a finished object serves. On the fuzz suite's sandbox; what every
answer is checked for besides: fuzz_world.py.
"""

from __future__ import annotations

import base64
import datetime
import json
from dataclasses import dataclass, field
from typing import Any

from fuzz_strategies import FUZZ, _iso
from fuzz_world import Fuzz
from helpers import new_task_id
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fuzz_object import OBJECTS, _quoted, _send

PROJECTS = ["fuzz", "other"]
HASH_POOL = [{}, {"sha256": "a" * 64}, {"sha256": "b" * 64}, {"sha512": "c" * 128}]
STEPS = ["create", "put", "put", "finish", "finish", "read", "read"]


@dataclass
class Kept:
    """What the model knows of one object."""

    project: str
    upload: str
    expires: str
    hashes: dict[str, str] = field(default_factory=dict)
    finished: bool = False
    length: int | None = None  # what a PUT of its bytes must send, once told
    data: bytes | None = None  # its bytes, once sent
    put_url: str | None = None  # below the root URL


def _conflicts(known: dict[str, str], hashes: dict[str, str]) -> bool:
    return any(known.get(algorithm, value) != value for algorithm, value in hashes.items())


class Life:
    """One generated sequence: the model, the calls made, and their checks."""

    def __init__(self, fuzz: Fuzz, data: st.DataObject) -> None:
        self.fuzz, self.data = fuzz, data
        self.names = [f"fuzz/life/{new_task_id()}/{i}" for i in range(2)]
        self.uploads = [new_task_id() for _ in range(3)]
        self.expiries = [_iso(datetime.timedelta(days=d)) for d in (1, 2)]
        self.model: dict[str, Kept] = {}
        self.log: list[str] = []

    def draw(self, values: list[Any]) -> Any:
        return self.data.draw(st.sampled_from(values))

    def likely(self, value: Any, values: list[Any]) -> Any:
        """`value` (when there is one) three times in four, else one of `values`."""
        if value is not None and self.data.draw(st.integers(0, 3)):
            return value
        return self.draw(values)

    def check(self, answer: Any, ok: bool) -> None:
        """The call succeeded (2xx/3xx) when the model says it should, else a 4xx."""
        self.log.append(f"-> {answer.status}")
        succeeded = answer.status is not None and answer.status < 400
        assert succeeded == ok, "\n".join([*self.log, answer.excerpt()])

    def create(self, name: str) -> None:
        kept = self.model.get(name)
        project = self.likely(kept and kept.project, PROJECTS)
        upload = self.likely(kept and kept.upload, self.uploads)
        expires, hashes = self.likely(kept and kept.expires, self.expiries), self.draw(HASH_POOL)
        method = self.draw([None, "dataInline", "putUrl"])
        payload = self.data.draw(st.binary(max_size=12))
        proposed = {}
        if method == "dataInline":
            proposed = {method: {"contentType": "text/plain", "objectData": _b64(payload)}}
        elif method == "putUrl":
            proposed = {method: {"contentType": "text/plain", "contentLength": len(payload)}}
        body = {"projectId": project, "uploadId": upload, "expires": expires, "hashes": hashes}
        self.log.append(f"createUpload {name} {body} {method} {len(payload)}")
        answer = _send(self.fuzz, "PUT", f"{OBJECTS}/upload/{_quoted(name)}",
                       json.dumps({**body, "proposedUploadMethods": proposed}).encode())
        if kept is None:
            taken = any(k.upload == upload and not k.finished for k in self.model.values())
            ok = not taken
        else:
            ok = not kept.finished and (kept.project, kept.upload, kept.expires) == (
                project, upload, expires)
            ok = ok and not _conflicts(kept.hashes, hashes)
        self.check(answer, ok)
        if not ok:
            return
        kept = self.model.setdefault(name, Kept(project, upload, expires))
        kept.hashes.update(hashes)
        if method == "dataInline":
            kept.data, kept.length = payload, len(payload)
        elif method == "putUrl":
            kept.length = len(payload)
            url = json.loads(answer.body)["uploadMethod"]["putUrl"]["url"]
            kept.put_url = url[len(self.fuzz.root):]

    def put(self, name: str) -> None:
        kept = self.model.get(name)
        if kept is None or kept.put_url is None:
            return
        size = self.likely(kept.length, list(range(13)))
        payload = self.data.draw(st.binary(min_size=size, max_size=size))
        self.log.append(f"PUT bytes of {name}: {len(payload)}")
        answer = self.fuzz.request("PUT", kept.put_url, payload, content_type="text/plain")
        ok = not kept.finished and kept.length == len(payload)
        self.check(answer, ok)
        if ok:
            kept.data = payload

    def finish(self, name: str) -> None:
        kept = self.model.get(name)
        project = self.likely(kept and kept.project, PROJECTS)
        upload = self.likely(kept and kept.upload, self.uploads)
        body = {"projectId": project, "uploadId": upload, "hashes": self.draw(HASH_POOL)}
        self.log.append(f"finishUpload {name} {body}")
        answer = _send(self.fuzz, "POST", f"{OBJECTS}/finish-upload/{_quoted(name)}",
                       json.dumps(body).encode())
        hashes = body["hashes"]
        if kept is None or kept.project != project:
            ok = False
        elif kept.finished:
            ok = all(kept.hashes.get(algorithm) == value for algorithm, value in hashes.items())
        else:
            ok = kept.upload == upload and not _conflicts(kept.hashes, hashes)
        self.check(answer, ok)
        if ok and kept is not None and not kept.finished:
            kept.finished = True
            kept.hashes.update(hashes)

    def read(self, name: str) -> None:
        """metadata, then startDownload and its URL's bytes."""
        kept = self.model.get(name)
        finished = kept is not None and kept.finished
        self.log.append(f"read {name}")
        answer = _send(self.fuzz, "GET", f"{OBJECTS}/metadata/{_quoted(name)}")
        self.check(answer, finished)
        if finished:
            assert json.loads(answer.body)["hashes"] == kept.hashes, "\n".join(self.log)
        accepted = {self.draw(["simple", "getUrl"]): True}
        body = json.dumps({"acceptDownloadMethods": accepted}).encode()
        answer = _send(self.fuzz, "PUT", f"{OBJECTS}/start-download/{_quoted(name)}", body)
        self.check(answer, finished)
        if finished:
            url = json.loads(answer.body)["url"][len(self.fuzz.root):]
            got = self.fuzz.request("GET", url)
            self.check(got, kept.data is not None)
            assert kept.data is None or got.body == kept.data, "\n".join(self.log)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_object_lifecycles(fuzz: Fuzz):
    """Generated call sequences answer as Taskcluster's rules say, with no failure."""

    @settings(FUZZ, max_examples=150)
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        """One generated sequence: a createUpload of each name, then 4 to 14 calls."""
        life = Life(fuzz, data)
        for name in life.names:
            life.create(name)
        for _ in range(data.draw(st.integers(4, 14))):
            getattr(life, life.draw(STEPS))(life.draw(life.names))

    case()
    fuzz.finish()
