"""The long-running mode: one scheduled job per source, leases, the HTTP endpoint, signals.

``serve`` is ``syncer daemon``: it loads the config, opens (or migrates) the store, then
runs a ``Daemon`` until SIGTERM or SIGINT. Each source's job claims the source's lease,
runs ``syncer.run.sync_source`` with a stop event, and counts the result in the
metrics; sources run on their own threads, so one slow or failing source never holds
up another. SIGHUP reloads the config: a valid one replaces the schedules, an invalid
one is logged and the old one kept. Shutdown stops scheduling, sets every run's stop
event (documents in flight finish and are recorded, the run is ``interrupted``), waits
up to ``daemon.shutdown_grace_seconds``, releases the leases and exits 0.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import prometheus_client
import structlog
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from syncer.config import loader
from syncer.config.schedule import period
from syncer.config.settings import Settings, SourceSettings
from syncer.daemon import schedules
from syncer.daemon.http import Endpoint, Reply, json_reply
from syncer.daemon.leases import Leases, replica_id
from syncer.daemon.metrics import CONTENT_TYPE, Metrics
from syncer.daemon.status import is_stale, source_rows, stale_after
from syncer.errors import ConfigError, StoreError, SyncerError, UsageError
from syncer.intercom.client import IntercomClient
from syncer.intercom.publisher import IntercomPublisher
from syncer.intercom.transport import Stats
from syncer.redact import Redactor
from syncer.run import NoProgress, Options, sync_source
from syncer.store import Store, migrate
from syncer.store import engine as engines

Clock = Callable[[], datetime]
HOUSEKEEPING = "__housekeeping__"  # source names cannot start with "_"
# Threads for runs; APScheduler queues runs beyond this (they are not skipped).
MAX_CONCURRENT_RUNS = 32
# A scheduled run is skipped when the source succeeded less than this share of its
# period ago: with several replicas each firing every source, that leaves one run per
# period instead of one per replica.
RECENT_FRACTION = 0.5
SIGNAL_POLL_S = 0.2


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Runtime:
    """What one loaded config gives the runs: its settings and its Intercom client."""

    settings: Settings
    client: IntercomClient
    users: int = 0
    retired: bool = False  # a reload replaced the client: close it when users hit 0


@dataclass
class _Totals:
    """Intercom stats of clients already closed, so the counters never go back."""

    closed: Stats = field(default_factory=Stats)
    live: list[IntercomClient] = field(default_factory=list)


class Daemon:
    """Schedules, leases, metrics and the endpoint around one store; see the module doc."""

    def __init__(
        self,
        config_path: Path,
        settings: Settings,
        store: Store,
        client: IntercomClient,
        *,
        holder: str | None = None,
        clock: Clock = _utcnow,
        on_settings: Callable[[Settings], None] = lambda _settings: None,
        random: Callable[[], float] | None = None,
    ) -> None:
        self.config_path = config_path
        self._on_settings = on_settings
        self._random = random or secrets.SystemRandom().random
        self.store = store
        self.holder = holder or replica_id()
        self._clock = clock
        self.started_at = clock()
        self._runtime = _Runtime(settings, client)
        self._totals = _Totals(live=[client])
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._running: dict[str, threading.Event] = {}
        self._pending_start: set[str] = set()
        self._stale: set[str] = set()
        self._stopping = threading.Event()
        self.log = structlog.get_logger("syncer.daemon").bind(replica=self.holder)
        self.metrics = Metrics(self._intercom_totals)
        self.leases = Leases(
            store,
            self.holder,
            timedelta(seconds=settings.daemon.lease_seconds),
            on_lost=lambda source: self.metrics.leases_lost.labels(source).inc(),
        )
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=MAX_CONCURRENT_RUNS)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self.scheduler.add_listener(self._on_skip, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self.endpoint = Endpoint(
            settings.daemon.host,
            settings.daemon.port,
            {
                "/healthz": self._healthz,
                "/readyz": self._readyz,
                "/metrics": self._metrics,
                "/status": self._status,
            },
        )

    @property
    def settings(self) -> Settings:
        return self._runtime.settings

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Serve the endpoint, schedule every source, start renewing leases."""
        self.endpoint.start()
        self.log.info(
            "http_listening",
            host=self.settings.daemon.host,
            port=self.endpoint.port,
            paths=["/healthz", "/readyz", "/metrics", "/status"],
        )
        for source in self.settings.sources:
            self._schedule(source, first=True)
        self._schedule_housekeeping()
        self.leases.start()
        self.scheduler.start()
        self.metrics.ready.set(1)
        self.log.info(
            "daemon_started",
            sources=[s.name for s in self.settings.sources],
            store=engines.safe_url(self.settings.store.url),
            pid=os.getpid(),
        )

    def shutdown(self, grace: float, *, hurry: Callable[[], bool] = lambda: False) -> bool:
        """Stop scheduling, stop runs between documents, wait up to ``grace`` seconds.

        Returns True when every run finished; False when some were still going (their
        runs are recorded as interrupted and their leases released all the same). A
        true ``hurry()`` (a second signal) cuts the wait short.
        """
        with self._lock:
            self._stopping.set()
            running = sorted(self._running)
            for stop in self._running.values():
                stop.set()
        self.metrics.ready.set(0)
        self.log.info("daemon_stopping", running=running, grace_s=grace)
        self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + grace
        with self._lock:
            while self._running and not hurry():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._idle.wait(min(remaining, SIGNAL_POLL_S))
            left = sorted(self._running)
        held = set(self.leases.held())
        self.leases.close()
        # Only runs under this replica's leases: one still claiming may be waiting on a
        # lease another replica holds, and that replica's run is none of ours.
        for name in sorted(held.intersection(left)):
            try:
                self.store.interrupt_abandoned_runs(
                    name, self._clock(), "interrupted: the shutdown grace period ran out"
                )
                self.store.release_lease(name, self.holder)
            except StoreError as exc:
                self.log.warning("shutdown_cleanup_failed", source=name, error=str(exc))
        if left:
            self.log.warning("shutdown_grace_expired", sources=left, grace_s=grace)
        self.endpoint.close()
        return not left

    def reload(self) -> bool:
        """Re-read the config: replace the schedules if it is valid, else keep the old."""
        try:
            new = loader.load(self.config_path, check_environment=False)
        except ConfigError as exc:
            self.metrics.reloads.labels("failed").inc()
            self.log.error(
                "config_reload_failed",
                problems=[str(p) for p in exc.problems],
                kept=[s.name for s in self.settings.sources],
            )
            return False
        self._on_settings(new)
        old = self._runtime
        client = old.client
        if new.intercom != old.settings.intercom:
            try:
                client = IntercomClient.from_settings(new.intercom)
            except SyncerError as exc:
                self.metrics.reloads.labels("failed").inc()
                self.log.error("config_reload_failed", problems=[str(exc)])
                return False
        needs_restart = [
            key
            for key, before, after in (
                ("store.url", old.settings.store.url, new.store.url),
                ("daemon.host", old.settings.daemon.host, new.daemon.host),
                ("daemon.port", old.settings.daemon.port, new.daemon.port),
                (
                    "daemon.lease_seconds",
                    old.settings.daemon.lease_seconds,
                    new.daemon.lease_seconds,
                ),
            )
            if before != after
        ]
        if needs_restart:
            self.log.warning("config_reload_needs_restart", keys=needs_restart)
        with self._lock:
            self._runtime = _Runtime(new, client)
            if client is not old.client:
                self._totals.live.append(client)
                old.retired = True
                self._close_if_retired(old)
        self._reschedule(old.settings, new)
        self.metrics.reloads.labels("ok").inc()
        self.log.info("config_reloaded", sources=[s.name for s in new.sources])
        return True

    # -- scheduling ---------------------------------------------------------------------

    def _schedule(self, source: SourceSettings, *, first: bool) -> None:
        next_run: dict[str, datetime] = {}
        if first and source.run_on_start:
            next_run["next_run_time"] = self._clock()
            with self._lock:
                self._pending_start.add(source.name)
        self.scheduler.add_job(
            self._run_job,
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

    def _schedule_housekeeping(self) -> None:
        shortest = min((period(s.schedule) for s in self.settings.sources), default=None)
        seconds = 30.0 if shortest is None else min(30.0, max(1.0, shortest.total_seconds() / 2))
        self.scheduler.add_job(
            self.housekeeping,
            IntervalTrigger(seconds=seconds, timezone="UTC"),
            id=HOUSEKEEPING,
            name="staleness and gauges",
            replace_existing=True,
            next_run_time=self._clock(),
        )

    def _reschedule(self, old: Settings, new: Settings) -> None:
        before = {s.name: s for s in old.sources}
        after = {s.name: s for s in new.sources}
        for name in before.keys() - after.keys():
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(name)
        self.metrics.forget_sources(before.keys() - after.keys())
        for name, source in after.items():
            if name not in before or before[name].schedule != source.schedule:
                # A source new to this config counts as starting now (run_on_start).
                self._schedule(source, first=name not in before)
        self._schedule_housekeeping()

    def _on_skip(self, event: JobExecutionEvent) -> None:
        if event.job_id == HOUSEKEEPING:
            return
        reason = "missed" if event.code == EVENT_JOB_MISSED else "running"
        self.metrics.skipped.labels(event.job_id, reason).inc()
        self.log.info("run_skipped", source=event.job_id, reason=reason)

    # -- one run --------------------------------------------------------------------------

    def _run_job(self, name: str) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            runtime = self._runtime
            source = next((s for s in runtime.settings.sources if s.name == name), None)
            if source is None or name in self._running:
                return
            first = name in self._pending_start
            self._pending_start.discard(name)
            stop = threading.Event()
            self._running[name] = stop
            runtime.users += 1
        try:
            self._run_leased(runtime, source, stop, first=first)
        except StoreError as exc:  # the store is down: said once per run, no traceback
            self.metrics.runs.labels(name, "crashed").inc()
            self.log.error("run_crashed", source=name, error=str(exc))
        except Exception as exc:  # a bug: this run only, never the daemon
            self.metrics.runs.labels(name, "crashed").inc()
            self.log.exception("run_crashed", source=name, error=str(exc))
        finally:
            self.metrics.running.labels(name).set(0)
            with self._lock:
                del self._running[name]
                runtime.users -= 1
                self._close_if_retired(runtime)
                self._idle.notify_all()

    def _run_leased(
        self, runtime: _Runtime, source: SourceSettings, stop: threading.Event, *, first: bool
    ) -> None:
        name = source.name
        if not first and self._synced_recently(source):
            self.metrics.skipped.labels(name, "recent").inc()
            self._shift(source)
            return
        with self.leases.claim(name, stop) as held:
            if not held:
                self.metrics.skipped.labels(name, "leased").inc()
                self.log.debug("run_skipped", source=name, reason="leased")
                self._shift(source)
                return
            if stop.is_set():
                return
            self.metrics.running.labels(name).set(1)
            publisher = IntercomPublisher(
                runtime.client, concurrency=runtime.settings.intercom.concurrency
            )
            report = sync_source(
                source,
                self.store,
                publisher,
                Options(),
                cache_dir=runtime.settings.cache_dir / name,
                clock=self._clock,
                progress=NoProgress(),
                stop=stop,
                holder=self.holder,
                # A replica paused past its lease sends nothing more once it wakes, even
                # before the renewer notices: the lease is checked before every write.
                fence=lambda: self.leases.valid(name),
                siblings=[s.name for s in runtime.settings.sources if s.name != name],
            )
        if report.status == "skipped":  # the source's lock: a one-shot run holds it
            self.metrics.skipped.labels(name, "locked").inc()
            self.log.info("run_skipped", source=name, reason="locked")
            return
        self.metrics.observe(report)
        if report.status == "succeeded":
            self.metrics.last_success.labels(name).set(self._clock().timestamp())

    def _shift(self, source: SourceSettings) -> None:
        """Move this replica's next run of ``source`` to a random point of its period.

        Replicas started together fire every source in lockstep; the one just behind
        would then always find it leased or just synced and never run it. Each skip
        re-draws this replica's phase (an interval trigger counts from its last fire),
        so the replicas spread over the period and share the work.
        """
        interval = source.schedule.interval
        if interval is None:  # cron fires at set times: every replica's are the same anyway
            return
        offset = timedelta(seconds=self._random() * interval.total_seconds())
        with contextlib.suppress(JobLookupError):
            self.scheduler.modify_job(source.name, next_run_time=self._clock() + offset)

    def _synced_recently(self, source: SourceSettings) -> bool:
        last = self.store.last_successes().get(source.name)
        recent = period(source.schedule) * RECENT_FRACTION
        return last is not None and self._clock() - last < recent

    def _close_if_retired(self, runtime: _Runtime) -> None:
        # Called with self._lock held.
        if not runtime.retired or runtime.users:
            return
        runtime.client.close()
        self._totals.closed.add(runtime.client.transport.stats)
        self._totals.live.remove(runtime.client)
        runtime.retired = False

    def _intercom_totals(self) -> Stats:
        with self._lock:
            total = Stats()
            total.add(self._totals.closed)
            for client in self._totals.live:
                total.add(client.transport.stats)
        return total

    # -- staleness and gauges ---------------------------------------------------------------

    def housekeeping(self) -> None:
        """Refresh last-success, staleness and next-run gauges; warn of newly stale sources."""
        settings = self.settings
        try:
            successes = self.store.last_successes()
        except StoreError as exc:
            self.log.warning("store_unreachable", error=str(exc))
            return
        now = self._clock()
        for source in settings.sources:
            name = source.name
            success = successes.get(name)
            if success is not None:
                self.metrics.last_success.labels(name).set(success.timestamp())
            limit = stale_after(source, settings)
            stale = is_stale(success, since=self.started_at, now=now, limit=limit)
            self.metrics.stale.labels(name).set(1 if stale else 0)
            if stale and name not in self._stale:
                self._stale.add(name)
                self.log.warning(
                    "source_stale",
                    source=name,
                    last_success_at=success.isoformat() if success else None,
                    stale_after_s=limit.total_seconds(),
                )
            elif not stale and name in self._stale:
                self._stale.discard(name)
                self.log.info("source_fresh", source=name)
        self._next_run_gauges()

    def _next_runs(self) -> dict[str, datetime | None]:
        next_runs: dict[str, datetime | None] = {}
        for source in self.settings.sources:
            job = self.scheduler.get_job(source.name)
            next_runs[source.name] = job.next_run_time if job is not None else None
        return next_runs

    def _next_run_gauges(self) -> None:
        for name, at in self._next_runs().items():
            if at is not None:
                self.metrics.next_run.labels(name).set(at.timestamp())

    # -- HTTP routes ----------------------------------------------------------------------

    def _healthz(self) -> Reply:
        return json_reply(200, {"status": "alive", "replica": self.holder})

    def _readyz(self) -> Reply:
        if self._stopping.is_set():
            return json_reply(503, {"ready": False, "reason": "shutting down"})
        try:
            self.store.ping()
        except StoreError as exc:
            self.metrics.ready.set(0)
            return json_reply(503, {"ready": False, "reason": str(exc)})
        self.metrics.ready.set(1)
        return json_reply(
            200,
            {"ready": True, "config": str(self.config_path), "sources": len(self.settings.sources)},
        )

    def _metrics(self) -> Reply:
        self._next_run_gauges()
        return 200, CONTENT_TYPE, self.metrics.exposition()

    def _status(self) -> Reply:
        settings = self.settings
        try:
            last_runs = {run.source: run for run in self.store.last_runs()}
            successes = self.store.last_successes()
            leases = self.store.leases()
        except StoreError as exc:
            return json_reply(503, {"error": str(exc)})
        with self._lock:
            running = set(self._running)
        rows = source_rows(
            settings,
            now=self._clock(),
            since=self.started_at,
            last_runs=last_runs,
            last_successes=successes,
            leases=leases,
            next_runs=self._next_runs(),
            running=running,
        )
        return json_reply(
            200,
            {
                "replica": self.holder,
                "started_at": self.started_at.isoformat(),
                "config": str(self.config_path),
                "store": engines.safe_url(settings.store.url),
                "stopping": self._stopping.is_set(),
                "sources": rows,
            },
        )


# -- the command ---------------------------------------------------------------------------


def serve(
    config_path: Path,
    *,
    migrate_store: bool = False,
    on_settings: Callable[[Settings], None] = lambda _settings: None,
) -> int:
    """``syncer daemon``: run until SIGTERM/SIGINT; exit 0 after a graceful stop.

    ``on_settings`` is called with every config loaded, at start and on each reload (the
    command line gives the secrets in it to its redacting outputs and logs).
    """
    log = structlog.get_logger("syncer.daemon")
    settings = loader.load(config_path, check_environment=False)
    on_settings(settings)
    url = settings.store.url
    if engines.parse_url(url).get_backend_name() == "sqlite":
        log.warning(
            "sqlite_single_replica",
            detail="a SQLite store serves one daemon replica; use Postgres for several",
        )
    # What the store keeps is scrubbed of every secret of every config loaded since.
    secrets = [Redactor.from_settings(settings)]

    def remember(new: Settings) -> None:
        on_settings(new)
        secrets[0] = secrets[0] | Redactor.from_settings(new)

    store = _open_store(
        url, migrate_store=migrate_store, redact=lambda text: secrets[0].redact(text)
    )
    try:
        client = IntercomClient.from_settings(settings.intercom)
    except BaseException:
        store.close()
        raise
    _quiet_apscheduler()
    # The *_created series double every counter's lines and say nothing a scrape needs.
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
    try:
        daemon = Daemon(config_path, settings, store, client, on_settings=remember)
    except OSError as exc:
        store.close()
        client.close()
        where = f"{settings.daemon.host}:{settings.daemon.port}"
        raise UsageError(
            f"cannot listen on {where} (daemon.host/daemon.port): {exc.strerror or exc}"
        ) from None
    received: deque[int] = deque()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)  # deque.append is atomic: safe in a handler, no lock

    for handled in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(handled, on_signal)
    daemon.start()
    stop_signal: str | None = None
    while stop_signal is None:
        time.sleep(SIGNAL_POLL_S)
        while received:
            signum = received.popleft()
            if signum == signal.SIGHUP:
                daemon.log.info("config_reload_requested", config=str(config_path))
                daemon.reload()
            else:
                stop_signal = signal.Signals(signum).name
                break
    daemon.log.info("signal_received", signal=stop_signal)
    clean = daemon.shutdown(
        daemon.settings.daemon.shutdown_grace_seconds,
        hurry=lambda: any(s != signal.SIGHUP for s in received),
    )
    daemon.log.info("daemon_stopped", clean=clean)
    if not clean:
        # Runs still going hold threads that would keep the interpreter alive; their
        # runs are recorded as interrupted and their leases released already.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    store.close()
    client.close()
    return 0


def _open_store(
    url: str, *, migrate_store: bool, redact: Callable[[str], str] | None = None
) -> Store:
    try:
        return Store.open(url, migrate=migrate_store, redact=redact)
    except StoreError as exc:
        revision = exc.context.get("revision", "-")
        behind = "head" in exc.context and (
            revision is None or revision in migrate.known_revisions()
        )
        if not behind:
            raise
        raise StoreError(
            f"{exc.message} (or start the daemon with --migrate); the daemon does not start "
            "on a store whose schema is behind",
            **exc.context,
        ) from None


def _quiet_apscheduler() -> None:
    # APScheduler logs through stdlib logging; its skips come out as structlog events
    # (run_skipped) instead, and job errors are caught and logged by the job itself.
    import logging

    logging.getLogger("apscheduler").setLevel(logging.ERROR)
