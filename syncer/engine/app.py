"""The procrastinate App on the store's Postgres, and its tasks: ``sync_source`` and, for
a run split by size (``syncer.engine.batches``), ``sync_batch`` and ``finish_run``.

``build`` makes the App from the store URL: procrastinate's ``PsycopgConnector`` with the
URL's parts as a libpq connection string and the password beside it, as a connection
keyword, so the password is in no string procrastinate or psycopg could log or put in an
error (and in no child's environment: nothing is exported). Each job of the task is
deferred with ``lock`` and ``queueing_lock`` set to the source's key (``key``): one job
of a source runs at a time, on any worker, and one waits at most. ``Retries`` asks
``syncer.engine.jobs.retry_in`` what each exception means.

A batch's lock is its own (``batch_key``): batches of one source run in parallel, and
one batch never twice at once. A run's finish takes the source's lock, as its listing
does. ``build_sync`` is an App that only defers, on a connection the store hands it, so
batch rows and their jobs are written in one commit.

Importing this module imports procrastinate: only the worker and a deferring daemon do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from procrastinate import (
    App,
    BaseRetryStrategy,
    JobContext,
    PsycopgConnector,
    RetryDecision,
    SyncPsycopgConnector,
)
from procrastinate.jobs import Job

import syncer.engine
from syncer.engine import jobs
from syncer.errors import UsageError
from syncer.store import engine as engines

TASK = syncer.engine.TASK
BATCH_TASK = syncer.engine.BATCH_TASK
FINISH_TASK = syncer.engine.FINISH_TASK
QUEUE = "sources"
# The key under which a worker's ``SourceJobs`` reach the task (``additional_context``).
JOBS = "syncer_jobs"


def key(source: str) -> str:
    """The lock and queueing lock of ``source`` 's jobs (named, so later kinds of job
    get keys of their own)."""
    return f"source:{source}"


def batch_key(source: str, run_id: int, number: int) -> str:
    """The lock of one batch of run ``run_id`` (its prefix, without the number, finds
    the run's batch jobs)."""
    return f"batch:{source}:{run_id}:{number}"


def connector_arguments(url: str, *, application_name: str) -> dict[str, Any]:
    """``PsycopgConnector`` 's pool arguments for the store at ``url``: the connection
    string without the password, the password as a keyword of its own."""
    from psycopg.conninfo import make_conninfo

    parsed = engines.parse_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise UsageError("the task engine keeps its jobs in PostgreSQL; the store is not")
    query = {
        name: value if isinstance(value, str) else value[-1] for name, value in parsed.query.items()
    }
    query.setdefault("connect_timeout", str(engines.CONNECT_TIMEOUT_S))
    conninfo = make_conninfo(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        dbname=parsed.database,
        # Postgres truncates application_name to 63 bytes.
        application_name=application_name[:63],
        **query,
    )
    keywords = {"password": parsed.password} if parsed.password else {}
    return {"conninfo": conninfo, "kwargs": keywords}


class Retries(BaseRetryStrategy):
    """When a failed job runs again: ``syncer.engine.jobs.retry_in`` decides."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        seconds = jobs.retry_in(exception, job.attempts)
        if seconds is None:
            return None
        return RetryDecision(retry_at=datetime.now(UTC) + timedelta(seconds=seconds))


def sync_source(context: JobContext, source: str, timestamp: int | None = None) -> None:
    """The task: sync ``source`` with the worker's config (``timestamp``: the schedule
    slot it was deferred for, None for a trigger; procrastinate keeps it once per slot)."""
    _run(context, TASK, source, lambda worker, job_id: worker.run(source, job_id=job_id))


def sync_batch(context: JobContext, source: str, run_id: int, number: int) -> None:
    """The task: one batch of a split run (``syncer.engine.batches``)."""
    _run(
        context,
        BATCH_TASK,
        source,
        lambda worker, job_id: worker.split().run_batch(source, run_id, number, job_id=job_id),
    )


def finish_run(context: JobContext, source: str, run_id: int) -> None:
    """The task: a split run's finish, once every batch is done."""
    _run(
        context,
        FINISH_TASK,
        source,
        lambda worker, job_id: worker.split().finish(source, run_id, job_id=job_id),
    )


def _run(
    context: JobContext,
    task: str,
    source: str,
    call: Callable[[jobs.SourceJobs, int | None], None],
) -> None:
    """One job of ``task`` on the worker's ``SourceJobs``, counted in its metrics."""
    source_jobs = context.additional_context[JOBS]
    assert isinstance(source_jobs, jobs.SourceJobs)
    job = context.job
    with source_jobs.counted(task):
        try:
            call(source_jobs, job.id)
        except Exception as exc:
            # Not to be retried: the job stays failed, and the store says why
            # (procrastinate keeps no error), for /status.
            if job.id is not None and jobs.retry_in(exc, job.attempts) is None:
                source_jobs.failed(source, job.id, exc)
            raise


def _tasks(app: App) -> App:
    app.task(name=TASK, queue=QUEUE, pass_context=True, retry=Retries())(sync_source)
    app.task(name=BATCH_TASK, queue=QUEUE, pass_context=True, retry=Retries())(sync_batch)
    app.task(name=FINISH_TASK, queue=QUEUE, pass_context=True, retry=Retries())(finish_run)
    return app


def build(url: str, *, application_name: str, max_connections: int = 4) -> App:
    """The App on the store at ``url`` (not opened), with the tasks."""
    connector = PsycopgConnector(
        **connector_arguments(url, application_name=application_name),
        min_size=1,
        max_size=max_connections,
    )
    return _tasks(App(connector=connector))


def build_sync(url: str, *, application_name: str) -> App:
    """An App that defers only on connections it is given (``job_manager``'s
    ``connection=``): never opened, it holds no connection of its own."""
    return _tasks(
        App(
            connector=SyncPsycopgConnector(
                **connector_arguments(url, application_name=application_name)
            )
        )
    )
