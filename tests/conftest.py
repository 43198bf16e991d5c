"""Shared fixtures: ``store_url`` for every store backend, ``postgres_url`` for Postgres,
``fake_intercom`` and ``workspace`` (a docs folder synced into a fake Intercom).

Each pytest process (each xdist worker) creates one scratch Postgres database with a
random suffix, so concurrent test sessions on the same server never share one, and drops
it at the end. Every test gets that database emptied first (``public`` schema dropped and
recreated): faster than a database per test, and as clean.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import psycopg
import pytest
from psycopg import sql

from tests.fakes.intercom import FakeIntercom

if TYPE_CHECKING:
    from tests.test_engine import WorkerProcess

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


def terminate_session(url: str, application_name: str) -> None:
    """Cut the session named ``application_name`` from the server's side, as a restart
    or a dead network would, and wait until it is gone (its locks with it)."""
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
        killed = connection.execute(
            # The timeout (ms) makes pg_terminate_backend wait for the backend to exit.
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            [application_name],
        ).fetchall()
    assert killed == [(True,)], f"sessions named {application_name!r}: {killed}"


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


# ---- a workspace: a docs folder, a fake Intercom, a config pointing at both -----------

TOKEN = "tok-9f3c-very-secret"


@pytest.fixture
def fake_intercom() -> Iterator[FakeIntercom]:
    """A running fake Intercom; the test fails if any request broke the spec."""
    with FakeIntercom(TOKEN) as fake:
        yield fake


@dataclass
class Workspace:
    """A docs folder and a config file syncing it into ``fake`` through ``store``."""

    root: Path
    docs: Path
    config: Path
    fake: FakeIntercom

    def write(self, name: str, text: str) -> Path:
        path = self.docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def configure(self, *, store: str | None = None, extra: str = "", intercom: str = "") -> None:
        store = store or f"sqlite:///{self.root / 'store.db'}"
        self.config.write_text(
            f"intercom:\n  token: ${{TEST_INTERCOM_TOKEN}}\n  base_url: {self.fake.url}\n"
            f"{intercom}"
            f"store:\n  url: {store}\n"
            "sources:\n  - name: docs\n    type: filesystem\n    path: docs\n"
            "    url: https://docs.example.com/\n"
            '    page_url: "https://docs.example.com/{path_stem}"\n'
            f"{extra}"
        )

    def with_second_source(self, name: str = "other") -> Path:
        """Configure a second filesystem source holding one page, ``x.md``."""
        folder = self.root / name
        folder.mkdir(exist_ok=True)
        (folder / "x.md").write_text("# X\n")
        self.configure(
            extra=f"  - name: {name}\n    type: filesystem\n    path: {name}\n"
            f"    url: https://{name}.example.com/\n"
        )
        return folder

    def titles(self) -> dict[str, str]:
        """external_id -> title of every page in the fake, failing on duplicates."""
        pages = self.fake.pages()
        ids = [p["external_id"] for p in pages]
        assert len(ids) == len(set(ids)), f"duplicate pages: {sorted(ids)}"
        return {p["external_id"]: p["title"] for p in pages}


@pytest.fixture
def workspace(
    tmp_path: Path, fake_intercom: FakeIntercom, monkeypatch: pytest.MonkeyPatch
) -> Workspace:
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", TOKEN)
    docs = tmp_path / "docs"
    docs.mkdir()
    space = Workspace(tmp_path, docs, tmp_path / "syncer.yaml", fake_intercom)
    space.configure()
    return space


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    """``syncer worker`` processes a test starts (``tests.test_engine.WorkerProcess``),
    each closed at its end."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.close()
