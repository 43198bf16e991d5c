"""A ``syncer worker`` 's runs send the run-outcome alerts, as the daemon's do.

Real worker processes, the fake Intercom, a real webhook receiver: a source whose runs
fail is told ``failed`` once however many runs (on either worker) fail, and
``recovered`` once a run succeeds again, through the store's compare-and-set.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncer.store import migrate
from tests.fakes.intercom import FakeIntercom
from tests.fakes.webhook import Receiver
from tests.test_daemon import make_docs, wait_for, write_config
from tests.test_engine import ENGINE, WorkerProcess, _deferrer, _source

postgres = pytest.mark.postgres


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@postgres
@pytest.mark.slow
def test_a_workers_failed_and_recovered_runs_are_told_once(
    tmp_path: Path,
    postgres_url: str,
    fake_intercom: FakeIntercom,
    hooks: Receiver,
    workers: list[WorkerProcess],
) -> None:
    migrate.upgrade(postgres_url)
    docs = tmp_path / "docs"  # missing at first: every run fails
    config = tmp_path / "syncer.yaml"
    write_config(
        config,
        fake=fake_intercom,
        store=postgres_url,
        sources=[("docs", docs)],
        schedule="every 1h",
        daemon=ENGINE,
    )
    with config.open("a") as out:
        out.write(f"alerts:\n  webhooks:\n    - url: {hooks.url}/hooks/ops\n")
    workers += [WorkerProcess(config, tmp_path / f"worker-{i}.log") for i in range(2)]
    for worker in workers:
        wait_for("a worker up", worker.started, 30)
    scheduler = _deferrer(
        postgres_url, "test", {"docs": _source("docs", "every 1h")}, datetime.now(UTC)
    )

    def run_once(done: int) -> None:
        assert scheduler.trigger("docs") == "started"
        wait_for(
            f"run {done}",
            lambda: sum(len(w.events("job_finished")) for w in workers) == done,
            30,
        )

    scheduler.start()
    try:
        for done in (1, 2, 3):
            run_once(done)
        statuses = [e["status"] for w in workers for e in w.events("job_finished")]
        assert statuses == ["failed"] * 3
        wait_for("the failed alert", lambda: hooks.bodies("/hooks/ops"), 10)
        make_docs(docs, 2)
        run_once(4)
        wait_for("the recovered alert", lambda: len(hooks.bodies("/hooks/ops")) == 2, 10)
    finally:
        scheduler.close()
    bodies = hooks.bodies("/hooks/ops")
    assert [(b["kind"], b["source"]) for b in bodies] == [("failed", "docs"), ("recovered", "docs")]
    assert len(fake_intercom.pages()) == 2
