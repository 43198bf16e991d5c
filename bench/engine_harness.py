"""What the engine benches share: a scratch Postgres database, ``syncer worker``
processes on it and a run deferred for each source, fakes served by processes of their
own, and the CPU seconds of a process or of the whole machine.

A fake served in the bench's own process shares one GIL with the bench and with any
other fake there (together they get one core at most), and its CPU cannot be told from
theirs. ``FakeProcess`` spawns one instead (a fresh interpreter, nothing inherited by
fork): its ``serve`` function starts the fake, sends what a client needs to reach it,
waits for the word to stop and sends back its report (calls seen, violations...).
"""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

import psycopg
from psycopg import sql

from syncer.store import migrate
from tests.fakes.intercom import Call, FakeIntercom
from tests.test_daemon import wait_for
from tests.test_engine import WorkerProcess, _deferrer, _source

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
STOP = "stop"

Report = TypeVar("Report")


# ---- the store and the workers ------------------------------------------------------


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new, migrated database on the local Postgres (trust auth, user postgres): its
    SQLAlchemy URL; dropped at the end, connections and all."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True, connect_timeout=3) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))


@contextmanager
def workers(config: Path, count: int, logs: Path, *args: str) -> Iterator[list[WorkerProcess]]:
    """``count`` ``syncer worker`` processes on ``config`` (``args`` added to each
    command line), each up (it logged ``worker_started``); killed at the end."""
    started: list[WorkerProcess] = []
    try:
        started += [WorkerProcess(config, logs / f"worker-{i}.log", *args) for i in range(count)]
        for worker in started:
            wait_for("a worker up", worker.started, 60)
        yield started
    finally:
        for worker in started:
            worker.close()


def trigger(url: str, sources: Sequence[str]) -> float:
    """Defer one run of each source, as a scheduler would; returns the monotonic time
    just before the first was deferred."""
    settings = {source: _source(source, "every 1h") for source in sources}
    scheduler = _deferrer(url, "bench", settings, datetime.now(UTC))
    scheduler.start()
    began = time.monotonic()
    try:
        for source in sources:
            scheduler.trigger(source)
    finally:
        scheduler.close()
    return began


# ---- CPU ----------------------------------------------------------------------------


def cpu_of(pid: int) -> float:
    """User + system seconds of process ``pid`` so far, all its threads
    (``/proc/PID/stat``); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy since boot, summed over its cores
    (``/proc/stat``: user, nice, system, irq and softirq)."""
    user, nice, system, _idle, _iowait, irq, softirq, *_ = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    )
    # steal (time the hypervisor gave to another machine) is not this one's work.
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def backends(connection: psycopg.Connection[Any]) -> list[int]:
    """The pids of the Postgres server processes serving ``connection``'s database (the
    server runs on this machine, so ``cpu_of`` reads them)."""
    rows = connection.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    ).fetchall()
    connection.rollback()
    return [int(pid) for (pid,) in rows]


def cores() -> tuple[int, int]:
    """(cores the machine has, cores this process may run on)."""
    return os.cpu_count() or 1, len(os.sched_getaffinity(0))


# ---- fakes in processes of their own ------------------------------------------------


class FakeProcess(Generic[Report]):
    """A fake served by a spawned process: ``serve(connection, *args)`` runs there (see
    the module docstring); ``address`` is its first message, ``stop`` returns its last.

    Use as a context manager: leaving kills the process if ``stop`` was not reached.
    """

    def __init__(self, serve: Callable[..., None], *args: Any, ready_within: float = 300) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child, *args), daemon=True)
        self.process.start()
        child.close()
        self.address: Any = self._receive(ready_within, "to be ready")

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def cpu(self) -> float:
        return cpu_of(self.pid)

    def stop(self, within: float = 120) -> Report:
        """Ask the fake to stop; its report."""
        self._connection.send(STOP)
        report: Report = self._receive(within, "to report")
        self.process.join(30)
        return report

    def _receive(self, within: float, what: str) -> Any:
        if not self._connection.poll(within):
            raise TimeoutError(f"{self.process.name}: no word after {within:.0f} s waiting {what}")
        return self._connection.recv()

    def __enter__(self) -> FakeProcess[Report]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process.is_alive():
            self.process.kill()
            self.process.join(10)
        self._connection.close()


@dataclass(frozen=True)
class IntercomReport:
    """What a fake Intercom in its own process saw, sent back when it stops."""

    calls: list[Call]
    pages: int  # External Pages held at the end
    violations: list[str]


def serve_intercom(connection: Connection, token: str, rate_limit: int) -> None:
    """A `FakeIntercom` with its real window for `FakeProcess`: sends its URL, then its
    `IntercomReport` once told to stop."""
    with FakeIntercom(token, rate_limit=rate_limit, strict=False) as fake:
        connection.send(fake.url)
        connection.recv()
        connection.send(IntercomReport(fake.calls, len(fake.pages()), fake.violations))
