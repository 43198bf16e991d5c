"""The per-source locks on the real Postgres (``syncer.store.locks``).

A lock is one holder's, in its store's database only; the server frees it the moment
its session ends, and the holder's next check says so. The lock's connection asks both
ends to watch it with TCP keepalives, so a holder whose machine vanishes loses its locks
in seconds, not hours: the server's side is read back with ``SHOW`` on the lock's own
session, the client's from its socket.
"""

from __future__ import annotations

import os
import socket
import uuid

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Connection, text

from syncer.store import engine as engines
from syncer.store.locks import CONFIRM_S, PostgresLocks
from tests.conftest import POSTGRES_ADMIN_DB, terminate_session

pytestmark = pytest.mark.postgres

SERVER_SETTINGS = {
    "tcp_keepalives_idle": str(engines.KEEPALIVE_IDLE_S),
    "tcp_keepalives_interval": str(engines.KEEPALIVE_INTERVAL_S),
    "tcp_keepalives_count": str(engines.KEEPALIVE_COUNT),
    "tcp_user_timeout": str(engines.DEAD_PEER_S * 1000),  # milliseconds
}


def _settings(connection: Connection, names: list[str]) -> dict[str, str]:
    return {name: str(connection.execute(text(f"SHOW {name}")).scalar_one()) for name in names}


def _client_keepalives(connection: Connection) -> tuple[int, int, int, int, int]:
    """SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT and TCP_USER_TIMEOUT of the
    connection's socket, as the kernel has them."""
    fd = connection.connection.dbapi_connection.pgconn.socket  # type: ignore[union-attr]
    with socket.socket(fileno=os.dup(fd)) as sock:
        return (
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
        )


def test_a_lock_is_its_holders_until_its_session_ends(postgres_url: str) -> None:
    url = engines.parse_url(postgres_url)
    engine = engines.create(postgres_url)
    now = [1000.0]
    mine = PostgresLocks(url, engine, monotonic=lambda: now[0])
    theirs = PostgresLocks(url, engine)
    try:
        lock = mine.try_acquire("docs", "replica a")
        assert lock is not None
        assert theirs.try_acquire("docs", "replica b") is None
        assert theirs.holder_of("docs") == "replica a"
        assert theirs.try_acquire("wiki", "replica b") is not None  # sources are independent
        terminate_session(postgres_url, "syncer replica a")
        assert theirs.holder_of("docs") is None
        assert theirs.try_acquire("docs", "replica b") is not None
        # Confirmed when it was taken, so trusted for CONFIRM_S; then the server is
        # asked again, and the session is gone.
        assert lock.check()
        now[0] += CONFIRM_S
        assert not lock.check()
        assert not lock.check()  # and stays lost
    finally:
        mine.close()
        theirs.close()
        engine.dispose()


def test_the_lock_connection_asks_both_ends_to_notice_a_vanished_peer(postgres_url: str) -> None:
    locks = PostgresLocks(engines.parse_url(postgres_url), None)
    try:
        assert locks.try_acquire("docs", "replica a") is not None
        # The lock's own session: SHOW answers for it alone, as its socket has it.
        connection = locks._connection
        assert connection is not None
        assert _settings(connection, list(SERVER_SETTINGS)) == SERVER_SETTINGS
        assert _client_keepalives(connection) == (
            1,
            engines.KEEPALIVE_IDLE_S,
            engines.KEEPALIVE_INTERVAL_S,
            engines.KEEPALIVE_COUNT,
            engines.DEAD_PEER_S * 1000,
        )
    finally:
        locks.close()


def test_a_session_keeps_the_options_of_its_url(postgres_url: str) -> None:
    engine = engines.session_engine(
        f"{postgres_url}?options=-c%20statement_timeout%3D1234", "syncer probe"
    )
    try:
        with engine.connect() as connection:
            shown = _settings(connection, ["statement_timeout", "tcp_keepalives_idle"])
    finally:
        engine.dispose()
    assert shown == {
        "statement_timeout": "1234ms",
        "tcp_keepalives_idle": str(engines.KEEPALIVE_IDLE_S),
    }


def test_a_lock_in_another_database_on_the_server_is_not_this_stores(postgres_url: str) -> None:
    other = f"syncer_locks_{uuid.uuid4().hex[:8]}"
    server = postgres_url.replace("+psycopg", "").rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/{POSTGRES_ADMIN_DB}", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(other)))
    elsewhere = PostgresLocks(engines.parse_url(postgres_url).set(database=other), None)
    engine = engines.create(postgres_url)
    here = PostgresLocks(engines.parse_url(postgres_url), engine)
    try:
        assert elsewhere.try_acquire("docs", "another store's run") is not None
        assert here.holder_of("docs") is None
        assert here.try_acquire("docs", "replica a") is not None  # no conflict either
        assert here.holder_of("docs") == "replica a"
    finally:
        here.close()
        elsewhere.close()
        engine.dispose()
        with psycopg.connect(f"{server}/{POSTGRES_ADMIN_DB}", autocommit=True) as admin:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(other)))
