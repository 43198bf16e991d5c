"""The streaming pipeline (issue 12): sending starts as reading does, memory holds a
bounded window, deletes wait for every write, and a no-op writes only its run row.

Through ``syncer.run.sync_source`` with a real store (SQLite and Postgres), a memory
source that can be slow to read, and a memory Fin that can be slow to answer; rows the
store writes are counted by triggers in the database itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from syncer.model import Fetched, Page, Stub
from syncer.run import (
    IN_FLIGHT_PER_WORKER,
    RECORD_EVERY,
    RECORD_S,
    NoProgress,
    Options,
    SourceReport,
    sync_source,
)
from syncer.store import Store
from tests.memory import (
    MemoryConnector,
    MemoryPublisher,
    MemorySettings,
    MemorySource,
    memory_type,
)


class SlowConnector(MemoryConnector):
    """Reads take ``read_s`` each; counts what was read."""

    def __init__(self, source: MemorySource, read_s: float) -> None:
        super().__init__(source)
        self.read_s = read_s

    def fetch(self, stubs: Sequence[Stub]) -> Iterator[Fetched]:
        for item in super().fetch(stubs):
            time.sleep(self.read_s)
            yield item


class WatchingFin(MemoryPublisher):
    """Fin answering after ``reply_s``, noting what the run had read at each call."""

    def __init__(self, source: MemorySource, reply_s: float, concurrency: int) -> None:
        super().__init__(concurrency=concurrency)
        self.source = source
        self.reply_s = reply_s
        self.lock = threading.Lock()
        self.read_at_first_upsert: int | None = None
        self.answered = 0
        self.most_ahead = 0  # documents read but not yet answered, at worst
        self.calls: list[str] = []

    def upsert(self, import_source_id: str, page: Page) -> str:
        with self.lock:
            if self.read_at_first_upsert is None:
                self.read_at_first_upsert = self.source.fetches
            self.most_ahead = max(self.most_ahead, self.source.fetches - self.answered)
            self.calls.append("upsert")
        time.sleep(self.reply_s)
        with self.lock:
            page_id = super().upsert(import_source_id, page)
            self.answered += 1
        return page_id

    def delete(self, page_id: str) -> None:
        with self.lock:
            self.calls.append("delete")
            super().delete(page_id)


def run(
    store: Store, source: MemorySource, fin: MemoryPublisher, tmp: Path, read_s: float = 0.0
) -> SourceReport:
    settings = MemorySettings(name="mem", type="memory", max_delete_fraction=1.0)
    kind = memory_type({"mem": source})
    slow = type(kind)(kind.name, kind.settings, lambda s, c: SlowConnector(source, read_s))
    return sync_source(
        settings,
        store,
        fin,
        Options(allow_mass_delete=True),
        cache_dir=tmp,
        clock=lambda: datetime.now(UTC),
        progress=NoProgress(),
        lookup=lambda _type: slow,
    )


def fill(source: MemorySource, n: int, body: str = "v1") -> None:
    for i in range(n):
        source.put(f"doc-{i:05d}.md", f"{body} {i}")


def test_sending_starts_with_the_first_batch_not_after_the_last_read(tmp_path: Path) -> None:
    source = MemorySource()
    fill(source, 1000)
    fin = WatchingFin(source, reply_s=0.002, concurrency=8)
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", migrate=True) as store:
        report = run(store, source, fin, tmp_path, read_s=0.0005)
    assert report.status == "succeeded"
    assert report.counts.created == 1000
    assert fin.read_at_first_upsert is not None
    assert fin.read_at_first_upsert <= 100  # a batch (64) and what read on while it left


def test_pages_read_but_unanswered_stay_a_bounded_window(tmp_path: Path) -> None:
    source = MemorySource()
    fill(source, 600)
    concurrency = 4
    fin = WatchingFin(source, reply_s=0.01, concurrency=concurrency)  # Fin is the bottleneck
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", migrate=True) as store:
        assert run(store, source, fin, tmp_path).counts.created == 600
    # At most the calls allowed in flight, and one batch being decided beside them.
    assert fin.most_ahead <= concurrency * IN_FLIGHT_PER_WORKER + 64 + 1


def test_deletes_wait_until_every_write_was_answered(tmp_path: Path) -> None:
    source = MemorySource()
    fill(source, 50)
    fin = WatchingFin(source, reply_s=0.001, concurrency=4)
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", migrate=True) as store:
        run(store, source, fin, tmp_path)
        for i in range(0, 50, 5):
            source.remove(f"doc-{i:05d}.md")
        for key in list(source.docs):  # and everything left changes too
            source.put(key, "v2")
        fin.calls.clear()
        report = run(store, source, fin, tmp_path)
    assert (report.counts.updated, report.counts.deleted) == (40, 10)
    first_delete = fin.calls.index("delete")
    assert set(fin.calls[first_delete:]) == {"delete"}
    assert fin.calls.count("upsert") == 40


# ---- a no-op writes only its run row -----------------------------------------------------

TABLES = ("sources", "documents", "runs", "intents", "workspace")


def count_writes(url: str) -> None:
    """Triggers that count every row inserted, updated or deleted, by table."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE row_writes (tbl VARCHAR(32), n INTEGER)"))
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            connection.execute(
                text(
                    "CREATE FUNCTION count_write() RETURNS trigger AS $$ BEGIN "
                    "UPDATE row_writes SET n = n + 1 WHERE tbl = TG_TABLE_NAME; RETURN NULL; "
                    "END $$ LANGUAGE plpgsql"
                )
            )
        for table in TABLES:
            # The names are the constants above, never input.
            connection.execute(text(f"INSERT INTO row_writes VALUES ('{table}', 0)"))  # noqa: S608
            for action in ("INSERT", "UPDATE", "DELETE"):
                name = f"count_{table}_{action.lower()}"
                body = (
                    "FOR EACH ROW EXECUTE FUNCTION count_write()"
                    if postgres
                    else f"BEGIN UPDATE row_writes SET n = n + 1 WHERE tbl = '{table}'; END"  # noqa: S608
                )
                connection.execute(text(f"CREATE TRIGGER {name} AFTER {action} ON {table} {body}"))
    engine.dispose()


