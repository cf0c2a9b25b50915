"""The queue's tunable constants."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QueueSettings:
    """Tunable constants; the defaults are Taskcluster's."""

    claim_timeout: float = 1200
    claim_work_wait: float = 20
    deadline_delay: float = 60
    resolver_interval: float = 1.0
    max_request_bytes: int = 10 * 1024 * 1024
    max_blob_bytes: int = 5 * 1024**3
    max_long_polls: int = 256  # claimWork requests waiting at once
