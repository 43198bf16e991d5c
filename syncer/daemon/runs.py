"""The daemon's runs: what a source's scheduled job does, and stopping them.

A job runs ``syncer.run.sync_source`` with a stop event and counts the result in the
metrics. The run holds its source's lock (``syncer.store.locks``) as every run that
writes does, which keeps one replica per source: a source that another replica (or a
one-shot ``syncer sync``) holds is skipped, as is one that another replica just synced,
and this replica's next run of it moves to a random point of the period: replicas
started together otherwise fire in lockstep, and the one just behind never runs. A
forced run ("sync now" on the status page, a webhook, ``syncer trigger``) skips that
"synced just now" check, nothing else.

A trigger never starts a second run of a source that is running: ``trigger`` marks it
due again, and the run, once it ends, starts one more. Across replicas the store's
trigger serials do the same (``syncer.store.triggers``): a run notes the serial it began
at, and one that ends behind the serial is followed by one more run, so a burst of
triggers costs at most two runs. A run that finds the source locked gives back the
triggers it began (``rewind``) and tries again ``LOCKED_RETRY_S`` later if they are
still unserved then: a one-shot ``syncer sync`` serves none, another replica's run
serves them when it ends (it finds them pending). Each finished run's report goes to
``on_report`` (alerts). ``stop_all`` sets every run's stop event (documents in flight
finish and are recorded) and ``wait`` waits for them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from syncer.config.schedule import period
from syncer.config.settings import SourceSettings
from syncer.daemon.clients import ClientPool, Runtime
from syncer.daemon.metrics import Metrics
from syncer.errors import StoreError
from syncer.intercom.publisher import IntercomPublisher
from syncer.run import NoProgress, Options, SourceReport, sync_source
from syncer.store import Begun, Store

# A scheduled run is skipped when the source succeeded less than this share of its
# period ago: with several replicas each firing every source, that leaves one run per
# period instead of one per replica.
RECENT_FRACTION = 0.5
POLL_S = 0.2
# A triggered run that found the source's lock held (another replica's run, a one-shot
# `syncer sync`) tries again this much later, rather than spinning on the lock or
# dropping the trigger.
LOCKED_RETRY_S = 5.0


class SourceRuns:
    """Runs of this replica's sources, one at a time per source."""

    def __init__(
        self,
        store: Store,
        clients: ClientPool,
        metrics: Metrics,
        *,
        holder: str,
        clock: Callable[[], datetime],
        random: Callable[[], float],
        shift: Callable[[str, datetime], None],
        again: Callable[[str, float], None],
        starting: set[str],
        log: structlog.typing.FilteringBoundLogger,
        on_report: Callable[[SourceReport], None] = lambda _report: None,
    ) -> None:
        self.store = store
        self.clients = clients
        self.metrics = metrics
        self.holder = holder
        self._clock = clock
        self._random = random
        self._shift_to = shift
        self._again = again  # run a source once more, forced, after a delay in seconds
        self._starting = starting  # shared with the scheduler: run_on_start runs to come
        self._log = log
        self._on_report = on_report
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._running: dict[str, threading.Event] = {}
        # Sources triggered while they ran: each gets one more run when its run ends.
        self._due: set[str] = set()
        # Sources whose triggers a run that found the lock held gave back: their next
        # forced run (the retry) goes only if those are still unserved.
        self._retrying: set[str] = set()
        self.stopping = threading.Event()

    def running(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._running)

    def trigger(self, name: str) -> str:
        """Run ``name`` now, or once more after the run under way: started or queued
        (or stopping)."""
        with self._lock:
            if self.stopping.is_set():
                return "stopping"
            if name in self._running:
                self._due.add(name)
                return "queued"
        self._again(name, 0.0)
        return "started"

    def __call__(self, name: str, forced: bool = False) -> None:
        """A source's scheduled job: run it here, unless stopping or already running.

        ``forced``: asked for now (a trigger), even if it succeeded a moment ago; one
        that finds the source running makes it due again instead.
        """
        with self._lock:
            if self.stopping.is_set():
                return
            if name in self._running:
                if forced:
                    self._due.add(name)
                return
            runtime = self.clients.take()
            source = next((s for s in runtime.settings.sources if s.name == name), None)
            if source is None:
                self.clients.give_back(runtime)
                return
            first = name in self._starting or forced
            self._starting.discard(name)
            retrying = forced and name in self._retrying
            if forced:
                self._retrying.discard(name)
            stop = threading.Event()
            self._running[name] = stop
        retry: float | None = None
        try:
            retry = self._run(runtime, source, stop, first=first, retrying=retrying)
        except StoreError as exc:  # the store is down: said once per run, no traceback
            self.metrics.runs.labels(name, "crashed").inc()
            self._log.error("run_crashed", source=name, error=str(exc))
        except Exception as exc:  # a bug: this run only, never the daemon
            self.metrics.runs.labels(name, "crashed").inc()
            self._log.exception("run_crashed", source=name, error=str(exc))
        finally:
            self.metrics.running.labels(name).set(0)
            with self._lock:
                del self._running[name]
                due = name in self._due
                self._due.discard(name)
                self._idle.notify_all()
            self.clients.give_back(runtime)
        # Triggered while it ran: the store says whether that trigger is still unserved
        # (it was counted there before it was marked due here).
        if retry is None and due and self._pending(name):
            retry = 0.0
        if retry is not None and not self.stopping.is_set():
            self._again(name, retry)

    def stop_all(self) -> list[str]:
        """Stop scheduling runs, and every run between its documents; those still going."""
        with self._lock:
            self.stopping.set()
            for stop in self._running.values():
                stop.set()
            return sorted(self._running)

    def wait(self, grace: float, hurry: Callable[[], bool]) -> list[str]:
        """Wait up to ``grace`` seconds for the runs to end; the sources still running."""
        deadline = time.monotonic() + grace
        with self._lock:
            while self._running and not hurry():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._idle.wait(min(remaining, POLL_S))
            return sorted(self._running)

    def _run(
        self,
        runtime: Runtime,
        source: SourceSettings,
        stop: threading.Event,
        *,
        first: bool,
        retrying: bool,
    ) -> float | None:
        """Run ``source`` here; when to run it again (seconds), if at all."""
        name = source.name
        if retrying and not self._pending(name):
            return None  # the run that held the source served its triggers
        if not first and self._synced_recently(source):
            self.metrics.skipped.labels(name, "recent").inc()
            self._shift(source)
            return None
        if stop.is_set():
            return None
        begun = self.store.triggers.begin(name)
        since = self.store.runs.last_success_starts().get(name)
        self.metrics.running.labels(name).set(1)
        try:
            report = self._sync(runtime, source, stop)
        except Exception:
            self._finish_crashed(name, begun)
            raise
        return self._ended(source, begun, report, since)

    def _sync(
        self, runtime: Runtime, source: SourceSettings, stop: threading.Event
    ) -> SourceReport:
        name = source.name
        publisher = IntercomPublisher(
            runtime.client, concurrency=runtime.settings.intercom.concurrency
        )
        return sync_source(
            source,
            self.store,
            publisher,
            Options(),
            cache_dir=runtime.settings.cache_dir / name,
            clock=self._clock,
            progress=NoProgress(),
            stop=stop,
            holder=self.holder,
            siblings=[s.name for s in runtime.settings.sources if s.name != name],
        )

    def _ended(
        self, source: SourceSettings, begun: Begun, report: SourceReport, since: datetime | None
    ) -> float | None:
        name = source.name
        if report.status == "skipped":  # the source's lock: another run holds it
            self.metrics.skipped.labels(name, "locked").inc()
            self._log.info("run_skipped", source=name, reason="locked")
            self._shift(source)
            if begun.serial > begun.previous:  # its triggers are still to be served
                self.store.triggers.rewind(name, begun)
                with self._lock:
                    self._retrying.add(name)
                return LOCKED_RETRY_S
            return None
        self.metrics.observe(report)
        if report.status == "succeeded":
            self.metrics.last_success.labels(name).set(self._clock().timestamp())
        again = self._served(name, begun, report, since)
        self._on_report(report)
        return again

    def _finish_crashed(self, name: str, begun: Begun) -> None:
        finish_crashed(self.store, name, begun, at=self._clock())

    def _pending(self, name: str) -> bool:
        try:
            row = self.store.triggers.get(name)
        except StoreError:
            return True  # better a run too many than a change missed
        return row is not None and row.pending

    def _served(
        self, name: str, begun: Begun, report: SourceReport, since: datetime | None
    ) -> float | None:
        """Record what the run served (``record_served``); 0 when a trigger came after
        it began."""
        served = record_served(self.store, name, begun, report, since, now=self._clock())
        for seconds in served.freshness:
            self.metrics.freshness.labels(name).observe(seconds)
        if served.fresh is not None:
            self._log.info("source_freshness", source=name, seconds=round(served.fresh, 3))
        return 0.0 if self._pending(name) else None

    def _shift(self, source: SourceSettings) -> None:
        """Move this replica's next run of ``source`` to a random point of its period.

        Each skip re-draws this replica's phase (an interval trigger counts from its
        last fire), so the replicas spread over the period and share the work.
        """
        interval = source.schedule.interval
        if interval is None:  # cron fires at set times: every replica's are the same anyway
            return
        offset = timedelta(seconds=self._random() * interval.total_seconds())
        self._shift_to(source.name, self._clock() + offset)

    def _synced_recently(self, source: SourceSettings) -> bool:
        last = self.store.runs.last_successes().get(source.name)
        recent = period(source.schedule) * RECENT_FRACTION
        return last is not None and self._clock() - last < recent


