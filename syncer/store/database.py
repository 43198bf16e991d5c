"""One store's connection to its database: reading, writing, and refusing to write.

What every part of the store shares (``Store``'s documents and sources, its runs,
triggers, jobs, batches and the daemon's state): the engine behind the URL, a
connection to read with (``None`` for a read-only store over nothing yet: a missing
SQLite file reads as empty), a transaction to write in (refused on a read-only store,
before the database is reached), driver failures turned into ``StoreError``, and the
dialect's upsert.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from syncer.errors import StoreError
from syncer.store import engine as engines
from syncer.store.schema import sources_table


class Database:
    """The engine behind one store URL; ``None`` engine: read-only over nothing yet."""

    def __init__(self, engine: Engine | None, url: str, *, read_only: bool) -> None:
        self.engine = engine
        self.url = url
        self.read_only = read_only
        self.closed = False

    @property
    def shown(self) -> str:
        """The URL as it may be printed: its password masked."""
        return engines.safe_url(self.url)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
        self.closed = True

    def require_open(self) -> None:
        if self.closed:
            raise StoreError(f"store {self.shown} is closed", url=self.shown)

    @contextmanager
    def reading(self) -> Iterator[Connection | None]:
        self.require_open()
        if self.engine is None:
            yield None
            return
        with engines.translated_errors(self.url), self.engine.connect() as connection:
            yield connection

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        if self.read_only:
            raise StoreError(
                f"store {self.shown} is open read-only (a dry run writes nothing)",
                url=self.shown,
            )
        self.require_open()
        assert self.engine is not None  # only read-only stores run without an engine
        with engines.translated_errors(self.url), self.engine.begin() as connection:
            yield connection

    def insert(self, table: Any) -> Any:
        """The dialect's INSERT for ``table`` (with ``on_conflict_do_update``)."""
        # The two dialects' Insert classes share on_conflict_do_update and .excluded but
        # no common type that declares them.
        assert self.engine is not None
        # Imported here: the PostgreSQL dialect costs a SQLite run 25 ms to import.
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        return insert(table)


def source_row_id(connection: Connection, name: str) -> int:
    """The id of source ``name`` 's row; ``StoreError`` if there is none."""
    row_id = connection.execute(
        select(sources_table.c.id).where(sources_table.c.name == name)
    ).scalar_one_or_none()
    if row_id is None:
        raise unknown_source(name)
    return int(row_id)


def unknown_source(name: str) -> StoreError:
    return StoreError(f"unknown source {name!r}: ensure_source() it first", source=name)


def aware(at: datetime) -> datetime:
    """``at`` itself, refused if naive: the store keeps timezone-aware times only."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: the store needs timezone-aware times")
    return at
