"""Store URLs turned into SQLAlchemy engines, and database failures into ``StoreError``.

This is the store's boundary with the database driver: it picks the driver, makes
SQLite enforce foreign keys, opens read-only connections for dry runs (after recovering
what a killed writer left in a SQLite journal), and translates
``OperationalError`` (server down, file unwritable, database locked) into a
``StoreError`` that names the store without its password and says what to check.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError
from sqlalchemy.pool import NullPool

from syncer.errors import StoreError

# libpq waits forever on a black-holed host by default; a store that cannot be reached
# in this many seconds is reported as unreachable.
CONNECT_TIMEOUT_S = 10

_URL_HINT = "expected sqlite:///path/to/syncer.db or postgresql+psycopg://user@host/db"


def parse_url(url: str) -> URL:
    """The store URL as SQLAlchemy sees it; only SQLite and Postgres are supported.

    A bare ``postgresql://`` means psycopg 3, the driver syncer ships with, not SQLAlchemy's
    default psycopg2.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        # The URL did not parse, so the password cannot be masked: do not echo it.
        raise StoreError(f"the store url is not a valid database URL ({_URL_HINT})") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"store {safe_url(url)}: unsupported database {parsed.get_backend_name()!r} "
            f"({_URL_HINT})",
            url=safe_url(url),
        )
    return parsed


def safe_url(url: str | URL) -> str:
    """The URL with its password masked: the only form of a store URL fit to print."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid store url>"


def sqlite_path(url: URL) -> Path | None:
    """The file behind a SQLite URL, or None for an in-memory database."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        # A sqlite URI (`?uri=true`); syncer does not rewrite those, so treat as opaque.
        return None
    return Path(database)


def create(url: str, *, read_only: bool = False) -> Engine:
    """An engine for ``url``; nothing is connected yet.

    ``read_only`` opens SQLite files with ``mode=ro`` (the file must exist) and makes
    Postgres sessions ``default_transaction_read_only``, so a dry run cannot write even
    through a bug in the caller.
    """
    parsed = parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            return _create_sqlite(parsed, read_only=read_only)
        return _create_postgres(parsed, read_only=read_only)
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"store {safe_url(url)}: the database driver is not installed ({exc.name}); "
            "install syncer with the postgres extra: pip install 'syncer[postgres]'",
            url=safe_url(url),
        ) from None


def _create_sqlite(url: URL, *, read_only: bool) -> Engine:
    path = sqlite_path(url)
    if read_only and path is not None:
        _recover_hot_journal(path)
        # mode=ro: sqlite opens the file without ever writing it, and fails rather than
        # create it. A plain sqlite3 URI avoids quoting a path into SQLAlchemy's URL form.
        uri = f"{path.resolve().as_uri()}?mode=ro"

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, check_same_thread=False)

        engine = create_engine("sqlite://", creator=connect, poolclass=NullPool)
    else:
        engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _enforce_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
        # SQLite ignores ON DELETE CASCADE unless each connection asks for it.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def _recover_hot_journal(path: Path) -> None:
    """Roll back what a process killed mid-write left in ``<store>-journal``.

    A reader must restore the last committed state from a hot journal before it may read,
    and a ``mode=ro`` connection cannot: every read-only open (``syncer status``, a dry
    run) would fail with "attempt to write a readonly database" until the next write run.
    So an ordinary connection does the recovery first; it changes nothing a commit made.
    """
    journal = path.with_name(path.name + "-journal")
    try:
        hot = journal.stat().st_size > 0
    except FileNotFoundError:
        return
    if not hot:
        return
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise StoreError(
            f"cannot use the SQLite store {path}: a process that died mid-write left "
            f"{journal.name}, and recovering it failed ({exc}); run `syncer sync` where the "
            "store is writable, or restore it from a backup",
            url=str(path),
        ) from None


