"""The store's revision and the newest one, read without Alembic, are what Alembic reads.

Every store open asks both (``syncer.store.migrate``): one query of ``alembic_version``
and the revision scripts' literal ``revision``/``down_revision`` stand in for Alembic,
which costs a no-op sync about 100 ms to import. Real SQLite and Postgres stores.
"""

from __future__ import annotations

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from syncer.store import engine as engines
from syncer.store import migrate


def test_the_newest_revision_is_alembics() -> None:
    assert migrate.head() == ScriptDirectory.from_config(migrate.config()).get_current_head()


def alembic_reads(url: str) -> str | None:
    engine = engines.create(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def our_read(url: str) -> str | None:
    engine = engines.create(url)
    try:
        with engine.connect() as connection:
            return migrate.current_revision(connection)
    finally:
        engine.dispose()


def test_the_stores_revision_is_what_alembic_reads(store_url: str) -> None:
    engine = engines.create(store_url)
    engine.dispose()  # the SQLite file now exists, empty: no version table
    assert our_read(store_url) is None
    assert alembic_reads(store_url) is None
    scripts = ScriptDirectory.from_config(migrate.config())
    for revision in reversed([script.revision for script in scripts.walk_revisions()]):
        migrate.upgrade(store_url, revision)
        assert our_read(store_url) == alembic_reads(store_url) == revision
    migrate.downgrade(store_url, "base")
    assert our_read(store_url) is None
    assert alembic_reads(store_url) is None


def test_two_rows_in_the_version_table_fail_as_alembic_fails(store_url: str) -> None:
    migrate.upgrade(store_url)
    engine = engines.create(store_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
    finally:
        engine.dispose()
    with pytest.raises(Exception, match="more than one head") as ours:
        our_read(store_url)
    with pytest.raises(Exception, match="more than one head") as theirs:
        alembic_reads(store_url)
    assert type(ours.value) is type(theirs.value)
