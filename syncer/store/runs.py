"""Run rows: when each run of a source started and ended, how, and what it did.

A run's row is written twice, at its start (``running``) and at its end (its status,
counts and first errors); a no-op run writes nothing else (syncer.run). A run that
touched documents also keeps, in the same transaction as its end, what it did with
each (``RunDocument``): at most ``MAX_RUN_DOCUMENTS``, those with a reason first, and
only for the last ``RUNS_WITH_DOCUMENTS`` such runs of the source, so the table stays
bounded whatever the corpus. ``syncer status`` and the daemon's page read the newest run
of every source and when each last succeeded; the run that takes a source's lock marks
the runs a dead process left ``running``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, delete, func, insert, select, update

from syncer.errors import StoreError
from syncer.model import Counts
from syncer.store.database import Database, aware, source_row_id
from syncer.store.schema import (
    DOCUMENT_ACTIONS,
    MAX_RUN_DOCUMENTS,
    MAX_RUN_ERRORS,
    RUN_STATUSES,
    RUNS_WITH_DOCUMENTS,
    run_documents_table,
    runs_table,
    sources_table,
)


@dataclass(frozen=True, slots=True)
class RunDocument:
    """What a run did with one document: ``action`` is one of ``DOCUMENT_ACTIONS``
    (created, updated, deleted, failed, skipped: listed but not sent, held: a delete the
    mass-delete guard held back); ``reason`` says why, for all but the writes."""

    action: str
    key: str
    title: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run of one source, as ``syncer status`` shows it."""

    id: int
    source: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    full: bool
    counts: Counts
    errors: tuple[str, ...]

    @property
    def duration(self) -> timedelta | None:
        """How long the run took; None while it is still running (or was cut off)."""
        return None if self.finished_at is None else self.finished_at - self.started_at


