"""The guard: no task process outlives the sandbox that started it.

A worker starts one guard process and keeps a pipe to it, on which it writes
`+PGID` when a task's process group starts and `-PGID` once it is gone. When
the pipe reaches end of file (the worker stopped, or its process died in any
way, SIGKILL included), the guard kills the groups still listed and every
process whose environment carries the sandbox's marker (`MARKER_VARIABLE`,
set in each task's environment, so that processes which left their group are
found too) with its group, removes the runs' working directories, then exits.
`kill_marked` also serves a sandbox starting on a data directory whose
previous process and guard both died.

The guard runs as `python -I -S guard.py MARKER FOLDER...`: standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

MARKER_VARIABLE = "TC_NOTEBOOK_SANDBOX"
MAX_PASSES = 20  # scans of /proc per kill_marked, until one finds nothing


def marker_for(work_dir: str | os.PathLike) -> str:
    """The marker of a sandbox's tasks: the same across restarts, distinct per data directory."""
    return hashlib.sha256(os.fsencode(os.path.realpath(work_dir))).hexdigest()[:20]


def _environment(pid: str) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            return environ.read().split(b"\0")
    except OSError:  # gone, or not ours to read
        return []


def kill_marked(marker: str) -> int:
    """SIGKILL every process whose environment carries `marker`, and its process
    group (where members that dropped their environment may be); returns how
    many marked processes there were.

    Scans again until a pass finds none, so that children forked meanwhile are
    killed too. Task processes start sessions of their own, so their groups
    hold nothing but task processes."""
    entry = f"{MARKER_VARIABLE}={marker}".encode()
    me = str(os.getpid())
    killed: set[str] = set()
    for _ in range(MAX_PASSES):
        found = [
            pid
            for pid in os.listdir("/proc")
            if pid.isdigit() and pid != me and entry in _environment(pid)
        ]
        for pid in map(int, found):
            with contextlib.suppress(OSError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        killed.update(found)
        if not found:
            break
    return len(killed)


class Guard:
    """The worker's end of a guard process for the tasks marked `marker`, whose
    working directories are all in `directory`; `also` are more folders to
    remove at the end (a temporary sandbox's data directory)."""

    def __init__(
        self, marker: str, directory: str | os.PathLike, also: tuple[Path, ...] = ()
    ) -> None:
        self.marker, self.directory = marker, directory
        folders = [os.fspath(directory), *map(os.fspath, also)]
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", __file__, marker, *folders],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            bufsize=0,
            start_new_session=True,  # out of the terminal's reach: Ctrl-C is for the sandbox
        )

    def started(self, pgid: int) -> None:
        """A task's process group started."""
        self._send(f"+{pgid}\n")

    def ended(self, pgid: int) -> None:
        """A task's process group was killed."""
        self._send(f"-{pgid}\n")

    def _send(self, line: str) -> None:
        with contextlib.suppress(OSError):  # the guard died: close() cleans up instead
            self.process.stdin.write(line.encode())

    def close(self, timeout: float = 10) -> None:
        """Let the guard kill what is left and wait for it (or do its job if it died)."""
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if code != 0:
            kill_marked(self.marker)
            shutil.rmtree(self.directory, ignore_errors=True)


def main(marker: str, *folders: str) -> None:
    """The guard process: record groups from stdin; at its end, kill them all
    and remove `folders`."""
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    groups: set[int] = set()
    for line in sys.stdin.buffer:
        with contextlib.suppress(ValueError):
            pgid = int(line[1:])
            if line.startswith(b"+"):
                groups.add(pgid)
            else:
                groups.discard(pgid)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    kill_marked(marker)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
