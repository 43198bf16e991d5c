"""Database fixtures: ``store_url`` for every store backend, ``postgres_url`` for Postgres.

Each pytest process (each xdist worker) creates one scratch Postgres database with a
random suffix, so concurrent test sessions on the same server never share one, and drops
it at the end. Every test gets that database emptied first (``public`` schema dropped and
recreated): faster than a database per test, and as clean.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
# An existing database to connect to while creating and dropping the scratch ones.
POSTGRES_ADMIN_DB = "test"


def _dsn(database: str) -> str:
    return f"postgresql://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{database}"


def _unreachable(reason: str) -> NoReturn:
    message = (
        f"Postgres at {POSTGRES_HOST}:{POSTGRES_PORT} is not usable ({reason}); start it, "
        "or deselect these tests with -m 'not postgres'"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def _postgres_scratch() -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A scratch database for this pytest process; yields an autocommit connection to it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"syncer_test_{worker}_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(_dsn(POSTGRES_ADMIN_DB), autocommit=True, connect_timeout=3) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        _unreachable(" ".join(str(exc).split()))
    try:
        with psycopg.connect(_dsn(name), autocommit=True) as connection:
            # A test that leaves a transaction open must fail, not hang the next reset.
            connection.execute("SET lock_timeout = '10s'")
            yield connection
    finally:
        with psycopg.connect(_dsn(POSTGRES_ADMIN_DB), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def postgres_url(_postgres_scratch: psycopg.Connection[tuple[object, ...]]) -> str:
    """The URL of an empty Postgres database of this test's own."""
    _postgres_scratch.execute("DROP SCHEMA public CASCADE")
    _postgres_scratch.execute("CREATE SCHEMA public")
    name = _postgres_scratch.info.dbname
    return f"postgresql+psycopg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """Where this test's SQLite store lives; the file does not exist yet."""
    return tmp_path / "store.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, sqlite_path: Path) -> str:
    """The URL of an empty store database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{sqlite_path}"
    url: str = request.getfixturevalue("postgres_url")
    return url
