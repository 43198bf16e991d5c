"""Jobs by size (``syncer.engine.batches``): a run split into listing, batch and finish jobs.

The split path's phases, called in this process, end in the same Intercom as the
in-process sequencer on the same tree, over two rounds (a clash across batches, a
draft, edits, additions and deletions: the deletes only in the finish); neither a
listing job nor a one-shot sync lists a source while a split run of it is unfinished,
and one whose jobs are gone is closed and listed again. With real ``syncer
worker`` processes on the real Postgres: three workers share a 20,000-document source
(every page exactly once, batches taken by more than one worker, no write before the
listing wrote its batches nor after the last batch was done); a worker SIGKILLed
mid-batch (found by its silence) or sent SIGTERM (it hands its batch back and exits 0)
has its batch finished by another, with no page created twice.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from syncer import run as sequencer
from syncer.config import loader
from syncer.config.settings import Settings
from syncer.engine.jobs import SourceJobs
from syncer.intercom.client import IntercomClient
from syncer.intercom.publisher import IntercomPublisher
from syncer.status import source_rows
from syncer.store import Store
from syncer.store.batches import BatchRow
from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom, PageWrite
from tests.test_daemon import runs_of, wait_for, write_config
from tests.test_engine import ENGINE, WorkerProcess, _deferrer, _jobs, _source

postgres = pytest.mark.postgres


def make_tree(folder: Path, count: int, *, start: int = 0, body: str = "Body") -> list[str]:
    """``count`` small Markdown files; their external ids (their paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(start, start + count):
        name = f"d{i:05}.md"
        (folder / name).write_text(f"# Doc {i}\n\n{body} {i}.\n")
        names.append(name)
    return names


def end_state(fake: FakeIntercom) -> dict[str, tuple[Any, ...]]:
    """What Fin reads, by external id (page ids differ between fakes)."""
    return {
        p["external_id"]: (p["title"], p["html"], p.get("url"), p["ai_agent_availability"])
        for p in fake.pages()
    }


def creates_per_page(writes: list[PageWrite]) -> Counter[str]:
    return Counter(w.external_id for w in writes if w.action == "created")


def whole_run(
    settings: Settings, store: Store, client: IntercomClient, cache: Path
) -> sequencer.SourceReport:
    """The in-process sequencer's run of the config's one source: the reference."""
    (report,) = sequencer.sync(
        settings,
        store,
        IntercomPublisher(client, concurrency=4),
        sequencer.Options(),
        cache_dir=cache,
    )
    return report


@contextmanager
def split_jobs(settings: Settings, url: str) -> Iterator[SourceJobs]:
    """A worker's ``SourceJobs`` on the store at ``url``, in this process, whose phases a
    test runs itself (``_split_phases``); its store and client closed after."""
    with (
        Store.open(url, migrate=True) as store,
        IntercomClient.from_settings(settings.intercom) as client,
    ):
        yield SourceJobs(settings, store, client, holder="test", stop=threading.Event())


def _settings(config: Path) -> Settings:
    return loader.load(config, env={"TEST_INTERCOM_TOKEN": TOKEN}, check_environment=False)


@pytest.fixture
def fakes() -> Iterator[tuple[FakeIntercom, FakeIntercom]]:
    with FakeIntercom(TOKEN, window=1.0) as one, FakeIntercom(TOKEN, window=1.0) as other:
        yield one, other


def _split_phases(jobs: SourceJobs, name: str) -> list[BatchRow]:
    """A listing job, then every batch it left, in order, then the finish: as workers
    would run them, in this process. The batches, as the finish found them."""
    jobs.run(name)
    unfinished = jobs.store.batches.unfinished(name)
    if not unfinished:
        return []  # it ran whole
    (run_id,) = unfinished
    rows = jobs.store.batches.batches(run_id)
    url = jobs.settings.store.url
    mine = [j["kwargs"] for j in _jobs(url) if j["kwargs"].get("run_id") == run_id]
    assert sorted(k["number"] for k in mine) == [r.number for r in rows]  # a job a batch
    for row in rows:
        assert not row.done
        jobs.split().run_batch(name, run_id, row.number, job_id=None)
    done = jobs.store.batches.batches(run_id)
    assert all(row.done for row in done)
    finishes = [k for j in _jobs(url) if (k := j["kwargs"]) == {"source": name, "run_id": run_id}]
    assert len(finishes) == 1  # the last batch deferred the finish, once
    jobs.split().finish(name, run_id, job_id=None)
    assert jobs.store.batches.unfinished(name) == []
    return done


@postgres
def test_a_split_run_ends_as_the_in_process_run_on_the_same_tree(
    tmp_path: Path, postgres_url: str, fakes: tuple[FakeIntercom, FakeIntercom]
) -> None:
    whole_fake, split_fake = fakes
    tree = tmp_path / "docs"
    make_tree(tree, 60)
    # Two files claim one external id, in different batches: the first keeps it.
    for name in ("a-first.md", "z-second.md"):
        (tree / name).write_text(f"---\nexternal_id: shared\n---\n# {name}\n\nClaims it.\n")
    (tree / "draft.md").write_text("---\ndraft: true\n---\n# Draft\n\nNot yet.\n")
    whole_config, split_config = tmp_path / "whole.yaml", tmp_path / "split.yaml"
    write_config(
        whole_config,
        fake=whole_fake,
        store=f"sqlite:///{tmp_path / 'whole.db'}",
        sources=[("docs", tree)],
    )
    write_config(
        split_config,
        fake=split_fake,
        store=postgres_url,
        sources=[("docs", tree)],
        daemon=ENGINE + "  batch_size: 10\n",
    )
    whole = _settings(whole_config)
    split = _settings(split_config)
    with (
        Store.open(whole.store.url, migrate=True) as whole_store,
        IntercomClient.from_settings(whole.intercom) as whole_client,
        split_jobs(split, postgres_url) as jobs,
    ):

        def in_process() -> sequencer.SourceReport:
            return whole_run(whole, whole_store, whole_client, tmp_path / "cache")

        first = in_process()
        rows = _split_phases(jobs, "docs")
        assert len(rows) == 7  # 63 files, one a draft: 62 to send, in batches of 10
        assert end_state(split_fake) == end_state(whole_fake)
        assert len(split_fake.pages()) == 61  # the second claimant has none
        (run,) = runs_of(postgres_url, "docs")
        assert (run.status, run.counts) == (first.status, first.counts)
        assert run.status == "failed"
        assert any("'shared' is already used by 'a-first.md'" in e for e in run.errors)
        assert creates_per_page(split_fake.page_writes()) == Counter(
            dict.fromkeys(end_state(split_fake), 1)
        )

        # Round two: three edits, fifteen new files, twelve deleted (under the guard's 25 %).
        for i in (1, 2, 3):
            (tree / f"d{i:05}.md").write_text(f"# Doc {i}\n\nEdited {i}.\n")
        added = make_tree(tree, 15, start=100)
        gone = [f"d{i:05}.md" for i in range(40, 52)]
        for name in gone:
            (tree / name).unlink()
        before = len(split_fake.page_writes())
        second = in_process()
        rows = _split_phases(jobs, "docs")
        assert len(rows) == 2  # 18 to read (the second claimant fails again: 19)
        assert end_state(split_fake) == end_state(whole_fake)
        writes = split_fake.page_writes()[before:]
        assert sorted(w.external_id for w in writes if w.action == "updated") == [
            "d00001.md",
            "d00002.md",
            "d00003.md",
        ]
        assert sorted(w.external_id for w in writes if w.action == "created") == added
        assert sorted(w.external_id for w in writes if w.action == "deleted") == gone
        # The deletes are the finish's: after every batch's write.
        last_write = max(n for n, w in enumerate(writes) if w.action != "deleted")
        assert all(n > last_write for n, w in enumerate(writes) if w.action == "deleted")
        runs = runs_of(postgres_url, "docs")
        assert [r.counts for r in runs] == [first.counts, second.counts]
        assert second.counts.deleted == 12


@postgres
def test_nothing_lists_a_source_while_a_split_run_of_it_is_unfinished(
    tmp_path: Path, postgres_url: str, fakes: tuple[FakeIntercom, FakeIntercom]
) -> None:
    fake, _ = fakes
    tree = tmp_path / "docs"
    make_tree(tree, 25)
    config = tmp_path / "split.yaml"
    write_config(
        config,
        fake=fake,
        store=postgres_url,
        sources=[("docs", tree)],
        daemon=ENGINE + "  batch_size: 10\n",
    )
    settings = _settings(config)
    with split_jobs(settings, postgres_url) as jobs:
        store, client = jobs.store, jobs.client
        jobs.run("docs")
        (run_id,) = store.batches.unfinished("docs")
        listed = len(fake.calls)
        (row,) = source_rows(settings, store, now=datetime.now(UTC))
        assert (row["running"], row["abandoned"]) == (True, False)  # its batches wait
        store.triggers.record("docs", datetime.now(UTC), "cli")
        jobs.run("docs")  # its batches wait: this one lists nothing, starts no run
        # Nor does a one-shot sync, beside the workers: it skips the source.
        (oneshot,) = sequencer.sync(
            settings,
            store,
            IntercomPublisher(client),
            sequencer.Options(),
            cache_dir=tmp_path / "cache",
        )
        assert oneshot.status == "skipped"
        assert "under way on the workers" in oneshot.errors[0]
        assert len(fake.calls) == listed
        assert len(runs_of(postgres_url, "docs")) == 1
        for number in range(3):
            jobs.split().run_batch("docs", run_id, number, job_id=None)
        jobs.split().run_batch("docs", run_id, 1, job_id=None)  # a batch done is done once
        assert [r.attempts for r in store.batches.batches(run_id)] == [1, 1, 1]
        jobs.split().finish("docs", run_id, job_id=None)
        jobs.split().finish("docs", run_id, job_id=None)  # finished once
        (run,) = runs_of(postgres_url, "docs")
        assert (run.status, run.counts.created) == ("succeeded", 25)
        assert len(fake.pages()) == 25
        # The trigger that came meanwhile is served by a listing job the finish deferred.
        waiting = [j["kwargs"] for j in _jobs(postgres_url) if j["status"] == "todo"]
        assert {"source": "docs"} in waiting


@postgres
def test_a_split_run_whose_batch_jobs_are_gone_is_closed_and_listed_again(
    tmp_path: Path, postgres_url: str, fakes: tuple[FakeIntercom, FakeIntercom]
) -> None:
    import psycopg

    fake, _ = fakes
    tree = tmp_path / "docs"
    make_tree(tree, 25)
    config = tmp_path / "split.yaml"
    write_config(
        config,
        fake=fake,
        store=postgres_url,
        sources=[("docs", tree)],
        daemon=ENGINE + "  batch_size: 10\n",
    )
    settings = _settings(config)
    with split_jobs(settings, postgres_url) as jobs:
        store = jobs.store
        jobs.run("docs")
        (run_id,) = store.batches.unfinished("docs")
        jobs.split().run_batch("docs", run_id, 0, job_id=None)
        # The others' jobs failed for good (the store was down through every retry).
        with psycopg.connect(postgres_url.replace("+psycopg", "")) as connection:
            connection.execute(
                "UPDATE procrastinate_jobs SET status = 'failed' WHERE lock LIKE %s",
                (f"batch:docs:{run_id}:%",),
            )
        jobs.run("docs")  # closes the run, lists again: ten were sent, fifteen are left
        first, second = runs_of(postgres_url, "docs")
        assert first.status == "interrupted"
        assert "batch jobs ended without finishing" in first.errors[0]
        (again,) = store.batches.unfinished("docs")
        rows = store.batches.batches(again)
        assert len(rows) == 2
        for row in rows:
            jobs.split().run_batch("docs", again, row.number, job_id=None)
        jobs.split().finish("docs", again, job_id=None)
        _, second = runs_of(postgres_url, "docs")
        assert (second.status, second.counts.created, second.counts.unchanged) == (
            "succeeded",
            15,
            10,
        )
        assert creates_per_page(fake.page_writes()) == Counter(
            dict.fromkeys(sorted(p["external_id"] for p in fake.pages()), 1)
        )
        assert len(fake.pages()) == 25


# ---- real workers -------------------------------------------------------------------------


def _listing_written_at(url: str, run_id: int) -> datetime:
    import sqlalchemy

    from syncer.store.schema import run_listings_table

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            at = connection.execute(
                sqlalchemy.select(run_listings_table.c.created_at).where(
                    run_listings_table.c.run_id == run_id
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert isinstance(at, datetime)
    return at


def _batches_of(url: str, run_id: int) -> list[BatchRow]:
    with Store.open_read_only(url) as store:
        return store.batches.batches(run_id)


def _done_at(url: str, run_id: int) -> list[datetime]:
    import sqlalchemy

    from syncer.store.schema import run_batches_table

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sqlalchemy.select(run_batches_table.c.done_at).where(
                    run_batches_table.c.run_id == run_id
                )
            ).scalars()
            return [at for at in rows if at is not None]
    finally:
        engine.dispose()


def _trigger(url: str) -> None:
    scheduler = _deferrer(url, "test", {"docs": _source("docs", "every 1h")}, datetime.now(UTC))
    scheduler.start()
    try:
        assert scheduler.trigger("docs") == "started"
    finally:
        scheduler.close()


def _finished_run(url: str, timeout: float) -> Any:
    def finished() -> Any:
        runs = runs_of(url, "docs")
        return runs if runs and runs[-1].status != "running" else None

    return wait_for("the run finished", finished, timeout, every=0.5)


@postgres
@pytest.mark.slow
def test_three_workers_share_a_20000_document_source(
    tmp_path: Path, postgres_url: str, workers: list[WorkerProcess]
) -> None:
    from syncer.store import migrate

    migrate.upgrade(postgres_url)
    names = make_tree(tmp_path / "docs", 20_000)
    with FakeIntercom(TOKEN, rate_limit=1_000_000) as fake:
        config = tmp_path / "syncer.yaml"
        write_config(
            config,
            fake=fake,
            store=postgres_url,
            sources=[("docs", tmp_path / "docs")],
            schedule="every 1h",
            daemon=ENGINE + "  batch_size: 500\n",
            intercom="  concurrency: 8",
        )
        workers += [
            WorkerProcess(config, tmp_path / f"worker-{i}.log", "--concurrency", "2")
            for i in range(3)
        ]
        for worker in workers:
            wait_for("a worker up", worker.started, 30)
        began = time.monotonic()
        _trigger(postgres_url)
        (run,) = _finished_run(postgres_url, 240)
        took = time.monotonic() - began
        writes = fake.page_writes()
        pages = fake.pages()
    print(f"20,000 documents, 3 workers: {took:.1f} s")
    assert (run.status, run.counts.created, run.counts.failed) == ("succeeded", 20_000, 0)
    # Every page exactly once: one page an external id, one create each, nothing else.
    assert sorted(p["external_id"] for p in pages) == names
    assert creates_per_page(writes) == Counter(dict.fromkeys(names, 1))
    assert {w.action for w in writes} == {"created"}
    batches = _batches_of(postgres_url, run.id)
    assert len(batches) == 40
    assert all(b.done and b.attempts == 1 for b in batches)
    takers = Counter(b.worker for b in batches)
    assert len(takers) >= 2, takers  # split across the workers
    # No write before the listing wrote its batches, none after the last batch was done;
    # the finish (one, on one worker) came after them.
    listed_at = _listing_written_at(postgres_url, run.id).timestamp()
    last_done = max(_done_at(postgres_url, run.id)).timestamp()
    assert listed_at <= min(w.at for w in writes)
    assert max(w.at for w in writes) <= last_done
    finishes = [e for w in workers for e in w.events("job_finished") if "batches" in e]
    assert len(finishes) == 1
    assert run.finished_at is not None
    assert run.finished_at.timestamp() >= last_done
    assert not any(w.events("split_run_abandoned") for w in workers)


@postgres
@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
def test_a_worker_killed_or_stopped_mid_batch_has_its_batch_finished_by_another(
    tmp_path: Path, postgres_url: str, workers: list[WorkerProcess], stop: signal.Signals
) -> None:
    from syncer.store import migrate

    migrate.upgrade(postgres_url)
    names = make_tree(tmp_path / "docs", 300)
    with FakeIntercom(TOKEN, window=1.0) as fake:
        config = tmp_path / "syncer.yaml"
        write_config(
            config,
            fake=fake,
            store=postgres_url,
            sources=[("docs", tmp_path / "docs")],
            schedule="every 1h",
            daemon=ENGINE + "  batch_size: 25\n",
            intercom="  concurrency: 2",
        )
        fake.faults.slow_down(0.05, method="POST", path_prefix="/ai/external_pages")
        workers += [WorkerProcess(config, tmp_path / f"worker-{i}.log") for i in range(3)]
        for worker in workers:
            wait_for("a worker up", worker.started, 30)
        holders = {w.events("worker_started")[0]["worker"]: w for w in workers}
        _trigger(postgres_url)

        def under_way() -> BatchRow | None:
            (run_id,) = [r.id for r in runs_of(postgres_url, "docs")] or [0]
            if not run_id or len(fake.pages()) < 30:
                return None
            taken = [b for b in _batches_of(postgres_url, run_id) if b.worker and not b.done]
            return taken[0] if taken else None

        batch = wait_for("a batch under way", under_way, 30, every=0.05)
        victim = holders[str(batch.worker)]
        victim.proc.send_signal(stop)
        code = victim.proc.wait(30)
        fake.faults.clear()
        (run,) = _finished_run(postgres_url, 60)
        writes = fake.page_writes()
        pages = fake.pages()
    assert run.status == "succeeded"
    assert sorted(p["external_id"] for p in pages) == names
    # No page made twice: what the victim sent unrecorded went again as an update.
    assert creates_per_page(writes) == Counter(dict.fromkeys(names, 1))
    assert run.counts.created + run.counts.unchanged == 300
    redone = [b for b in _batches_of(postgres_url, run.id) if b.number == batch.number]
    assert redone[0].done
    assert redone[0].attempts >= 2
    assert redone[0].worker != batch.worker
    survivors = [w for w in workers if w is not victim]
    if stop == signal.SIGKILL:  # found by its silence
        assert any(w.events("stalled_job_retried") for w in survivors)
    else:  # handed back at once, its answers in flight recorded; it exits 0
        assert code == 0
        handed = victim.events("batch_handed_back")
        assert [(e["run_id"], e["batch"]) for e in handed] == [(run.id, batch.number)]
        assert not any(w.events("stalled_job_retried") for w in survivors)


@postgres
def test_a_split_runs_finish_holds_a_mass_delete_back(
    tmp_path: Path, postgres_url: str, fakes: tuple[FakeIntercom, FakeIntercom]
) -> None:
    fake, _ = fakes
    tree = tmp_path / "docs"
    names = make_tree(tree, 40)
    config = tmp_path / "split.yaml"
    write_config(
        config,
        fake=fake,
        store=postgres_url,
        sources=[("docs", tree)],
        daemon=ENGINE + "  batch_size: 10\n",
    )
    settings = _settings(config)
    with split_jobs(settings, postgres_url) as jobs:
        store = jobs.store
        assert len(_split_phases(jobs, "docs")) == 4
        for name in names[:20]:  # half the source gone: over the guard's 25 %
            (tree / name).unlink()
        make_tree(tree, 20, start=20, body="Edited")  # and the rest edited: 20 to read
        before = len(fake.page_writes())
        assert len(_split_phases(jobs, "docs")) == 2
        _, run = runs_of(postgres_url, "docs")
        assert run.status == "blocked"
        assert run.counts.updated == 20
        assert "would delete 20" in run.errors[0]
        writes = fake.page_writes()[before:]
        assert {w.action for w in writes} == {"updated"}  # nothing deleted
        assert len(fake.pages()) == 40
        assert len(store.records("docs")) == 40  # the held pages keep their records
        held = [d for d in store.runs.documents(run.id) if d.action == "held"]
        assert len(held) == 20


@postgres
def test_pages_a_split_run_makes_do_not_dilute_its_deletes_for_the_guard(
    tmp_path: Path, postgres_url: str, fakes: tuple[FakeIntercom, FakeIntercom]
) -> None:
    fake, _ = fakes
    tree = tmp_path / "docs"
    names = make_tree(tree, 12)
    config = tmp_path / "split.yaml"
    write_config(
        config,
        fake=fake,
        store=postgres_url,
        sources=[("docs", tree)],
        daemon=ENGINE + "  batch_size: 5\n",
    )
    settings = _settings(config)
    with split_jobs(settings, postgres_url) as jobs:
        _split_phases(jobs, "docs")
        for name in names[:4]:  # a third of the twelve pages it had
            (tree / name).unlink()
        make_tree(tree, 20, start=100)  # twenty new ones, sent by the batches first
        assert len(_split_phases(jobs, "docs")) == 4
        _, run = runs_of(postgres_url, "docs")
        # Weighed against the 12 pages listed, not the 32 there are by the finish.
        assert run.status == "blocked"
        assert "would delete 4 of 12" in run.errors[0]
        assert run.counts.created == 20
        assert len(fake.pages()) == 32
