"""What the artifact tests (tests/test_artifacts_*.py) share besides their
`running` fixture (a claimed task, in conftest.py): expiries, URLs, and the header
that names an artifact's storage type.
"""

from __future__ import annotations

import taskcluster
from helpers import API

STORAGE_HEADER = "x-taskcluster-artifact-storage-type"


def _expires(hours: int = 24) -> str:
    return taskcluster.fromNowJSON(f"{hours} hours")


def _url(root_url: str, path: str) -> str:
    return f"{root_url}{API}{path}"
