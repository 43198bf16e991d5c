"""Per-source locks: one run of a source at a time, across processes and machines.

Every run that writes (one-shot ``syncer sync``, a daemon's scheduled run, ``syncer
reconcile``) holds its source's lock from before it reads the store until its run row
is closed, so two runs can never both create a Content Import Source or send pages of
one source. The lock lives where the store lives:

* Postgres: a session-level advisory lock per source, all of one store's locks on one
  dedicated connection whose ``application_name`` names the holder (so ``syncer
  status`` can tell who holds a source). The server drops it the moment the holding
  process dies or its connection breaks: a killed run frees its sources at once.
* SQLite: an ``flock`` on a file per source in ``<database>.locks/``, holding the
  holder's name; the kernel drops it when the process dies.
* An in-memory SQLite database: a lock inside this process.

A Postgres lock can be lost while its holder lives (the connection cut, the server
restarted), and a paused process does not notice. ``SourceLock.check`` is therefore
asked before every write: a confirmation older than ``CONFIRM_S`` is renewed with a
round trip on the lock's own connection, and if that fails the lock may be someone
else's now, so the run sends nothing more.

A holder whose machine vanishes (a power cut, a network partition) never closes its
connection, so the server has to notice: the lock's connection keeps TCP keepalives on
both ends (``engine.session_engine``), and the server drops it, and its locks, after
``engine.DEAD_PEER_S`` (25 s) without a word from the holder. Another replica takes the
source over at its next try after that. A holder that is alive but cut off has stopped
writing long before: a write leaves only within ``CONFIRM_S`` (5 s) of the server's last
answer, and the next check waits on the server (the writes behind it too) until its
round trip fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from syncer.store import engine as engines

# The advisory-lock namespace of syncer's source locks ("sync"); the migration lock in
# ``syncer.store.migrate`` uses the one-argument form, so the two never meet.
_PG_CLASS = 0x73796E63
# How long a Postgres lock counts as confirmed before a write asks the server again; well
# under engine.DEAD_PEER_S, the silence after which the server frees the locks of a holder.
CONFIRM_S = 5.0


def process_holder(role: str) -> str:
    """A name for this process in lock files and ``application_name``: what, where, pid."""
    return f"{role} {socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class SourceLock(Protocol):
    """A held source lock; ``release`` it when the run is recorded."""

    @property
    def source(self) -> str: ...

    def check(self) -> bool:
        """True while the lock is certainly still held (asked before each write)."""
        ...

    def release(self) -> None: ...


class Locks(Protocol):
    """The locks of one store."""

    def try_acquire(self, source: str, holder: str) -> SourceLock | None:
        """The lock of ``source``, or None at once if another run holds it."""
        ...

    def holder_of(self, source: str) -> str | None:
        """Who holds ``source`` 's lock now (None: nobody, or it cannot be told)."""
        ...

    def holds(self, source: str) -> bool:
        """Whether a run of this process holds ``source`` 's lock (no query is made)."""
        ...

    def close(self) -> None: ...


def for_url(
    url: URL, engine: Engine | None, *, monotonic: Callable[[], float] = time.monotonic
) -> Locks:
    """The locks that fit the store at ``url`` (``engine``: its engine, for queries)."""
    if url.get_backend_name() == "postgresql":
        return PostgresLocks(url, engine, monotonic=monotonic)
    path = engines.sqlite_path(url)
    if path is None:
        return ProcessLocks()
    return FileLocks(path.parent / f"{path.name}.locks")


# -- in this process ---------------------------------------------------------------------


