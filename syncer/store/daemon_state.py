"""What daemon replicas share of their own: each source's alert state, and config reloads.

``AlertStates`` holds each source's health as its alerts last reported it (how its last
finished run ended, and whether it is stale). A replica that sees a source's health
change swaps the row by compare-and-set and sends the alert only if its swap won, so a
transition is told once, whichever replica saw it first, and a restart re-sends nothing.
``ReloadLog`` keeps the last SIGHUP reloads, so every replica's status page shows the
problems of one that failed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from syncer.store.database import Database, aware
from syncer.store.schema import RELOADS_KEPT, alert_states_table, config_reloads_table

RUN_STATES: tuple[str, ...] = ("ok", "failed", "blocked")


@dataclass(frozen=True, slots=True)
class Health:
    """A source's health as alerts see it: ``run_state`` (``RUN_STATES``), ``stale``, and
    when it last changed (None: never judged, which counts as healthy)."""

    run_state: str = "ok"
    stale: bool = False
    changed_at: datetime | None = None

    @property
    def healthy(self) -> bool:
        return self.run_state == "ok" and not self.stale


@dataclass(frozen=True, slots=True)
class Reload:
    """One config reload of one replica: taken (``ok``), or refused for ``problems``."""

    replica: str
    at: datetime
    ok: bool
    problems: tuple[str, ...]


class AlertStates:
    """The ``alert_states`` table of one store."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def get(self, source: str) -> Health:
        """``source`` 's health as last reported; a source never judged is healthy."""
        return self.all().get(source, Health())

    def all(self) -> dict[str, Health]:
        query = select(
            alert_states_table.c.source,
            alert_states_table.c.run_state,
            alert_states_table.c.stale,
            alert_states_table.c.changed_at,
        )
        with self._db.reading() as connection:
            if connection is None:
                return {}
            rows = connection.execute(query).all()
        return {name: Health(state, bool(stale), at) for name, state, stale, at in rows}

    def swap(self, source: str, old: Health, new: Health, at: datetime) -> bool:
        """Make ``source`` 's health ``new`` if it is still ``old``; whether it was.

        The caller that gets True owns the transition (and its alert); a False means
        another replica changed it first: read it again.
        """
        if new.run_state not in RUN_STATES:
            raise ValueError(f"unknown run state {new.run_state!r}; one of {RUN_STATES}")
        when = aware(at)
        with self._db.writing() as connection:
            seed = self._db.insert(alert_states_table).values(
                source=source, run_state="ok", stale=False, changed_at=when
            )
            connection.execute(
                seed.on_conflict_do_nothing(index_elements=[alert_states_table.c.source])
            )
            result = connection.execute(
                update(alert_states_table)
                .where(
                    alert_states_table.c.source == source,
                    alert_states_table.c.run_state == old.run_state,
                    alert_states_table.c.stale == old.stale,
                )
                .values(run_state=new.run_state, stale=new.stale, changed_at=when)
            )
            return bool(result.rowcount == 1)

    def forget(self, keep: Sequence[str]) -> None:
        """Drop the states of sources not in ``keep`` (they left the config)."""
        with self._db.writing() as connection:
            connection.execute(
                delete(alert_states_table).where(alert_states_table.c.source.not_in(keep))
            )


class ReloadLog:
    """The ``config_reloads`` table of one store."""

    def __init__(self, database: Database, redact: Callable[[str], str]) -> None:
        self._db = database
        self._redact = redact

    def record(self, replica: str, at: datetime, *, ok: bool, problems: Sequence[str]) -> None:
        """Remember one reload; only the newest ``RELOADS_KEPT`` are kept."""
        with self._db.writing() as connection:
            connection.execute(
                insert(config_reloads_table).values(
                    replica=replica,
                    at=aware(at),
                    ok=ok,
                    problems=[self._redact(problem) for problem in problems],
                )
            )
            newest = (
                select(config_reloads_table.c.id)
                .order_by(config_reloads_table.c.id.desc())
                .limit(RELOADS_KEPT)
                .subquery()
            )
            connection.execute(
                delete(config_reloads_table).where(
                    config_reloads_table.c.id.not_in(select(newest.c.id))
                )
            )

    def latest(self) -> Reload | None:
        """The newest reload of any replica; None before the first."""
        query = (
            select(
                config_reloads_table.c.replica,
                config_reloads_table.c.at,
                config_reloads_table.c.ok,
                config_reloads_table.c.problems,
            )
            .order_by(config_reloads_table.c.id.desc())
            .limit(1)
        )
        with self._db.reading() as connection:
            if connection is None:
                return None
            row = connection.execute(query).one_or_none()
        if row is None:
            return None
        replica, at, ok, problems = row
        return Reload(replica, at, bool(ok), tuple(problems or ()))
