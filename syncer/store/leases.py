"""Lease rows: which daemon replica syncs which source, and until when.

The daemon's renewer (``syncer.daemon.leases``) claims a source's row before a run and
renews it as the run goes on; a replica that dies stops renewing, and its sources free
up when their leases expire. Lease times come from the database's clock on Postgres,
so replicas whose clocks disagree still agree on who holds what; SQLite (one replica)
uses the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, func, select, update

from syncer.store.database import Database
from syncer.store.schema import leases_table


@dataclass(frozen=True, slots=True)
class Lease:
    """Which daemon replica holds a source, until when (unless renewed)."""

    source: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


class LeaseTable:
    """The ``leases`` table of one store."""

    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock

    def acquire(self, source: str, holder: str, ttl: timedelta) -> bool:
        """Claim ``source`` for ``holder`` for ``ttl``; False while another holds it.

        Free, expired, or already ``holder`` 's: the claim succeeds (and is extended).
        """
        with self._db.writing() as connection:
            now = self._now(connection)
            values = {"holder": holder, "acquired_at": now, "expires_at": now + ttl}
            claim = self._db.insert(leases_table).values(source=source, **values)
            # RETURNING, not rowcount: psycopg reports -1 for INSERT .. ON CONFLICT.
            claimed = connection.execute(
                claim.on_conflict_do_update(
                    index_elements=[leases_table.c.source],
                    set_=values,
                    where=(leases_table.c.expires_at < now) | (leases_table.c.holder == holder),
                ).returning(leases_table.c.holder)
            ).first()
            return claimed is not None

    def renew(self, source: str, holder: str, ttl: timedelta) -> bool:
        """Extend ``holder`` 's lease of ``source``; False if it is no longer theirs."""
        with self._db.writing() as connection:
            now = self._now(connection)
            result = connection.execute(
                update(leases_table)
                .where(leases_table.c.source == source, leases_table.c.holder == holder)
                .values(expires_at=now + ttl)
            )
            return bool(result.rowcount == 1)

    def release(self, source: str, holder: str) -> None:
        """Give ``source`` up, if ``holder`` still holds it."""
        with self._db.writing() as connection:
            connection.execute(
                delete(leases_table).where(
                    leases_table.c.source == source, leases_table.c.holder == holder
                )
            )

    def all(self) -> dict[str, Lease]:
        """Every lease row, expired or not, by source name."""
        query = select(
            leases_table.c.source,
            leases_table.c.holder,
            leases_table.c.acquired_at,
            leases_table.c.expires_at,
        )
        with self._db.reading() as connection:
            if connection is None:
                return {}
            rows = connection.execute(query).all()
        return {row[0]: Lease(*row) for row in rows}

    def _now(self, connection: Connection) -> datetime:
        if connection.dialect.name == "postgresql":
            now: datetime = connection.execute(select(func.now())).scalar_one()
            return now
        return self._clock().astimezone(UTC)
