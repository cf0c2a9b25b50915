"""The sandbox's API reference (/references/queue/v1/api.json): valid in
Taskcluster's api-reference-v0 format, and each entry it shares with
Taskcluster's queue reference declared alike."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
import requests
from helpers import UPSTREAM_SCHEMAS

if not UPSTREAM_SCHEMAS.is_dir():
    pytest.skip(
        f"Taskcluster's schemas not found at {UPSTREAM_SCHEMAS} "
        "(needs ../shared/taskcluster-reference next to the repo)",
        allow_module_level=True,
    )

from schema_corpus import reference_entries, upstream_schemas

from tc_notebook.sandbox import api
from tc_notebook.sandbox.reference import REFERENCE_PATH

API_REFERENCE_SCHEMA = "/schemas/common/api-reference-v0.json#"
COMPARED = ("method", "route", "args", "query", "input", "output", "stability")


@pytest.fixture(scope="module")
def served(sandbox) -> dict[str, Any]:
    """The reference as a live sandbox serves it."""
    answer = requests.get(sandbox.root_url + REFERENCE_PATH, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    return answer.json()


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


def test_reference_is_valid_api_reference(sandbox, served):
    """The document passes Taskcluster's api-reference-v0 schema (its `$schema`,
    relative as Taskcluster writes it, read against the root URL)."""
    assert served["$schema"] == API_REFERENCE_SCHEMA
    assert served["serviceName"] == "queue" and served["apiVersion"] == "v1"
    absolute = {**served, "$schema": urllib.parse.urljoin(sandbox.root_url, API_REFERENCE_SCHEMA)}
    assert upstream_schemas().errors(API_REFERENCE_SCHEMA, absolute) == []


def test_one_entry_per_declared_entry(served):
    """Every entry of api.py, once, in declaration order, titled and described."""
    assert [e["name"] for e in served["entries"]] == [e.name for e in api.ENTRIES]
    for entry in served["entries"]:
        assert entry["title"] and entry["description"], entry["name"]


def test_shared_entries_declared_as_in_taskcluster(served):
    """Method, route, arguments, query, schemas and scope expression of each
    entry both references have are the same."""
    theirs = {entry["name"]: entry for entry in reference_entries()}
    shared = [entry for entry in served["entries"] if entry["name"] in theirs]
    assert shared
    for ours in shared:
        reference = theirs[ours["name"]]
        for key in COMPARED:
            assert ours.get(key) == reference.get(key), (ours["name"], key)
        scopes = _same_scopes(ours.get("scopes"))
        assert scopes == _same_scopes(reference.get("scopes")), ours["name"]


def test_taskclusters_entries_declared(served):
    """The sandbox declares exactly the entries of Taskcluster's queue reference."""
    ours = {entry["name"] for entry in served["entries"]}
    theirs = {entry["name"] for entry in reference_entries()}
    assert not ours - theirs, f"declared by the sandbox only: {sorted(ours - theirs)}"
    assert not theirs - ours, f"not declared by the sandbox: {sorted(theirs - ours)}"
