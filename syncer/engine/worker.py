"""``syncer worker``: run sources' sync jobs from the store's Postgres until SIGTERM/SIGINT.

``serve`` loads and validates the config, refuses a SQLite store (the daemon runs
everything there), checks the installed procrastinate against the store's engine schema
(``syncer.engine.schema``) and that the store is migrated, then runs procrastinate's
worker: up to ``--concurrency`` jobs at once, each a ``SourceJobs.run`` on a thread of
its own, so one slow source never holds up another.

A worker that dies (SIGKILL, a lost machine) leaves its job ``doing``. Every worker beats
a heartbeat each third of ``daemon.stalled_worker_seconds`` and, as often, looks for jobs
of workers silent longer than that (``get_stalled_jobs``, procrastinate's documented
way) and retries them, so another worker runs the source again: its source lock went
with the dead worker's connection, and the new run marks the dead one's run row
abandoned. Two workers retrying the same job at once is harmless: the second retry
fails (the job is no longer ``doing``) or, if the first retry's job was already fetched
again, the extra run finds the source lock held and ends ``skipped``.

SIGTERM or SIGINT: no more jobs are fetched; the runs under way stop between documents
(those in flight finish and are recorded, the run is ``interrupted``) and their jobs are
handed back, to run at once on another worker; the worker exits 0 once they are, or
after ``daemon.shutdown_grace_seconds`` (their jobs are then retried as a dead worker's).
A second signal exits at once. A config change needs a restart (SIGHUP is logged and
ignored).

Every worker paces its Intercom calls at its share of the app's rate-limit window, the
share kept current by ``syncer.engine.budget`` (the workers sending, counted in Postgres),
and sends the alerts on its runs' outcomes (``syncer.daemon.alerting``: ``failed``,
``guard``, ``recovered``; the store's compare-and-set tells each transition once, whoever
ran the source). Staleness alerts stay the daemon's: it checks every source's age.
It serves ``/healthz``, ``/readyz`` and ``/metrics`` on ``daemon.port`` or ``--port``
(``syncer.engine.endpoint``), from the moment its checks pass until it exits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from syncer.config import loader
from syncer.config.settings import Settings
from syncer.engine import schema
from syncer.errors import UsageError
from syncer.store import engine as engines

if TYPE_CHECKING:
    from procrastinate import App

    from syncer.engine.endpoint import Pulse, WorkerEndpoint
    from syncer.engine.jobs import SourceJobs
    from syncer.run import SourceReport

SQLITE = (
    "syncer worker needs a PostgreSQL store; with SQLite, syncer daemon runs everything "
    "in one process"
)
# How long past the grace period a stopping worker waits for procrastinate to record
# the handed-back jobs before it exits regardless.
RECORD_MARGIN_S = 5.0


def serve(
    config_path: Path,
    *,
    concurrency: int = 1,
    port: int | None = None,
    on_settings: Callable[[Settings], None] = lambda _settings: None,
) -> int:
    """``syncer worker``: run jobs until SIGTERM/SIGINT; 0 after a graceful stop.
    ``port``: of its endpoint (``syncer.engine.endpoint``), ``daemon.port`` if None."""
    log = structlog.get_logger("syncer.worker")
    if concurrency < 1:
        raise UsageError("--concurrency must be 1 or more")
    settings = loader.load(config_path, check_environment=False)
    on_settings(settings)
    url = settings.store.url
    if engines.parse_url(url).get_backend_name() != "postgresql":
        raise UsageError(SQLITE)
    schema.check()
    # Only now: what a worker needs beyond its checks.
    from syncer.daemon.alerting import Alerting
    from syncer.engine.budget import BudgetShare
    from syncer.engine.endpoint import Pulse, WorkerEndpoint, WorkerMetrics
    from syncer.engine.jobs import SourceJobs
    from syncer.intercom.client import IntercomClient
    from syncer.redact import Redactor
    from syncer.store import Store
    from syncer.store.locks import process_holder

    if settings.daemon.engine != "procrastinate":
        log.warning(
            "worker_without_scheduler",
            detail="daemon.engine is in_process: the daemon runs its sources itself and "
            "defers none; set daemon.engine: procrastinate for workers to run them",
        )
    # Migrated on purpose, as the daemon's Postgres store: `syncer db upgrade`.
    redactor = Redactor.from_settings(settings)
    store = Store.open(url, migrate=False, redact=redactor.redact)
    try:
        client = IntercomClient.from_settings(settings.intercom)
    except BaseException:
        store.close()
        raise
    stop = threading.Event()
    holder = process_holder("worker")
    metrics = WorkerMetrics(lambda: client.transport.stats)
    host, port = settings.daemon.host, settings.daemon.port if port is None else port
    try:
        endpoint = WorkerEndpoint(
            host,
            port,
            holder=holder,
            metrics=metrics,
            pulse=Pulse(),
            ping=store.ping,
            stopping=stop,
        )
    except OSError as exc:
        store.close()
        client.close()
        raise UsageError(
            f"the worker cannot serve /healthz and /metrics on {host}:{port}: "
            f"{exc.strerror or exc}; "
            "give it another port with --port (a daemon on this machine has daemon.port)"
        ) from None
    # Run-outcome alerts as the daemon sends them (staleness stays the daemon's).
    alerting = Alerting(
        store,
        settings,
        holder=holder,
        clock=lambda: datetime.now(UTC),
        redactor=lambda: redactor,
        on_result=lambda target, kind, result: metrics.alerts.labels(target, kind, result).inc(),
        log=structlog.get_logger("syncer.alerts").bind(worker=holder),
    )

    def reported(report: SourceReport) -> None:
        metrics.observe(report)
        alerting.run_finished(report)

    jobs = SourceJobs(
        settings, store, client, holder=holder, stop=stop, on_report=reported, metrics=metrics
    )
    # The app's window is every worker's: this one spends its share (``budget``).
    assert settings.intercom.token is not None  # from_settings refuses a missing one
    share = BudgetShare(
        url,
        client.transport.limiter,
        token=settings.intercom.token.get_secret_value(),
        holder=jobs.holder,
    )
    try:
        share.start()
        endpoint.start()
        log.info("worker_endpoint", host=host, port=endpoint.port)
        asyncio.run(_work(url, jobs, settings, concurrency=concurrency, log=log, endpoint=endpoint))
    finally:
        endpoint.close()
        share.close()
        alerting.close()  # what is queued goes out, for a few seconds at most
        store.close()
        client.close()
    return 0


async def _work(
    url: str,
    jobs: SourceJobs,
    settings: Settings,
    *,
    concurrency: int,
    log: structlog.typing.FilteringBoundLogger,
    endpoint: WorkerEndpoint,
) -> None:
    from syncer.engine import app as engine_app

    loop = asyncio.get_running_loop()
    # procrastinate runs a synchronous task on the loop's default executor: one thread
    # a job, so `concurrency` jobs really run at once.
    loop.set_default_executor(ThreadPoolExecutor(concurrency + 1, thread_name_prefix="job"))
    stalled = settings.daemon.stalled_worker_seconds
    grace = settings.daemon.shutdown_grace_seconds
    application = engine_app.build(
        url, application_name=jobs.holder, max_connections=concurrency + 4
    )
    stopping = asyncio.Event()

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if stopping.is_set():
            log.warning("worker_exiting_now", signal=name)
            _exit_now(130)
        log.info("signal_received", signal=name)
        jobs.stop.set()  # every run stops between documents
        stopping.set()

    for handled in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(handled, on_signal, handled)
    # SIGHUP reloads a daemon; a worker keeps the config it started with (rather than
    # dying mid-run, its default).
    loop.add_signal_handler(
        signal.SIGHUP,
        lambda: log.warning("config_reload_unsupported", detail="restart the worker to reload"),
    )
    async with application.open_async():
        worker = asyncio.create_task(
            application.run_worker_async(
                queues=[engine_app.QUEUE],
                name=jobs.holder,
                concurrency=concurrency,
                install_signal_handlers=False,
                additional_context={engine_app.JOBS: jobs},
                update_heartbeat_interval=stalled / 3,
                stalled_worker_timeout=stalled,
                shutdown_graceful_timeout=grace,
                # A finished job is the store's run row; the queue keeps what is to do
                # (and failures, to look at).
                delete_jobs="successful",
            )
        )
        rescuer = asyncio.create_task(_retry_stalled(application, stalled, log))
        beating = asyncio.create_task(_beat(endpoint.pulse))
        log.info("worker_started", worker=jobs.holder, concurrency=concurrency, pid=os.getpid())
        endpoint.running.set()
        stop = asyncio.create_task(stopping.wait())
        await asyncio.wait({worker, stop}, return_when=asyncio.FIRST_COMPLETED)
        rescuer.cancel()
        beating.cancel()
        stop.cancel()
        if worker.done():  # it stopped by itself: procrastinate lost the database
            error = worker.exception()
            log.error("worker_failed", error=str(error) if error else "stopped")
            raise UsageError(f"the worker stopped: {error or 'its database connection ended'}")
        worker.cancel()  # procrastinate's way: stop fetching, wait for the jobs under way
        await asyncio.wait({worker}, timeout=grace + RECORD_MARGIN_S)
        if not worker.done():
            log.warning("shutdown_grace_expired", grace_s=grace)
            _exit_now(0)
    log.info("worker_stopped", worker=jobs.holder)


async def _beat(pulse: Pulse) -> None:
    """Tell the endpoint's ``/healthz`` that the event loop runs, every second."""
    while True:
        pulse.beat()
        await asyncio.sleep(1.0)


async def _retry_stalled(
    application: App, stalled: float, log: structlog.typing.FilteringBoundLogger
) -> None:
    """Every third of ``stalled`` seconds, retry the jobs of workers silent that long."""
    from procrastinate import exceptions

    from syncer.engine import app as engine_app

    manager = application.job_manager
    while True:
        await asyncio.sleep(stalled / 3)
        try:
            found = await manager.get_stalled_jobs(
                queue=engine_app.QUEUE, seconds_since_heartbeat=stalled
            )
        except exceptions.ConnectorException as exc:
            log.warning("stalled_jobs_unchecked", error=str(exc.__cause__ or exc))
            continue
        for job in found:
            try:
                await manager.retry_job(job)
            except exceptions.ConnectorException:
                continue  # another worker retried it first
            log.warning(
                "stalled_job_retried",
                job_id=job.id,
                source=job.task_kwargs.get("source"),
                attempts=job.attempts,
            )


def _exit_now(code: int) -> None:
    # Runs still going hold threads that would keep the interpreter alive; their jobs
    # are retried once this worker's heartbeat is old.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