def row_writes(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT tbl, n FROM row_writes")).all()
    engine.dispose()
    return {table: n for table, n in rows if n}


def test_answers_are_recorded_together_while_fin_is_the_bottleneck(tmp_path: Path) -> None:
    """A full window waits for an answer before each send; recording at each wait made
    one commit an answer (the CPU a run at Intercom's limit spent most on, after
    converting and sending). Answers are recorded every RECORD_S or RECORD_EVERY."""
    source = MemorySource()
    fill(source, 600)
    fin = WatchingFin(source, reply_s=0.01, concurrency=4)  # ~400 answers a second
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", migrate=True) as store:
        batches: list[int] = []
        record = store.record_pushed_many

        def counted(source_name: str, pushed: Sequence[object], at: datetime) -> None:
            if pushed:
                batches.append(len(pushed))
            record(source_name, pushed, at)  # type: ignore[arg-type]

        store.record_pushed_many = counted  # type: ignore[method-assign,assignment]
        started = time.monotonic()
        assert run(store, source, fin, tmp_path).counts.created == 600
        seconds = time.monotonic() - started
    assert sum(batches) == 600  # every answer recorded, once
    assert len(batches) <= seconds / RECORD_S + 600 / RECORD_EVERY + 2, batches


def test_a_no_op_run_writes_only_its_run_row(tmp_path: Path, store_url: str) -> None:
    source = MemorySource()
    fill(source, 300)
    fin = MemoryPublisher(concurrency=4)
    with Store.open(store_url, migrate=True) as store:
        assert run(store, source, fin, tmp_path).counts.created == 300
        source.touch("doc-00007.md")  # a version moved, the content did not
        assert run(store, source, fin, tmp_path).counts.unchanged == 300
        count_writes(store_url)
        writes = fin.writes
        for _ in range(3):
            report = run(store, source, fin, tmp_path)
            assert report.status == "succeeded"
            assert report.counts.unchanged == 300
    assert fin.writes == writes
    assert row_writes(store_url) == {"runs": 6}  # each run: its row inserted, then closed
