"""The task engine (``syncer.engine``): sources' syncs as procrastinate jobs on Postgres.

Schedulers defer a due source once however many of them fire in one slot; a daemon
defers and a real ``syncer worker`` process runs the job, the pages reach the fake
Intercom, and ``syncer trigger --wait`` is served by the worker's run; two workers never
run one source at once (the job lock); a worker SIGKILLed mid-run has its job retried by
another, and Intercom ends up with each document exactly once; a worker stopped mid-run
hands its job to the next; ``syncer worker`` refuses a SQLite store and a store whose
schema is behind. The pure parts (slots, retries, the schema check, the config rule,
the connection string without the password) are checked without a database.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncer.config import loader
from syncer.config.schedule import parse_schedule
from syncer.config.settings import SourceSettings
from syncer.engine import app as engine_app
from syncer.engine import jobs, schema
from syncer.engine.deferring import Deferrer, slot
from syncer.errors import ConfigError, StoreError
from syncer.store import migrate
from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom
from tests.test_daemon import REPO, DaemonProcess, make_docs, runs_of, wait_for, write_config

STALLED_S = 3.0
ADMIN = "an-admin-token-of-24-chars"
ENGINE = f"  engine: procrastinate\n  stalled_worker_seconds: {STALLED_S}\n"


class WorkerProcess:
    """A ``syncer worker`` subprocess and its JSON log."""

    def __init__(self, config: Path, log: Path, *args: str) -> None:
        self.log_path = log
        self._log = log.open("w")
        command = ["worker", "-c", str(config), *args]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "syncer", "--log-format", "json", *command],
            cwd=REPO,
            env={**os.environ, "TEST_INTERCOM_TOKEN": TOKEN},
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log_path.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("event") == name:
                found.append(event)
        return found

    def started(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"worker exited early:\n{self.log_path.read_text()}")
        return bool(self.events("worker_started"))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def fake() -> Iterator[FakeIntercom]:
    with FakeIntercom(TOKEN, window=1.0) as server:
        yield server


def _source(name: str, schedule: str) -> SourceSettings:
    return SourceSettings.model_validate(
        {"name": name, "type": "filesystem", "schedule": schedule}, strict=False
    )


def _deferrer(url: str, name: str, sources: dict[str, SourceSettings], now: datetime) -> Deferrer:
    return Deferrer(url, holder=name, source=sources.get, starting=set(), clock=lambda: now)


def _jobs(url: str) -> list[dict[str, Any]]:
    """Every job in the queue (procrastinate's own listing)."""
    app = engine_app.build(url, application_name="test")
    with app.open():
        return [
            {"id": job.id, "status": job.status, "kwargs": job.task_kwargs}
            for job in app.job_manager.list_jobs()
        ]


def _take_job(url: str) -> None:
    """Fetch the next job as a worker would (it is ``doing`` until the worker ends)."""

    async def take() -> None:
        app = engine_app.build(url, application_name="test")
        async with app.open_async():
            worker_id = await app.job_manager.register_worker()
            assert await app.job_manager.fetch_job(queues=None, worker_id=worker_id)

    asyncio.run(take())


# ---- pure parts ---------------------------------------------------------------------------


def test_a_slot_is_the_schedules_nominal_fire_at_or_before_now() -> None:
    every = parse_schedule("every 15m")
    base = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
    # Two schedulers, each at its own phase within the slot, find the same slot.
    assert slot(every, base + timedelta(minutes=3)) == slot(every, base + timedelta(minutes=14))
    assert slot(every, base + timedelta(minutes=15)) == int(base.timestamp()) + 900
    cron = parse_schedule("0 9,17 * * *")
    at = datetime(2027, 1, 10, 17, 0, 40, tzinfo=UTC)  # 40 s of jitter after 17:00
    assert slot(cron, at) == int(datetime(2027, 1, 10, 17, tzinfo=UTC).timestamp())
    morning = datetime(2027, 1, 11, 8, 59, tzinfo=UTC)
    assert slot(cron, morning) == int(datetime(2027, 1, 10, 17, tzinfo=UTC).timestamp())


def test_how_each_ending_of_a_job_is_retried() -> None:
    assert jobs.retry_in(jobs.HandedBackError("docs"), attempts=3) == 0.0
    assert jobs.retry_in(jobs.SourceBusyError("docs"), attempts=0) == 5.0
    waits = [jobs.retry_in(StoreError("down"), attempts=n) for n in range(5)]
    assert waits == [5.0, 10.0, 20.0, None, None]
    assert jobs.retry_in(RuntimeError("a bug"), attempts=0) is None


def test_the_installed_procrastinate_fits_the_stores_schema_and_another_is_refused() -> None:
    schema.check()
    newer = schema.problem("3.11.0", ["01.00.00_01_x.sql", "03.05.00_01_new.sql"])
    assert newer is not None
    assert "procrastinate 3.11.0 is installed" in newer
    assert "pip install 'procrastinate>=3.10,<3.11'" in newer
    # A release in the range whose schema moved on is refused too.
    assert schema.problem("3.10.1", ["03.05.00_01_new.sql"]) is not None
    assert schema.problem("3.10.0", [schema.NEWEST_MIGRATION]) is None


def test_procrastinate_with_a_sqlite_store_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "syncer.yaml"
    config.write_text(
        "store:\n  url: sqlite:///s.db\ndaemon:\n  engine: procrastinate\nsources: []\n"
    )
    with pytest.raises(ConfigError) as caught:
        loader.load(config, check_environment=False)
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (4, "daemon.engine")
    assert "needs PostgreSQL" in problem.message


def test_a_worker_refuses_a_sqlite_store(tmp_path: Path, fake: FakeIntercom) -> None:
    config = tmp_path / "syncer.yaml"
    write_config(config, fake=fake, store=f"sqlite:///{tmp_path / 's.db'}", sources=[])
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "worker", "-c", str(config)],
        cwd=REPO,
        env={**os.environ, "TEST_INTERCOM_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "syncer: syncer worker needs a PostgreSQL store; with SQLite, syncer daemon runs "
        "everything in one process"
    )
    assert not (tmp_path / "s.db").exists()


