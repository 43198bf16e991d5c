"""Trigger rows: each source's last trigger, and which run served it, shared by replicas.

A trigger (a webhook, ``syncer trigger``, the status page's "sync now") bumps its source's
``serial`` and says what it was. A run notes the serial it begins at (``begin``); when
it ends, ``serial > begun`` means a trigger came after it began, whichever replica took
that trigger: one more run is due, so a burst of triggers costs at most two runs. The
finished run records the serial it served (``finish``), how it ended, and how long Intercom
waited for the change (``freshness_s``: from the served change to the run's end, when the
run wrote to Intercom). ``syncer trigger --wait`` waits for ``done`` to reach its serial.

The serials order triggers and runs without comparing replicas' clocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from syncer.store.database import Database, aware
from syncer.store.schema import triggers_table

WHAT_CHARS = 300  # a commit message's first line can be long; the page shows one line


@dataclass(frozen=True, slots=True)
class Trigger:
    """A source's last trigger and the newest run that served one."""

    source: str
    serial: int
    at: datetime
    what: str
    changed_at: datetime | None
    begun: int
    done: int
    done_at: datetime | None
    done_status: str | None
    done_exit: int | None
    freshness_s: float | None

    @property
    def pending(self) -> bool:
        """A trigger came after the newest run began: one more run is due."""
        return self.serial > self.begun


@dataclass(frozen=True, slots=True)
class Begun:
    """What ``begin`` saw: the serial the run serves, and the one the previous run had."""

    serial: int
    previous: int


class TriggerTable:
    """The ``triggers`` table of one store."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def record(
        self, source: str, at: datetime, what: str, *, changed_at: datetime | None = None
    ) -> int:
        """Count one trigger of ``source``; its serial (1 for the first)."""
        values = {
            "at": aware(at),
            "what": what[:WHAT_CHARS],
            "changed_at": aware(changed_at) if changed_at is not None else None,
        }
        with self._db.writing() as connection:
            upsert = self._db.insert(triggers_table).values(source=source, serial=1, **values)
            upsert = upsert.on_conflict_do_update(
                index_elements=[triggers_table.c.source],
                set_={"serial": triggers_table.c.serial + 1, **values},
            ).returning(triggers_table.c.serial)
            # RETURNING, not a second SELECT: two triggers at once each get their own.
            return int(connection.execute(upsert).scalar_one())

    def begin(self, source: str) -> Begun:
        """A run of ``source`` begins: it serves every trigger counted so far."""
        with self._db.writing() as connection:
            row = connection.execute(
                select(
                    triggers_table.c.serial,
                    triggers_table.c.begun,
                    triggers_table.c.at,
                    triggers_table.c.changed_at,
                )
                .where(triggers_table.c.source == source)
                .with_for_update()
            ).one_or_none()
            if row is None:
                return Begun(0, 0)
            serial, begun, at, changed_at = row
            if serial > begun:
                connection.execute(
                    update(triggers_table)
                    .where(triggers_table.c.source == source)
                    .values(begun=serial, begun_changed_at=changed_at or at)
                )
            return Begun(serial, begun)

    def rewind(self, source: str, begun: Begun) -> None:
        """The run that ``begin`` saw did not run (another held the source's lock): its
        triggers are due again."""
        with self._db.writing() as connection:
            connection.execute(
                update(triggers_table)
                .where(triggers_table.c.source == source, triggers_table.c.begun == begun.serial)
                .values(begun=begun.previous)
            )

    def finish(
        self,
        source: str,
        begun: Begun,
        *,
        at: datetime,
        status: str,
        exit_code: int,
        wrote: bool,
        changed_at: datetime | None = None,
    ) -> float | None:
        """The run that began at ``begun`` ended: record it as having served its serial.

        Returns the freshness it achieved (seconds from the change it served to now)
        when it wrote to Intercom: from ``changed_at`` (the newest change the run wrote,
        as its source dated it) when given, else from the trigger it served that the
        previous runs had not. A run with no trigger row and a ``changed_at`` makes one
        (serial 0: no trigger), so the page shows every run's freshness.
        """
        when = aware(at)
        with self._db.writing() as connection:
            row = connection.execute(
                select(triggers_table.c.done, triggers_table.c.begun_changed_at)
                .where(triggers_table.c.source == source)
                .with_for_update()
            ).one_or_none()
            if wrote and changed_at is not None and (row is None or begun.serial == 0):
                untriggered = max(0.0, (when - aware(changed_at)).total_seconds())
                if row is None:
                    connection.execute(
                        self._db.insert(triggers_table)
                        .values(source=source, serial=0, at=when, what="", freshness_s=untriggered)
                        .on_conflict_do_update(
                            index_elements=[triggers_table.c.source],
                            set_={"freshness_s": untriggered},
                        )
                    )
                else:
                    connection.execute(
                        update(triggers_table)
                        .where(triggers_table.c.source == source)
                        .values(freshness_s=untriggered)
                    )
                return untriggered
            if row is None or begun.serial == 0:
                return None
            done, changed = row
            if begun.serial < done:  # a later run (another replica's) finished first
                return None
            fresh: float | None = None
            if wrote and changed_at is not None:
                fresh = max(0.0, (when - aware(changed_at)).total_seconds())
            elif wrote and begun.serial > begun.previous and changed is not None:
                fresh = max(0.0, (when - changed).total_seconds())
            values: dict[str, object] = {
                "done": begun.serial,
                "done_at": when,
                "done_status": status,
                "done_exit": exit_code,
            }
            if fresh is not None:
                values["freshness_s"] = fresh
            connection.execute(
                update(triggers_table).where(triggers_table.c.source == source).values(**values)
            )
            return fresh

    def get(self, source: str) -> Trigger | None:
        return self.all().get(source)

    def all(self) -> dict[str, Trigger]:
        """Every source's row, by source name."""
        query = select(
            triggers_table.c.source,
            triggers_table.c.serial,
            triggers_table.c.at,
            triggers_table.c.what,
            triggers_table.c.changed_at,
            triggers_table.c.begun,
            triggers_table.c.done,
            triggers_table.c.done_at,
            triggers_table.c.done_status,
            triggers_table.c.done_exit,
            triggers_table.c.freshness_s,
        )
        with self._db.reading() as connection:
            if connection is None:
                return {}
            rows = connection.execute(query).all()
        return {row[0]: Trigger(*row) for row in rows}
