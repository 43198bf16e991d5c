"""The contract every connector passes: a base test class, subclassed per connector.

As vdirsyncer's storage tests are: a connector module provides a ``Harness`` (a source
it can write to, and a way to build its connector over it) and a subclass of
``ConnectorContract``; the same tests then hold it to ``syncer.connector.Connector``:

* a complete listing lists every document, and keys and versions are stable;
* a version moves when, and only when, a document's content changes;
* any subset of the listing fetches in any order, one result per stub, the same as
  fetched alone;
* a document that went away after the listing, or cannot be read, is a value
  (``Failure``, or ``Excluded``), never an exception;
* a listing that cannot be finished raises a ``SyncerError`` or says it is incomplete:
  never a "complete" listing with documents missing;
* the cursor a run keeps gives the next connector the same listing;
* a connector that can resume (``Resumable``: every built-in one) fetches, from its
  listing's ``fetch_state`` on a fresh connector with a cache of its own (a split run's
  batch on another machine), any subset as the listing connector does;
* ``notes`` are counts, and ``close`` may be called twice.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Protocol

import pytest

from syncer.connector import Connector, Resumable
from syncer.errors import SyncerError
from syncer.model import Document, Excluded, Failure, Listing, Stub


class Harness(Protocol):
    """A source one connector reads, written by the test."""

    def add(self, name: str, body: str) -> None:
        """A new document ``name`` (a short word) holding ``body``."""

    def edit(self, name: str, body: str) -> None: ...

    def remove(self, name: str) -> None: ...

    def key_of(self, name: str) -> str:
        """The key the connector lists document ``name`` under."""

    def break_listing(self) -> None:
        """Make the next listing unable to finish (an unreadable part, a server error)."""

    def break_document(self, name: str) -> None:
        """Make document ``name`` unreadable (it stays in the listing)."""

    def connector(self, cursor: str | None = None, *, elsewhere: bool = False) -> Connector:
        """A connector over the source; ``elsewhere``: with a cache folder of its own, as
        on another machine."""


class ConnectorContract:
    """Subclass per connector and provide the ``harness`` fixture."""

    # Whether the connector is ``Resumable``: said, so that losing it fails a test.
    resumable = True

    @pytest.fixture
    def harness(self, tmp_path: Path) -> Harness:
        raise NotImplementedError

    def listed(self, harness: Harness, cursor: str | None = None) -> Listing:
        connector = harness.connector(cursor)
        try:
            return connector.list()
        finally:
            connector.close()

    def fill(self, harness: Harness, n: int = 6) -> list[str]:
        names = [f"doc{i}" for i in range(n)]
        for name in names:
            harness.add(name, f"Body of {name}, with some words to read.")
        return names

    # -- listing ---------------------------------------------------------------------

    def test_a_complete_listing_lists_every_document(self, harness: Harness) -> None:
        names = self.fill(harness)
        listing = self.listed(harness)
        assert listing.complete
        assert {stub.key for stub in listing.stubs} == {harness.key_of(n) for n in names}
        assert len({stub.key for stub in listing.stubs}) == len(listing.stubs)

    def test_keys_and_versions_are_stable(self, harness: Harness) -> None:
        self.fill(harness)
        assert self.listed(harness).stubs == self.listed(harness).stubs

    def test_a_version_moves_with_its_content_alone(self, harness: Harness) -> None:
        self.fill(harness)
        before = {stub.key: stub.version for stub in self.listed(harness).stubs}
        harness.edit("doc2", "A new body for doc2, longer than the one it had before.")
        after = {stub.key: stub.version for stub in self.listed(harness).stubs}
        moved = {key for key in before if before[key] != after[key]}
        assert moved == {harness.key_of("doc2")}

    def test_a_listing_that_cannot_finish_never_claims_to_be_complete(
        self, harness: Harness
    ) -> None:
        names = self.fill(harness)
        harness.break_listing()
        try:
            listing = self.listed(harness)
        except SyncerError:
            return  # the source failed as a whole: nothing is planned from it
        keys = {stub.key for stub in listing.stubs}
        assert not listing.complete or keys == {harness.key_of(n) for n in names}
        assert not listing.complete

    # -- fetching --------------------------------------------------------------------

    def fetch(self, harness: Harness, stubs: list[Stub], cursor: str | None = None) -> list:  # type: ignore[type-arg]
        connector = harness.connector(cursor)
        try:
            connector.list()  # a connector may need its listing before it fetches
            return list(connector.fetch(stubs))
        finally:
            connector.close()

    def test_any_subset_fetches_in_any_order_as_it_does_alone(self, harness: Harness) -> None:
        self.fill(harness, 8)
        stubs = list(self.listed(harness).stubs)
        alone = {stub.key: self.fetch(harness, [stub]) for stub in stubs}
        assert all(len(results) == 1 for results in alone.values())
        rng = random.Random(12)
        for _ in range(3):
            subset = rng.sample(stubs, rng.randint(1, len(stubs)))
            results = self.fetch(harness, subset)
            assert sorted(r.key for r in results) == sorted(s.key for s in subset)
            for result in results:
                (single,) = alone[result.key]
                assert result == single

    def test_documents_are_documents_with_their_listing_version(self, harness: Harness) -> None:
        self.fill(harness, 3)
        stubs = list(self.listed(harness).stubs)
        for stub, result in zip(
            sorted(stubs, key=lambda s: s.key),
            sorted(self.fetch(harness, stubs), key=lambda r: r.key),
            strict=True,
        ):
            assert isinstance(result, Document)
            assert (result.key, result.version) == (stub.key, stub.version)
            assert result.html
            assert result.title

    def test_a_document_gone_after_the_listing_is_a_value(self, harness: Harness) -> None:
        self.fill(harness, 3)
        stubs = list(self.listed(harness).stubs)
        harness.remove("doc1")
        results = self.fetch(harness, stubs)
        assert sorted(r.key for r in results) == sorted(s.key for s in stubs)
        assert all(isinstance(r, Document | Excluded | Failure) for r in results)

    def test_an_unreadable_document_fails_alone(self, harness: Harness) -> None:
        self.fill(harness, 4)
        harness.break_document("doc3")
        stubs = list(self.listed(harness).stubs)
        results = {r.key: r for r in self.fetch(harness, stubs)}
        broken = harness.key_of("doc3")
        assert isinstance(results[broken], Failure | Excluded)
        assert results[broken].key == broken
        others = [r for key, r in results.items() if key != broken]
        assert others
        assert all(isinstance(r, Document) for r in others)

    def test_a_resumed_connector_fetches_as_the_listing_one(self, harness: Harness) -> None:
        self.fill(harness, 8)
        lister = harness.connector()
        try:
            listing = lister.list()
            assert isinstance(lister, Resumable) is self.resumable
            if not isinstance(lister, Resumable):
                return  # its batches list again: tests/test_engine_batches.py
            state = lister.fetch_state()
            listed = {result.key: result for result in lister.fetch(listing.stubs)}
        finally:
            lister.close()
        assert isinstance(state, str)
        rng = random.Random(5)
        for _ in range(2):
            subset = rng.sample(list(listing.stubs), rng.randint(1, len(listing.stubs)))
            resumed = harness.connector(elsewhere=True)
            assert isinstance(resumed, Resumable)
            try:
                resumed.resume(state)
                results = list(resumed.fetch(subset))
            finally:
                resumed.close()
            assert sorted(r.key for r in results) == sorted(s.key for s in subset)
            for result in results:
                assert result == listed[result.key]

    # -- cursor, notes, close -----------------------------------------------------------

    def test_the_cursor_gives_the_next_run_the_same_listing(self, harness: Harness) -> None:
        self.fill(harness)
        connector = harness.connector()
        try:
            listing = connector.list()
            list(connector.fetch(listing.stubs))
            cursor = connector.cursor()
        finally:
            connector.close()
        assert cursor is None or isinstance(cursor, str)
        again = self.listed(harness, cursor)
        assert again.stubs == listing.stubs
        assert again.complete

    def test_notes_are_counts_and_close_may_come_twice(self, harness: Harness) -> None:
        self.fill(harness, 2)
        connector = harness.connector()
        listing = connector.list()
        list(connector.fetch(listing.stubs))
        notes = connector.notes()
        assert all(isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in notes.items())
        connector.close()
        connector.close()
