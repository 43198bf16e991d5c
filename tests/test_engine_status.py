"""The task engine's jobs on ``/status``, the status page and ``syncer status``.

With ``daemon.engine: procrastinate`` each source's row counts its jobs read from
procrastinate's tables in the store's Postgres: a job waiting shows as queued, one a
worker has fetched as running, one that failed for good as failed with the time and
the error the worker recorded. With the in-process engine the rows have no ``jobs``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from procrastinate import jobs as procrastinate_jobs

from syncer.config import loader
from syncer.engine import TASKS
from syncer.engine import app as engine_app
from syncer.engine.jobs import SourceJobs
from syncer.intercom.client import IntercomClient
from syncer.redact import Redactor
from syncer.store import Store, migrate
from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom
from tests.test_daemon import REPO, make_docs, write_config
from tests.test_engine import ENGINE, _deferrer, _source
from tests.test_status_routes import fetch, running

SOURCES = ("queued", "running", "broken", "idle")

postgres = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", TOKEN)


@pytest.fixture
def fake() -> Iterator[FakeIntercom]:
    with FakeIntercom(TOKEN) as server:
        yield server


def _take(url: str, *, fail: bool) -> int:
    """Fetch the oldest waiting job as a worker does (it is then ``doing``); with
    ``fail``, end it failed, as a worker does when its task raised for good."""

    async def take() -> int:
        app = engine_app.build(url, application_name="test")
        async with app.open_async():
            manager = app.job_manager
            job = await manager.fetch_job(queues=None, worker_id=await manager.register_worker())
            assert job is not None
            assert job.id is not None
            if fail:
                await manager.finish_job(
                    job, status=procrastinate_jobs.Status.FAILED, delete_job=False
                )
            return job.id

    return asyncio.run(take())


def _config(tmp_path: Path, fake: FakeIntercom, store: str, daemon: str) -> Path:
    for name in SOURCES:
        make_docs(tmp_path / name, 1)
    config = tmp_path / "syncer.yaml"
    write_config(
        config,
        fake=fake,
        store=store,
        sources=[(name, tmp_path / name) for name in SOURCES],
        schedule="every 1h",
        daemon=daemon,
    )
    return config


def _syncer_status(config: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "status", "-c", str(config), *args],
        cwd=REPO,
        env={**os.environ, "TEST_INTERCOM_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@postgres
def test_queued_running_and_failed_jobs_show_per_source(
    tmp_path: Path, postgres_url: str, fake: FakeIntercom
) -> None:
    migrate.upgrade(postgres_url)
    config = _config(tmp_path, fake, postgres_url, ENGINE)
    scheduler = _deferrer(
        postgres_url,
        "test",
        {name: _source(name, "every 1h") for name in SOURCES},
        datetime.now(UTC),
    )
    scheduler.start()
    try:
        assert scheduler.trigger("broken") == "started"
        failed_id = _take(postgres_url, fail=True)
        assert scheduler.trigger("running") == "started"
        _take(postgres_url, fail=False)
        assert scheduler.trigger("queued") == "started"
    finally:
        scheduler.close()
    # What the worker keeps of a job that failed for good: procrastinate keeps no error.
    settings = loader.load(config)
    redact = Redactor.from_settings(settings).redact
    with (
        Store.open(postgres_url, redact=redact) as store,
        IntercomClient.from_settings(settings.intercom) as client,
    ):
        worker = SourceJobs(settings, store, client, holder="worker test", stop=threading.Event())
        worker.failed("broken", failed_id, RuntimeError(f"a bug, token {TOKEN}"))

    expected = {
        "queued": {"queued": 1, "running": 0, "failed": 0, "last_failure": None},
        "running": {"queued": 0, "running": 1, "failed": 0, "last_failure": None},
        "idle": {"queued": 0, "running": 0, "failed": 0, "last_failure": None},
    }
    with running(config, "replica-a") as daemon:
        status, _headers, body = fetch(daemon, "/status")
        assert status == 200
        rows = {row["name"]: row["jobs"] for row in json.loads(body)["sources"]}
        broken = rows.pop("broken")
        assert rows == expected
        assert (broken["queued"], broken["running"], broken["failed"]) == (0, 0, 1)
        failure = broken["last_failure"]
        assert failure["job_id"] == failed_id
        assert failure["error"] == "RuntimeError: a bug, token ***"
        assert datetime.fromisoformat(failure["at"]) <= datetime.now(UTC)
        _status, _headers, html = fetch(daemon, "/")
        assert '<span class="count job-queued">1 queued</span>' in html
        assert '<span class="count job-running">1 running</span>' in html
        assert '<span class="count job-failed">1 failed</span>' in html
        assert f"job {failed_id} failed" in html
        assert "RuntimeError: a bug, token ***" in html
        assert TOKEN not in html
        _status, _headers, page = fetch(daemon, "/sources/queued")
        assert '<span class="badge queued">queued</span>' in page

    printed = _syncer_status(config)
    assert "  jobs: 1 queued\n" in printed
    assert "  jobs: 1 running\n" in printed
    assert "  jobs: 1 failed\n" in printed
    assert f"  ! job {failed_id} failed at {failure['at']}: RuntimeError: a bug" in printed
    assert json.loads(_syncer_status(config, "--json"))["sources"][2]["jobs"] == broken


@postgres
def test_a_split_runs_batch_and_finish_jobs_count_for_their_source(postgres_url: str) -> None:
    """A split run's jobs are ``sync_batch`` and ``finish_run`` ones: its source's
    counts hold them too, or a source halfway through a split run showed no job."""
    migrate.upgrade(postgres_url)

    async def defer() -> None:
        app = engine_app.build(postgres_url, application_name="test")
        async with app.open_async():
            for number in range(3):
                await app.configure_task(
                    engine_app.BATCH_TASK,
                    lock=engine_app.batch_key("docs", 7, number),
                    task_kwargs={"source": "docs", "run_id": 7, "number": number},
                ).defer_async()
            await app.configure_task(
                engine_app.FINISH_TASK,
                lock=engine_app.key("docs"),
                task_kwargs={"source": "docs", "run_id": 7},
            ).defer_async()

    asyncio.run(defer())
    _take(postgres_url, fail=False)  # one batch under way
    with Store.open(postgres_url) as store:
        counts = store.jobs.counts(TASKS)
    assert set(counts) == {"docs"}
    assert (counts["docs"].queued, counts["docs"].running, counts["docs"].failed) == (3, 1, 0)


@postgres
def test_the_in_process_engine_shows_no_jobs(
    tmp_path: Path, postgres_url: str, fake: FakeIntercom
) -> None:
    config = _config(tmp_path, fake, postgres_url, "")
    with running(config, "replica-a") as daemon:
        _status, _headers, body = fetch(daemon, "/status")
        assert all("jobs" not in row for row in json.loads(body)["sources"])
        _status, _headers, html = fetch(daemon, "/")
        assert "Jobs</dt>" not in html
    assert "jobs:" not in _syncer_status(config)
