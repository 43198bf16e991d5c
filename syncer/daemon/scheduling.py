"""The daemon's APScheduler: one job per source, one for housekeeping, and reloads.

Each source's job fires on its schedule (``schedules.trigger``: jitter and misfire
grace scaled to the period) and calls the run function with the source's name;
``run_on_start`` also fires it at once. A reload replaces the jobs of sources whose
schedule changed, adds new sources (as starting now) and removes the ones gone.
``shift`` moves a source's next fire to a later moment (its phase: an interval trigger
counts from its last fire). ``run_now`` adds a one-off job that runs a source at once,
forced (a trigger): a job of its own, so the schedule's phase stays as it was. A
source with ``quick_check:`` has one more job, its quick check (``quick_checks``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from syncer.config.schedule import period
from syncer.config.settings import Settings, SourceSettings
from syncer.daemon import quick_checks, schedules

HOUSEKEEPING = "__housekeeping__"  # source names cannot start with "_"
NOW = "!now"  # suffix of one-off jobs' ids; source names cannot hold "!"
QUICK = "!quick"  # suffix of quick-check jobs' ids
# Threads for runs; APScheduler queues runs beyond this (they are not skipped).
MAX_CONCURRENT_RUNS = 32


class Schedules:
    """The scheduler and its jobs; ``run(name)`` is what a source's job calls."""

    def __init__(
        self,
        run: Callable[[str], None],
        housekeeping: Callable[[], None],
        *,
        clock: Callable[[], datetime],
        on_skip: Callable[[str, str], None],
        quick_check: Callable[[str], None] = lambda _name: None,
    ) -> None:
        self._run = run
        self._quick_check = quick_check
        self._housekeeping = housekeeping
        self._clock = clock
        self._on_skip = on_skip
        self.starting: set[str] = set()  # sources whose next run is their run_on_start one
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=MAX_CONCURRENT_RUNS)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self.scheduler.add_listener(self._skipped, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)

    def start(self, settings: Settings) -> None:
        for source in settings.sources:
            self.add(source, first=True)
        self.add_housekeeping(settings)
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=False)

    def add(self, source: SourceSettings, *, first: bool) -> None:
        next_run: dict[str, datetime] = {}
        if first and source.run_on_start:
            next_run["next_run_time"] = self._clock()
            self.starting.add(source.name)
        self.scheduler.add_job(
            self._run,
            schedules.trigger(source.schedule),
            args=[source.name],
            id=source.name,
            name=f"sync {source.name}",
            misfire_grace_time=schedules.misfire_grace(source.schedule),
            coalesce=True,
            max_instances=1,
            replace_existing=True,
            **next_run,
        )
        self._add_quick_check(source)

    def _add_quick_check(self, source: SourceSettings) -> None:
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(source.name + QUICK)
        every = quick_checks.period(source)
        if every is None:
            return
        self.scheduler.add_job(
            self._quick_check,
            IntervalTrigger(seconds=every.total_seconds(), timezone="UTC"),
            args=[source.name],
            id=source.name + QUICK,
            name=f"quick check {source.name}",
            misfire_grace_time=max(1, int(every.total_seconds())),
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )

    def add_housekeeping(self, settings: Settings) -> None:
        shortest = min((period(s.schedule) for s in settings.sources), default=None)
        seconds = 30.0 if shortest is None else min(30.0, max(1.0, shortest.total_seconds() / 2))
        self.scheduler.add_job(
            self._housekeeping,
            IntervalTrigger(seconds=seconds, timezone="UTC"),
            id=HOUSEKEEPING,
            name="staleness and gauges",
            replace_existing=True,
            next_run_time=self._clock(),
        )

    def reschedule(self, old: Settings, new: Settings) -> set[str]:
        """Make the jobs those of ``new``; the names of sources that left the config."""
        before = {s.name: s for s in old.sources}
        after = {s.name: s for s in new.sources}
        gone = before.keys() - after.keys()
        for name in gone:
            for job in (name, name + QUICK):
                with contextlib.suppress(JobLookupError):
                    self.scheduler.remove_job(job)
        for name, source in after.items():
            if name not in before or before[name].schedule != source.schedule:
                # A source new to this config counts as starting now (run_on_start).
                self.add(source, first=name not in before)
            else:
                self._add_quick_check(source)
        self.add_housekeeping(new)
        return set(gone)

    def run_now(self, name: str, delay: float = 0.0) -> None:
        """Run ``name`` once, forced, at once or ``delay`` seconds from now (a second
        request while one is queued is one run)."""
        self.scheduler.add_job(
            self._run,
            args=[name],
            kwargs={"forced": True},
            id=name + NOW,
            name=f"sync {name} now",
            next_run_time=self._clock() + timedelta(seconds=delay),
            misfire_grace_time=60,
            replace_existing=True,
        )

    def shift(self, name: str, when: datetime) -> None:
        """Fire ``name`` next at ``when`` (and on from there, for an interval)."""
        with contextlib.suppress(JobLookupError):
            self.scheduler.modify_job(name, next_run_time=when)

    def next_runs(self, settings: Settings) -> dict[str, datetime | None]:
        next_runs: dict[str, datetime | None] = {}
        for source in settings.sources:
            job = self.scheduler.get_job(source.name)
            next_runs[source.name] = job.next_run_time if job is not None else None
        return next_runs

    def _skipped(self, event: JobExecutionEvent) -> None:
        if event.job_id != HOUSEKEEPING and not event.job_id.endswith(QUICK):
            name = event.job_id.removesuffix(NOW)
            self._on_skip(name, "missed" if event.code == EVENT_JOB_MISSED else "running")
