"""Two schedulers and three workers on one Postgres store, as a deployment runs them.

Two real ``syncer daemon`` processes (``daemon.engine: procrastinate``: they only
schedule) and three real ``syncer worker`` processes share one store and one fake
Intercom; three sources are due every 2 s while a writer edits one document of each
source twice a slot, so every run has pages to send. From the daemons' logs, the store's
run rows and the fake Intercom's write log:

* every (source, slot) is deferred once, by one daemon or the other;
* a source's runs never overlap, and every write to a source's pages falls inside one
  of that source's runs, each page at most once a run: no source is listed or swept by
  two workers at once;
* the runs spread over the workers;
* once the edits stop, the next run of each source leaves Intercom exactly as the files
  are.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from syncer.store import migrate
from syncer.store.runs import RunSummary
from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom, PageWrite
from tests.test_daemon import DaemonProcess, make_docs, runs_of, wait_for, write_config
from tests.test_engine import ENGINE, WorkerProcess

SOURCES = ("alpha", "beta", "gamma")
DOCS = 12
SLOT_S = 2


def _edit(folders: dict[str, Path], stop: threading.Event) -> int:
    """Edit one document of each source every 0.9 s until ``stop``; the edits made."""
    n = 0
    while not stop.wait(0.9):
        for name, folder in folders.items():
            i = n % DOCS
            (folder / f"{name}-{i:03}.md").write_text(f"# {name} {i}\n\nEdit {n} of {i}.\n")
        n += 1
    return n


@pytest.mark.postgres
@pytest.mark.slow
def test_two_schedulers_and_three_workers_run_each_due_source_once_a_slot(
    tmp_path: Path, postgres_url: str, workers: list[WorkerProcess]
) -> None:
    migrate.upgrade(postgres_url)
    folders = {name: tmp_path / name for name in SOURCES}
    for name, folder in folders.items():
        make_docs(folder, DOCS, prefix=name)
    with FakeIntercom(TOKEN) as fake:
        fake.faults.slow_down(0.02, method="POST", path_prefix="/ai/external_pages")
        config = tmp_path / "syncer.yaml"
        write_config(
            config,
            fake=fake,
            store=postgres_url,
            sources=list(folders.items()),
            schedule=f"every {SLOT_S}s",
            daemon=ENGINE,
            intercom="  concurrency: 2",
        )
        workers += [WorkerProcess(config, tmp_path / f"worker-{i}.log") for i in range(3)]
        daemons = [DaemonProcess(config, tmp_path / f"daemon-{i}.log") for i in range(2)]
        try:
            for worker in workers:
                wait_for("a worker up", worker.started, 30)
            stop = threading.Event()
            edits: list[int] = []
            writer = threading.Thread(target=lambda: edits.append(_edit(folders, stop)))
            writer.start()
            try:
                wait_for(
                    "four runs of each source",
                    lambda: all(len(_finished(postgres_url, n)) >= 4 for n in SOURCES),
                    60,
                    every=0.5,
                )
            finally:
                stop.set()
                writer.join()
            edited_at = time.time()
            # A run of each source that started after the last edit: the end state.
            wait_for(
                "a run of each source after the last edit",
                lambda: all(
                    any(r.started_at.timestamp() > edited_at for r in _finished(postgres_url, n))
                    for n in SOURCES
                ),
                30,
                every=0.5,
            )
            for daemon in daemons:
                daemon.send(signal.SIGTERM)
            for daemon in daemons:
                assert daemon.wait(30) == 0
            wait_for(
                "the workers idle",
                lambda: all(
                    r.status != "running" for n in SOURCES for r in runs_of(postgres_url, n)
                ),
                30,
                every=0.5,
            )
            deferred = [e for d in daemons for e in d.events("job_deferred")]
        finally:
            for daemon in daemons:
                daemon.close()
        writes = fake.page_writes()
        pages = fake.pages()

    assert edits[0] >= 5
    # Every due (source, slot) deferred once, whichever daemon fired first.
    per_slot = Counter((e["source"], e["slot"]) for e in deferred)
    assert set(per_slot.values()) == {1}, per_slot
    assert {e["source"] for e in deferred} == set(SOURCES)
    takers: Counter[str] = Counter()
    for worker in workers:
        holder = worker.events("worker_started")[0]["worker"]
        takers[holder] = len(worker.events("job_finished"))
    assert sum(1 for n in takers.values() if n) >= 2, takers  # the runs spread out
    for name in SOURCES:
        runs = runs_of(postgres_url, name)
        assert all(r.status == "succeeded" for r in runs), [(r.status, r.errors) for r in runs]
        # No more runs than slots deferred (a slot deferred while one waits is dropped).
        assert 4 <= len(runs) <= sum(1 for source, _ in per_slot if source == name)
        for before, after in itertools.pairwise(runs):
            assert before.finished_at is not None
            assert after.started_at >= before.finished_at, (name, before, after)
        _writes_inside_runs(name, [w for w in writes if w.external_id.startswith(name)], runs)
    # Exactly the files, as they are now, each once.
    expected = {
        path.name: path.read_text().split("\n\n", 1)[1].strip()
        for folder in folders.values()
        for path in folder.glob("*.md")
    }
    assert sorted(p["external_id"] for p in pages) == sorted(expected)
    for page in pages:
        assert expected[page["external_id"]] in page["html"], page["external_id"]


def _finished(url: str, name: str) -> list[RunSummary]:
    return [r for r in runs_of(url, name) if r.status != "running"]


def _writes_inside_runs(name: str, writes: list[PageWrite], runs: list[RunSummary]) -> None:
    """Each write to ``name`` 's pages within one of its runs, each page once a run."""
    assert writes
    spans = [
        (r.started_at.timestamp(), r.finished_at.timestamp(), r.id) for r in runs if r.finished_at
    ]
    by_run: dict[int, Counter[str]] = {}
    for write in writes:
        inside = [run_id for start, end, run_id in spans if start <= write.at <= end]
        assert len(inside) == 1, (name, write, spans)
        by_run.setdefault(inside[0], Counter())[write.external_id] += 1
    for run_id, pages in by_run.items():
        assert set(pages.values()) == {1}, (name, run_id, pages)
