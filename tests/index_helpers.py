"""Helpers of the Index tests (test_index*.py)."""

from __future__ import annotations

import uuid
from typing import Any

import taskcluster


def make_index(sandbox: Any, credentials: dict | None = None) -> taskcluster.Index:
    """An official Index client of a sandbox (no retries; no credentials unless given)."""
    options: dict[str, Any] = {"rootUrl": sandbox.root_url, "maxRetries": 0}
    if credentials:
        options["credentials"] = dict(credentials)
    return taskcluster.Index(options)


def fresh_namespace() -> str:
    """A namespace of the root that no other test uses."""
    return "t" + uuid.uuid4().hex[:12]
