"""The change-detection store: what each source sent to Intercom last time.

``Store`` is the only way the rest of syncer touches the database: its own methods are
the sources and their documents (and the intents and workspace facts beside them), its
``runs`` the run rows (syncer.store.runs), ``alerts`` and ``reloads`` the daemon's alert
states and config reloads (syncer.store.daemon_state), ``triggers`` each source's last
trigger and the run that served it (syncer.store.triggers), ``batches`` the runs split
into jobs (syncer.store.batches), ``try_lock`` the per-source locks. It hands the planner
``Record`` s (one SELECT per source), and the run writes back per document right after
Intercom answers, each write committed at once, so a run killed at any moment leaves the
store matching what Intercom has. Hot paths are SQLAlchemy Core statements with dialect
upserts (``INSERT .. ON CONFLICT DO UPDATE``, on SQLite and Postgres alike).

A store opened with ``open_read_only`` (``syncer sync --dry-run``) writes nothing anywhere:
SQLite files are opened ``mode=ro`` and never created, Postgres sessions are read-only,
and every write method refuses before reaching the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    delete,
    func,
    select,
    update,
)

from syncer.errors import StoreError
from syncer.model import Excluded, Hashed, Record
from syncer.store import engine as engines
from syncer.store import locks as source_locks
from syncer.store.batches import BatchTable
from syncer.store.database import Database, aware, source_row_id, unknown_source
from syncer.store.migrate import current_revision, require_head, upgrade, upgrade_connection
from syncer.store.runs import RunLog
from syncer.store.schema import (
    documents_table,
    intents_table,
    runs_table,
    sources_table,
    workspace_table,
)

if TYPE_CHECKING:
    from syncer.store.daemon_state import AlertStates, ReloadLog
    from syncer.store.jobs import JobTable
    from syncer.store.triggers import TriggerTable

# Keys per DELETE .. IN (..): well under SQLite's and Postgres' bound-parameter limits.
_FORGET_CHUNK = 500


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the store keeps about one source between runs."""

    name: str
    type: str
    import_source_id: str | None
    cursor: str | None


