"""The process engine: runs a task's commands as local processes.

Each command runs by argv (no shell unless the command names one) in its own
process group, so a timeout or a cancel kills everything the task started;
the guard is told of each group, so that a crash of the sandbox does too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .guard import Guard
from .taskuser import TaskUser

# What a task sees of the worker's environment; everything else is dropped.
INHERITED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR")


@dataclass(frozen=True)
class Outcome:
    """How the commands ended: the last exit code, or a timeout."""

    exit_code: int | None
    timed_out: bool = False
    error: str | None = None


def task_environment(task_env: dict[str, str], extra: dict[str, str], home: Path) -> dict:
    """A minimal environment, the task's own variables, then `extra` (TASK_ID,
    RUN_ID, ...), which as in generic-worker the task may not override."""
    env = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env["HOME"] = str(home)
    env.update(task_env)
    env.update(extra)
    return env


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def run_commands(
    commands: list[list[str]],
    cwd: Path,
    env: dict[str, str],
    write: Callable[[bytes], None],
    max_run_time: float,
    guard: Guard | None = None,
    user: TaskUser | None = None,
) -> Outcome:
    """Run commands in sequence until one fails; output goes to `write`.

    Each process group is reported to `guard`; commands run as `user` (None:
    as this process). Cancelling the coroutine kills the running process group."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + max_run_time
    exit_code = 0
    for argv in commands:
        # Output goes through a pipe of our own rather than asyncio's, whose
        # wait() would also wait for every process that inherited the pipe.
        read_end, write_end = os.pipe()
        spawned, as_user = user.spawn(argv) if user else (argv, {})
        try:
            process = await asyncio.create_subprocess_exec(
                *spawned,
                cwd=cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=write_end,
                stderr=write_end,
                start_new_session=True,
                **as_user,
            )
        except OSError as exc:
            os.close(read_end)
            return Outcome(exit_code=None, error=f"cannot start {argv[0]!r}: {exc.strerror}")
        finally:
            os.close(write_end)
        if guard:
            guard.started(process.pid)
        output = asyncio.StreamReader()
        pipe, _ = await loop.connect_read_pipe(
            lambda output=output: asyncio.StreamReaderProtocol(output), open(read_end, "rb", 0)
        )
        try:
            await asyncio.wait_for(_pump(process, output, write), max(give_up - loop.time(), 0))
        except asyncio.TimeoutError:
            _kill_group(process)
            await process.wait()
            return Outcome(exit_code=None, timed_out=True)
        except BaseException:
            _kill_group(process)
            with contextlib.suppress(Exception):
                await asyncio.shield(process.wait())
            raise
        finally:
            pipe.close()
            if guard:
                guard.ended(process.pid)
        exit_code = process.returncode
        if exit_code != 0:
            break
    return Outcome(exit_code=exit_code)


async def _pump(
    process: asyncio.subprocess.Process,
    output: asyncio.StreamReader,
    write: Callable[[bytes], None],
) -> None:
    """Copy output until the command exits; then end what it left running
    (as a container's end would) and copy the rest."""

    async def copy() -> None:
        while chunk := await output.read(64 * 1024):
            write(chunk)

    copying = asyncio.ensure_future(copy())
    await process.wait()
    _kill_group(process)
    await copying
