"""Benchmark: one source of small files synced by ``syncer worker`` processes, whole or split.

A folder of N small Markdown files (20,000 by default), a fake Intercom with no tight
rate limit, a scratch Postgres database at 127.0.0.1:5432 (trust auth, user postgres,
made and dropped here). For each setting, the store and the fake start empty, W workers
start, one trigger is deferred, and the wall time from the trigger to the run's row
finished is printed with how many batches each worker took. ``--batch-size`` larger than
N runs the source whole in one job (the step 1 path).

    .venv/bin/python bench/split_runs.py [--documents 20000] [--settings 1:500,3:500,1:100000]

Each setting is ``workers:batch_size``; every worker runs ``--concurrency`` jobs at once,
each with ``intercom.concurrency`` calls in flight. On a machine with few cores the fake
(one Python process that checks every request against the OpenAPI spec) is what limits:
read the figures as the engine's overhead, not as Intercom's throughput.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from syncer.store import Store, migrate  # noqa: E402
from tests.conftest import TOKEN  # noqa: E402
from tests.fakes.intercom import FakeIntercom  # noqa: E402
from tests.test_daemon import runs_of, wait_for, write_config  # noqa: E402
from tests.test_engine import ENGINE, WorkerProcess, _deferrer, _source  # noqa: E402
from tests.test_engine_batches import make_tree  # noqa: E402

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def one(folder: Path, work: Path, workers: int, batch_size: int, concurrency: int) -> None:
    name = f"split_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    started: list[WorkerProcess] = []
    try:
        migrate.upgrade(url)
        with FakeIntercom(TOKEN, rate_limit=1_000_000) as fake:
            config = work / f"{name}.yaml"
            write_config(
                config,
                fake=fake,
                store=url,
                sources=[("docs", folder)],
                schedule="every 1h",
                daemon=ENGINE + f"  batch_size: {batch_size}\n",
                intercom="  concurrency: 8",
            )
            started += [
                WorkerProcess(config, work / f"{name}-{i}.log", "--concurrency", str(concurrency))
                for i in range(workers)
            ]
            for worker in started:
                wait_for("a worker up", worker.started, 60)
            scheduler = _deferrer(
                url, "bench", {"docs": _source("docs", "every 1h")}, datetime.now(UTC)
            )
            scheduler.start()
            began = time.monotonic()
            try:
                scheduler.trigger("docs")
            finally:
                scheduler.close()

            def finished() -> bool:
                runs = runs_of(url, "docs")
                return bool(runs) and runs[-1].status != "running"

            wait_for("the run", finished, 1800, every=0.25)
            took = time.monotonic() - began
            (run,) = runs_of(url, "docs")
            pages = len(fake.pages())
        with Store.open_read_only(url) as store:
            batches = store.batches.batches(run.id)
        takers = sorted(Counter(b.worker for b in batches).values(), reverse=True)
        print(
            f"workers {workers} x {concurrency} jobs, batch size {batch_size}: {took:6.1f} s, "
            f"{run.status}, {pages} pages, {len(batches)} batches {takers or '(whole)'}"
        )
    finally:
        for worker in started:
            worker.close()
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--settings", default="1:100000,1:500,3:500")
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        make_tree(work / "docs", args.documents)
        for setting in args.settings.split(","):
            workers, batch_size = (int(part) for part in setting.split(":"))
            one(work / "docs", work, workers, batch_size, args.concurrency)


if __name__ == "__main__":
    main()