class Store:
    """The store behind one URL; open it with ``open`` or ``open_read_only``."""

    def __init__(
        self,
        engine: Engine | None,
        url: str,
        *,
        read_only: bool,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        # engine None: a read-only store over nothing yet (a missing SQLite file, an
        # uninitialised database), which reads as empty.
        self._db = Database(engine, url, read_only=read_only)
        # Run errors and titles pass through it before they are stored: a server that
        # echoes a token into an error must not get it kept (syncer.redact).
        self._redact = redact or (lambda text: text)
        self._locks = source_locks.for_url(engines.parse_url(url), engine)
        self.runs = RunLog(self._db, self._redact)
        self.batches = BatchTable(self._db, self._redact)
        self._upserts: dict[tuple[str, tuple[str, ...], tuple[str, ...]], Any] = {}

    # The daemon's and the engine's tables, made (and their modules imported) when first
    # used: a one-shot sync reads none of them.

    @cached_property
    def alerts(self) -> AlertStates:
        from syncer.store.daemon_state import AlertStates

        return AlertStates(self._db)

    @cached_property
    def reloads(self) -> ReloadLog:
        from syncer.store.daemon_state import ReloadLog

        return ReloadLog(self._db, self._redact)

    @cached_property
    def triggers(self) -> TriggerTable:
        from syncer.store.triggers import TriggerTable

        return TriggerTable(self._db)

    @cached_property
    def jobs(self) -> JobTable:
        from syncer.store.jobs import JobTable

        return JobTable(self._db, self._redact)

    @classmethod
    def open(
        cls, url: str, *, migrate: bool = False, redact: Callable[[str], str] | None = None
    ) -> Store:
        """Open the store for a sync; with ``migrate``, upgrade its schema to head first.

        Without ``migrate`` the schema must already be at head: ``StoreError`` otherwise,
        saying which command to run. ``redact`` scrubs secrets from what is stored.
        """
        parsed = engines.parse_url(url)
        path = engines.sqlite_path(parsed)
        if path is not None and not path.exists() and not migrate:
            # Connecting would create an empty file; say what is missing instead.
            require_head(url, None)
        if path is not None and migrate:
            path.parent.mkdir(parents=True, exist_ok=True)
            # A file SQLite store migrates on an engine of its own: one transaction for
            # the whole upgrade, taken before reading the revision (see migrate.upgrade).
            upgrade(url)
            migrate = False
        engine = engines.create(url)
        try:
            with engines.translated_errors(url), engine.begin() as connection:
                if migrate:
                    upgrade_connection(connection)
                revision = current_revision(connection)
            require_head(url, revision)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, url, read_only=False, redact=redact)

    @classmethod
    def open_read_only(cls, url: str) -> Store:
        """Open the store for a dry run: reads work, nothing is ever written or created.

        A missing SQLite file or an uninitialised database reads as empty; a schema that is
        not at head is a ``StoreError``.
        """
        path = engines.sqlite_path(engines.parse_url(url))
        if path is not None and not path.exists():
            return cls(None, url, read_only=True)
        engine = engines.create(url, read_only=True)
        try:
            with engines.translated_errors(url), engine.connect() as connection:
                revision = current_revision(connection)
            if revision is not None:
                require_head(url, revision)
        except BaseException:
            engine.dispose()
            raise
        if revision is None:
            engine.dispose()
            return cls(None, url, read_only=True)
        return cls(engine, url, read_only=True)

    def close(self) -> None:
        """Release the store's connections; the store cannot be used afterwards."""
        self._locks.close()
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def read_only(self) -> bool:
        """True for a store opened with ``open_read_only``."""
        return self._db.read_only

    # -- reads ------------------------------------------------------------------------

    def records(self, source: str) -> dict[str, Record]:
        """Every document remembered for ``source``, keyed by ``Record.key``."""
        query = (
            select(
                documents_table.c.key,
                documents_table.c.external_id,
                documents_table.c.version,
                documents_table.c.content_hash,
                documents_table.c.page_id,
                documents_table.c.title,
            )
            .join(sources_table, sources_table.c.id == documents_table.c.source_id)
            .where(sources_table.c.name == source)
        )
        with self._reading() as connection:
            if connection is None:
                return {}
            rows = connection.execute(query).all()
        return {
            key: Record(key, external_id, version, content_hash, page_id, title)
            for key, external_id, version, content_hash, page_id, title in rows
        }

    def intents(self, source: str) -> dict[str, str]:
        """Pages of ``source`` asked for but not recorded: external_id -> key."""
        query = (
            select(intents_table.c.external_id, intents_table.c.key)
            .join(sources_table, sources_table.c.id == intents_table.c.source_id)
            .where(sources_table.c.name == source)
        )
        with self._reading() as connection:
            if connection is None:
                return {}
            return {str(e): str(k) for e, k in connection.execute(query).all()}

    def pages_in_fin(self) -> int:
        """How many pages, over every source of the store, Intercom holds by its records."""
        query = (
            select(func.count())
            .select_from(documents_table)
            .where(documents_table.c.page_id.is_not(None))
        )
        with self._reading() as connection:
            if connection is None:
                return 0
            return int(connection.execute(query).scalar_one())

    def workspace_fact(self, key: str) -> str | None:
        """A fact remembered about the Intercom workspace (``foreign_pages``)."""
        with self._reading() as connection:
            if connection is None:
                return None
            value: str | None = connection.execute(
                select(workspace_table.c.value).where(workspace_table.c.key == key)
            ).scalar_one_or_none()
            return value

    def source_state(self, name: str) -> SourceState | None:
        """What is kept about source ``name``; None if it was never ensured."""
        query = select(
            sources_table.c.name,
            sources_table.c.type,
            sources_table.c.import_source_id,
            sources_table.c.cursor,
        ).where(sources_table.c.name == name)
        with self._reading() as connection:
            if connection is None:
                return None
            row = connection.execute(query).one_or_none()
        return None if row is None else SourceState(*row)

    def sources(self) -> list[SourceState]:
        """Every source the store knows, configured or not any more, sorted by name."""
        query = select(
            sources_table.c.name,
            sources_table.c.type,
            sources_table.c.import_source_id,
            sources_table.c.cursor,
        ).order_by(sources_table.c.name)
        with self._reading() as connection:
            if connection is None:
                return []
            rows = connection.execute(query).all()
        return [SourceState(*row) for row in rows]

    # -- sources ----------------------------------------------------------------------

    def ensure_source(self, name: str, type: str) -> SourceState:
        """The state of source ``name``, created (with no ids or cursor) if missing.

        An existing source keeps its ids and cursor; its type is updated if the config
        changed it.
        """
        with self._writing() as connection:
            upsert = self._insert(sources_table).values(name=name, type=type)
            connection.execute(
                upsert.on_conflict_do_update(
                    index_elements=[sources_table.c.name],
                    set_={"type": upsert.excluded.type},
                    # Only touch the row (and updated_at) when the type really changed.
                    where=sources_table.c.type != upsert.excluded.type,
                )
            )
            row = connection.execute(
                select(
                    sources_table.c.name,
                    sources_table.c.type,
                    sources_table.c.import_source_id,
                    sources_table.c.cursor,
                ).where(sources_table.c.name == name)
            ).one()
        return SourceState(*row)

    def set_import_source_id(self, name: str, import_source_id: str | None) -> None:
        """Remember the Intercom Content Import Source that source ``name`` writes to."""
        self._update_source(name, import_source_id=import_source_id)

    def set_cursor(self, name: str, cursor: str | None) -> None:
        """Remember where source ``name``'s connector should resume (commit, watermark).

        Written only when it moved: a no-op run writes nothing but its run row.
        """
        with self._writing() as connection:
            found = connection.execute(
                select(sources_table.c.cursor).where(sources_table.c.name == name)
            ).one_or_none()
            if found is None:
                raise unknown_source(name)
            if found[0] != cursor:
                connection.execute(
                    update(sources_table).where(sources_table.c.name == name).values(cursor=cursor)
                )

    def rename_source(self, old: str, new: str) -> None:
        """Source ``old`` is now called ``new``: its records, cursor and runs move with it.

        Only into a name the store has no records for. A row ``ensure_source`` already
        made for ``new`` (the run in progress started under it) hands its runs over and
        goes.
        """
        with self._writing() as connection:
            old_id = source_row_id(connection, old)
            target = connection.execute(
                select(sources_table.c.id).where(sources_table.c.name == new)
            ).scalar_one_or_none()
            if target is not None:
                used = connection.execute(
                    select(func.count())
                    .select_from(documents_table)
                    .where(documents_table.c.source_id == target)
                ).scalar_one()
                if used:
                    raise StoreError(
                        f"cannot rename source {old!r} to {new!r}: the store already has "
                        f"records for {new!r}",
                        source=new,
                    )
                for table in (runs_table, intents_table):
                    connection.execute(
                        update(table).where(table.c.source_id == target).values(source_id=old_id)
                    )
                connection.execute(delete(sources_table).where(sources_table.c.id == target))
            connection.execute(
                update(sources_table).where(sources_table.c.id == old_id).values(name=new)
            )

    def delete_source(self, name: str) -> None:
        """Drop source ``name`` with its records, intents and runs (it left the config)."""
        with self._writing() as connection:
            connection.execute(delete(sources_table).where(sources_table.c.name == name))

    def set_workspace_fact(self, key: str, value: str) -> None:
        with self._writing() as connection:
            upsert = self._insert(workspace_table).values(key=key, value=value)
            connection.execute(
                upsert.on_conflict_do_update(
                    index_elements=[workspace_table.c.key], set_={"value": upsert.excluded.value}
                )
            )

    # -- documents --------------------------------------------------------------------

    def record_pushed(self, source: str, hashed: Hashed, page_id: str | None, at: datetime) -> None:
        """Remember that ``hashed`` was just sent to Intercom as page ``page_id``.

        Committed before returning: the run calls this right after Intercom answers, so a
        crash afterwards cannot make syncer forget a page it created.
        """
        self.record_pushed_many(source, [(hashed, page_id)], at)

    def record_pushed_many(
        self, source: str, pushed: Sequence[tuple[Hashed, str | None]], at: datetime
    ) -> None:
        """``record_pushed`` for several answers at once, in one transaction.

        For the answers that arrive together while many calls are in flight: one commit
        instead of one each, still before any of them is reported done.
        """
        if not pushed:
            return
        when = aware(at)
        rows = [
            {
                "key": hashed.document.key,
                "external_id": hashed.document.external_id,
                "version": hashed.document.version,
                "content_hash": hashed.content_hash,
                "page_id": page_id,
                "title": self._redact(hashed.document.title),
                "last_pushed_at": when,
                "last_seen_at": when,
            }
            for hashed, page_id in pushed
        ]
        with self._writing() as connection:
            self._upsert_documents(connection, source, rows)
            self._clear_intents(connection, source, [h.document.external_id for h, _ in pushed])

    def record_intents(self, source: str, pages: Sequence[tuple[str, str]], at: datetime) -> None:
        """Note pages about to be created, as (key, external_id), before asking Intercom.

        ``record_pushed_many`` removes each one with its answer; one left behind tells the
        next run that the page may exist without the store knowing its id.
        """
        if not pages:
            return
        when = aware(at)
        with self._writing() as connection:
            source_id = source_row_id(connection, source)
            connection.execute(
                self._upsert(intents_table, ("source_id", "external_id"), ("key", "created_at")),
                [
                    {
                        "source_id": source_id,
                        "external_id": external_id,
                        "key": key,
                        "created_at": when,
                    }
                    for key, external_id in pages
                ],
            )

    def clear_intents(self, source: str, external_ids: Sequence[str]) -> None:
        """Forget intents that were resolved (the page was found, or never made)."""
        if not external_ids:
            return
        with self._writing() as connection:
            self._clear_intents(connection, source, external_ids)

    def _clear_intents(
        self, connection: Connection, source: str, external_ids: Sequence[str]
    ) -> None:
        source_id = source_row_id(connection, source)
        _delete_in(connection, intents_table, intents_table.c.external_id, source_id, external_ids)

    def record_versions(self, source: str, items: Sequence[Hashed], at: datetime) -> None:
        """Remember new listing versions of documents whose content did not change."""
        if not items:
            return
        params = [
            {"b_key": item.document.key, "b_version": item.document.version} for item in items
        ]
        with self._writing() as connection:
            source_id = source_row_id(connection, source)
            statement = (
                update(documents_table)
                .where(
                    documents_table.c.source_id == source_id,
                    documents_table.c.key == bindparam("b_key"),
                )
                .values(version=bindparam("b_version"), last_seen_at=aware(at))
            )
            connection.execute(statement, params)

    def record_excluded(self, source: str, items: Sequence[Excluded], at: datetime) -> None:
        """Remember documents listed but deliberately not sent (drafts), with no hash."""
        if not items:
            return
        seen = aware(at)
        rows = [
            {
                "key": item.key,
                "external_id": item.key,
                "version": item.version,
                "content_hash": None,
                "page_id": None,
                "title": "",
                "last_seen_at": seen,
            }
            for item in items
        ]
        with self._writing() as connection:
            self._upsert_documents(connection, source, rows)

    def _upsert_documents(
        self, connection: Connection, source: str, rows: list[dict[str, Any]]
    ) -> None:
        """Insert or overwrite document rows by key; every row names the same columns."""
        source_id = source_row_id(connection, source)
        columns = tuple(column for column in rows[0] if column != "key")
        connection.execute(
            self._upsert(documents_table, ("source_id", "key"), columns),
            [{"source_id": source_id, **row} for row in rows],
        )

    def forget(self, source: str, keys: Sequence[str]) -> None:
        """Drop the rows of ``keys`` (a page deleted from Intercom, a draft gone)."""
        if not keys:
            return
        with self._writing() as connection:
            _delete_in(
                connection,
                documents_table,
                documents_table.c.key,
                source_row_id(connection, source),
                keys,
            )

    # -- liveness and staleness ----------------------------------------------------------

    def ping(self) -> None:
        """Raise ``StoreError`` unless the database answers a trivial query."""
        with self._reading() as connection:
            if connection is not None:
                connection.execute(select(1)).scalar_one()

    # -- plumbing ---------------------------------------------------------------------

    @property
    def _shown(self) -> str:
        return self._db.shown

    def _reading(self) -> AbstractContextManager[Connection | None]:
        return self._db.reading()

    def _writing(self) -> AbstractContextManager[Connection]:
        return self._db.writing()

    def _require_open(self) -> None:
        self._db.require_open()

    # -- per-source locks (syncer.store.locks) -----------------------------------------

    def try_lock(self, source: str, holder: str) -> source_locks.SourceLock | None:
        """``source`` 's lock for ``holder``, or None at once if another run holds it."""
        self._require_open()
        return self._locks.try_acquire(source, holder)

    def lock_holder(self, source: str) -> str | None:
        """Who holds ``source`` 's lock now; None when it is free."""
        self._require_open()
        return self._locks.holder_of(source)

    def holds_lock(self, source: str) -> bool:
        """Whether a run of this process holds ``source`` 's lock."""
        self._require_open()
        return self._locks.holds(source)

    def _insert(self, table: Any) -> Any:
        return self._db.insert(table)

    def _upsert(self, table: Table, keys: tuple[str, ...], columns: tuple[str, ...]) -> Any:
        """INSERT into ``table``, or on a clash of ``keys`` SET ``columns`` to the row's;
        built once a store: building one (its EXCLUDED alias, its cache key) cost more
        than running it, at every batch of a run."""
        key = (table.name, keys, columns)
        statement = self._upserts.get(key)
        if statement is None:
            insert = self._insert(table)
            statement = insert.on_conflict_do_update(
                index_elements=[table.c[name] for name in keys],
                set_={name: insert.excluded[name] for name in columns},
            )
            self._upserts[key] = statement
        return statement

    def _update_source(self, name: str, **values: str | None) -> None:
        with self._writing() as connection:
            result = connection.execute(
                update(sources_table).where(sources_table.c.name == name).values(**values)
            )
            if result.rowcount != 1:
                raise unknown_source(name)


def _delete_in(
    connection: Connection,
    table: Table,
    column: Any,
    source_id: int,
    values: Sequence[str],
) -> None:
    """Delete the source's rows whose ``column`` is one of ``values``, a chunk at a time."""
    for start in range(0, len(values), _FORGET_CHUNK):
        chunk = list(values[start : start + _FORGET_CHUNK])
        connection.execute(delete(table).where(table.c.source_id == source_id, column.in_(chunk)))