class RunLog:
    """The ``runs`` table of one store."""

    def __init__(self, database: Database, redact: Callable[[str], str]) -> None:
        self._db = database
        # Run errors pass through it before they are stored: a server that echoes a
        # token into an error must not get it kept (syncer.redact).
        self._redact = redact

    def start(self, source: str, at: datetime, *, full: bool = False) -> int:
        """Record that a run of ``source`` started; returns its id for ``finish``."""
        with self._db.writing() as connection:
            result = connection.execute(
                insert(runs_table).values(
                    source_id=source_row_id(connection, source),
                    started_at=aware(at),
                    status="running",
                    full=full,
                    errors=[],
                )
            )
            run_id = result.inserted_primary_key
        if run_id is None:  # pragma: no cover - every supported backend reports it
            raise StoreError("the database did not report the new run's id")
        return int(run_id[0])

    def finish(
        self,
        run_id: int,
        status: str,
        counts: Counts,
        errors: Sequence[str],
        at: datetime,
        documents: Sequence[RunDocument] = (),
    ) -> None:
        """Record how run ``run_id`` ended; keeps the first 20 errors, and what it did
        with its ``documents`` (bounded: see the module's docstring)."""
        if status not in RUN_STATUSES:
            raise ValueError(f"unknown run status {status!r}; one of {', '.join(RUN_STATUSES)}")
        unknown = {d.action for d in documents} - set(DOCUMENT_ACTIONS)
        if unknown:
            raise ValueError(f"unknown document actions {sorted(unknown)}")
        with self._db.writing() as connection:
            result = connection.execute(
                update(runs_table)
                .where(runs_table.c.id == run_id)
                .values(
                    finished_at=aware(at),
                    status=status,
                    errors=[self._redact(error) for error in errors[:MAX_RUN_ERRORS]],
                    **counts.as_dict(),
                )
            )
            if result.rowcount != 1:
                raise StoreError(f"no run {run_id} in store {self._db.shown}", run_id=run_id)
            if documents:
                self._keep_documents(connection, run_id, documents)

    def documents(self, run_id: int) -> list[RunDocument]:
        """What run ``run_id`` did with each document it kept, in ``DOCUMENT_ACTIONS`` order
        (empty for a run that changed nothing, or whose rows were pruned)."""
        query = (
            select(
                run_documents_table.c.action,
                run_documents_table.c.key,
                run_documents_table.c.title,
                run_documents_table.c.reason,
            )
            .where(run_documents_table.c.run_id == run_id)
            .order_by(run_documents_table.c.position)
        )
        with self._db.reading() as connection:
            if connection is None:
                return []
            rows = connection.execute(query).all()
        return [RunDocument(*row) for row in rows]

    def with_documents(self, source: str) -> set[int]:
        """The ids of ``source`` 's runs that kept document rows."""
        query = (
            select(run_documents_table.c.run_id)
            .join(runs_table, runs_table.c.id == run_documents_table.c.run_id)
            .join(sources_table, sources_table.c.id == runs_table.c.source_id)
            .where(sources_table.c.name == source)
            .distinct()
        )
        with self._db.reading() as connection:
            if connection is None:
                return set()
            return {int(run_id) for run_id in connection.execute(query).scalars()}

    def _keep_documents(
        self, connection: Connection, run_id: int, documents: Sequence[RunDocument]
    ) -> None:
        order = {action: n for n, action in enumerate(DOCUMENT_ACTIONS)}
        # Stable: within an action, the order the run met them.
        kept = sorted(documents, key=lambda d: order[d.action])[:MAX_RUN_DOCUMENTS]
        connection.execute(
            insert(run_documents_table),
            [
                {
                    "run_id": run_id,
                    "position": position,
                    "action": document.action,
                    "key": document.key,
                    "title": self._redact(document.title),
                    "reason": self._redact(document.reason),
                }
                for position, document in enumerate(kept)
            ],
        )
        source_id = connection.execute(
            select(runs_table.c.source_id).where(runs_table.c.id == run_id)
        ).scalar_one()
        keeping = (
            select(run_documents_table.c.run_id)
            .join(runs_table, runs_table.c.id == run_documents_table.c.run_id)
            .where(runs_table.c.source_id == source_id)
            .distinct()
            .order_by(run_documents_table.c.run_id.desc())
            .limit(RUNS_WITH_DOCUMENTS)
        )
        newest = [int(r) for r in connection.execute(keeping).scalars()]
        if len(newest) == RUNS_WITH_DOCUMENTS:
            older = select(runs_table.c.id).where(
                runs_table.c.source_id == source_id, runs_table.c.id < newest[-1]
            )
            connection.execute(
                delete(run_documents_table).where(run_documents_table.c.run_id.in_(older))
            )

    def interrupt_abandoned(self, source: str, at: datetime, reason: str) -> int:
        """Mark ``source`` 's runs still ``running`` as ``interrupted``; how many there were.

        Only for the holder of the source's lock: a run left ``running`` by anyone else
        died with its process (the lock it ran under went with it).
        """
        with self._db.writing() as connection:
            source_id = connection.execute(
                select(sources_table.c.id).where(sources_table.c.name == source)
            ).scalar_one_or_none()
            if source_id is None:
                return 0
            result = connection.execute(
                update(runs_table)
                .where(runs_table.c.source_id == source_id, runs_table.c.status == "running")
                .values(status="interrupted", finished_at=aware(at), errors=[reason])
            )
            return int(result.rowcount)

    def latest(self) -> list[RunSummary]:
        """The latest run of every source that has one, sorted by source name."""
        newest_first = (
            func.row_number()
            .over(
                partition_by=runs_table.c.source_id,
                order_by=(runs_table.c.started_at.desc(), runs_table.c.id.desc()),
            )
            .label("rank")
        )
        ranked = select(runs_table.c.id, newest_first).subquery()
        query = (
            _run_query()
            .join(ranked, ranked.c.id == runs_table.c.id)
            .where(ranked.c.rank == 1)
            .order_by(sources_table.c.name)
        )
        return self._summaries(query)

    def of(self, source: str, limit: int = 20) -> list[RunSummary]:
        """The runs of ``source``, newest first, at most ``limit`` of them."""
        query = (
            _run_query()
            .where(sources_table.c.name == source)
            .order_by(runs_table.c.started_at.desc(), runs_table.c.id.desc())
            .limit(limit)
        )
        return self._summaries(query)

    def last_successes(self) -> dict[str, datetime]:
        """When each source's newest succeeded run finished, by source name."""
        return self._newest_success(runs_table.c.finished_at)

    def last_success_starts(self) -> dict[str, datetime]:
        """When each source's newest succeeded run began, by source name: every change
        its source dated before then was in Intercom once that run ended."""
        return self._newest_success(runs_table.c.started_at)

    def _newest_success(self, column: Any) -> dict[str, datetime]:
        """The newest ``column`` (a time) of each source's succeeded runs, by name."""
        query = (
            select(sources_table.c.name, func.max(column))
            .join(runs_table, runs_table.c.source_id == sources_table.c.id)
            .where(runs_table.c.status == "succeeded")
            .group_by(sources_table.c.name)
        )
        with self._db.reading() as connection:
            if connection is None:
                return {}
            rows = connection.execute(query).all()
        return {name: _utc(at) for name, at in rows if at is not None}

    def _summaries(self, query: Select[Any]) -> list[RunSummary]:
        with self._db.reading() as connection:
            if connection is None:
                return []
            rows = connection.execute(query).mappings().all()
        return [_run_summary(row) for row in rows]


def _utc(value: datetime) -> datetime:
    # func.max() loses the column type, so SQLite hands back naive (UTC) values.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _run_query() -> Select[*tuple[Any, ...]]:
    return select(
        runs_table.c.id,
        sources_table.c.name.label("source"),
        runs_table.c.started_at,
        runs_table.c.finished_at,
        runs_table.c.status,
        runs_table.c.full,
        runs_table.c.created,
        runs_table.c.updated,
        runs_table.c.deleted,
        runs_table.c.unchanged,
        runs_table.c.excluded,
        runs_table.c.failed,
        runs_table.c.errors,
    ).join(sources_table, sources_table.c.id == runs_table.c.source_id)


def _run_summary(row: RowMapping) -> RunSummary:
    return RunSummary(
        id=row["id"],
        source=row["source"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        status=row["status"],
        full=bool(row["full"]),
        counts=Counts(
            created=row["created"],
            updated=row["updated"],
            deleted=row["deleted"],
            unchanged=row["unchanged"],
            excluded=row["excluded"],
            failed=row["failed"],
        ),
        errors=tuple(row["errors"] or ()),
    )