# Postgres truncates application_name to 63 bytes.
_APPLICATION_NAME_MAX = 63
# How long a session connection may go silent before its peer is dead: a probe after
# KEEPALIVE_IDLE_S of silence, then one every KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT
# unanswered, and the connection is dropped; unacknowledged data is given up on after as
# long (TCP_USER_TIMEOUT). The OS defaults take over two hours.
KEEPALIVE_IDLE_S = 10
KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3
DEAD_PEER_S = KEEPALIVE_IDLE_S + KEEPALIVE_INTERVAL_S * KEEPALIVE_COUNT


def session_engine(url: URL | str, application_name: str) -> Engine:
    """An unpooled engine for one Postgres connection held for its session locks (a
    source's lock, the senders of a budget): no pool may lend it to anyone else, and
    ``pg_stat_activity`` names it ``application_name``.

    Both ends watch the connection with TCP keepalives, so that a holder that vanishes
    (power cut, network partition: no FIN ever comes) loses its locks within
    ``DEAD_PEER_S`` (25 s), not the hours of the OS defaults. The server's side is
    asked per session (``tcp_keepalives_*`` and ``tcp_user_timeout`` are settable by any
    role; they apply on TCP connections only, not on a Unix socket), the client's in
    libpq's connection parameters, so that a holder cut off from the server fails its
    next round trip in as long rather than hanging on it.
    """
    parsed = make_url(url)
    # libpq's parameter names; the server's settings are the same names after "tcp_".
    watch = {
        "keepalives_idle": KEEPALIVE_IDLE_S,
        "keepalives_interval": KEEPALIVE_INTERVAL_S,
        "keepalives_count": KEEPALIVE_COUNT,
    }
    user_timeout_ms = DEAD_PEER_S * 1000
    # The URL's own options (a search_path, say) are kept: connect_args would replace them.
    given = parsed.query.get("options", ())
    options = [*((given,) if isinstance(given, str) else given)]
    options += [f"-c tcp_{name}={value}" for name, value in watch.items()]
    options.append(f"-c tcp_user_timeout={user_timeout_ms}")
    return create_engine(
        parsed,
        poolclass=NullPool,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": application_name[:_APPLICATION_NAME_MAX],
            "options": " ".join(options),
            "keepalives": 1,
            **watch,
            "tcp_user_timeout": user_timeout_ms,
        },
    )


def _create_postgres(url: URL, *, read_only: bool) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    if read_only:
        connect_args["options"] = "-c default_transaction_read_only=on"
    # pre_ping: the daemon holds pooled connections across server restarts.
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True)


@contextmanager
def translated_errors(url: str | URL) -> Iterator[None]:
    """Turn driver failures inside the block into a ``StoreError`` without secrets."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise to_store_error(url, exc) from None


def to_store_error(url: str | URL, exc: OperationalError | InterfaceError) -> StoreError:
    """A ``StoreError`` for a driver failure: the store, the driver's reason, a hint."""
    parsed = make_url(url)
    shown = safe_url(parsed)
    reason = _reason(exc, parsed.password)
    if parsed.get_backend_name() == "sqlite":
        where = str(sqlite_path(parsed) or ":memory:")
        if "locked" in reason:
            hint = "another process holds the database; retry, or use Postgres for replicas"
        else:
            hint = "check that the directory exists and is writable (store.url in the config)"
        return StoreError(f"cannot use the SQLite store {where}: {reason}; {hint}", url=shown)
    if exc.statement is None:
        # No statement: the failure was connecting, not a query.
        where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
        return StoreError(
            f"cannot connect to the store at {where} ({shown}): {reason}; is the server "
            "running and reachable, and are store.url's user and database right?",
            url=shown,
            host=where,
        )
    return StoreError(f"store {shown}: {reason}", url=shown)


def _reason(exc: OperationalError | InterfaceError, password: str | None) -> str:
    lines = [line.strip() for line in str(exc.orig).splitlines() if line.strip()]
    reason = " ".join(lines) or type(exc.orig).__name__
    # libpq does not echo passwords today; make sure a future message cannot either.
    if password:
        reason = reason.replace(password, "***")
    return reason
