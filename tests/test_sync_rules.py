"""Sync invariants, checked by a hypothesis state machine over the real run and store.

A memory source is edited at random (add, edit, touch, draft, rename, delete, empty)
and synced into a memory Fin through ``syncer.run`` with a real SQLite store. After
every successful sync Fin mirrors the source and the store mirrors Fin; a second sync
with no change writes nothing; a run that would delete too much deletes nothing.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from syncer.run import NoProgress, Options, SourceReport, sync_source
from syncer.store import Store
from tests.memory import MemoryPublisher, MemorySettings, MemorySource, memory_type

KEYS = st.sampled_from([f"doc-{n}.md" for n in range(8)])
BODIES = st.text(alphabet="abcxyz ", min_size=1, max_size=12)


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.store = Store.open(f"sqlite:///{self.tmp.name}/s.db", migrate=True)
        self.source = MemorySource()
        self.fin = MemoryPublisher()
        self.settings = MemorySettings(name="mem", type="memory", max_delete_fraction=0.5)
        self.kind = memory_type({"mem": self.source})
        self.synced_once = False
        self.last: SourceReport | None = None

    def teardown(self) -> None:
        self.store.close()
        self.tmp.cleanup()

    def sync(self, *, allow_mass_delete: bool = False) -> SourceReport:
        report = sync_source(
            self.settings,
            self.store,
            self.fin,
            Options(allow_mass_delete=allow_mass_delete),
            cache_dir=Path(self.tmp.name),
            clock=_clock,
            progress=NoProgress(),
            lookup=lambda _: self.kind,
        )
        self.last = report
        self.synced_once = True
        return report

    # -- edits to the source ---------------------------------------------------------

    @rule(key=KEYS, body=BODIES)
    def put(self, key: str, body: str) -> None:
        self.source.put(key, body)

    @rule(key=KEYS)
    def draft(self, key: str) -> None:
        self.source.put(key, None)

    @precondition(lambda self: self.source.docs)
    @rule(data=st.data())
    def touch(self, data: st.DataObject) -> None:
        self.source.touch(data.draw(st.sampled_from(sorted(self.source.docs))))

    @precondition(lambda self: self.source.docs)
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        self.source.remove(data.draw(st.sampled_from(sorted(self.source.docs))))

    @rule()
    def empty(self) -> None:
        for key in list(self.source.docs):
            self.source.remove(key)

    # -- syncs -------------------------------------------------------------------------

    @rule()
    def sync_and_check(self) -> None:
        before = dict(self.fin.pages)
        known = {k: r for k, r in self.store.records("mem").items() if r.in_fin}
        wanted = {k for k, body in self.source.docs.items() if body is not None}
        report = self.sync()
        would_delete = len(set(known) - wanted)
        trips = would_delete > 0 and (
            would_delete >= len(known)
            or would_delete > self.settings.max_delete_fraction * len(known)
        )
        if trips:
            # An emptied source (or one that lost too much) trips the guard, and the
            # guard deletes nothing: every page that was there is still there.
            assert report.status == "blocked"
            assert report.exit_code == 3
            assert set(before) <= set(self.fin.pages)
        else:
            assert report.status == "succeeded", report.errors
            self.assert_mirrors()
            writes = self.fin.writes
            again = self.sync()
            assert again.status == "succeeded"
            assert self.fin.writes == writes, "a second sync with no change must not write"
            assert again.plan is not None
            assert again.plan.writes == 0

    @rule()
    def sync_allowing_mass_delete(self) -> None:
        report = self.sync(allow_mass_delete=True)
        assert report.status == "succeeded", report.errors
        self.assert_mirrors()

    # -- invariants ----------------------------------------------------------------------

    def assert_mirrors(self) -> None:
        assert self.settings.url is not None
        import_source = self.fin.source_id_for(self.settings.url)
        expected = {k: f"<p>{b}</p>" for k, b in self.source.docs.items() if b is not None}
        assert self.fin.bodies(import_source) == expected
        records = self.store.records("mem")
        assert set(records) == set(self.source.docs)
        for key, record in records.items():
            if self.source.docs[key] is None:
                assert record.page_id is None
                assert not record.in_fin
            else:
                assert record.page_id in self.fin.pages
                assert self.fin.pages[record.page_id]["external_id"] == key

    @invariant()
    def fin_never_holds_a_page_the_store_does_not_know(self) -> None:
        if not self.synced_once:
            return
        page_ids = {r.page_id for r in self.store.records("mem").values() if r.page_id}
        assert set(self.fin.pages) <= page_ids


def _clock() -> datetime:
    return datetime.now(UTC)


SyncMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSyncRules = SyncMachine.TestCase
