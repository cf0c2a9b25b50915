"""Counting the requests a sandbox answers, from its request log (the
`aiohttp.access` logger): what a widget still asks after it is closed.

The sandbox logs a request once it has answered it, with the seconds it took:
a request that began before counting started is left out (a previous test's
widget may still be answered after it closed); one under way when counting
stops lands in no count, so wait for a widget's own requests with a condition
before comparing counts."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator


class RequestCount(logging.Handler):
    """Requests whose path contains `fragment` (a taskId, say), as the sandbox logged them."""

    def __init__(self, fragment: str) -> None:
        super().__init__(logging.INFO)
        self.fragment = fragment
        self.paths: list[str] = []
        self.since = time.time()

    def emit(self, record: logging.LogRecord) -> None:
        method, path, _status, seconds = record.args
        begun = record.created - float(seconds)
        if self.fragment in path and begun >= self.since:
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