def test_the_engines_connection_string_holds_no_password() -> None:
    url = "postgresql+psycopg://syncer:s3cret-pass@db.example.com:6432/syncer?sslmode=require"
    arguments = engine_app.connector_arguments(url, application_name="worker x")
    assert "s3cret-pass" not in arguments["conninfo"]
    assert "sslmode=require" in arguments["conninfo"]
    assert "port=6432" in arguments["conninfo"]
    assert arguments["kwargs"] == {"password": "s3cret-pass"}


# ---- against the real Postgres ----------------------------------------------------------

postgres = pytest.mark.postgres


@postgres
def test_a_worker_refuses_a_store_whose_schema_is_behind(
    tmp_path: Path, postgres_url: str, fake: FakeIntercom
) -> None:
    migrate.upgrade(postgres_url, "0005")  # before the engine's schema
    config = tmp_path / "syncer.yaml"
    write_config(config, fake=fake, store=postgres_url, sources=[], daemon=ENGINE)
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "worker", "-c", str(config)],
        cwd=REPO,
        env={**os.environ, "TEST_INTERCOM_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "behind" in done.stderr
    assert "syncer db upgrade" in done.stderr


@postgres
def test_two_schedulers_defer_a_due_source_once_a_slot(postgres_url: str) -> None:
    migrate.upgrade(postgres_url)
    sources = {"docs": _source("docs", "every 15m")}
    slot_start = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
    a = _deferrer(postgres_url, "a", sources, slot_start + timedelta(minutes=2))
    b = _deferrer(postgres_url, "b", sources, slot_start + timedelta(minutes=11))
    later = _deferrer(postgres_url, "c", sources, slot_start + timedelta(minutes=16))
    for scheduler in (a, b, later):
        scheduler.start()
    try:
        a.due("docs")
        b.due("docs")  # the job waits: the queueing lock
        assert [j["kwargs"] for j in _jobs(postgres_url)] == [
            {"source": "docs", "timestamp": int(slot_start.timestamp())}
        ]
        _take_job(postgres_url)  # a worker runs it: no job waits now
        assert b.defer("docs", slot(sources["docs"].schedule, slot_start)) == "slot taken"
        b.due("docs")
        assert len(_jobs(postgres_url)) == 1
        # The next slot is a job of its own, waiting behind the one running (its lock).
        later.due("docs")
        assert [j["status"] for j in _jobs(postgres_url)] == ["doing", "todo"]
        # A trigger while one waits is that one: nothing more is queued.
        assert a.trigger("docs") == "queued"
        assert len(_jobs(postgres_url)) == 2
    finally:
        for scheduler in (a, b, later):
            scheduler.close()


@postgres
@pytest.mark.slow
def test_a_daemon_defers_and_a_worker_runs_the_source_into_intercom(
    tmp_path: Path,
    postgres_url: str,
    fake: FakeIntercom,
    workers: list[WorkerProcess],
) -> None:
    make_docs(tmp_path / "docs", 5)
    config = tmp_path / "syncer.yaml"
    sources = [("docs", tmp_path / "docs")]
    write_config(
        config,
        fake=fake,
        store=postgres_url,
        sources=sources,
        schedule="every 1h",
        run_on_start=True,
        daemon=ENGINE + f"  admin_token: {ADMIN}\n",
    )
    daemon = DaemonProcess(config, tmp_path / "daemon.log")  # --migrate: the engine's too
    try:
        wait_for("the daemon to defer docs", lambda: daemon.events("job_deferred"), 30)
        worker = WorkerProcess(config, tmp_path / "worker.log")
        workers.append(worker)
        wait_for("the pages in Intercom", lambda: len(fake.pages()) == 5, 30)
        wait_for("the run recorded", lambda: worker.events("job_finished"), 10)
        (run,) = runs_of(postgres_url, "docs")
        assert (run.status, run.counts.created) == ("succeeded", 5)
        assert not daemon.events("run_finished")  # the daemon ran nothing itself
        assert worker.events("job_finished")[0]["status"] == "succeeded"
        # The worker's own endpoint: alive, ready, and its job and run in its metrics.
        (served,) = worker.events("worker_endpoint")
        own = f"http://127.0.0.1:{served['port']}"
        assert httpx.get(f"{own}/healthz").json()["status"] == "alive"
        assert httpx.get(f"{own}/readyz").status_code == 200

        def counted() -> str | None:
            text = httpx.get(f"{own}/metrics").text
            done = 'syncer_jobs_total{outcome="done",task="syncer.sync_source"} 1.0'
            return text if done in text else None

        metrics = wait_for("the job counted", counted, 10)
        assert 'syncer_runs_total{source="docs",status="succeeded"} 1.0' in metrics
        assert 'syncer_documents_total{action="created",source="docs"} 5.0' in metrics
        assert 'syncer_jobs_running{task="syncer.sync_source"} 0.0' in metrics

        # `syncer trigger --wait`: the daemon defers, the worker's run serves it.
        (tmp_path / "docs" / "doc-000.md").write_text("# doc 0\n\nEdited.\n")
        url = f"http://127.0.0.1:{daemon.port}"
        waited = subprocess.run(
            [sys.executable, "-m", "syncer", "trigger", "docs", "--wait", "--url", url],
            cwd=REPO,
            env={**os.environ, "SYNCER_ADMIN_TOKEN": ADMIN},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert waited.returncode == 0, waited.stderr
        assert [r.counts.updated for r in runs_of(postgres_url, "docs")] == [0, 1]
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.proc.wait(15) == 0
        assert worker.events("worker_stopped")
        daemon.send(signal.SIGTERM)
        assert daemon.wait(15) == 0
    finally:
        daemon.close()
    assert _jobs(postgres_url) == []  # a succeeded job leaves the queue


@postgres
@pytest.mark.slow
def test_two_workers_never_run_one_source_at_once(
    tmp_path: Path, postgres_url: str, fake: FakeIntercom, workers: list[WorkerProcess]
) -> None:
    migrate.upgrade(postgres_url)
    make_docs(tmp_path / "docs", 30)
    config = tmp_path / "syncer.yaml"
    write_config(
        config,
        fake=fake,
        store=postgres_url,
        sources=[("docs", tmp_path / "docs")],
        schedule="every 1h",
        daemon=ENGINE,
        intercom="  concurrency: 1",
    )
    fake.faults.slow_down(0.05, method="POST", path_prefix="/ai/external_pages")
    workers += [WorkerProcess(config, tmp_path / f"worker-{i}.log") for i in range(2)]
    for worker in workers:
        wait_for("a worker up", worker.started, 30)
    sources = {"docs": _source("docs", "every 1h")}
    scheduler = _deferrer(postgres_url, "test", sources, datetime.now(UTC))
    scheduler.start()
    try:
        assert scheduler.trigger("docs") == "started"
        wait_for("the first run under way", lambda: len(fake.pages()) >= 5, 20, every=0.02)
        make_docs(tmp_path / "docs", 40)  # ten more for the second run
        assert scheduler.trigger("docs") == "started"  # deferred behind the running one
        assert scheduler.trigger("docs") == "queued"  # that one waits already
        wait_for(
            "two runs finished",
            lambda: sum(len(w.events("job_finished")) for w in workers) == 2,
            30,
        )
    finally:
        scheduler.close()
    runs = runs_of(postgres_url, "docs")
    assert [r.status for r in runs] == ["succeeded", "succeeded"]
    for before, after in itertools.pairwise(runs):
        assert before.finished_at is not None
        assert after.started_at >= before.finished_at, (before, after)
    # The job lock kept the second job waiting: no worker ran it into the source lock.
    assert not any(w.events("run_skipped") for w in workers)
    assert len(fake.pages()) == 40 == len({p["external_id"] for p in fake.pages()})


@postgres
@pytest.mark.slow
def test_a_worker_killed_mid_run_has_its_job_retried_by_another(
    tmp_path: Path, postgres_url: str, fake: FakeIntercom, workers: list[WorkerProcess]
) -> None:
    migrate.upgrade(postgres_url)
    make_docs(tmp_path / "docs", 80)
    config = tmp_path / "syncer.yaml"
    write_config(
        config,
        fake=fake,
        store=postgres_url,
        sources=[("docs", tmp_path / "docs")],
        schedule="every 1h",
        daemon=ENGINE,
        intercom="  concurrency: 2",
    )
    fake.faults.slow_down(0.1, method="POST", path_prefix="/ai/external_pages")
    workers += [WorkerProcess(config, tmp_path / f"worker-{i}.log") for i in range(2)]
    for worker in workers:
        wait_for("a worker up", worker.started, 30)
    scheduler = _deferrer(
        postgres_url, "test", {"docs": _source("docs", "every 1h")}, datetime.now(UTC)
    )
    scheduler.start()
    try:
        assert scheduler.trigger("docs") == "started"
    finally:
        scheduler.close()
    wait_for("the run under way", lambda: len(fake.pages()) >= 10, 20, every=0.02)
    (victim,) = [w for w in workers if w.events("job_started")]
    (survivor,) = [w for w in workers if w is not victim]
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(10)
    fake.faults.clear()

    # Silent for STALLED_S, its job goes to the survivor, which finishes the source.
    wait_for("the survivor to retry it", lambda: survivor.events("stalled_job_retried"), 15)
    wait_for("the survivor's run", lambda: survivor.events("job_finished"), 20)
    assert survivor.events("job_finished")[0]["status"] == "succeeded"
    first, second = runs_of(postgres_url, "docs")
    assert first.status == "interrupted"
    assert "stopped without finishing" in first.errors[0]
    assert second.status == "succeeded"
    # Each document once: what the dead worker sent but never recorded was adopted.
    pages = fake.pages()
    assert sorted(p["external_id"] for p in pages) == [f"doc-{i:03}.md" for i in range(80)]
    assert _jobs(postgres_url) == []


@postgres
@pytest.mark.slow
def test_a_worker_stopped_mid_run_hands_its_job_to_another(
    tmp_path: Path, postgres_url: str, fake: FakeIntercom, workers: list[WorkerProcess]
) -> None:
    migrate.upgrade(postgres_url)
    make_docs(tmp_path / "docs", 60)
    config = tmp_path / "syncer.yaml"
    write_config(
        config,
        fake=fake,
        store=postgres_url,
        sources=[("docs", tmp_path / "docs")],
        schedule="every 1h",
        daemon=ENGINE + "  shutdown_grace_seconds: 10\n",
        intercom="  concurrency: 1",
    )
    fake.faults.slow_down(0.1, method="POST", path_prefix="/ai/external_pages")
    first = WorkerProcess(config, tmp_path / "first.log")
    workers.append(first)
    wait_for("a worker up", first.started, 30)
    scheduler = _deferrer(
        postgres_url, "test", {"docs": _source("docs", "every 1h")}, datetime.now(UTC)
    )
    scheduler.start()
    try:
        assert scheduler.trigger("docs") == "started"
    finally:
        scheduler.close()
    wait_for("the run under way", lambda: len(fake.pages()) >= 6, 20, every=0.02)
    first.proc.send_signal(signal.SIGTERM)
    assert first.proc.wait(10) == 0  # the documents in flight take 0.1 s
    assert first.events("worker_stopped")
    (run,) = runs_of(postgres_url, "docs")
    assert run.status == "interrupted"
    assert [j["status"] for j in _jobs(postgres_url)] == ["todo"]  # handed back

    fake.faults.clear()
    second = WorkerProcess(config, tmp_path / "second.log")
    workers.append(second)
    wait_for("the second worker's run", lambda: second.events("job_finished"), 30)
    assert second.events("job_finished")[0]["status"] == "succeeded"
    assert len(fake.pages()) == 60 == len({p["external_id"] for p in fake.pages()})
    assert _jobs(postgres_url) == []
