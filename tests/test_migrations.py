"""The Alembic migrations: they go up and down cleanly and match ``schema.metadata``.

On Postgres the store also holds the task engine's tables (procrastinate's schema,
revision 0006); they come and go with their revision, and autogenerate leaves them be.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from syncer.store import Store, migrate
from syncer.store import engine as engines
from syncer.store.schema import metadata, ours

TABLES = {
    "sources",
    "documents",
    "runs",
    "intents",
    "workspace",
    "run_documents",
    "alert_states",
    "config_reloads",
    "triggers",
    "job_failures",
}
# Revision 0008: runs split into jobs (syncer.engine.batches), on every backend.
SPLIT_TABLES = {"run_listings", "run_batches", "run_claims"}
# Revisions 0002 to 0009: the daemon's leases, retired by 0010.
LEASES = {"leases"}
ENGINE_TABLES = {
    "procrastinate_jobs",
    "procrastinate_workers",
    "procrastinate_events",
    "procrastinate_periodic_defers",
}


def _expected(url: str) -> set[str]:
    return TABLES | SPLIT_TABLES | (ENGINE_TABLES if url.startswith("postgresql") else set())


def _tables(url: str) -> set[str]:
    engine = engines.create(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From a directory with no alembic.ini: the runtime must not need one.
    monkeypatch.chdir(tmp_path)
    assert migrate.current(store_url) is None

    migrate.upgrade(store_url)
    assert migrate.current(store_url) == migrate.head()
    assert _tables(store_url) == _expected(store_url)

    migrate.downgrade(store_url, "0009")  # the lease table comes back
    assert _tables(store_url) == _expected(store_url) | LEASES
    migrate.downgrade(store_url, "0007")  # the split runs' tables go
    assert _tables(store_url) == (_expected(store_url) - SPLIT_TABLES) | LEASES
    migrate.downgrade(store_url, "0005")  # the engine's schema goes, the store's stays
    assert _tables(store_url) == (TABLES - {"job_failures"}) | LEASES
    migrate.upgrade(store_url)
    assert _tables(store_url) == _expected(store_url)

    migrate.downgrade(store_url, "base")
    assert migrate.current(store_url) is None
    assert _tables(store_url) == set()

    migrate.upgrade(store_url)
    assert migrate.current(store_url) == migrate.head()
    with Store.open(store_url) as store:
        assert store.ensure_source("docs", "git").name == "docs"


def _leases_shape(url: str) -> dict[str, object]:
    engine = engines.create(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            columns = [
                (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns("leases")
            ]
            return {"columns": columns, "key": inspector.get_pk_constraint("leases")}
    finally:
        engine.dispose()


def test_downgrading_0010_makes_the_lease_table_as_0002_did(store_url: str) -> None:
    migrate.upgrade(store_url, "0009")
    made = _leases_shape(store_url)
    migrate.upgrade(store_url)
    assert "leases" not in _tables(store_url)
    migrate.downgrade(store_url, "0009")
    assert _leases_shape(store_url) == made


def test_upgrade_at_head_is_a_no_op(store_url: str) -> None:
    with Store.open(store_url, migrate=True) as store:
        store.ensure_source("docs", "git")
    migrate.upgrade(store_url)
    with Store.open(store_url, migrate=True) as store:
        assert store.source_state("docs") is not None


def test_no_pending_autogenerate_diff(store_url: str) -> None:
    migrate.upgrade(store_url)
    engine = engines.create(store_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": ours}
            )
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_constraint_and_index_names_follow_the_convention(store_url: str) -> None:
    migrate.upgrade(store_url)
    engine = engines.create(store_url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            indexes = {index["name"] for table in TABLES for index in inspector.get_indexes(table)}
            uniques = {u["name"] for u in inspector.get_unique_constraints("sources")}
            foreign_keys = {
                fk["name"]
                for table in ("documents", "runs", "run_documents")
                for fk in inspector.get_foreign_keys(table)
            }
    finally:
        engine.dispose()
    assert {"ix_documents_source_id_external_id", "ix_runs_source_id_started_at"} <= indexes
    assert uniques == {"uq_sources_name"}
    assert foreign_keys == {
        "fk_documents_source_id_sources",
        "fk_runs_source_id_sources",
        "fk_run_documents_run_id_runs",
    }


def test_script_location_is_the_installed_package() -> None:
    location = migrate.script_location()
    assert (location / "env.py").is_file()
    assert (location / "versions" / "0001_initial.py").is_file()
    assert migrate.head() == "0010"
    assert migrate.known_revisions() == frozenset(
        {"0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010"}
    )
