"""Who runs a task's commands, and in which directory.

A sandbox running as root (CI machines, containers) runs task commands as an
unprivileged user, `nobody`, so that they cannot read its data directory
(mode 0700), where the root client's token is kept. Their working directories
are then outside it: `<temp dir>/tc-notebook-tasks-<marker>` is root's, mode
0711, so a task reaches its own directory (the task user's, mode 0700) by
name but cannot list or create entries beside it. A sandbox running as any
other user cannot switch users: its tasks run as itself, in
`<data dir>/work/<taskId>-<runId>`. `TC_NOTEBOOK_TASK_USER` names another
account (root: the sandbox's own, which switches nothing).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .guard import marker_for

TASK_USER_VARIABLE = "TC_NOTEBOOK_TASK_USER"  # run tasks as this account instead
NOBODY = 65534  # the traditional uid and gid of `nobody`, if it has no passwd entry
# util-linux's setpriv switches users on exec, so spawning keeps using vfork;
# without it, Popen switches after a fork, which costs more the bigger the sandbox.
SETPRIV = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")


@dataclass(frozen=True)
class TaskUser:
    """An account task commands run as."""

    name: str
    uid: int
    gid: int

    def spawn(self, argv: list[str]) -> tuple[list[str], dict[str, Any]]:
        """The argv and `Popen` options that run `argv` as this user, with no other groups."""
        if SETPRIV:
            ids = [f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups"]
            return [SETPRIV, *ids, "--", *argv], {}
        return argv, {"user": self.uid, "group": self.gid, "extra_groups": []}


def task_user() -> TaskUser | None:
    """The account task commands run as: the one `TC_NOTEBOOK_TASK_USER` names,
    else `nobody` when this process is root; None when that is this process's
    own user (no switch), as it always is for a process that is not root."""
    name = os.environ.get(TASK_USER_VARIABLE) or ("nobody" if os.geteuid() == 0 else None)
    if name is None:
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        if name == "nobody":
            return TaskUser("nobody", NOBODY, NOBODY)
        raise ValueError(f"{TASK_USER_VARIABLE}={name}: there is no such user") from None
    if entry.pw_uid == os.geteuid():
        return None
    if os.geteuid() != 0:
        raise ValueError(f"{TASK_USER_VARIABLE}={name}: only root can run tasks as another user")
    return TaskUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


class TaskDirectories:
    """Where a worker makes its runs' working directories, owned by the task user."""

    def __init__(self, work_dir: Path, user: TaskUser | None) -> None:
        self.user = user
        if user is None:
            self.root = Path(work_dir)
        else:
            self.root = Path(tempfile.gettempdir()) / f"tc-notebook-tasks-{marker_for(work_dir)}"

    def prepare(self) -> None:
        """Create the root; refuse one this process does not own (in a shared /tmp)."""
        if self.user is None:
            self.root.mkdir(parents=True, exist_ok=True)
            return
        with contextlib.suppress(FileExistsError):
            os.mkdir(self.root, 0o711)
        if not self._ours():
            raise RuntimeError(f"{self.root} exists and is not a directory of this user's")
        os.chmod(self.root, 0o711)

    def _ours(self) -> bool:
        try:
            info = os.lstat(self.root)
        except FileNotFoundError:
            return False
        return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()

    def make(self, name: str) -> Path:
        """A fresh, empty directory for a run, owned by the task user."""
        path = self.root / name
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(mode=0o700)
        if self.user is not None:
            os.chown(path, self.user.uid, self.user.gid)
        return path

    def clear(self) -> None:
        """Remove every run's directory, and the root if it is the task user's
        (at start, no run is running)."""
        if self.user is None:
            remove_entries(self.root)
        elif self._ours():
            shutil.rmtree(self.root, ignore_errors=True)


def remove_entries(directory: Path) -> None:
    """Remove everything in `directory` (which may not exist), never following symlinks."""
    with contextlib.suppress(FileNotFoundError), os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
