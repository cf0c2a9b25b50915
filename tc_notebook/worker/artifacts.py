"""A run's artifacts: the payload's files and directories uploaded after the
commands, by generic-worker's rules.

- A path the task user cannot open becomes an `error` artifact, reason
  `file-missing-on-worker` (`file-not-readable-on-worker` when it exists but
  the task user may not read it); a `file` artifact whose path is a directory,
  or a `directory` artifact whose path is a file, one with reason
  `invalid-resource-on-worker`. Each fails the run unless the artifact is
  `optional`. Inside a directory artifact, every entry is judged the same way,
  under the name `<artifact name>/<relative path>`.
- An artifact's `contentType` is the one it is served with; when left out it
  is guessed from the extension of its path (see `guess_content_type`).
- `contentEncoding` is accepted but not applied: files are uploaded as they are.

Paths are opened by `worker.opener`, with the task user's rights, whatever the
path or its symlinks.
"""

from __future__ import annotations

import asyncio
import errno
import mimetypes
import os
import stat
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

from .payload import ArtifactSpec

if TYPE_CHECKING:
    from .run import TaskRun

MISSING = "file-missing-on-worker"
NOT_READABLE = "file-not-readable-on-worker"
INVALID = "invalid-resource-on-worker"
KINDS = {"file": stat.S_IFREG, "directory": stat.S_IFDIR}
UNKNOWN_TYPE = "application/octet-stream"
UPLOADS_AT_ONCE = 12  # a directory artifact's entries opened and uploaded at once
# generic-worker's own addition to the system's table of types by extension.
EXTRA_TYPES = {".log": "text/plain"}


def guess_content_type(path: str) -> str:
    """The type generic-worker gives a file at `path`: by its extension, `.log`
    as text/plain, else the system's table (`/etc/mime.types` and Python's own
    list, where generic-worker reads Go's), a text type with charset utf-8 as Go
    adds it; application/octet-stream when the extension says nothing."""
    extension = PurePosixPath(path).suffix
    if extension.lower() in EXTRA_TYPES:
        return EXTRA_TYPES[extension.lower()]
    if not mimetypes.inited:
        mimetypes.init()
    found = mimetypes.types_map.get(extension) or mimetypes.types_map.get(extension.lower())
    if not extension or not found:
        return UNKNOWN_TYPE
    if found.startswith("text/") and "charset=" not in found:
        return f"{found}; charset=utf-8"
    return found


def docker_worker_content_type(name: str, path: str) -> str:
    """The type of a docker-worker form's artifact, as this worker always
    guessed it: from the artifact's name, else from its path."""
    for candidate in (name, path):
        guessed, _ = mimetypes.guess_type(PurePosixPath(candidate).name)
        if guessed:
            return guessed
        if PurePosixPath(candidate).suffix in (".log", ".txt"):
            return "text/plain"
    return UNKNOWN_TYPE


async def all_or_none(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run the coroutines side by side; the first to fail stops the others
    (waited for) and its exception is raised, as a loop would raise it."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


@dataclass(frozen=True)
class Unusable:
    """Why a path could not be uploaded: an error artifact's reason and message."""

    reason: str
    message: str


class RunArtifacts:
    """Uploads the payload's artifacts of one run."""

    def __init__(self, run: TaskRun, form: str) -> None:
        self.run, self.form = run, form
        self.failed = False  # a required artifact became an error artifact
        # Paths opened and uploaded at once: the entries of a directory
        # artifact go side by side, a few at a time.
        self._slots = asyncio.Semaphore(UPLOADS_AT_ONCE)

    async def upload(self, specs: list[ArtifactSpec]) -> bool:
        """Upload every artifact; False if a required one became an error artifact."""
        for spec in specs:
            expires = spec.expires or self.run.task["expires"]
            await self._upload_tree(spec, spec.name, spec.path, expires)
        return not self.failed

    async def _upload_tree(self, spec: ArtifactSpec, name: str, path: str, expires: str) -> None:
        """`path` (relative to the task directory, or absolute) as artifact `name`;
        a directory's entries side by side (see `UPLOADS_AT_ONCE`)."""
        async with self._slots:  # held while a descriptor is open, not over the entries
            fd = await self._open(spec.type, path)
            if isinstance(fd, Unusable):
                await self._error(spec, name, expires, fd)
                return
            if spec.type == "file":
                with open(fd, "rb") as body:
                    await self._upload_file(spec, name, path, body, expires)
                return
            try:
                with os.scandir(fd) as listing:
                    entries = sorted((e.name, e.is_dir(follow_symlinks=False)) for e in listing)
            finally:
                os.close(fd)
        await all_or_none(
            self._upload_tree(
                # a symlink is judged by what it leads to, as a file
                replace(spec, type="directory" if is_dir else "file"),
                f"{name.rstrip('/')}/{entry}",
                f"{path.rstrip('/')}/{entry}",
                expires,
            )
            for entry, is_dir in entries
        )

    async def _open(self, kind: str, path: str) -> int | Unusable:
        """A descriptor for `path` if the task user can open it and it is of `kind`."""
        try:
            fd = await self.run.worker.opener.open(self.run.directory / path)
        except OSError as problem:
            if problem.errno in (errno.EACCES, errno.EPERM):
                return Unusable(NOT_READABLE, f"the task user may not read {kind} {path}")
            return Unusable(MISSING, f"no {kind} found at {path}")
        if stat.S_IFMT(os.fstat(fd).st_mode) == KINDS[kind]:
            return fd
        os.close(fd)
        other = "directory" if kind == "file" else "file"
        return Unusable(INVALID, f"{kind} artifact {path} is a {other}, not a {kind}")

    async def _upload_file(
        self, spec: ArtifactSpec, name: str, path: str, body: BinaryIO, expires: str
    ) -> None:
        if spec.content_type:
            content_type = spec.content_type
        elif self.form == "generic-worker":
            content_type = guess_content_type(path)
        else:
            content_type = docker_worker_content_type(name, path)
        await self.run.upload(name, body, expires, content_type)

    async def _error(self, spec: ArtifactSpec, name: str, expires: str, why: Unusable) -> None:
        """Record why `name` has no content, as an error artifact."""
        verdict = "optional, the run goes on" if spec.optional else "the run fails"
        self.run.say(f"[taskcluster] artifact {name!r}: {why.message} ({why.reason}; {verdict})")
        self.failed = self.failed or not spec.optional
        await self.run.queue.createArtifact(
            self.run.task_id,
            self.run.run_id,
            name,
            {
                "storageType": "error",
                "reason": why.reason,
                "message": why.message,
                "expires": expires,
            },
        )
