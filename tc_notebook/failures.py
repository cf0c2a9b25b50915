"""How the kit tells and words failures of calls to a Taskcluster service."""

from __future__ import annotations

import asyncio

import aiohttp
import taskcluster.exceptions

# Failures worth retrying later: the service could not be reached, or the
# connection dropped. A 5xx answer is one too (see `is_transient`).
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientError,
    asyncio.TimeoutError,
    OSError,
    taskcluster.exceptions.TaskclusterConnectionError,
)

_FOOTER = "\n\n---"  # Taskcluster appends method, errorCode, ... after this


def is_transient(failure: BaseException) -> bool:
    """A network failure or a 5xx answer: try again later."""
    if isinstance(failure, taskcluster.exceptions.TaskclusterRestFailure):
        return (failure.status_code or 0) >= 500
    return isinstance(failure, NETWORK_ERRORS)


def first_line(failure: BaseException | str) -> str:
    """The first line of an error's text (Taskcluster's messages run long)."""
    return str(failure).strip().split("\n")[0]


def queue_message(failure: BaseException) -> str:
    """A service's error message without Taskcluster's details footer."""
    body = getattr(failure, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or failure).split(_FOOTER)[0].strip()


def error_code(failure: BaseException) -> str:
    """Taskcluster's error code (`InsufficientScopes`, ...), or empty."""
    body = getattr(failure, "body", None)
    return str(body.get("code") or "") if isinstance(body, dict) else ""
