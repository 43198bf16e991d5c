"""What the status page and alerts read from the store, on SQLite and Postgres: each run's
document outcomes (bounded per run and per source, redacted, gone with their run),
alert states swapped by compare-and-set, and config reloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncer.model import Counts
from syncer.store import Health, RunDocument, Store
from syncer.store.schema import MAX_RUN_DOCUMENTS, RELOADS_KEPT, RUNS_WITH_DOCUMENTS

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
SECRET = "sk-live-0123456789abcdef"


def _redact(text: str) -> str:
    return text.replace(SECRET, "***")


def _run(store: Store, documents: list[RunDocument], at: datetime = T0) -> int:
    run_id = store.runs.start("docs", at)
    store.runs.finish(run_id, "failed", Counts(), [], at + timedelta(seconds=1), documents)
    return run_id


def test_a_run_keeps_its_documents_failures_first_and_redacted(store_url: str) -> None:
    with Store.open(store_url, migrate=True, redact=_redact) as store:
        store.ensure_source("docs", "filesystem")
        run_id = _run(
            store,
            [
                RunDocument("created", "a.md", "A"),
                RunDocument("updated", "b.md", "B"),
                RunDocument("failed", "c.md", "C", f"HTTP 400 echoing token {SECRET}"),
                RunDocument("skipped", "d.md", reason="draft: true"),
                RunDocument("deleted", "e.md", "E"),
                RunDocument("held", "f.md", "F", "the mass-delete guard held it back"),
                RunDocument("created", "g.md", "G"),
            ],
        )
        kept = store.runs.documents(run_id)
        assert [(d.action, d.key) for d in kept] == [
            ("failed", "c.md"),
            ("held", "f.md"),
            ("skipped", "d.md"),
            ("deleted", "e.md"),
            ("created", "a.md"),
            ("created", "g.md"),
            ("updated", "b.md"),
        ]
        assert kept[0].reason == "HTTP 400 echoing token ***"
        assert kept[2].reason == "draft: true"
        assert store.runs.with_documents("docs") == {run_id}
        # A run that changed nothing keeps no rows.
        quiet = _run(store, [])
        assert store.runs.documents(quiet) == []
        assert store.runs.with_documents("docs") == {run_id}


def test_document_rows_are_bounded_per_run_and_per_source(store_url: str) -> None:
    with Store.open(store_url, migrate=True) as store:
        store.ensure_source("docs", "filesystem")
        store.ensure_source("other", "filesystem")
        other = store.runs.start("other", T0)
        store.runs.finish(
            other, "succeeded", Counts(), [], T0, [RunDocument("created", "x.md", "X")]
        )
        many = [RunDocument("created", f"{i:05}.md") for i in range(MAX_RUN_DOCUMENTS + 50)]
        many.append(RunDocument("failed", "broken.md", reason="binary file"))
        first = _run(store, many)
        kept = store.runs.documents(first)
        assert len(kept) == MAX_RUN_DOCUMENTS
        assert kept[0] == RunDocument("failed", "broken.md", "", "binary file")
        ids = [first]
        for n in range(RUNS_WITH_DOCUMENTS):
            at = T0 + timedelta(minutes=n + 1)
            ids.append(_run(store, [RunDocument("updated", "a.md")], at))
        assert store.runs.with_documents("docs") == set(ids[1:])
        assert store.runs.documents(first) == []
        # Another source's rows are its own.
        assert store.runs.documents(other) == [RunDocument("created", "x.md", "X", "")]


def test_document_rows_go_with_their_source(store_url: str) -> None:
    with Store.open(store_url, migrate=True) as store:
        store.ensure_source("docs", "filesystem")
        run_id = _run(store, [RunDocument("created", "a.md")])
        store.delete_source("docs")
        assert store.runs.documents(run_id) == []


def test_an_unknown_document_action_is_refused(store_url: str) -> None:
    with Store.open(store_url, migrate=True) as store:
        store.ensure_source("docs", "filesystem")
        run_id = store.runs.start("docs", T0)
        with pytest.raises(ValueError, match="unknown document actions"):
            store.runs.finish(run_id, "failed", Counts(), [], T0, [RunDocument("ignored", "a")])


def test_alert_states_change_by_compare_and_set(store_url: str) -> None:
    with Store.open(store_url, migrate=True) as store:
        assert store.alerts.get("docs") == Health()
        assert store.alerts.get("docs").healthy
        failed = Health("failed", False)
        assert store.alerts.swap("docs", Health(), failed, T0)
        # A second replica that saw the same transition loses the swap: one alert.
        assert not store.alerts.swap("docs", Health(), failed, T0)
        now = store.alerts.get("docs")
        assert (now.run_state, now.stale, now.changed_at) == ("failed", False, T0)
        assert not now.healthy
        later = T0 + timedelta(minutes=5)
        assert store.alerts.swap("docs", now, Health("failed", True), later)
        assert store.alerts.all()["docs"] == Health("failed", True, later)
        with pytest.raises(ValueError, match="unknown run state"):
            store.alerts.swap("docs", now, Health("sad", True), later)
        store.alerts.swap("wiki", Health(), Health("blocked"), later)
        store.alerts.forget(["wiki"])
        assert set(store.alerts.all()) == {"wiki"}


def test_config_reloads_keep_the_newest_with_their_problems(store_url: str) -> None:
    with Store.open(store_url, migrate=True, redact=_redact) as store:
        assert store.reloads.latest() is None
        for n in range(RELOADS_KEPT + 3):
            store.reloads.record("replica-a", T0 + timedelta(seconds=n), ok=True, problems=[])
        store.reloads.record(
            "replica-b",
            T0 + timedelta(minutes=5),
            ok=False,
            problems=[f"syncer.yaml:3: intercom.token: {SECRET} is not valid"],
        )
        latest = store.reloads.latest()
        assert latest is not None
        assert (latest.replica, latest.ok, latest.at) == (
            "replica-b",
            False,
            T0 + timedelta(minutes=5),
        )
        assert latest.problems == ("syncer.yaml:3: intercom.token: *** is not valid",)


def test_a_read_only_store_reads_the_new_tables_as_empty(tmp_path: object) -> None:
    with Store.open_read_only(f"sqlite:///{tmp_path}/missing.db") as store:
        assert store.runs.documents(1) == []
        assert store.runs.with_documents("docs") == set()
        assert store.alerts.all() == {}
        assert store.reloads.latest() is None
