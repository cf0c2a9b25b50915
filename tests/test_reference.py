"""The sandbox's API references (/references/<service>/v1/api.json, for the
Queue, the Index and the Object service): valid in Taskcluster's
api-reference-v0 format, one entry per published entry of the service's
table, and each entry a service shares with Taskcluster's reference declared
alike. Taskcluster's references: the Queue's and Index's beside the clone
(../shared/taskcluster-reference); the Object's as the rig serves it, else
from the rig's own source tree (its generated references), else skipped.
The same entries of the official Python client match too."""

from __future__ import annotations

import json
import re
import urllib.parse
from functools import cache
from typing import Any

import pytest
import requests
import taskcluster
from helpers import UPSTREAM_SCHEMAS

if not UPSTREAM_SCHEMAS.is_dir():
    pytest.skip(
        f"Taskcluster's schemas not found at {UPSTREAM_SCHEMAS} "
        "(needs ../shared/taskcluster-reference next to the repo)",
        allow_module_level=True,
    )

from rig import rig_env, rig_env_file
from schema_corpus import upstream_schemas

from tc_notebook.sandbox import reference
from tc_notebook.sandbox.reference import API_REFERENCE_SCHEMA, SERVICES, Service
from tc_notebook.sandbox.schemas import own_schemas

REFERENCES = UPSTREAM_SCHEMAS.parents[1] / "references"
COMPARED = ("method", "route", "args", "query", "input", "output", "stability", "category")
CLIENT_COMPARED = COMPARED[:-1]  # the clients know no category
CLIENTS = {"queue": taskcluster.Queue, "index": taskcluster.Index, "object": taskcluster.Object}
# Entries of Taskcluster's references the sandbox does not serve.
NOT_SERVED = {"queue": set(), "index": {"version"}, "object": {"version"}}
BY_NAME = pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)


@pytest.fixture(scope="module")
def served(sandbox) -> dict[str, dict[str, Any]]:
    """Each service's reference as a live sandbox serves it, by serviceName."""
    documents = {}
    for service in SERVICES:
        answer = requests.get(sandbox.root_url + service.path, timeout=10)
        assert answer.status_code == 200, service.path
        assert answer.headers["Content-Type"].startswith("application/json")
        documents[service.name] = answer.json()
    return documents


def _rig_object_reference() -> dict[str, Any] | str:
    """Taskcluster's Object reference as the rig serves it, else as the rig's
    source tree generated it, else why there is none."""
    env = rig_env()
    if isinstance(env, dict):
        url = env["TASKCLUSTER_ROOT_URL"].rstrip("/") + "/references/object/v1/api.json"
        answer = requests.get(url, timeout=10)
        if answer.status_code == 200:
            return answer.json()
    generated = rig_env_file().parent / "src" / "generated" / "references.json"
    if not generated.is_file():
        return f"no Object reference: the rig serves none, and {generated} does not exist"
    for document in json.loads(generated.read_text()):
        if document["filename"] == "references/object/v1/api.json":
            return document["content"]
    return f"no Object reference in {generated}"


@cache
def taskclusters(name: str) -> dict[str, Any] | str:
    """Taskcluster's reference of a service, or why there is none here."""
    if name == "object":
        return _rig_object_reference()
    return json.loads((REFERENCES / name / "v1" / "api.json").read_text())


def _theirs(name: str) -> dict[str, dict[str, Any]]:
    """Taskcluster's entries of a service by name (the test skips without them)."""
    document = taskclusters(name)
    if isinstance(document, str):
        pytest.skip(document)
    return {entry["name"]: entry for entry in document["entries"]}


def _same_scopes(expression: Any) -> Any:
    """A scope expression with `<provisionerId>/<workerType>` written
    `<taskQueueId>`, the same string (Taskcluster's reference uses both)."""
    if isinstance(expression, str):
        return expression.replace("<provisionerId>/<workerType>", "<taskQueueId>")
    if isinstance(expression, list):
        return [_same_scopes(part) for part in expression]
    if isinstance(expression, dict):
        return {key: _same_scopes(value) for key, value in expression.items()}
    return expression


