"""Futures waiting on a key, woken together: what the long polls wait on
(claimWork on a task queue, the badges' status polls on a task)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class Waiters:
    """The futures waiting on each key; a key is kept only while some wait."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Future]] = {}

    @contextlib.contextmanager
    def waiter(self, key: str) -> Iterator[asyncio.Future]:
        """A future set when `key` is woken; forgotten when the block ends."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, set()).add(future)
        try:
            yield future
        finally:
            futures = self._waiting.get(key)
            if futures is not None:
                futures.discard(future)
                if not futures:
                    del self._waiting[key]

    @property
    def keys(self) -> list[str]:
        """The keys some future waits on now, sorted."""
        return sorted(self._waiting)

    def count(self, key: str) -> int:
        """How many futures wait on `key`."""
        return len(self._waiting.get(key, ()))

    def wake(self, key: str) -> None:
        """Set every future waiting on `key`."""
        for future in self._waiting.pop(key, ()):
            if not future.done():
                future.set_result(None)

    def wake_all(self) -> None:
        """Set every future waiting on any key."""
        for key in list(self._waiting):
            self.wake(key)
