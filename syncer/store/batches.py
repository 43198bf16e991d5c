"""Runs split into jobs: the listing a run's batches were cut from, the batches, the claims.

``BatchTable`` is the store's side of ``syncer.engine.batches``: the listing job writes
the run's listing and its batches in one transaction, with the jobs that run them
(``open_run``'s ``defer``, on the same connection: a batch row exists exactly when its
job does); a batch job takes its batch (``take``), claims its external ids
(``claim``) and marks it done once (``complete``: the row is locked first, so of two
batches ending together exactly one sees that none is left); the finishing job reads
every outcome and closes the listing once (``close``). Outcomes are JSON the engine
shapes; this module only keeps them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, text, update

from syncer.model import Failure, Listing, Stub
from syncer.store.database import Database, aware, source_row_id
from syncer.store.schema import (
    run_batches_table,
    run_claims_table,
    run_listings_table,
    sources_table,
)


@dataclass(frozen=True, slots=True)
class SplitRun:
    """What a split run's listing job left for its batches and its finish."""

    run_id: int
    source: str
    listing: Listing
    cursor: str | None
    import_source_id: str
    batches: int
    known: int
    trigger_serial: int
    trigger_previous: int
    since: datetime | None
    finished_at: datetime | None
    # What the batches' connectors resume from (``syncer.connector.Resumable``); None:
    # each batch lists the source again.
    connector_state: str | None = None


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One batch as the store has it (``worker``: who took it last)."""

    run_id: int
    number: int
    done: bool
    worker: str | None
    attempts: int
    outcome: dict[str, Any] | None


def _undone(run_id: int) -> tuple[Any, ...]:
    """Where a batch of run ``run_id`` is not done yet."""
    return (
        run_batches_table.c.run_id == run_id,
        run_batches_table.c.done == False,  # noqa: E712 - SQL, not Python
    )


def stubs_to_json(stubs: Sequence[Stub]) -> list[list[Any]]:
    return [[s.key, s.version, s.changed_at.isoformat() if s.changed_at else None] for s in stubs]


def stubs_from_json(rows: Sequence[Sequence[Any]]) -> tuple[Stub, ...]:
    return tuple(
        Stub(key, version, datetime.fromisoformat(changed) if changed else None)
        for key, version, changed in rows
    )


class BatchTable:
    """The ``run_listings``, ``run_batches`` and ``run_claims`` tables of one store."""

    def __init__(self, database: Database, redact: Callable[[str], str]) -> None:
        self._db = database
        # An outcome's errors and document rows are shown later: scrubbed as run rows are.
        self._redact = redact

    def open_run(
        self,
        run_id: int,
        source: str,
        listing: Listing,
        *,
        cursor: str | None,
        connector_state: str | None,
        import_source_id: str,
        batches: Sequence[Sequence[Stub]],
        known: int,
        trigger: tuple[int, int],
        since: datetime | None,
        at: datetime,
        defer: Callable[[Any], None],
    ) -> None:
        """Keep run ``run_id`` 's listing and ``batches``; ``defer`` gets the transaction's
        DBAPI connection, to defer the batches' jobs in the same commit."""
        with self._db.writing() as connection:
            connection.execute(
                insert(run_listings_table).values(
                    run_id=run_id,
                    source_id=source_row_id(connection, source),
                    stubs=stubs_to_json(listing.stubs),
                    complete=listing.complete,
                    failures=[[f.key, f.message] for f in listing.failures],
                    left_out=listing.left_out,
                    cursor=cursor,
                    connector_state=connector_state,
                    import_source_id=import_source_id,
                    batches=len(batches),
                    known=known,
                    trigger_serial=trigger[0],
                    trigger_previous=trigger[1],
                    since=aware(since) if since else None,
                    created_at=aware(at),
                )
            )
            connection.execute(
                insert(run_batches_table),
                [
                    {"run_id": run_id, "number": n, "stubs": stubs_to_json(stubs)}
                    for n, stubs in enumerate(batches)
                ],
            )
            defer(connection.connection.driver_connection)

    def run(self, run_id: int) -> SplitRun | None:
        """Split run ``run_id`` as its listing job left it; None if it is not one."""
        query = (
            select(run_listings_table, sources_table.c.name)
            .join(sources_table, sources_table.c.id == run_listings_table.c.source_id)
            .where(run_listings_table.c.run_id == run_id)
        )
        with self._db.reading() as connection:
            if connection is None:
                return None
            row = connection.execute(query).mappings().one_or_none()
        if row is None:
            return None
        listing = Listing(
            stubs=stubs_from_json(row["stubs"]),
            complete=bool(row["complete"]),
            failures=tuple(Failure(key, message) for key, message in row["failures"]),
            left_out=int(row["left_out"]),
        )
        return SplitRun(
            run_id=run_id,
            source=row["name"],
            listing=listing,
            cursor=row["cursor"],
            import_source_id=row["import_source_id"],
            batches=int(row["batches"]),
            known=int(row["known"]),
            trigger_serial=int(row["trigger_serial"]),
            trigger_previous=int(row["trigger_previous"]),
            since=row["since"],
            finished_at=row["finished_at"],
            connector_state=row["connector_state"],
        )

    def unfinished(self, source: str) -> list[int]:
        """The ids of ``source`` 's split runs not closed yet, oldest first."""
        query = (
            select(run_listings_table.c.run_id)
            .join(sources_table, sources_table.c.id == run_listings_table.c.source_id)
            .where(sources_table.c.name == source, run_listings_table.c.finished_at.is_(None))
            .order_by(run_listings_table.c.run_id)
        )
        with self._db.reading() as connection:
            if connection is None:
                return []
            return [int(run_id) for run_id in connection.execute(query).scalars()]

    def splitting(self) -> set[str]:
        """The sources with a split run not closed yet (its run row says ``running``
        with no source lock held while its batches go: not an abandoned run)."""
        query = (
            select(sources_table.c.name)
            .join(run_listings_table, run_listings_table.c.source_id == sources_table.c.id)
            .where(run_listings_table.c.finished_at.is_(None))
            .distinct()
        )
        with self._db.reading() as connection:
            if connection is None:
                return set()
            return {str(name) for name in connection.execute(query).scalars()}

    def batches(self, run_id: int) -> list[BatchRow]:
        """Every batch of run ``run_id``, by number."""
        query = (
            select(
                run_batches_table.c.run_id,
                run_batches_table.c.number,
                run_batches_table.c.done,
                run_batches_table.c.worker,
                run_batches_table.c.attempts,
                run_batches_table.c.outcome,
            )
            .where(run_batches_table.c.run_id == run_id)
            .order_by(run_batches_table.c.number)
        )
        with self._db.reading() as connection:
            if connection is None:
                return []
            rows = connection.execute(query).all()
        return [BatchRow(r[0], r[1], bool(r[2]), r[3], int(r[4]), r[5]) for r in rows]

    def take(self, run_id: int, number: int, worker: str, at: datetime) -> tuple[Stub, ...] | None:
        """Batch ``number`` 's stubs for ``worker``, noted as its taker; None once it is done."""
        with self._db.writing() as connection:
            row = connection.execute(
                update(run_batches_table)
                .where(*_undone(run_id), run_batches_table.c.number == number)
                .values(
                    worker=worker,
                    attempts=run_batches_table.c.attempts + 1,
                    taken_at=aware(at),
                )
                # RETURNING, not rowcount: psycopg reports -1 for some statements.
                .returning(run_batches_table.c.stubs)
            ).one_or_none()
        return None if row is None else stubs_from_json(row[0])

    def claim(self, run_id: int, claims: Sequence[tuple[str, str]]) -> dict[str, str]:
        """Claim each (external_id, key) for its key unless another key has it already;
        the key that holds each of those external ids now."""
        if not claims:
            return {}
        wanted = dict(claims)
        with self._db.writing() as connection:
            statement = self._db.insert(run_claims_table).on_conflict_do_nothing(
                index_elements=[run_claims_table.c.run_id, run_claims_table.c.external_id]
            )
            connection.execute(
                statement,
                [{"run_id": run_id, "external_id": e, "key": k} for e, k in wanted.items()],
            )
            rows = connection.execute(
                select(run_claims_table.c.external_id, run_claims_table.c.key).where(
                    run_claims_table.c.run_id == run_id,
                    run_claims_table.c.external_id.in_(list(wanted)),
                )
            ).all()
        return {str(external_id): str(key) for external_id, key in rows}

    def complete(
        self,
        run_id: int,
        number: int,
        outcome: dict[str, Any],
        at: datetime,
        then: Callable[[Any], None],
    ) -> bool:
        """Mark batch ``number`` done with ``outcome``, once; True when this made it the
        last one of the run, and then ``then`` gets the transaction's DBAPI connection
        (to defer the finish in the same commit). A batch done already changes nothing."""
        outcome = {
            **outcome,
            "errors": [self._redact(error) for error in outcome.get("errors", [])],
            "documents": [
                [action, key, self._redact(title), self._redact(reason)]
                for action, key, title, reason in outcome.get("documents", [])
            ],
        }
        with self._db.writing() as connection:
            # Two batches ending together take turns here, so exactly one sees none left.
            self._lock_run(connection, run_id)
            done = connection.execute(
                update(run_batches_table)
                .where(*_undone(run_id), run_batches_table.c.number == number)
                .values(done=True, done_at=aware(at), outcome=outcome)
                .returning(run_batches_table.c.number)
            ).one_or_none()
            if done is None:
                return False
            left = connection.execute(
                select(func.count()).select_from(run_batches_table).where(*_undone(run_id))
            ).scalar_one()
            if left:
                return False
            then(connection.connection.driver_connection)
            return True

    def close(self, run_id: int, at: datetime) -> bool:
        """Note run ``run_id`` finished; True for the one call that did."""
        with self._db.writing() as connection:
            row = connection.execute(
                update(run_listings_table)
                .where(
                    run_listings_table.c.run_id == run_id,
                    run_listings_table.c.finished_at.is_(None),
                )
                .values(finished_at=aware(at))
                .returning(run_listings_table.c.run_id)
            ).one_or_none()
        return row is not None

    def in_transaction(self, then: Callable[[Any], None]) -> None:
        """``then`` with a transaction's DBAPI connection (a defer of its own)."""
        with self._db.writing() as connection:
            then(connection.connection.driver_connection)

    def jobs_alive(self, run_id: int) -> int:
        """How many of the engine's jobs of split run ``run_id`` (its batches, its finish)
        are still to run or running: procrastinate's table, Postgres only (0 elsewhere)."""
        with self._db.reading() as connection:
            if connection is None or connection.dialect.name != "postgresql":
                return 0
            found = connection.execute(
                text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE args->>'run_id' = :run_id "
                    "AND status IN ('todo', 'doing')"
                ),
                {"run_id": str(run_id)},
            ).scalar_one()
        return int(found)

    def hold(self, source: str, at: datetime) -> bool:
        """For a run that would list ``source`` outside the engine (a one-shot ``syncer
        sync``, the in-process daemon): True while a split run of it is under way (a job
        of it is still to run), when that run must not list or sweep the source. A split
        run left with no job is closed: the caller's run takes over from its records."""
        for run_id in self.unfinished(source):
            if self.jobs_alive(run_id):
                return True
            self.close(run_id, at)
        return False

    def _lock_run(self, connection: Connection, run_id: int) -> None:
        query = select(run_listings_table.c.run_id).where(run_listings_table.c.run_id == run_id)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        connection.execute(query).one_or_none()
