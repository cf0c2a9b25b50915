"""Bounds on what requests may hold at once (long polls, live-log readers),
so that no number of clients can make the sandbox hold unbounded state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .errors import APIError


class Slots:
    """At most `size` holders at once; one more gets a 429 TooManyRequests."""

    def __init__(self, what: str, size: int) -> None:
        self.what, self.size = what, size
        self.used = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold a slot for the duration of the block."""
        if self.used >= self.size:
            raise APIError(
                "TooManyRequests",
                "The sandbox already serves {{size}} {{what}}; try again later",
                size=self.size,
                what=self.what,
            )
        self.used += 1
        try:
            yield
        finally:
            self.used -= 1
