"""APScheduler triggers for source schedules, with jitter and misfire grace scaled to the period.

Pure functions of a ``Schedule``: a 30-minute source gets up to a minute of jitter (so
replicas and sources do not all fire on the same second) and may start up to one
period late (a busy or paused process still runs it once, coalesced); an ``every 1s``
test source gets a tenth of a second of jitter.
"""

from __future__ import annotations

from datetime import timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from syncer.config.schedule import Schedule, period

JITTER_FRACTION = 0.1
MAX_JITTER = timedelta(minutes=1)
MAX_MISFIRE_GRACE = timedelta(hours=1)


def jitter(schedule: Schedule) -> float:
    """Seconds of random delay added to each fire time: a tenth of the period, at most 60."""
    return min(period(schedule) * JITTER_FRACTION, MAX_JITTER).total_seconds()


def misfire_grace(schedule: Schedule) -> int:
    """Seconds a run may start late and still run: one period, at least 1 s, at most 1 h."""
    return max(1, int(min(period(schedule), MAX_MISFIRE_GRACE).total_seconds()))


def trigger(schedule: Schedule) -> BaseTrigger:
    """The APScheduler trigger for ``schedule`` (cron strings are UTC)."""
    if schedule.interval is not None:
        return IntervalTrigger(
            seconds=schedule.interval.total_seconds(), jitter=jitter(schedule), timezone="UTC"
        )
    cron = CronTrigger.from_crontab(schedule.cron or schedule.text, timezone="UTC")
    cron.jitter = jitter(schedule)
    return cron
