"""The daemon's parts in-process: source locks in the store, the run's stop event,
triggers and staleness. The daemon as a whole is tested as a subprocess in
``test_daemon.py`` and ``test_daemon_replicas.py``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from syncer.config.schedule import parse_schedule
from syncer.daemon import schedules
from syncer.model import Counts, Page
from syncer.run import NoProgress, Options, SourceReport, sync_source
from syncer.status import is_stale
from syncer.store import Store
from tests.memory import MemoryPublisher, MemorySettings, MemorySource, memory_type

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


# ---- source locks in the store -------------------------------------------------------


def test_a_source_lock_has_one_holder_until_it_is_released(store_url: str) -> None:
    with Store.open(store_url, migrate=True) as mine, Store.open(store_url) as theirs:
        lock = mine.try_lock("docs", "replica a")
        assert lock is not None
        assert theirs.try_lock("docs", "replica b") is None
        assert mine.try_lock("docs", "replica a") is None  # one run per source, here too
        assert theirs.lock_holder("docs") == "replica a"
        assert (mine.holds_lock("docs"), theirs.holds_lock("docs")) == (True, False)
        wiki = theirs.try_lock("wiki", "replica b")  # sources are independent
        assert wiki is not None
        assert theirs.holds_lock("wiki")
        lock.release()
        assert not mine.holds_lock("docs")
        assert theirs.lock_holder("docs") is None
        taken = theirs.try_lock("docs", "replica b")
        assert taken is not None
        assert mine.lock_holder("docs") == "replica b"
        taken.release()
        wiki.release()


def test_abandoned_runs_are_marked_interrupted(store_url: str) -> None:
    with Store.open(store_url, migrate=True) as store:
        assert store.runs.interrupt_abandoned("docs", T0, "gone") == 0  # unknown source
        store.ensure_source("docs", "filesystem")
        done = store.runs.start("docs", T0)
        store.runs.finish(done, "succeeded", Counts(created=1), [], T0 + timedelta(seconds=1))
        store.runs.start("docs", T0 + timedelta(seconds=5))
        assert store.runs.interrupt_abandoned("docs", T0 + timedelta(seconds=9), "gone") == 1
        runs = store.runs.of("docs")
        assert [r.status for r in runs] == ["interrupted", "succeeded"]
        assert runs[0].errors == ("gone",)
        assert runs[0].finished_at == T0 + timedelta(seconds=9)
        assert store.runs.last_successes() == {"docs": T0 + timedelta(seconds=1)}
        store.ping()


# ---- the run's stop event -----------------------------------------------------------------


@dataclass
class StoppingPublisher(MemoryPublisher):
    """Sets ``stop`` once ``stop_after`` pages were written, as a SIGTERM mid-run would."""

    stop: threading.Event = field(default_factory=threading.Event)
    stop_after: int = 3

    def upsert(self, import_source_id: str, page: Page) -> str:
        page_id = super().upsert(import_source_id, page)
        if self.writes >= self.stop_after:
            self.stop.set()
        return page_id


def _sync(
    store: Store, fin: MemoryPublisher, mem: MemorySource, tmp: Path, stop: threading.Event | None
) -> SourceReport:
    kind = memory_type({"mem": mem})
    return sync_source(
        MemorySettings(name="mem", type="memory", max_delete_fraction=0.5),
        store,
        fin,
        Options(),
        cache_dir=tmp,
        clock=lambda: datetime.now(UTC),
        progress=NoProgress(),
        lookup=lambda _: kind,
        stop=stop,
    )


def test_a_stopped_run_records_what_was_sent_and_the_next_converges(tmp_path: Path) -> None:
    mem = MemorySource()
    for i in range(20):
        mem.put(f"doc-{i:02}.md", f"body {i}")
    fin = StoppingPublisher()
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", migrate=True) as store:
        report = _sync(store, fin, mem, tmp_path, fin.stop)
        assert report.status == "interrupted"
        assert 3 <= report.counts.created < 20
        assert store.runs.of("mem")[0].status == "interrupted"
        pushed = {r.page_id for r in store.records("mem").values() if r.page_id}
        assert pushed == set(fin.pages)  # every page Fin has is known, and no other

        report = _sync(store, fin, mem, tmp_path, None)
        assert report.status == "succeeded"
        assert len(fin.pages) == 20
        assert fin.writes == 20  # nothing was sent twice


def test_a_stop_before_the_deletes_sends_none_and_keeps_their_records(tmp_path: Path) -> None:
    mem = MemorySource()
    for i in range(10):
        mem.put(f"doc-{i}.md", f"body {i}")
    fin = MemoryPublisher()
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", migrate=True) as store:
        assert _sync(store, fin, mem, tmp_path, None).status == "succeeded"
        mem.remove("doc-1.md")
        mem.remove("doc-2.md")
        stop = threading.Event()
        stop.set()
        report = _sync(store, fin, mem, tmp_path, stop)
        assert report.status == "interrupted"
        assert fin.writes == 10
        assert len(store.records("mem")) == 10
        assert _sync(store, fin, mem, tmp_path, None).counts.deleted == 2
        assert len(fin.pages) == 8


# ---- triggers and staleness ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "jitter", "grace"),
    [("every 1s", 0.1, 1), ("every 30m", 60.0, 1800), ("*/10 * * * *", 60.0, 600)],
)
def test_jitter_and_misfire_grace_follow_the_period(text: str, jitter: float, grace: int) -> None:
    schedule = parse_schedule(text)
    assert schedules.jitter(schedule) == pytest.approx(jitter)
    assert schedules.misfire_grace(schedule) == grace
    trigger = schedules.trigger(schedule)
    assert isinstance(trigger, CronTrigger if schedule.cron else IntervalTrigger)
    assert trigger.jitter == pytest.approx(jitter)


def test_daily_schedules_misfire_within_an_hour() -> None:
    assert schedules.misfire_grace(parse_schedule("every 2d")) == 3600


def test_staleness_counts_from_the_start_when_never_synced() -> None:
    limit = timedelta(minutes=90)
    now = T0 + timedelta(hours=2)
    assert is_stale(T0, since=T0, now=now, limit=limit)
    assert not is_stale(T0 + timedelta(hours=1), since=T0, now=now, limit=limit)
    assert not is_stale(None, since=now - timedelta(minutes=5), now=now, limit=limit)
    assert is_stale(None, since=T0, now=now, limit=limit)
