"""The queue's background resolvers: claims that ran out (claimresolver.js
upstream) and tasks past their deadline (deadlineresolver.js)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from ..timestamps import iso, now
from .runs import Runs
from .settings import QueueSettings

log = logging.getLogger(__name__)


def expire_claims(runs: Runs) -> None:
    """Resolve runs whose claim ran out as exception/claim-expired (and retry them)."""
    moment = iso(now())
    for task_id in runs.store.claims_expired_before(moment):
        with runs.store.transaction():
            task = runs.store.task(task_id)
            run = task["runs"][-1]
            if run["state"] != "running" or task["definition"]["deadline"] < moment:
                continue
            runs.resolve_run(task, run, "exception", "claim-expired", retry_as="retry")


def resolve_deadlines(runs: Runs, delay: float) -> None:
    """Resolve tasks past their deadline plus `delay` seconds as deadline-exceeded."""
    cutoff = iso(now() - timedelta(seconds=delay))
    for task_id in runs.store.deadlines_before(cutoff):
        with runs.store.transaction():
            runs.end_task(runs.store.task(task_id), "deadline-exceeded")


async def resolve_forever(runs: Runs, settings: QueueSettings) -> None:
    """Both resolvers, every `resolver_interval` seconds, until cancelled."""
    while True:
        try:
            expire_claims(runs)
            resolve_deadlines(runs, settings.deadline_delay)
        except Exception:
            log.exception("resolver pass failed")
        await asyncio.sleep(settings.resolver_interval)
