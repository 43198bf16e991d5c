"""One Intercom budget across processes: each worker (or replica) that sends paces at its
share.

Intercom's ``X-RateLimit-*`` headers are the app's, not a process's: every worker reads
the same ``Remaining``, and a limiter pacing alone paces to spend all of it, so N workers
syncing at once overran every window and were answered 429s (each then holds back until
the window's end, so the 429s came two or three a window rather than in a storm, but
every window overran). How they share it:

- **Senders are a counted set of advisory locks in the store's Postgres.** A worker whose
  client asked to send within the last ``IDLE_S`` holds a *shared* session advisory lock
  on the app's key (namespace ``bdgt``; the key a hash of the token, so two apps never
  share a budget and the token is in no row or lock); ``pg_locks`` counts the holders. No
  table and nothing to clean up: a worker that dies, or whose connection breaks, leaves
  the set at once; one that stops sending leaves it ``IDLE_S`` later (one whose calls
  wait out a spent window is still sending: ``RateLimiter`` marks it until the end).
- **Each spends its share**, ``Remaining / senders`` less what it sent itself since
  (``RateLimiter.share``): the headers tell every worker the app's count, the set how
  many spend it, so the shares add up to the window whatever each one's phase. A sender
  that stops leaves its share to the others within ``IDLE_S + TICK_S``.
- **Off the call path.** A thread per worker asks Postgres every ``TICK_S`` (one query,
  two when it joins or leaves); a call costs one assignment (``RateLimiter.sending_at``)
  and an integer division. A worker counts itself from its first call (the set plus
  one, until its lock is in); the others see it within a tick, so for a fraction of a
  second the window is over-spent by one share at most, which the limiter's margins
  and its 429 handling absorb.
- **The store unreachable**: the last count stands (the runs stop on their own, their
  store gone) and the next tick connects again.

Why not a token bucket in Postgres: a round trip per batch of slots puts the database in
the way of every batch of calls and writes a row as often, while the number of senders
changes only when a worker starts or stops sending. The set counts the store's database
only: one deployment, one budget. Daemon replicas that run their sources themselves
on a Postgres store share it the same way (``syncer.daemon.service``); SQLite, and a
daemon alone, pace exactly as before: the share is the whole window.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable

import structlog
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from syncer.intercom.ratelimit import RateLimiter
from syncer.store import engine as engines

# The advisory-lock namespace of Intercom senders ("bdgt"); source locks use "sync".
_PG_CLASS = 0x62646774
# How often a worker counts the senders (and joins or leaves the set).
TICK_S = 0.25
# A worker whose client asked for no call this long is no longer sending.
IDLE_S = 1.0
_COUNT = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND classid = :c AND objid = :o AND objsubid = 2 "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
_JOIN = text("SELECT pg_try_advisory_lock_shared(:c, :o)")
_LEAVE = text("SELECT pg_advisory_unlock_shared(:c, :o)")


def app_key(token: str) -> int:
    """The senders' lock key of the app whose token is ``token``: a hash, non-negative so
    ``pg_locks.objid`` (an oid) shows the same number."""
    digest = hashlib.sha256(b"syncer intercom budget\0" + token.encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class BudgetShare:
    """Keeps ``limiter`` 's share of the app's window current; ``start``, then ``close``."""

    def __init__(
        self,
        url: str,
        limiter: RateLimiter,
        *,
        token: str,
        holder: str,
        tick: float = TICK_S,
        idle: float = IDLE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = engines.parse_url(url)
        self._limiter = limiter
        self._key = {"c": _PG_CLASS, "o": app_key(token)}
        self._holder = holder
        self._tick = tick
        self._idle = idle
        self._clock = clock  # the limiter's: ``sending_at`` is read by it
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="intercom-budget", daemon=True)
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._registered = False
        self._failing = False
        self._mutex = threading.Lock()  # ``tick`` against ``follow``
        self._log = structlog.get_logger("syncer.intercom").bind(holder=holder)

    def start(self) -> None:
        self.tick()  # the count before the first job
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._disconnect()

    def follow(self, limiter: RateLimiter, *, token: str) -> None:
        """A reload brought a new client: keep ``limiter`` 's share instead (of the app
        of ``token``, which may be another app's)."""
        key = {"c": _PG_CLASS, "o": app_key(token)}
        with self._mutex:
            if key != self._key and self._registered and self._connection is not None:
                try:
                    self._connection.execute(_LEAVE, self._key)
                    self._registered = False
                except SQLAlchemyError:
                    self._disconnect()
            self._limiter, self._key = limiter, key
        self.tick()

    def tick(self) -> int:
        """Join or leave the set as this process sends or not, count it, and hand the
        limiter its share; the number of senders it now paces for."""
        with self._mutex:
            return self._tick_once()

    def _tick_once(self) -> int:
        sending = self._clock() - self._limiter.sending_at <= self._idle
        try:
            connection = self._connect()
            if sending and not self._registered:
                self._registered = bool(connection.execute(_JOIN, self._key).scalar_one())
            elif not sending and self._registered:
                connection.execute(_LEAVE, self._key)
                self._registered = False
            count = int(connection.execute(_COUNT, self._key).scalar_one())
        except SQLAlchemyError as exc:
            self._disconnect()  # its lock, if it held one, went with the session
            if not self._failing:
                self._log.warning("intercom_budget_unshared", error=str(exc.__cause__ or exc))
            self._failing = True
            return self._limiter.senders
        if self._failing:
            self._log.info("intercom_budget_shared_again")
            self._failing = False
        # Not in the set yet (or idle): pace as the sender it is about to be.
        senders = max(1, count + (0 if self._registered else 1))
        if senders != self._limiter.senders:
            self._log.info("intercom_share_changed", senders=senders, sending=sending)
        self._limiter.share(senders)
        return senders

    def _loop(self) -> None:
        while not self._stop.wait(self._tick):
            self.tick()

    def _connect(self) -> Connection:
        if self._connection is not None:
            return self._connection
        self._engine = engines.session_engine(self._url, f"syncer {self._holder} budget")
        self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._connection

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        engine, self._engine = self._engine, None
        self._registered = False
        if connection is not None:
            # The session is gone either way, and its lock with it.
            with contextlib.suppress(SQLAlchemyError):
                connection.close()
        if engine is not None:
            engine.dispose()
