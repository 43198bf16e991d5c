"""Parse a source's ``schedule``: ``every 15m`` / ``every 2h`` or a 5-field cron string."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EVERY = re.compile(r"^every\s+(\d+)\s*(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL = timedelta(seconds=1)
_EPOCH = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday: a fixed reference for period()


@dataclass(frozen=True, slots=True)
class Schedule:
    """Either a fixed interval or a cron expression (UTC), never both."""

    text: str
    interval: timedelta | None = None
    cron: str | None = None

    def __str__(self) -> str:
        return self.text


def parse_schedule(text: str) -> Schedule:
    """Parse ``text`` or raise ``ValueError`` with a message an admin can act on."""
    text = " ".join(text.split())
    match = _EVERY.match(text)
    if match:
        interval = timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])
        if interval < MIN_INTERVAL:
            raise ValueError(f"schedule {text!r}: the interval must be at least 1s")
        return Schedule(text=text, interval=interval)
    if text.startswith("every"):
        raise ValueError(
            f"schedule {text!r} is not understood: write 'every N' followed by s, m, h or d, "
            "like 'every 30m'"
        )
    from apscheduler.triggers.cron import CronTrigger  # here: intervals need none of it

    try:
        CronTrigger.from_crontab(text, timezone="UTC")
    except ValueError as exc:
        raise ValueError(
            f"schedule {text!r} is neither 'every 30m' nor a valid 5-field cron string "
            f"(minute hour day month weekday): {exc}"
        ) from None
    return Schedule(text=text, cron=text)


def period(schedule: Schedule) -> timedelta:
    """How often ``schedule`` fires: the interval, or the gap between a cron's next fires."""
    if schedule.interval is not None:
        return schedule.interval
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(schedule.cron or schedule.text, timezone="UTC")
    first: datetime | None = trigger.get_next_fire_time(None, _EPOCH)
    if first is None:
        return timedelta(days=1)
    second: datetime | None = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    return timedelta(days=1) if second is None else second - first
