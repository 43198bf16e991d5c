"""What one ``sync_source`` job does in a worker: the whole-source sync the daemon runs.

``SourceJobs.run`` is the body of the task (``syncer.engine.app``): the source's run of
``syncer.run.sync_source`` with the config, store and Intercom client the worker loaded,
between the store's trigger bookkeeping (``syncer.daemon.runs.record_served``), so
``syncer trigger --wait`` and freshness work as with the in-process daemon. The run
still holds its source's lock (``syncer.store.locks``) as every run does: the engine's
job lock keeps jobs apart, the source lock keeps them apart from a one-shot ``syncer
sync`` too.

How a job ends is told to procrastinate by exceptions, each with its retry
(``retry_in``): ``HandedBackError`` (the worker is stopping; the run stopped between
documents, recorded ``interrupted``: another worker picks it up at once),
``SourceBusyError`` (a one-shot run holds the source while triggers wait: again in a few
seconds), a ``StoreError`` (the store is unreachable: a few tries, backing off).
Anything else is a bug: the job fails, the next scheduled one runs the source again. A
worker that dies mid-run raises nothing: the others find its job by its silence
(``syncer.engine.worker``). A job that fails for good has its error kept in the store
(``failed``: ``job_failures``), since procrastinate keeps only that it failed, and when.
Each recorded run's report goes to ``on_report``: the worker's run-outcome alerts
(``failed``, ``guard``, ``recovered``), by the store's compare-and-set as the daemon's,
so a transition is told once whichever process ran the source.

A run with more to read than ``daemon.batch_size`` is split (``syncer.engine.batches``):
this job lists and plans, batch jobs send, a finishing job deletes and records; while
such a run is unfinished, a job of its source lists nothing.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from syncer.config.settings import Settings
from syncer.daemon.runs import LOCKED_RETRY_S, finish_crashed, record_served
from syncer.errors import StoreError
from syncer.intercom.client import IntercomClient
from syncer.intercom.publisher import IntercomPublisher
from syncer.run import NoProgress, Options, SourceReport, sync_source
from syncer.store import Store

if TYPE_CHECKING:
    from syncer.engine.batches import Batches
    from syncer.engine.endpoint import WorkerMetrics

SPLIT = "split"  # a report's status: the run was handed to batch jobs
# A job whose store is unreachable is tried this many times in all, waiting 5, 10, 20 s.
STORE_ATTEMPTS = 4
STORE_WAIT_S = 5.0


class HandedBackError(Exception):
    """The worker is stopping and the run stopped between documents: run it elsewhere."""


class SourceBusyError(Exception):
    """Another run (a one-shot ``syncer sync``) holds the source and triggers wait."""


def retry_in(exception: BaseException, attempts: int) -> float | None:
    """Seconds until a job that raised ``exception`` runs again (``attempts`` made before
    this one); None: it is not retried."""
    if isinstance(exception, HandedBackError):
        return 0.0
    if isinstance(exception, SourceBusyError):
        return LOCKED_RETRY_S
    if isinstance(exception, StoreError) and attempts + 1 < STORE_ATTEMPTS:
        return STORE_WAIT_S * 2.0**attempts
    return None


def outcome_of(exc: BaseException | None) -> str:
    """How a job that raised ``exc`` (None: nothing) ended, for the worker's metrics."""
    if exc is None:
        return "done"
    if isinstance(exc, HandedBackError):
        return "handed_back"
    if isinstance(exc, SourceBusyError):
        return "busy"
    if isinstance(exc, StoreError):
        return "store_error"
    return "failed"


def describe(exc: BaseException) -> str:
    """A failed job's error as ``/status`` shows it: the exception's type and message."""
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SourceJobs:
    """Runs sources for one worker process: its config, store, client and stop event."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        client: IntercomClient,
        *,
        holder: str,
        stop: threading.Event,
        clock: Callable[[], datetime] = _utcnow,
        on_report: Callable[[SourceReport], None] = lambda _report: None,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self.holder = holder
        self.stop = stop
        self._clock = clock
        self._on_report = on_report  # the run-outcome alerts, as the daemon sends them
        self._log = structlog.get_logger("syncer.worker").bind(worker=holder)
        self._split: Batches | None = None
        self._metrics = metrics

    def counted(self, task: str) -> AbstractContextManager[None]:
        """Around one job of ``task``: counted in the worker's metrics, if it has them."""
        if self._metrics is None:
            return contextlib.nullcontext()
        return self._metrics.job(task, outcome_of)

    def split(self) -> Batches:
        """This worker's side of split runs (made on first use)."""
        if self._split is None:
            from syncer.engine.batches import Batches

            self._split = Batches(self, clock=self._clock)
        return self._split

    def reported(self, report: SourceReport) -> None:
        """A run recorded by another job of this worker (a split run's finish): its
        outcome's alerts, as ``run`` sends its own."""
        self._on_report(report)

    def failed(self, name: str, job_id: int, exc: BaseException) -> None:
        """Job ``job_id`` of ``name`` failed for good with ``exc``: keep why, for
        ``/status`` (best effort: the store may be why it failed)."""
        try:
            self.store.jobs.record_failure(name, job_id, self._clock(), describe(exc))
        except StoreError as error:
            self._log.warning(
                "job_failure_unrecorded", source=name, job_id=job_id, error=str(error)
            )

    def run(self, name: str, *, job_id: int | None = None) -> None:
        """Sync source ``name`` once; raise to have the job retried (see the module)."""
        log = self._log.bind(source=name, job_id=job_id)
        source = next((s for s in self.settings.sources if s.name == name), None)
        if source is None:
            # Retrying would not help: this worker's config lacks the source.
            log.error("job_source_unknown", detail="not in this worker's config")
            return
        if self.stop.is_set():
            raise HandedBackError(name)
        if not self.split().may_list(name):
            return
        begun = self.store.triggers.begin(name)
        since = self.store.runs.last_success_starts().get(name)
        log.info("job_started")
        try:
            report = sync_source(
                source,
                self.store,
                IntercomPublisher(self.client, concurrency=self.settings.intercom.concurrency),
                Options(),
                cache_dir=self.settings.cache_dir / name,
                clock=self._clock,
                progress=NoProgress(),
                stop=self.stop,
                holder=self.holder,
                siblings=[s.name for s in self.settings.sources if s.name != name],
                split=self.split().splitter(source, begun, since),
            )
        except Exception as exc:  # a bug: this job fails; the next one runs the source
            log.exception("job_crashed", error=str(exc))
            finish_crashed(self.store, name, begun, at=self._clock())
            raise
        if report.status == "skipped":  # the source's lock: a one-shot run holds it
            log.info("run_skipped", reason="locked")
            if begun.serial > begun.previous:  # its triggers are still to be served
                self.store.triggers.rewind(name, begun)
                raise SourceBusyError(name)
            return
        if report.status == SPLIT:  # batch jobs send it; its finish records it
            return
        served = record_served(self.store, name, begun, report, since, now=self._clock())
        self._on_report(report)
        counts = report.counts
        log.info(
            "job_finished",
            status=report.status,
            created=counts.created,
            updated=counts.updated,
            deleted=counts.deleted,
            failed=counts.failed,
            duration_s=round(report.duration, 3),
            **({"freshness_s": round(served.fresh, 3)} if served.fresh is not None else {}),
        )
        if report.status == "interrupted" and self.stop.is_set():
            log.info("job_handed_back", detail="the worker is stopping; another runs the rest")
            raise HandedBackError(name)
