"""The task engine's jobs, as ``/status`` and ``syncer status`` count them per source.

procrastinate keeps its jobs in the store's Postgres (revision 0006): a job waiting is
``todo`` (a retry too), one a worker runs is ``doing``, one that failed for good stays
``failed`` (successful ones are deleted: a run row says what they did). ``counts`` reads
them for every source in one query, with the newest failure of each: its time from
procrastinate's events, its error from ``job_failures``, which the worker writes since
procrastinate does not keep why a job failed. A failure shows while its job is still
``failed``; one retried or deleted by hand is gone from the counts and from there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from syncer.store.database import Database, aware
from syncer.store.schema import job_failures_table

ERROR_CHARS = 2000  # a traceback's last line is what tells; the log has the rest

# One query for every source: counts by status, and the newest failed job's event
# joined with the error the worker recorded for that very job.
_COUNTS = text(
    """
    WITH live AS (
        SELECT id, args->>'source' AS source, status
        FROM procrastinate_jobs
        WHERE task_name = ANY(:tasks) AND status IN ('todo', 'doing', 'failed')
    ),
    counted AS (
        SELECT source,
               count(*) FILTER (WHERE status = 'todo') AS queued,
               count(*) FILTER (WHERE status = 'doing') AS running,
               count(*) FILTER (WHERE status = 'failed') AS failed
        FROM live GROUP BY source
    ),
    newest AS (
        SELECT DISTINCT ON (live.source) live.source, live.id, e.at
        FROM live JOIN procrastinate_events e ON e.job_id = live.id AND e.type = 'failed'
        WHERE live.status = 'failed'
        ORDER BY live.source, e.at DESC, live.id DESC
    )
    SELECT c.source, c.queued, c.running, c.failed, n.id, n.at, f.error
    FROM counted c
    LEFT JOIN newest n ON n.source = c.source
    LEFT JOIN job_failures f ON f.source = c.source AND f.job_id = n.id
    """
)


@dataclass(frozen=True, slots=True)
class JobFailure:
    """A source's newest failed job: when, and why (None: the worker could not say)."""

    job_id: int
    at: datetime | None
    error: str | None


@dataclass(frozen=True, slots=True)
class JobCounts:
    """A source's jobs by status: waiting (``queued``), ``running``, ``failed``."""

    queued: int = 0
    running: int = 0
    failed: int = 0
    last_failure: JobFailure | None = None


class JobTable:
    """The engine's jobs of one (Postgres) store, and ``job_failures``."""

    def __init__(self, database: Database, redact: Callable[[str], str]) -> None:
        self._db = database
        self._redact = redact

    def record_failure(self, source: str, job_id: int, at: datetime, error: str) -> None:
        """Job ``job_id`` of ``source`` failed for good, with ``error``."""
        values = {"job_id": job_id, "at": aware(at), "error": self._redact(error)[:ERROR_CHARS]}
        with self._db.writing() as connection:
            upsert = self._db.insert(job_failures_table).values(source=source, **values)
            connection.execute(
                upsert.on_conflict_do_update(
                    index_elements=[job_failures_table.c.source], set_=values
                )
            )

    def counts(self, tasks: Sequence[str]) -> dict[str, JobCounts]:
        """Every source with a job of ``tasks`` (a split run's batches and finish too)
        waiting, running or failed, and its counts."""
        with self._db.reading() as connection:
            if connection is None:
                return {}
            rows = connection.execute(_COUNTS, {"tasks": list(tasks)}).all()
        found = {}
        for source, queued, running, failed, job_id, at, error in rows:
            failure = None
            if job_id is not None:
                failure = JobFailure(int(job_id), at, str(error) if error is not None else None)
            found[str(source)] = JobCounts(int(queued), int(running), int(failed), failure)
        return found