class _Held:
    """The sources this process holds, so a second claim in the same process fails too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: set[str] = set()

    def claim(self, source: str) -> bool:
        with self._lock:
            if source in self._names:
                return False
            self._names.add(source)
            return True

    def drop(self, source: str) -> None:
        with self._lock:
            self._names.discard(source)

    def __contains__(self, source: str) -> bool:
        with self._lock:
            return source in self._names


class _ProcessLock:
    def __init__(self, source: str, held: _Held) -> None:
        self.source = source
        self._held = held

    def check(self) -> bool:
        return self.source in self._held

    def release(self) -> None:
        self._held.drop(self.source)


class ProcessLocks:
    """Locks for a store only this process can see (an in-memory SQLite database)."""

    def __init__(self) -> None:
        self._held = _Held()
        self._holders: dict[str, str] = {}

    def try_acquire(self, source: str, holder: str) -> SourceLock | None:
        if not self._held.claim(source):
            return None
        self._holders[source] = holder
        return _ProcessLock(source, self._held)

    def holder_of(self, source: str) -> str | None:
        return self._holders.get(source) if source in self._held else None

    def holds(self, source: str) -> bool:
        return source in self._held

    def close(self) -> None:
        pass


# -- SQLite: a file per source -------------------------------------------------------------


class _FileLock:
    def __init__(self, source: str, fd: int, held: _Held) -> None:
        self.source = source
        self._fd: int | None = fd
        self._held = held

    def check(self) -> bool:
        # An flock lasts as long as its file descriptor: nothing else can take it away.
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
            self._held.drop(self.source)


class FileLocks:
    """``flock`` s on ``<folder>/<source>.lock``; each file names its current holder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._held = _Held()

    def _path(self, source: str) -> Path:
        return self.folder / f"{source}.lock"

    def try_acquire(self, source: str, holder: str) -> SourceLock | None:
        if not self._held.claim(source):
            return None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path(source), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            self._held.drop(source)
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            self._held.drop(source)
            return None
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        return _FileLock(source, fd, self._held)

    def holder_of(self, source: str) -> str | None:
        try:
            fd = os.open(self._path(source), os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return os.pread(fd, 256, 0).decode(errors="replace") or "another process"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def holds(self, source: str) -> bool:
        return source in self._held

    def close(self) -> None:
        pass


# -- Postgres: advisory locks on one connection ----------------------------------------------


def _object_id(source: str) -> int:
    # Non-negative, so pg_locks.objid (an oid) shows the same number.
    return zlib.crc32(source.encode()) & 0x7FFFFFFF


class _PostgresLock:
    def __init__(self, source: str, owner: PostgresLocks) -> None:
        self.source = source
        self._owner = owner

    def check(self) -> bool:
        return self._owner._confirm(self.source)

    def release(self) -> None:
        self._owner._release(self.source)


class PostgresLocks:
    """Session advisory locks, all on one connection opened on first use."""

    def __init__(
        self,
        url: URL,
        engine: Engine | None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._engine = engine  # the store's engine: for holder_of's query
        self._monotonic = monotonic
        self._mutex = threading.Lock()
        self._connection: Connection | None = None
        self._lock_engine: Engine | None = None
        self._held: set[str] = set()
        self._confirmed = 0.0

    def try_acquire(self, source: str, holder: str) -> SourceLock | None:
        with self._mutex, engines.translated_errors(self._url):
            if source in self._held:
                return None
            connection = self._connect(holder)
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:c, :o)"),
                {"c": _PG_CLASS, "o": _object_id(source)},
            ).scalar_one()
            if not got:
                return None
            self._held.add(source)
            self._confirmed = self._monotonic()
            return _PostgresLock(source, self)

    def holder_of(self, source: str) -> str | None:
        if self._engine is None:
            return None
        query = text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
            "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = :c AND l.objid = :o AND l.objsubid = 2 "
            # Advisory locks are per database: another database's store on the server
            # may hold the same key.
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        with engines.translated_errors(self._url), self._engine.connect() as connection:
            row = connection.execute(query, {"c": _PG_CLASS, "o": _object_id(source)}).first()
        if row is None:
            return None
        name = str(row[0] or "")
        return name.removeprefix("syncer ") or "another process"

    def holds(self, source: str) -> bool:
        with self._mutex:
            return source in self._held

    def close(self) -> None:
        with self._mutex:
            self._drop_connection()

    def _connect(self, holder: str) -> Connection:
        if self._connection is not None:
            return self._connection
        self._lock_engine = engines.session_engine(self._url, f"syncer {holder}")
        self._connection = self._lock_engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        )
        return self._connection

    def _confirm(self, source: str) -> bool:
        with self._mutex:
            if source not in self._held or self._connection is None:
                return False
            if self._monotonic() - self._confirmed < CONFIRM_S:
                return True
            try:
                self._connection.execute(text("SELECT 1")).scalar_one()
            except Exception:  # any failure: the session, and its locks, may be gone
                self._drop_connection()
                return False
            self._confirmed = self._monotonic()
            return True

    def _release(self, source: str) -> None:
        with self._mutex:
            if source not in self._held:
                return
            self._held.discard(source)
            if self._connection is None:
                return
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:c, :o)"),
                    {"c": _PG_CLASS, "o": _object_id(source)},
                )
            except Exception:  # the session is gone, and the lock with it
                self._drop_connection()

    def _drop_connection(self) -> None:
        # Every lock of the session goes with it; none of them may be trusted again.
        self._held.clear()
        connection, self._connection = self._connection, None
        engine, self._lock_engine = self._lock_engine, None
        if connection is not None:
            # Closing a broken connection may fail too; there is nothing left to release.
            with contextlib.suppress(Exception):
                connection.close()
        if engine is not None:
            engine.dispose()
