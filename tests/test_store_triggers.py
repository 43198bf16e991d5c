"""The ``triggers`` rows on SQLite and Postgres (``store_url``): serials, the runs that
serve them, a run that never ran handing its triggers back, and freshness."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from syncer.store import Begun, Store

T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url, migrate=True)
    try:
        yield opened
    finally:
        opened.close()


def test_a_source_never_triggered_has_no_row_and_nothing_pending(store: Store) -> None:
    assert store.triggers.get("docs") is None
    assert store.triggers.begin("docs") == Begun(0, 0)
    assert (
        store.triggers.finish(
            "docs", Begun(0, 0), at=T0, status="succeeded", exit_code=0, wrote=True
        )
        is None
    )
    assert store.triggers.all() == {}


def test_each_trigger_gets_the_next_serial_and_the_row_says_what_the_last_was(
    store: Store,
) -> None:
    assert store.triggers.record("docs", T0, "cli") == 1
    commit_time = T0 + timedelta(seconds=5)
    assert (
        store.triggers.record(
            "docs", T0 + timedelta(seconds=9), "webhook github push abc123", changed_at=commit_time
        )
        == 2
    )
    assert store.triggers.record("wiki", T0, "status page") == 1
    row = store.triggers.get("docs")
    assert row is not None
    assert (row.serial, row.what, row.at, row.changed_at) == (
        2,
        "webhook github push abc123",
        T0 + timedelta(seconds=9),
        commit_time,
    )
    assert row.pending
    assert sorted(store.triggers.all()) == ["docs", "wiki"]


def test_concurrent_triggers_each_get_a_serial_of_their_own(store: Store) -> None:
    with ThreadPoolExecutor(8) as pool:
        serials = list(pool.map(lambda n: store.triggers.record("docs", T0, f"t{n}"), range(40)))
    assert sorted(serials) == list(range(1, 41))


def test_a_trigger_during_a_run_leaves_one_more_run_due_and_only_one(store: Store) -> None:
    store.triggers.record("docs", T0, "cli")
    first = store.triggers.begin("docs")
    assert first == Begun(1, 0)
    row = store.triggers.get("docs")
    assert row is not None
    assert not row.pending
    for n in range(19):  # a burst while the run goes on
        store.triggers.record("docs", T0 + timedelta(seconds=n), f"push {n}")
    store.triggers.finish("docs", first, at=T0, status="succeeded", exit_code=0, wrote=False)
    row = store.triggers.get("docs")
    assert row is not None
    assert row.pending
    assert row.done == 1
    second = store.triggers.begin("docs")
    assert second == Begun(20, 1)
    store.triggers.finish("docs", second, at=T0, status="failed", exit_code=1, wrote=False)
    row = store.triggers.get("docs")
    assert row is not None
    assert not row.pending
    assert (row.done, row.done_status, row.done_exit) == (20, "failed", 1)
    # A run with nothing new to serve leaves the row as it was.
    assert store.triggers.begin("docs") == Begun(20, 20)


def test_a_run_that_did_not_run_hands_its_triggers_back(store: Store) -> None:
    store.triggers.record("docs", T0, "cli")
    begun = store.triggers.begin("docs")
    store.triggers.rewind("docs", begun)
    row = store.triggers.get("docs")
    assert row is not None
    assert row.pending
    assert store.triggers.begin("docs") == Begun(1, 0)


def test_freshness_is_from_the_served_change_to_the_run_end_when_it_wrote(store: Store) -> None:
    committed = T0 - timedelta(seconds=3)
    store.triggers.record("docs", T0, "webhook gitea push", changed_at=committed)
    begun = store.triggers.begin("docs")
    end = T0 + timedelta(seconds=4)
    fresh = store.triggers.finish(
        "docs", begun, at=end, status="succeeded", exit_code=0, wrote=True
    )
    assert fresh == pytest.approx(7.0)
    row = store.triggers.get("docs")
    assert row is not None
    assert row.freshness_s == pytest.approx(7.0)
    # Without a change time the trigger's own time stands for it; a run that wrote
    # nothing measures nothing and keeps the last figure.
    store.triggers.record("docs", end, "cli")
    quiet = store.triggers.begin("docs")
    assert (
        store.triggers.finish(
            "docs",
            quiet,
            at=end + timedelta(seconds=1),
            status="succeeded",
            exit_code=0,
            wrote=False,
        )
        is None
    )
    store.triggers.record("docs", end, "cli")
    wrote = store.triggers.begin("docs")
    assert store.triggers.finish(
        "docs", wrote, at=end + timedelta(seconds=2), status="succeeded", exit_code=0, wrote=True
    ) == pytest.approx(2.0)


def test_an_older_run_finishing_after_a_newer_one_does_not_win(store: Store) -> None:
    store.triggers.record("docs", T0, "cli")
    old = store.triggers.begin("docs")
    store.triggers.record("docs", T0, "cli")
    new = store.triggers.begin("docs")
    store.triggers.finish("docs", new, at=T0, status="succeeded", exit_code=0, wrote=False)
    store.triggers.finish("docs", old, at=T0, status="failed", exit_code=1, wrote=False)
    row = store.triggers.get("docs")
    assert row is not None
    assert (row.done, row.done_exit) == (2, 0)


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.triggers.record("docs", datetime(2026, 1, 1), "cli")
