"""The scheduler's side of the engine: a due source deferred as one job, however many
daemons schedule it.

With ``daemon.engine: procrastinate`` each source's APScheduler job calls ``Deferrer.due``
instead of running the source. Every daemon fires each source once a period, at its own
phase, so the job is deferred once per *slot*: the schedule's nominal fire time at or
before now (``slot``: the period's epoch-aligned start for ``every N``, the cron's last
fire time for a cron string). procrastinate records each (source, slot) once
(``defer_periodic_job``, the way its own periodic tasks dedupe across workers), so N
schedulers, whichever fires first, defer one job a slot. The ``queueing_lock`` adds the
other half: while one job of the source waits, no second is queued
(``AlreadyEnqueued``, which means another scheduler did it, so it is logged at debug).

A trigger (a webhook, ``syncer trigger``, "sync now", a quick check) and a
``run_on_start`` defer without a slot: ``started`` when a job was deferred (it runs
next, or right after the run under way, behind the job lock), ``queued`` when one was
already waiting (it has not begun, so it sees the change), ``unrecorded`` when the store
did not take it.

procrastinate's deferring API is asynchronous; the daemon's is threads. The Deferrer
keeps an event loop on a thread of its own, with the App's connection pool on it, and
each call waits for its coroutine there.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog
from procrastinate import exceptions

from syncer.config.schedule import Schedule, period
from syncer.config.settings import SourceSettings
from syncer.engine import app as engine_app

# How long a defer may take before the daemon gives up on it (the store's connect timeout).
DEFER_TIMEOUT_S = 15.0
_T = TypeVar("_T")


def slot(schedule: Schedule, now: datetime) -> int:
    """The schedule's nominal fire time at or before ``now``, in Unix seconds.

    An interval counts from the Unix epoch, so every daemon finds the same slots
    whatever its phase; a cron string's fire times are the same everywhere already.
    """
    if schedule.interval is not None:
        step = max(1, int(schedule.interval.total_seconds()))
        return int(now.timestamp()) // step * step
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(schedule.cron or schedule.text, timezone="UTC")
    lookback = period(schedule) * 2
    while lookback < timedelta(days=800):
        fire = trigger.get_next_fire_time(None, now - lookback)
        if fire is not None and fire <= now:
            while True:
                later = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
                if later is None or later > now:
                    return int(fire.timestamp())
                fire = later
        lookback *= 2
    return int(now.timestamp())  # a cron that never fired: a slot of its own


class Deferrer:
    """Defers sources' jobs for one daemon; ``start`` before use, ``close`` at the end."""

    def __init__(
        self,
        url: str,
        *,
        holder: str,
        source: Callable[[str], SourceSettings | None],
        starting: set[str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._app = engine_app.build(url, application_name=f"scheduler {holder}")
        self._source = source
        self._starting = starting  # shared with the scheduler: run_on_start runs to come
        self._clock = clock
        self._log = structlog.get_logger("syncer.daemon").bind(replica=holder)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="engine-deferrer", daemon=True
        )
        self._opened = False

    def start(self) -> None:
        """Start the loop and open the App's connection pool."""
        self._thread.start()
        self._wait(self._open())
        self._opened = True

    def close(self) -> None:
        if self._opened:
            try:
                self._wait(self._app.close_async())
            except Exception as exc:  # closing: nothing left to do with it
                self._log.warning("engine_close_failed", error=str(exc))
            self._opened = False
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._loop.close()

    def due(self, name: str, forced: bool = False) -> None:
        """A source's scheduled job: defer it once for this slot (``forced``, or the
        source's ``run_on_start``: once now)."""
        source = self._source(name)
        if source is None:
            return
        first = forced or name in self._starting
        self._starting.discard(name)
        at = None if first else slot(source.schedule, self._clock())
        self.defer(name, at)

    def trigger(self, name: str) -> str:
        """Defer ``name`` now: started, queued (a job of it waits already) or unrecorded."""
        outcome = self.defer(name, None)
        return {"deferred": "started", "waiting": "queued", "slot taken": "queued"}.get(
            outcome, "unrecorded"
        )

    def defer(self, name: str, at: int | None) -> str:
        """Defer one job of ``name`` for slot ``at`` (None: no slot): deferred, waiting
        (one is queued), slot taken (another scheduler deferred this slot) or failed."""
        try:
            job_id = self._wait(self._defer(name, at))
        except exceptions.AlreadyEnqueued:
            self._log.debug("job_already_queued", source=name, slot=at)
            return "waiting"
        except Exception as exc:  # the store down, a timeout: the next fire tries again
            self._log.error("job_defer_failed", source=name, slot=at, error=str(exc))
            return "failed"
        if job_id is None:
            self._log.debug("job_slot_taken", source=name, slot=at)
            return "slot taken"
        self._log.info("job_deferred", source=name, slot=at, job_id=job_id)
        return "deferred"

    async def _open(self) -> None:
        await self._app.open_async()

    async def _defer(self, name: str, at: int | None) -> int | None:
        lock = engine_app.key(name)
        if at is None:
            deferrer = self._app.configure_task(
                engine_app.TASK, lock=lock, queueing_lock=lock, allow_unknown=False
            )
            return await deferrer.defer_async(source=name)
        deferrer = self._app.configure_task(
            engine_app.TASK,
            lock=lock,
            queueing_lock=lock,
            task_kwargs={"source": name, "timestamp": at},
            allow_unknown=False,
        )
        return await self._app.job_manager.defer_periodic_job(
            job=deferrer.job, periodic_id=name, defer_timestamp=at
        )

    def _wait(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(DEFER_TIMEOUT_S)
        except TimeoutError:
            future.cancel()
            raise
