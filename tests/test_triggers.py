"""Triggers on an in-process daemon with a real store and the fake Intercom: a trigger
starts a run at once, a burst while the source runs costs one more run and no more, a
second replica's trigger is served by the replica running the source (with no run more),
one that finds the source held by a one-shot run is served once it is free, and the store
keeps the last trigger for every replica to show."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from syncer.daemon import Daemon
from syncer.daemon.runs import LOCKED_RETRY_S
from syncer.store import Store
from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom
from tests.test_daemon import make_docs, wait_for, write_config
from tests.test_status_routes import fetch, running


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", TOKEN)


def _config(tmp_path: Path, fake: FakeIntercom, store_url: str, docs: int = 3) -> Path:
    make_docs(tmp_path / "docs", docs)
    config = tmp_path / "syncer.yaml"
    write_config(
        config,
        fake=fake,
        store=store_url,
        sources=[("docs", tmp_path / "docs")],
        schedule="every 1h",
    )
    return config


def finished_runs(store_url: str, name: str = "docs") -> int:
    with Store.open_read_only(store_url) as store:
        return len([r for r in store.runs.of(name, limit=100) if r.finished_at is not None])


def _begun(daemon: Daemon, name: str = "docs") -> int:
    row = daemon.store.triggers.get(name)
    return row.begun if row is not None else 0


def settled(daemon: Daemon, name: str = "docs") -> bool:
    """Nothing runs or waits to run, and the store has no trigger left to serve."""
    row = daemon.store.triggers.get(name)
    queued = daemon.schedules.scheduler.get_job(name + "!now") is not None
    return not daemon.runs.running() and not queued and row is not None and not row.pending


def test_a_trigger_starts_a_run_now_and_is_recorded(
    tmp_path: Path, fake_intercom: FakeIntercom
) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    config = _config(tmp_path, fake_intercom, store_url)
    with running(config, "replica-a") as daemon:
        assert finished_runs(store_url) == 0
        triggered = daemon.trigger("docs", "cli", kind="cli")
        assert (triggered.outcome, triggered.serial) == ("started", 1)
        wait_for("the triggered run", lambda: finished_runs(store_url) == 1, 20)
        wait_for("the trigger served", lambda: settled(daemon), 20)
        row = daemon.store.triggers.get("docs")
        assert row is not None
        assert (row.what, row.done, row.done_status, row.done_exit) == ("cli", 1, "succeeded", 0)
        assert row.freshness_s is not None
        assert row.freshness_s >= 0
        assert len(fake_intercom.pages()) == 3
        code, _headers, body = fetch(daemon, "/status")
        assert code == 200
        shown = json.loads(body)["sources"][0]["trigger"]
        assert shown["what"] == "cli"
        assert (shown["serial"], shown["served"], shown["pending"]) == (1, 1, False)
        assert (shown["served_status"], shown["served_exit_code"]) == ("succeeded", 0)

        # The status page shows it too, and how fresh Intercom was after it.
        code, _headers, page = fetch(daemon, "/")
        assert code == 200
        assert "Last trigger</dt><dd>cli, <time" in page
        assert "from the change to Intercom" in page
        code, _headers, page = fetch(daemon, "/sources/docs")
        assert code == 200
        assert "Last trigger</dt><dd>cli, <time" in page
        metrics = daemon.metrics.exposition().decode()
        # One observation a page written, each from its file's mtime.
        assert 'syncer_freshness_seconds_count{source="docs"} 3.0' in metrics
        assert 'syncer_triggers_total{kind="cli",outcome="started",source="docs"} 1.0' in metrics

        unknown = daemon.trigger("nope", "cli", kind="cli")
        assert (unknown.outcome, unknown.serial) == ("unknown", 0)
        assert daemon.store.triggers.get("nope") is None


def test_a_burst_of_20_triggers_costs_at_most_two_runs(
    tmp_path: Path, fake_intercom: FakeIntercom
) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    config = _config(tmp_path, fake_intercom, store_url, docs=6)
    # Each page write takes a while: the first run is still going when the burst comes.
    fake_intercom.faults.slow_down(3.0, method="POST", path_prefix="/ai/external_pages")
    with running(config, "replica-a") as daemon:
        outcomes = [daemon.trigger("docs", "webhook gitea push 0", kind="webhook").outcome]
        wait_for("the first run under way", lambda: _begun(daemon) == 1, 20)
        threads = [
            threading.Thread(
                target=lambda n=n: outcomes.append(
                    daemon.trigger("docs", f"webhook gitea push {n}", kind="webhook").outcome
                )
            )
            for n in range(1, 20)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert outcomes[0] == "started"
        assert sorted(set(outcomes[1:])) == ["queued"]
        wait_for("every trigger served", lambda: settled(daemon), 60)
        assert finished_runs(store_url) == 2
        row = daemon.store.triggers.get("docs")
        assert row is not None
        assert (row.serial, row.done) == (20, 20)
        assert len(fake_intercom.pages()) == 6


def test_a_trigger_taken_by_another_replica_is_served_by_the_one_running_the_source(
    tmp_path: Path, fake_intercom: FakeIntercom, postgres_url: str
) -> None:
    config = _config(tmp_path, fake_intercom, postgres_url, docs=6)
    fake_intercom.faults.slow_down(3.0, method="POST", path_prefix="/ai/external_pages")
    with running(config, "replica-a") as a, running(config, "replica-b") as b:
        a.trigger("docs", "cli", kind="cli")
        # Under way: it began the trigger and holds the source's lock, taken just after.
        wait_for(
            "a's run under way",
            lambda: _begun(a) == 1 and a.store.lock_holder("docs") == "replica-a",
            20,
        )
        # b does not run it (a holds the source's lock) but counts it in the store.
        assert b.trigger("docs", "webhook github push 1", kind="webhook").outcome == "started"
        wait_for(
            "both triggers served",
            lambda: settled(a) and settled(b) and finished_runs(postgres_url) >= 2,
            60,
        )
        assert finished_runs(postgres_url) == 2
        row = a.store.triggers.get("docs")
        assert row is not None
        assert (row.serial, row.done, row.what) == (
            2,
            2,
            "webhook github push 1",
        )
        # Every replica shows the last trigger: it is the store's.
        for replica in (a, b):
            code, _headers, body = fetch(replica, "/status")
            assert code == 200
            assert json.loads(body)["sources"][0]["trigger"]["what"] == "webhook github push 1"


def test_a_trigger_that_finds_the_source_locked_runs_once_the_lock_is_free(
    tmp_path: Path, fake_intercom: FakeIntercom
) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    config = _config(tmp_path, fake_intercom, store_url)
    with running(config, "replica-a") as daemon, Store.open(store_url) as other:
        lock = other.try_lock("docs", "a one-shot sync")  # serves no trigger
        assert lock is not None
        assert daemon.trigger("docs", "cli", kind="cli").outcome == "started"

        def skipped() -> float | None:
            labels = {"source": "docs", "reason": "locked"}
            return daemon.metrics.registry.get_sample_value("syncer_runs_skipped_total", labels)

        wait_for("the run to find the source locked", skipped, 20)
        row = daemon.store.triggers.get("docs")
        assert row is not None
        assert row.pending  # given back, for the retry
        lock.release()
        wait_for("the retry to serve the trigger", lambda: settled(daemon), LOCKED_RETRY_S + 20)
        assert finished_runs(store_url) == 1
        row = daemon.store.triggers.get("docs")
        assert row is not None
        assert (row.serial, row.done, row.done_status) == (1, 1, "succeeded")
        assert skipped() == 1
        assert len(fake_intercom.pages()) == 3