# -- what any run of a source records, in the daemon or in a worker (``syncer.engine``) --


@dataclass(frozen=True, slots=True)
class Served:
    """What a finished run served: ``freshness``, one observation (seconds) per page
    written, from its change; ``fresh``, from the served trigger's change to the run's
    end (None when it wrote nothing or no trigger came)."""

    freshness: tuple[float, ...]
    fresh: float | None


def record_served(
    store: Store,
    name: str,
    begun: Begun,
    report: SourceReport,
    since: datetime | None,
    *,
    now: datetime,
) -> Served:
    """Record in the store the trigger serial a finished run served, and how it ended.

    Freshness is measured from each written page's change in the source
    (``SourceReport.changes``), but for changes older than ``since``, the start of the
    last run that succeeded before this one: that run delivered them, so a page written
    again now was written for syncer's reasons (a new converter, a page edited in
    Intercom), not the source's. A run that dates no change is measured from the
    trigger it served.
    """
    counts = report.counts
    # Whole seconds: a git commit time has no fraction.
    changes = [c for c in report.changes if since is None or c >= since.replace(microsecond=0)]
    fresh = store.triggers.finish(
        name,
        begun,
        at=now,
        status=report.status,
        exit_code=report.exit_code,
        wrote=bool(counts.created or counts.updated or counts.deleted),
        changed_at=max(changes, default=None),
    )
    if changes:  # each page written, from its own change (the source's time)
        return Served(tuple(max(0.0, (now - c).total_seconds()) for c in changes), fresh)
    return Served(() if fresh is None else (fresh,), fresh)


def finish_crashed(store: Store, name: str, begun: Begun, *, at: datetime) -> None:
    """Record that a run which raised ended: ``syncer trigger --wait`` learns it (exit 1)
    rather than waiting on."""
    with contextlib.suppress(StoreError):
        store.triggers.finish(name, begun, at=at, status="crashed", exit_code=1, wrote=False)
