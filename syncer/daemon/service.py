"""The long-running mode: ``serve`` (``syncer daemon``) and the ``Daemon`` it runs.

``serve`` loads the config, opens the store (migrating it first with ``--migrate``, and
always when it is a SQLite file: a store of this one process, created on first start),
then runs a ``Daemon`` until SIGTERM or SIGINT. The daemon is its parts, each in a
module of its own: ``runs`` (a source's scheduled job: ``syncer.run.sync_source`` under
the source's lock, the metrics; sources run on their own threads, so one slow or
failing source never holds up another), ``scheduling``, ``housekeeping``,
``alerting`` (webhooks on a change of a source's health), ``routes`` (the status page
and the JSON endpoints), ``hooks`` (inbound push and page webhooks, which trigger a
source through ``Daemon.trigger``, as "sync now", ``syncer trigger`` and
``quick_checks``, a source's cheap question between scheduled runs, do), and
``clients``. SIGHUP reloads the config: a valid one replaces the schedules, an invalid
one is logged and the old one kept; either way the store remembers the reload, so
every replica's page shows a failed one. Shutdown stops scheduling, sets every run's
stop event (documents in flight finish and are recorded, the run is ``interrupted``),
waits up to ``daemon.shutdown_grace_seconds`` and exits 0 (a run still going then is
recorded ``interrupted``, and its source lock goes with the process).

With ``daemon.engine: procrastinate`` (Postgres) the daemon schedules but does not run:
each source's job, and each trigger, defers a job (``syncer.engine.deferring``) that a
``syncer worker`` runs; the status page, webhooks, housekeeping and alerts on
staleness stay here.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import prometheus_client
import structlog

from syncer.config import loader
from syncer.config.settings import Settings
from syncer.daemon.alerting import Alerting
from syncer.daemon.clients import ClientPool
from syncer.daemon.hooks import Hooks
from syncer.daemon.housekeeping import Housekeeping
from syncer.daemon.http import Endpoint
from syncer.daemon.metrics import Metrics
from syncer.daemon.quick_checks import QuickChecks
from syncer.daemon.routes import Routes
from syncer.daemon.runs import SourceRuns
from syncer.daemon.scheduling import Schedules
from syncer.daemon.triggers import Triggered
from syncer.errors import ConfigError, StoreError, SyncerError, UsageError
from syncer.intercom.client import IntercomClient
from syncer.redact import Redactor
from syncer.store import Store, migrate
from syncer.store import engine as engines
from syncer.store.locks import process_holder

if TYPE_CHECKING:
    from syncer.engine.budget import BudgetShare
    from syncer.engine.deferring import Deferrer

Clock = Callable[[], datetime]
SIGNAL_POLL_S = 0.2


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Daemon:
    """One replica: its parts, started, reloaded and stopped together.

    ``clients`` (the Intercom client of the current config), ``runs`` (what a source's
    job does), ``schedules`` (APScheduler), ``housekeeping`` (gauges and staleness),
    ``alerting`` (webhooks) and ``routes`` (the HTTP endpoint). ``redactor`` gives the
    secrets of every config loaded so far.
    """

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
        redactor: Callable[[], Redactor] | None = None,
    ) -> None:
        self.config_path = config_path
        self.store = store
        # The replica's name on its source locks, reloads and budget share.
        self.holder = holder or process_holder("daemon")
        self._clock = clock
        self._on_settings = on_settings
        self.started_at = clock()
        self.log = structlog.get_logger("syncer.daemon").bind(replica=self.holder)
        self.clients = ClientPool(settings, client)
        # Replicas running their sources on one Postgres store share the app's window.
        self.budget = _budget_share(settings, client, self.holder)
        self.metrics = Metrics(self.clients.totals)
        known = Redactor.from_settings(settings)
        self.redactor = redactor or (lambda: known)
        self.alerting = Alerting(
            store,
            settings,
            holder=self.holder,
            clock=clock,
            redactor=self.redactor,
            on_result=lambda target, kind, result: self.metrics.alerts.labels(
                target, kind, result
            ).inc(),
            log=self.log,
        )
        starting: set[str] = set()
        # procrastinate: the sources' jobs are deferred for workers, not run here.
        self.engine: Deferrer | None = None
        if settings.daemon.engine == "procrastinate":
            from syncer.engine.deferring import Deferrer

            self.engine = Deferrer(
                settings.store.url,
                holder=self.holder,
                source=lambda name: next(
                    (s for s in self.settings.sources if s.name == name), None
                ),
                starting=starting,
                clock=clock,
            )
        self.runs = SourceRuns(
            store,
            self.clients,
            self.metrics,
            holder=self.holder,
            clock=clock,
            random=random or secrets.SystemRandom().random,
            shift=lambda name, when: self.schedules.shift(name, when),
            again=lambda name, delay: self.schedules.run_now(name, delay),
            starting=starting,
            log=self.log,
            on_report=self.alerting.run_finished,
        )
        self.housekeeping = Housekeeping(
            store,
            self.metrics,
            settings=lambda: self.settings,
            next_runs=lambda: self.schedules.next_runs(self.settings),
            clock=clock,
            since=self.started_at,
            log=self.log,
            on_checked=lambda name, stale, success: self.alerting.checked(
                name, stale=stale, last_success=success
            ),
        )
        self.quick_checks = QuickChecks(
            store,
            source=lambda name: next((s for s in self.settings.sources if s.name == name), None),
            cache_dir=lambda: self.settings.cache_dir,
            running=self.runs.running,
            trigger=lambda name, what: self.trigger(name, what, kind="quick check"),
            clock=clock,
            log=self.log,
        )
        self.schedules = Schedules(
            self.runs if self.engine is None else self.engine.due,
            self.housekeeping,
            clock=clock,
            on_skip=self._skipped,
            quick_check=self.quick_checks,
        )
        self.schedules.starting = starting
        self.routes = Routes(
            store,
            self.metrics,
            settings=lambda: self.settings,
            config_path=config_path,
            holder=self.holder,
            started_at=self.started_at,
            clock=clock,
            stopping=self.runs.stopping.is_set,
            running=self.runs.running,
            next_runs=lambda: self.schedules.next_runs(self.settings),
            refresh_gauges=self.housekeeping.next_run_gauges,
            sync_now=self.sync_now,
            trigger=self.trigger,
            log=self.log,
        )
        self.hooks = Hooks(settings=lambda: self.settings, trigger=self.trigger, log=self.log)
        self.endpoint = Endpoint(
            settings.daemon.host,
            settings.daemon.port,
            [*self.routes.table(), *self.hooks.table()],
        )

    @property
    def settings(self) -> Settings:
        return self.clients.current.settings

    def start(self) -> None:
        """Serve the endpoint, schedule every source (or defer them, with workers)."""
        self.endpoint.start()
        self.log.info(
            "http_listening",
            host=self.settings.daemon.host,
            port=self.endpoint.port,
            paths=self.endpoint.router.paths,
        )
        if self.engine is not None:
            self.engine.start()
        if self.budget is not None:
            self.budget.start()
        self.schedules.start(self.settings)
        self.metrics.ready.set(1)
        self.log.info(
            "daemon_started",
            sources=[s.name for s in self.settings.sources],
            store=engines.safe_url(self.settings.store.url),
            engine=self.settings.daemon.engine,
            pid=os.getpid(),
        )

    def shutdown(self, grace: float, *, hurry: Callable[[], bool] = lambda: False) -> bool:
        """Stop scheduling, stop runs between documents, wait up to ``grace`` seconds.

        Returns True when every run finished; False when some were still going (their
        runs are recorded as interrupted all the same; their source locks go with the
        process). A true ``hurry()`` (a second signal) cuts the wait short.
        """
        running = self.runs.stop_all()
        self.metrics.ready.set(0)
        self.log.info("daemon_stopping", running=running, grace_s=grace)
        self.schedules.stop()
        left = self.runs.wait(grace, hurry)
        # Only sources whose lock a run of ours holds: a run row of a source another
        # process holds is that process's.
        for name in [name for name in left if self.store.holds_lock(name)]:
            try:
                self.store.runs.interrupt_abandoned(
                    name, self._clock(), "interrupted: the shutdown grace period ran out"
                )
            except StoreError as exc:
                self.log.warning("shutdown_cleanup_failed", source=name, error=str(exc))
        if left:
            self.log.warning("shutdown_grace_expired", sources=left, grace_s=grace)
        if self.engine is not None:
            self.engine.close()
        if self.budget is not None:
            self.budget.close()
        self.endpoint.close()
        self.alerting.close()
        return not left

    def reload(self) -> bool:
        """Re-read the config: replace the schedules if it is valid, else keep the old."""
        try:
            new = loader.load(self.config_path, check_environment=False)
        except ConfigError as exc:
            self.metrics.reloads.labels("failed").inc()
            problems = [str(p) for p in exc.problems]
            self.log.error(
                "config_reload_failed",
                problems=problems,
                kept=[s.name for s in self.settings.sources],
            )
            self._remember_reload(problems)
            return False
        self._on_settings(new)
        current = self.clients.current
        client = current.client
        if new.intercom != current.settings.intercom:
            try:
                client = IntercomClient.from_settings(new.intercom)
            except SyncerError as exc:
                self.metrics.reloads.labels("failed").inc()
                self.log.error("config_reload_failed", problems=[str(exc)])
                self._remember_reload([str(exc)])
                return False
        needs_restart = [
            key
            for key, before, after in (
                ("store.url", current.settings.store.url, new.store.url),
                ("daemon.host", current.settings.daemon.host, new.daemon.host),
                ("daemon.port", current.settings.daemon.port, new.daemon.port),
                ("daemon.engine", current.settings.daemon.engine, new.daemon.engine),
            )
            if before != after
        ]
        if needs_restart:
            self.log.warning("config_reload_needs_restart", keys=needs_restart)
        old = self.clients.replace(new, client)
        if self.budget is not None and client is not old.client and new.intercom.token:
            # Runs of the old client keep the share they had; new ones take this one's.
            self.budget.follow(
                client.transport.limiter, token=new.intercom.token.get_secret_value()
            )
        self.metrics.forget_sources(self.schedules.reschedule(old.settings, new))
        self.alerting.reconfigure(new)
        self.metrics.reloads.labels("ok").inc()
        self.log.info("config_reloaded", sources=[s.name for s in new.sources])
        self._remember_reload([])
        return True

    def trigger(
        self, name: str, what: str, *, kind: str, changed_at: datetime | None = None
    ) -> Triggered:
        """Sync ``name`` now: a webhook, ``syncer trigger`` or the status page's button.

        Recorded in the store first (every replica shows it, and the replica running the
        source sees it), then started here, or queued behind the run under way. The
        outcome: started, queued, unknown (not configured), stopping or unrecorded (the
        store does not answer; nothing starts, so the sender may try again).
        """
        if self.runs.stopping.is_set():
            return Triggered("stopping")
        if name not in {s.name for s in self.settings.sources}:
            return Triggered("unknown")
        try:
            serial = self.store.triggers.record(name, self._clock(), what, changed_at=changed_at)
        except StoreError as exc:
            self.log.error("trigger_unrecorded", source=name, kind=kind, error=str(exc))
            return Triggered("unrecorded")
        outcome = self.runs.trigger(name) if self.engine is None else self.engine.trigger(name)
        self.metrics.triggers.labels(name, kind, outcome).inc()
        self.log.info("source_triggered", source=name, what=what, outcome=outcome, serial=serial)
        return Triggered(outcome, serial)

    def sync_now(self, name: str) -> str:
        """The status page's "sync now": ``trigger``'s outcome."""
        return self.trigger(name, "status page", kind="status page").outcome

    def _remember_reload(self, problems: list[str]) -> None:
        # In the store, so every replica's page shows the last reload and its problems.
        try:
            self.store.reloads.record(
                self.holder, self._clock(), ok=not problems, problems=problems
            )
        except StoreError as exc:
            self.log.warning("config_reload_unrecorded", error=str(exc))

    def _skipped(self, name: str, reason: str) -> None:
        self.metrics.skipped.labels(name, reason).inc()
        self.log.info("run_skipped", source=name, reason=reason)


# -- the command ---------------------------------------------------------------------------


def _budget_share(settings: Settings, client: IntercomClient, holder: str) -> BudgetShare | None:
    """The share of the app's window this replica sends in (``syncer.engine.budget``), on a
    Postgres store where it runs its sources; None on SQLite (one replica) and when
    workers do the sending."""
    token = settings.intercom.token
    url = settings.store.url
    if (
        settings.daemon.engine != "in_process"
        or token is None
        or engines.parse_url(url).get_backend_name() != "postgresql"
    ):
        return None
    from syncer.engine.budget import BudgetShare

    return BudgetShare(url, client.transport.limiter, token=token.get_secret_value(), holder=holder)


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
    if settings.daemon.engine == "procrastinate":
        from syncer.engine import schema

        schema.check()  # the loader refused a SQLite store already
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

    # A SQLite file is this one daemon's own (one replica): create or upgrade it on start,
    # as a one-shot `syncer sync` does. A shared Postgres store is migrated on purpose.
    embedded = engines.sqlite_path(engines.parse_url(url)) is not None
    store = _open_store(
        url, migrate_store=migrate_store or embedded, redact=lambda text: secrets[0].redact(text)
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
        daemon = Daemon(
            config_path, settings, store, client, on_settings=remember, redactor=lambda: secrets[0]
        )
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
        # runs are recorded as interrupted already, and their locks end with the process.
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
