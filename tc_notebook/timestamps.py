"""Taskcluster's timestamps: UTC, millisecond precision, a trailing `Z`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """Taskcluster's date format: `2026-01-01T00:00:00.000Z`."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_time(text: str) -> datetime:
    """Parse an ISO-8601 date-time (with `Z` or an offset), in UTC; ValueError
    also when it leaves the years 1 to 9999 once in UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{text} is out of range once in UTC") from None


def iso_in(seconds: float) -> str:
    """`iso()` of now plus `seconds`."""
    return iso(now() + timedelta(seconds=seconds))