@BY_NAME
def test_reference_is_valid_api_reference(sandbox, served, service: Service):
    """The document passes Taskcluster's api-reference-v0 schema (its `$schema`,
    relative as Taskcluster writes it, read against the root URL)."""
    document = served[service.name]
    assert document["$schema"] == API_REFERENCE_SCHEMA
    assert document["serviceName"] == service.name and document["apiVersion"] == "v1"
    assert document["title"] and document["description"]
    absolute = {**document, "$schema": urllib.parse.urljoin(sandbox.root_url, API_REFERENCE_SCHEMA)}
    assert upstream_schemas().errors(API_REFERENCE_SCHEMA, absolute) == []


@BY_NAME
def test_one_entry_per_declared_entry(served, service: Service):
    """Every published entry of the service's table, once, in declaration
    order, titled and described, its schemas among the sandbox's own."""
    entries = served[service.name]["entries"]
    published = [e.name for e in service.table.entries if e.name not in service.unpublished]
    assert [e["name"] for e in entries] == published
    assert len(published) == len(set(published))
    for entry in entries:
        assert entry["title"] and entry["description"], entry["name"]
        for kind in ("input", "output"):
            if kind in entry:  # relative to the service's schemas, as Taskcluster writes them
                assert re.fullmatch(r"v1/[a-z-]+\.json#", entry[kind]), (entry["name"], kind)
                assert service.table.schemas + entry[kind] in own_schemas().by_id


@BY_NAME
def test_shared_entries_declared_as_in_taskcluster(served, service: Service):
    """Method, route, arguments, query, schemas, stability, category and scope
    expression of each entry both references have are the same."""
    theirs = _theirs(service.name)
    shared = [entry for entry in served[service.name]["entries"] if entry["name"] in theirs]
    assert shared
    for ours in shared:
        upstream = theirs[ours["name"]]
        for key in COMPARED:
            assert ours.get(key) == upstream.get(key), (ours["name"], key)
        scopes = _same_scopes(ours.get("scopes"))
        assert scopes == _same_scopes(upstream.get("scopes")), ours["name"]


@BY_NAME
def test_taskclusters_entries_declared(served, service: Service):
    """The sandbox publishes exactly the entries of Taskcluster's reference,
    but the ones it does not serve (NOT_SERVED)."""
    ours = {entry["name"] for entry in served[service.name]["entries"]}
    theirs = set(_theirs(service.name))
    assert not ours - theirs, f"published by the sandbox only: {sorted(ours - theirs)}"
    assert theirs - ours == NOT_SERVED[service.name]


@BY_NAME
def test_python_client_methods_match(served, service: Service):
    """Each entry the official Python client has is declared as the client
    calls it (method, route, arguments, query, schemas, stability)."""
    known = CLIENTS[service.name].funcinfo
    entries = served[service.name]["entries"]
    assert {entry["name"] for entry in entries} <= set(known)
    for entry in entries:
        info = known[entry["name"]]
        for key in CLIENT_COMPARED:
            assert entry.get(key, []) == info.get(key, []), (entry["name"], key)


def test_unknown_service_not_found(sandbox):
    """A service the sandbox does not have has no reference."""
    answer = requests.get(sandbox.root_url + "/references/hooks/v1/api.json", timeout=10)
    assert answer.status_code == 404


def _routed_to(root_url: str, prefix: str, entry: dict[str, Any]) -> str | None:
    """The entry an unsigned request to `entry`'s route (each argument a name
    holding a slash) reaches: its name from the error's requestInfo, or the
    entry's own for a 2xx, or None when no entry answers."""
    route = entry["route"]
    for arg in entry["args"]:
        route = route.replace(f"<{arg}>", urllib.parse.quote("fuzz/ref", safe=""))
    body = {} if "input" in entry else None
    answer = requests.request(entry["method"], root_url + prefix + route, json=body, timeout=10)
    if answer.ok:
        return entry["name"]
    return answer.json().get("requestInfo", {}).get("method")


def test_object_routes_reach_the_same_entries_on_the_rig(sandbox, served):
    """Each Object entry, called unsigned at its route, reaches the entry of
    that name on the sandbox and on the rig's Object service."""
    env = rig_env()
    if isinstance(env, str):
        pytest.skip(env)
    prefix = reference.OBJECT.table.prefix
    for entry in served["object"]["entries"]:
        assert _routed_to(sandbox.root_url, prefix, entry) == entry["name"]
        assert _routed_to(env["TASKCLUSTER_ROOT_URL"].rstrip("/"), prefix, entry) == entry["name"]
