"""Opening a task's files for upload, with no more rights than the task had.

When tasks run as another user (see `taskuser`), the worker opens artifact
paths through a helper process that switches to that user as it starts: it
opens each path it is sent and passes the descriptor back over a socket pair,
so the kernel checks the whole path, symlinks included, as the task user. It
has no environment, works from `/` and holds no descriptor but its socket, so
that `/proc/self/...` paths lead nowhere either. When tasks run as the
worker's own user, paths are opened in-process.

Either way only regular files and directories are opened: a FIFO or a device
could block or act on open.

The helper runs as `python -I -S opener.py UID GID`: standard library only.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import stat
import subprocess
import sys

OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
ANSWER_SECONDS = 10.0  # the helper is given this long to open a path
MAX_PATH = 4096


def _openable(mode: int) -> bool:
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode)


def open_file_or_directory(path: str | os.PathLike) -> int:
    """A read-only descriptor for the regular file or directory at `path`."""
    if "\0" in os.fsdecode(path):
        raise OSError(errno.EINVAL, "a path cannot contain NUL", os.fsdecode(path))
    if not _openable(os.stat(path).st_mode):
        raise OSError(errno.ENOENT, "not a regular file or directory", os.fspath(path))
    fd = os.open(path, OPEN_FLAGS)
    if not _openable(os.fstat(fd).st_mode):  # replaced since the stat
        os.close(fd)
        raise OSError(errno.ENOENT, "not a regular file or directory", os.fspath(path))
    os.set_blocking(fd, True)
    return fd


class Opener:
    """Opens paths in this process, as its own user."""

    async def open(self, path: str | os.PathLike) -> int:
        """A descriptor for a regular file or directory; OSError otherwise."""
        return open_file_or_directory(path)

    def close(self) -> None:
        """Release what the opener holds."""


class UserOpener(Opener):
    """Opens paths in a helper process running as uid:gid (started when first needed)."""

    def __init__(self, uid: int, gid: int) -> None:
        self.uid, self.gid = uid, gid
        self._helper: subprocess.Popen | None = None
        self._socket: socket.socket | None = None
        self._lock = asyncio.Lock()

    async def open(self, path: str | os.PathLike) -> int:
        """A descriptor opened by the task user; OSError if it could not open it."""
        request = os.fsencode(path)
        if len(request) > MAX_PATH:
            raise OSError(errno.ENAMETOOLONG, "path too long", os.fsdecode(request))
        async with self._lock:
            return await asyncio.to_thread(self._ask, request)

    def _ask(self, request: bytes) -> int:
        if self._helper is None or self._helper.poll() is not None:
            self._start()
        try:
            self._socket.sendall(request)
            answer, fds, _, _ = socket.recv_fds(self._socket, 1024, 1)
        except OSError as exc:  # timed out, or the helper died
            self.close()
            raise OSError(errno.EIO, f"the file opener failed ({exc})") from exc
        if answer == b"ok" and len(fds) == 1:
            return fds[0]
        for fd in fds:
            os.close(fd)
        if not answer:
            self.close()
            raise OSError(errno.EIO, "the file opener stopped")
        number, _, message = answer.decode(errors="replace").partition(" ")
        raise OSError(int(number) if number.isdigit() else errno.EACCES, message)

    def _start(self) -> None:
        self.close()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self._helper = subprocess.Popen(
                [sys.executable, "-I", "-S", __file__, str(self.uid), str(self.gid)],
                stdin=theirs,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",
                env={},
                start_new_session=True,
            )
        ours.settimeout(ANSWER_SECONDS)
        self._socket = ours

    def close(self) -> None:
        """Stop the helper."""
        if self._socket is not None:
            self._socket.close()  # the helper sees end of file and exits
            self._socket = None
        if self._helper is not None:
            try:
                self._helper.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._helper.kill()
                self._helper.wait()
            self._helper = None


def serve(uid: int, gid: int) -> None:
    """The helper process: become uid:gid, then answer each path with a descriptor."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = socket.socket(fileno=0)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    while request := channel.recv(MAX_PATH + 1):
        try:
            fd = open_file_or_directory(os.fsdecode(request))
        except OSError as exc:
            channel.send(f"{exc.errno or errno.EACCES} {exc.strerror or 'cannot open'}".encode())
        else:
            socket.send_fds(channel, [b"ok"], [fd])
            os.close(fd)


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
