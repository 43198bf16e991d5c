"""Benchmark: the sync pipeline's shape, with a stand-in publisher (no network).

1. For corpora of 2,000, 10,000 and 50,000 generated Markdown files, a first sync in a
   child process of its own: seconds from the end of the listing to the first upload
   (target: under 1 s at every size), peak RSS (target: flat in corpus size past the
   batch) and main-thread CPU per document (target: flat from 2k to 50k). Beside them,
   the same files converted alone (``convert_file``, no pipeline) per document: the
   floor the main thread's CPU is measured against.
2. A no-op re-sync of 100,000 files: rows the store wrote (target: the run's row
   alone), counted by SQLite triggers in the store file, and its wall time beside a
   bare ``os.scandir`` walk of the same tree in the same run (the ratio).
3. Eight no-op re-syncs of 10,000 files on Postgres (a scratch database on the server
   of ``--postgres``): rows inserted, updated and deleted per table, and the dead rows
   they left, from ``pg_stat_user_tables`` (target: the runs' rows alone).

    .venv/bin/python bench/pipeline.py [--sizes 2000,10000,50000] [--noop-files 100000]
        [--postgres postgresql://postgres@127.0.0.1:5432/test | --postgres '']
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from dry_run import NullPublisher, make_corpus  # noqa: E402
from startup import scandir_walk  # noqa: E402

from syncer import logs  # noqa: E402
from syncer.config import loader  # noqa: E402
from syncer.model import Page  # noqa: E402
from syncer.run import Options, sync  # noqa: E402
from syncer.store import Store  # noqa: E402

TRIGGERED = ("sources", "documents", "runs", "intents", "workspace")
# A stand-in reply time: 64 in flight at 20 ms is 3,200 calls/s, above conversion, and
# slow enough that answers trickle in one by one, as they do at Intercom's limit.
REPLY_S = 0.02


class TimedPublisher(NullPublisher):
    """The stand-in publisher, noting when the first page went out.

    Like Intercom as the run sees it: 64 calls in flight (syncer's default concurrency),
    each answered after ``REPLY_S``; so the run's main loop handles answers trickling
    in, as it does at Intercom's rate limit, without the network's cost in the figures.
    """

    concurrency = 64

    def __init__(self) -> None:
        super().__init__()
        self.first_upload: float | None = None
        self._lock = threading.Lock()

    def upsert(self, import_source_id: str, page: Page) -> str:
        with self._lock:
            if self.first_upload is None:
                self.first_upload = time.perf_counter()
            self.next_id += 1
            self.pages += 1
            page_id = str(self.next_id)
        time.sleep(REPLY_S)
        return page_id


def _now() -> datetime:
    return datetime.now(UTC)


def write_config(work: Path, corpus: Path, store_url: str | None = None) -> Path:
    config = work / "syncer.yaml"
    url = store_url or f"sqlite:///{work / 'store.db'}"
    config.write_text(
        f"store:\n  url: {url}\nsources:\n  - name: corpus\n"
        f"    type: filesystem\n    path: {corpus}\n"
        "    page_url: https://docs.example.com/{path_stem}\n"
    )
    return config


def child(work: Path) -> None:
    """One first sync in this process; prints its figures as JSON."""
    from syncer import registry

    logs.configure(level="error")
    settings = loader.load(work / "syncer.yaml")
    store = Store.open(settings.store.url, migrate=True)
    real = registry.get("filesystem")
    listed: list[float] = []

    class Timed:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def list(self) -> Any:
            listing = self.inner.list()
            listed.append(time.perf_counter())
            return listing

    from syncer.connector import ConnectorType

    timed = ConnectorType("filesystem", real.settings, lambda s, c: Timed(real.create(s, c)))
    publisher = TimedPublisher()
    cpu = time.thread_time()
    started = time.perf_counter()
    (report,) = sync(
        settings,
        store,
        publisher,
        Options(),
        cache_dir=work / "cache",
        clock=_now,
        lookup=lambda _type: timed,
    )
    ended = time.perf_counter()
    cpu = time.thread_time() - cpu
    store.close()
    first = publisher.first_upload
    print(
        json.dumps(
            {
                "status": report.status,
                "created": report.counts.created,
                "to_first_upload_s": None if first is None else first - listed[0],
                "listing_s": listed[0] - started,
                "wall_s": ended - started,
                "main_cpu_s": cpu,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def convert_alone(corpus: Path, limit: int) -> float:
    """CPU seconds per document to read and convert files with no pipeline around them."""
    from syncer.convert.source_file import convert_file

    paths = sorted(corpus.rglob("*.md"))[:limit]
    cpu = time.thread_time()
    for path in paths:
        convert_file(path.relative_to(corpus).as_posix(), path.read_bytes(), url_of=lambda _p: None)
    return (time.thread_time() - cpu) / len(paths)


def first_syncs(sizes: Sequence[int]) -> None:
    print("first sync, stand-in publisher (one child process per size):")
    print(
        f"  {'docs':>7} {'listing':>8} {'to 1st upload':>14} {'wall':>7} "
        f"{'main CPU/doc':>13} {'convert alone/doc':>18} {'peak RSS':>9}"
    )
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="syncer-pipeline-") as tmp:
            work = Path(tmp)
            make_corpus(work / "corpus", size)
            write_config(work, work / "corpus")
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(work)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(done.stderr)
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            alone = convert_alone(work / "corpus", min(size, 2000))
        first = figures["to_first_upload_s"]
        print(
            f"  {size:>7} {figures['listing_s']:>7.2f}s "
            f"{'-' if first is None else f'{first:.2f}s':>14} {figures['wall_s']:>6.1f}s "
            f"{figures['main_cpu_s'] / size * 1e6:>10.0f} us {alone * 1e6:>15.0f} us "
            f"{figures['peak_rss_mb']:>6.0f} MB"
        )


def count_writes(db: Path) -> None:
    """Triggers that count every row the store inserts, updates or deletes."""
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE bench_writes (tbl TEXT PRIMARY KEY, n INTEGER)")
        for table in TRIGGERED:
            connection.execute("INSERT INTO bench_writes VALUES (?, 0)", (table,))
            for action in ("INSERT", "UPDATE", "DELETE"):
                # The names are the constants above, never input.
                trigger = (
                    f"CREATE TRIGGER bench_{table}_{action.lower()} AFTER {action} ON {table} "  # noqa: S608
                    f"BEGIN UPDATE bench_writes SET n = n + 1 WHERE tbl = '{table}'; END"
                )
                connection.execute(trigger)


def written(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as connection:
        return dict(connection.execute("SELECT tbl, n FROM bench_writes").fetchall())


def noop(files: int) -> None:
    with tempfile.TemporaryDirectory(prefix="syncer-noop-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus"
        for n in range(files):
            folder = corpus / f"s{n % 100:02d}" / f"t{n % 10}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"doc-{n:06d}.md").write_text(f"# Doc {n}\n\nBody {n}.\n")
        config = write_config(work, corpus)
        settings = loader.load(config)
        with Store.open(settings.store.url, migrate=True) as store:
            sync(settings, store, NullPublisher(), Options(), cache_dir=work / "c", clock=_now)
        count_writes(work / "store.db")
        walls, walks = [], []
        for _ in range(3):
            started = time.perf_counter()
            scandir_walk(corpus)
            walks.append(time.perf_counter() - started)
            # A real no-op needs Intercom's page count; the dry run is the same pipeline
            # without it, and writes nothing, so a real sync in-process is measured.
            started = time.perf_counter()
            with Store.open(settings.store.url) as store:
                sync(settings, store, NullPublisher(), Options(), cache_dir=work / "c", clock=_now)
            walls.append(time.perf_counter() - started)
        rows = written(work / "store.db")
        walk, wall = min(walks), min(walls)
        print(f"no-op re-sync of {files} files (best of 3, in-process):")
        print(
            f"  rows written per run: {sum(rows.values()) / 3:.0f} "
            f"({', '.join(f'{t} {n / 3:.0f}' for t, n in rows.items() if n)}) "
            "(target: the run's row, inserted and updated: 2)"
        )
        print(
            f"  wall {wall:.2f} s beside a bare os.scandir walk {walk:.2f} s: "
            f"{wall / walk:.1f}x (in-process: no interpreter start-up in either)"
        )


def postgres_noops(admin_url: str, files: int, runs: int) -> None:
    """``runs`` no-op re-syncs on a scratch Postgres database; what they wrote."""
    import psycopg

    name = f"syncer_bench_{os.getpid()}"
    server = admin_url.rsplit("/", 1)[0]
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = f"{server}/{name}"
    try:
        with tempfile.TemporaryDirectory(prefix="syncer-noop-pg-") as tmp:
            work = Path(tmp)
            make_corpus(work / "corpus", files)
            config = write_config(work, work / "corpus", store_url=url)
            settings = loader.load(config)
            _sync_once(settings, url, work, migrate=True)
            before = _pg_counts(f"{server}/{name}")
            for _ in range(runs):
                _sync_once(settings, url, work)
            after = _pg_counts(f"{server}/{name}")
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"{runs} no-op re-syncs of {files} files on Postgres (pg_stat_user_tables):")
    for table in sorted(after):
        moved = [a - b for a, b in zip(after[table][:3], before[table][:3], strict=True)]
        dead = after[table][3] - before[table][3]
        if any(moved) or dead:
            print(
                f"  {table:>10}: {moved[0]} inserted, {moved[1]} updated, {moved[2]} deleted, "
                f"{dead} dead rows left"
            )
    print(f"  (target: the runs' rows alone: {runs} inserted, {runs} updated)")


def _sync_once(settings: Any, url: str, work: Path, *, migrate: bool = False) -> None:
    with Store.open(url, migrate=migrate) as store:
        sync(settings, store, NullPublisher(), Options(), cache_dir=work / "c", clock=_now)


def _pg_counts(dsn: str) -> dict[str, tuple[int, int, int, int]]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        # Backends report their counts when idle, within a second (PG 15's pgstat).
        time.sleep(1.5)
        connection.execute("SELECT pg_stat_clear_snapshot()")
        rows = connection.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, n_dead_tup FROM pg_stat_user_tables"
        ).fetchall()
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,10000,50000")
    parser.add_argument("--noop-files", type=int, default=100_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--postgres-files", type=int, default=10_000)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    logs.configure(level="error")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if sizes:
        first_syncs(sizes)
    if args.noop_files:
        noop(args.noop_files)
    if args.postgres:
        postgres_noops(args.postgres, args.postgres_files, runs=8)


if __name__ == "__main__":
    main()
