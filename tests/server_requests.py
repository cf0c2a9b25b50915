"""Counting the requests a sandbox answers, from its request log (the
`aiohttp.access` logger): what a widget still asks after it is closed.

The sandbox logs a request once it has answered it, so a request under way
when counting starts (or stops) lands in the count that follows: wait for the
widget's own requests with a condition before comparing counts."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


class RequestCount(logging.Handler):
    """Requests whose path contains `fragment` (a taskId, say), as the sandbox logged them."""

    def __init__(self, fragment: str) -> None:
        super().__init__(logging.INFO)
        self.fragment = fragment
        self.paths: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        method, path = record.args[0], record.args[1]
        if self.fragment in path:
            self.paths.append(f"{method} {path}")

    def __len__(self) -> int:
        return len(self.paths)


@contextlib.contextmanager
def requests_to(fragment: str) -> Iterator[RequestCount]:
    """Count, while inside, the sandbox requests whose path contains `fragment`."""
    logger = logging.getLogger("aiohttp.access")
    counter = RequestCount(fragment)
    level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.INFO)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
