"""Finding "the rig": a real Taskcluster (auth, queue, object, built-in-workers)
run from source on this machine by ../shared/taskcluster-rig.

The rig writes its root URL and the static root client's credentials to an
env file (`export TASKCLUSTER_ROOT_URL=...` lines). It is looked for at
`$TASKCLUSTER_RIG_ENV_FILE`, else at `${TASKCLUSTER_RIG_DIR:-~/.cache/taskcluster-rig}/tc.env`
(the rig's own scripts use `$XDG_CACHE_HOME` in place of `~/.cache` when set,
and so does this module). Tests that need the rig call `require_rig()`, which
skips them, saying which file or URL was tried and how to start the rig,
when there is none.
"""

from __future__ import annotations

import functools
import os
import shlex
from pathlib import Path

import pytest
import requests

RIG_DOCS = Path(__file__).resolve().parents[2] / "shared" / "taskcluster-rig"
HOW_TO_START = (
    f"start it with {RIG_DOCS}/setup.sh (once) then {RIG_DOCS}/start.sh, "
    "or point TASKCLUSTER_RIG_ENV_FILE / TASKCLUSTER_RIG_DIR at a running rig"
)
ENV_KEYS = ("TASKCLUSTER_ROOT_URL", "TASKCLUSTER_CLIENT_ID", "TASKCLUSTER_ACCESS_TOKEN")


def rig_env_file() -> Path:
    """Where the rig's env file is expected (it may not exist)."""
    explicit = os.environ.get("TASKCLUSTER_RIG_ENV_FILE")
    if explicit:
        return Path(explicit)
    state = os.environ.get("TASKCLUSTER_RIG_DIR")
    if not state:
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        state = str(Path(cache) / "taskcluster-rig")
    return Path(state) / "tc.env"


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=value` pairs of a shell env file (`export`, quotes and comments allowed)."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "export":
            words = words[1:]
        for word in words:
            key, sep, value = word.partition("=")
            if sep:
                env[key] = value
    return env


class RigEnv(dict):
    """The rig's variables; its repr (in test reports) leaves out the access token."""

    def __repr__(self) -> str:
        shown = {k: ("<hidden>" if k.endswith("ACCESS_TOKEN") else v) for k, v in self.items()}
        return f"RigEnv({shown!r})"


@functools.cache
def rig_env() -> dict[str, str] | str:
    """The rig's `TASKCLUSTER_*` variables once its queue answers `ping`, or
    a sentence saying why there is no usable rig (a skip reason)."""
    path = rig_env_file()
    if not path.is_file():
        return f"no Taskcluster rig: {path} does not exist; {HOW_TO_START}"
    try:
        env = read_env_file(path)
    except (OSError, ValueError) as exc:
        return f"no Taskcluster rig: cannot read {path} ({exc}); {HOW_TO_START}"
    missing = [key for key in ENV_KEYS if not env.get(key)]
    if missing:
        return f"no Taskcluster rig: {path} lacks {', '.join(missing)}; {HOW_TO_START}"
    ping = env["TASKCLUSTER_ROOT_URL"].rstrip("/") + "/api/queue/v1/ping"
    try:
        answer = requests.get(ping, timeout=5)
        alive = answer.status_code == 200 and answer.json().get("alive") is True
    except (requests.RequestException, ValueError) as exc:
        return f"no Taskcluster rig: {ping} (from {path}) did not answer ({exc}); {HOW_TO_START}"
    if not alive:
        return (f"no Taskcluster rig: {ping} (from {path}) answered {answer.status_code}; "
                f"{HOW_TO_START}")
    return RigEnv({key: env[key] for key in ENV_KEYS})


def require_rig() -> dict[str, str]:
    """`rig_env()`, or skip the calling test with the reason."""
    env = rig_env()
    if isinstance(env, str):
        pytest.skip(env)
    return env


def rig_options(env: dict[str, str]) -> dict:
    """Client options (root URL and the static root client) for `taskcluster.Queue` etc."""
    return {
        "rootUrl": env["TASKCLUSTER_ROOT_URL"],
        "credentials": {
            "clientId": env["TASKCLUSTER_CLIENT_ID"],
            "accessToken": env["TASKCLUSTER_ACCESS_TOKEN"],
        },
    }
