"""``syncer daemon`` as a subprocess against the fake Intercom, on fast schedules.

Runs happen on schedule and sources are independent; the four endpoints answer; SIGTERM
mid-run exits 0 well within the grace period and the next start converges to exactly
one page per document; SIGHUP with a broken config keeps the old schedules and a valid
one replaces them; a store whose schema is behind stops the start with a clear message.

``DaemonProcess`` is the harness, also used by ``test_daemon_replicas.py``.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncer.store import RunSummary, Store, migrate
from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom

REPO = Path(__file__).resolve().parents[1]
STARTUP_S = 30.0


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; fail the test with ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def write_config(
    path: Path,
    *,
    fake: FakeIntercom,
    store: str,
    sources: Sequence[tuple[str, Path]],
    schedule: str = "every 1s",
    run_on_start: bool = False,
    daemon: str = "",
    intercom: str = "",
) -> None:
    """A daemon config with one filesystem source per (name, folder)."""
    lines = [
        "intercom:",
        "  token: ${TEST_INTERCOM_TOKEN}",
        f"  base_url: {fake.url}",
        intercom,
        "store:",
        f"  url: {store}",
        "defaults:",
        f"  schedule: {schedule}",
        f"  run_on_start: {str(run_on_start).lower()}",
        "daemon:",
        "  host: 127.0.0.1",
        "  port: 0",
        daemon,
        "sources:",
    ]
    for name, folder in sources:
        lines += [
            f"  - name: {name}",
            "    type: filesystem",
            f"    path: {folder}",
            f"    url: https://docs.example.com/{name}/",
        ]
    path.write_text("\n".join(line for line in lines if line) + "\n")


def make_docs(folder: Path, count: int, prefix: str = "doc") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"{prefix}-{i:03}.md").write_text(f"# {prefix} {i}\n\nBody {i}.\n")


class DaemonProcess:
    """A ``syncer daemon`` subprocess: its JSON log, its endpoint, signals."""

    def __init__(self, config: Path, log: Path, *, migrate: bool = True) -> None:
        self.log_path = log
        self._log = log.open("w")
        args = [sys.executable, "-m", "syncer", "--log-format", "json", "daemon", "-c", str(config)]
        env = {**os.environ, "TEST_INTERCOM_TOKEN": TOKEN}
        self.proc = subprocess.Popen(
            [*args, *(["--migrate"] if migrate else [])],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        self._port: int | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        found = []
        for line in self.log_path.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and (name is None or event.get("event") == name):
                found.append(event)
        return found

    @property
    def port(self) -> int:
        if self._port is None:

            def listening() -> int | None:
                if self.proc.poll() is not None:
                    pytest.fail(f"daemon exited early:\n{self.log_path.read_text()}")
                events = self.events("http_listening")
                return int(events[0]["port"]) if events else None

            self._port = wait_for("the daemon's endpoint", listening, STARTUP_S)
        return self._port

    def get(self, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def status(self) -> dict[str, Any]:
        code, body = self.get("/status")
        assert code == 200, body
        result: dict[str, Any] = json.loads(body)
        return result

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample on /metrics: (name, sorted labels) -> value."""
        code, body = self.get("/metrics")
        assert code == 200, body
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples
        }

    def send(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"daemon still running after {timeout}s:\n{self.log_path.read_text()}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    """Daemons a test starts; any still running at the end are killed."""
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        daemon.close()


def runs_of(store_url: str, source: str, limit: int = 500) -> list[RunSummary]:
    """The source's runs, oldest first (an empty list before the daemon created the store)."""
    if migrate.current(store_url) != migrate.head():
        return []
    with Store.open_read_only(store_url) as store:
        return list(reversed(store.runs.of(source, limit=limit)))


def page_ids_by_source(fake: FakeIntercom) -> dict[int, list[str]]:
    pages: dict[int, list[str]] = {}
    for page in fake.pages():
        pages.setdefault(int(page["source_id"]), []).append(str(page["external_id"]))
    return pages


def sample(
    metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


# ---- the tests ----------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeIntercom]:
    # A 1 s rate-limit window: a 429 costs the client a second, not ten.
    with FakeIntercom(TOKEN, window=1.0) as server:
        yield server


def test_runs_on_schedule_and_endpoints_answer(
    tmp_path: Path, fake: FakeIntercom, daemons: list[DaemonProcess]
) -> None:
    make_docs(tmp_path / "alpha", 3)
    make_docs(tmp_path / "beta", 2)
    make_docs(tmp_path / "gamma", 1, prefix="rejected")
    fake.faults.reject_external_id("rejected-000.md", status=422)  # gamma fails every run
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    config = tmp_path / "syncer.yaml"
    sources = [(name, tmp_path / name) for name in ("alpha", "beta", "gamma")]
    write_config(config, fake=fake, store=store_url, sources=sources, run_on_start=True)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemons.append(daemon)
    assert daemon.port
    started = time.monotonic()

    # Every source is synced about every second; gamma's failures never stop the others.
    # Counted once finished: the newest run may still be under way, "running".
    def finished_runs_of_beta() -> list[RunSummary]:
        return [r for r in runs_of(store_url, "beta") if r.finished_at is not None]

    wait_for("four runs of beta", lambda: len(finished_runs_of_beta()) >= 4, 20)
    elapsed = time.monotonic() - started
    beta = finished_runs_of_beta()
    assert all(r.status == "succeeded" for r in beta), [(r.status, r.errors) for r in beta]
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in itertools.pairwise(beta)]
    assert all(0.5 < gap < 4.0 for gap in gaps), gaps
    assert len(beta) <= elapsed + 2
    assert {r.status for r in runs_of(store_url, "gamma") if r.finished_at} == {"failed"}

    fake.faults.rate_limit_storm(2, method="GET")  # a run waits for the window's reset
    assert daemon.get("/healthz")[0] == 200
    code, body = daemon.get("/readyz")
    assert (code, json.loads(body)["ready"]) == (200, True)

    # Stale after 3 intervals of 1 s: gamma, which never succeeds, turns stale.
    wait_for("gamma to turn stale", lambda: daemon.status()["sources"][2]["stale"], 10)
    rows = {row["name"]: row for row in daemon.status()["sources"]}
    assert list(rows) == ["alpha", "beta", "gamma"]
    # A run may be under way as /status answers: "running" is a last run too.
    assert rows["beta"]["last_run"]["status"] in {"succeeded", "running"}
    assert rows["beta"]["stale"] is False
    assert rows["beta"]["schedule"] == "every 1s"
    assert rows["beta"]["next_run"] > rows["beta"]["last_run"]["started_at"]
    assert rows["gamma"]["last_run"]["status"] in {"failed", "running"}
    failed = [r for r in runs_of(store_url, "gamma") if r.status == "failed"]
    assert "rejected-000.md" in failed[-1].errors[0]
    assert rows["gamma"]["last_success_at"] is None
    assert rows["gamma"]["stale"] is True
    assert "gamma" in {e["source"] for e in daemon.events("source_stale")}
    assert daemon.events("sqlite_single_replica")

    def rate_limited() -> bool:
        return sample(daemon.metrics(), "syncer_intercom_rate_limited_total") == 2

    wait_for("the two 429s to be counted", rate_limited, 10)
    metrics = daemon.metrics()
    assert sample(metrics, "syncer_runs_total", source="beta", status="succeeded") >= 4
    assert sample(metrics, "syncer_runs_total", source="gamma", status="failed") >= 2
    assert sample(metrics, "syncer_documents_total", source="alpha", action="created") == 3
    assert sample(metrics, "syncer_documents_total", source="beta", action="created") == 2
    assert sample(metrics, "syncer_documents_total", source="gamma", action="failed") >= 2
    assert sample(metrics, "syncer_source_stale", source="gamma") == 1
    assert sample(metrics, "syncer_source_stale", source="beta") == 0
    assert 5 < sample(metrics, "syncer_intercom_requests_total") <= len(fake.calls)
    assert sample(metrics, "syncer_run_duration_seconds_count", source="beta") >= 4
    last_success = sample(metrics, "syncer_last_success_timestamp_seconds", source="beta")
    assert time.time() - 10 < last_success <= time.time()
    assert sample(metrics, "syncer_next_run_timestamp_seconds", source="beta") > last_success
    assert sample(metrics, "syncer_ready") == 1

    # Each document reached Intercom once; the unchanged runs since sent nothing.
    assert sorted(len(ids) for ids in page_ids_by_source(fake).values()) == [2, 3]
    upserts = [c for c in fake.calls if c.method == "POST" and c.path == "/ai/external_pages"]
    assert len([c for c in upserts if c.status == 200]) == 5

    daemon.send(signal.SIGTERM)
    assert daemon.wait(10) == 0
    assert daemon.events("daemon_stopped")[0]["clean"] is True


def test_sigterm_mid_run_exits_in_the_grace_period_and_the_next_start_converges(
    tmp_path: Path, fake: FakeIntercom, daemons: list[DaemonProcess]
) -> None:
    make_docs(tmp_path / "docs", 80)
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    config = tmp_path / "syncer.yaml"
    write_config(
        config,
        fake=fake,
        store=store_url,
        sources=[("docs", tmp_path / "docs")],
        schedule="every 1h",
        run_on_start=True,
        daemon="  shutdown_grace_seconds: 10",
        intercom="  concurrency: 2",
    )
    fake.faults.slow_down(0.1, method="POST", path_prefix="/ai/external_pages")
    first = DaemonProcess(config, tmp_path / "first.log")
    daemons.append(first)
    wait_for("a run under way", lambda: len(fake.pages()) >= 6, 20, every=0.02)
    _, body = first.get("/status")
    assert json.loads(body)["sources"][0]["running"] is True
    signalled = time.monotonic()
    first.send(signal.SIGTERM)
    assert first.wait(10) == 0
    took = time.monotonic() - signalled
    assert took < 5, f"stopping took {took:.1f}s: in-flight documents take 0.1s, grace is 10s"
    assert first.events("daemon_stopped")[0]["clean"] is True
    (run,) = runs_of(store_url, "docs")
    assert run.status == "interrupted"
    sent = len(fake.pages())
    assert 6 <= run.counts.created == sent < 80
    with Store.open_read_only(store_url) as store:
        assert len([r for r in store.records("docs").values() if r.page_id]) == sent
        assert store.lock_holder("docs") is None  # released on the way out

    fake.faults.clear()
    second = DaemonProcess(config, tmp_path / "second.log")
    daemons.append(second)
    wait_for(
        "the next start's run",
        lambda: len(runs_of(store_url, "docs")) == 2 and runs_of(store_url, "docs")[-1].finished_at,
        20,
    )
    last = runs_of(store_url, "docs")[-1]
    assert last.status == "succeeded"
    assert last.counts.created == 80 - sent
    external_ids = [p["external_id"] for p in fake.pages()]
    assert sorted(external_ids) == sorted(f"doc-{i:03}.md" for i in range(80))
    upserts = [c for c in fake.calls if c.method == "POST" and c.path == "/ai/external_pages"]
    assert len(upserts) == 80  # no document was sent twice
    second.send(signal.SIGINT)
    assert second.wait(10) == 0


def test_a_run_that_outlasts_the_grace_period_is_recorded_and_the_exit_is_still_0(
    tmp_path: Path, fake: FakeIntercom, daemons: list[DaemonProcess]
) -> None:
    make_docs(tmp_path / "docs", 5)
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    config = tmp_path / "syncer.yaml"
    write_config(
        config,
        fake=fake,
        store=store_url,
        sources=[("docs", tmp_path / "docs")],
        run_on_start=True,
        daemon="  shutdown_grace_seconds: 0.5",
        intercom="  concurrency: 1",
    )
    fake.faults.slow_down(3.0, method="POST", path_prefix="/ai/external_pages")
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemons.append(daemon)
    # Under way at the fake, not only running: a run stopped before its first write
    # would stop within the grace.
    wait_for(
        "a page write under way",
        lambda: ("POST", "/ai/external_pages") in fake.arrived,
        20,
    )
    time.sleep(0.3)
    signalled = time.monotonic()
    daemon.send(signal.SIGTERM)
    assert daemon.wait(10) == 0
    assert time.monotonic() - signalled < 2.5  # the grace, not the 3 s page write
    assert daemon.events("shutdown_grace_expired")[0]["sources"] == ["docs"]
    assert daemon.events("daemon_stopped")[0]["clean"] is False
    (run,) = runs_of(store_url, "docs")
    assert run.status == "interrupted"
    assert "grace period" in run.errors[0]
    with Store.open_read_only(store_url) as store:
        assert store.lock_holder("docs") is None  # it went with the process


def test_sighup_keeps_the_schedules_on_a_broken_config_and_replaces_them_on_a_valid_one(
    tmp_path: Path, fake: FakeIntercom, daemons: list[DaemonProcess]
) -> None:
    make_docs(tmp_path / "alpha", 2)
    make_docs(tmp_path / "beta", 2)
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    config = tmp_path / "syncer.yaml"
    write_config(config, fake=fake, store=store_url, sources=[("alpha", tmp_path / "alpha")])
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemons.append(daemon)
    wait_for("two runs of alpha", lambda: len(runs_of(store_url, "alpha")) >= 2, 20)

    good = config.read_text()
    config.write_text(good.replace("sources:", "sources: [unclosed\n"))
    daemon.send(signal.SIGHUP)
    (failure,) = wait_for("the reload to fail", lambda: daemon.events("config_reload_failed"), 10)
    assert failure["kept"] == ["alpha"]
    assert failure["problems"]
    before = len(runs_of(store_url, "alpha"))
    wait_for("alpha to keep running", lambda: len(runs_of(store_url, "alpha")) >= before + 2, 10)
    assert [row["name"] for row in daemon.status()["sources"]] == ["alpha"]

    # A valid config: alpha moves to an hourly schedule, beta is new.
    write_config(
        config,
        fake=fake,
        store=store_url,
        sources=[("alpha", tmp_path / "alpha"), ("beta", tmp_path / "beta")],
    )
    config.write_text(
        config.read_text().replace(
            "    path: " + str(tmp_path / "alpha"),
            "    path: " + str(tmp_path / "alpha") + "\n    schedule: every 1h",
        )
    )
    daemon.send(signal.SIGHUP)
    wait_for("the reload", lambda: daemon.events("config_reloaded"), 10)
    wait_for("beta to run", lambda: len(runs_of(store_url, "beta")) >= 2, 10)
    rows = {row["name"]: row for row in daemon.status()["sources"]}
    assert rows["alpha"]["schedule"] == "every 1h"
    assert rows["alpha"]["next_run"] > rows["beta"]["next_run"]
    alpha_runs = len(runs_of(store_url, "alpha"))
    time.sleep(1.5)
    assert len(runs_of(store_url, "alpha")) == alpha_runs
    metrics = daemon.metrics()
    assert sample(metrics, "syncer_config_reloads_total", result="failed") == 1
    assert sample(metrics, "syncer_config_reloads_total", result="ok") == 1
    daemon.send(signal.SIGTERM)
    assert daemon.wait(10) == 0


@pytest.mark.postgres
def test_a_store_behind_the_schema_stops_the_start(
    tmp_path: Path, fake: FakeIntercom, postgres_url: str
) -> None:
    # A shared Postgres store is migrated on purpose only (a SQLite file is the daemon's
    # own and is migrated on start: test_a_sqlite_store_is_created_or_upgraded_on_start).
    make_docs(tmp_path / "docs", 1)
    store_url = postgres_url
    migrate.upgrade(store_url, "0001")
    config = tmp_path / "syncer.yaml"
    write_config(config, fake=fake, store=store_url, sources=[("docs", tmp_path / "docs")])
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "daemon", "-c", str(config)],
        cwd=REPO,
        env={**os.environ, "TEST_INTERCOM_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "behind" in done.stderr
    assert "syncer db upgrade" in done.stderr
    assert "--migrate" in done.stderr
    assert "Traceback" not in done.stderr
    assert migrate.current(store_url) == "0001"  # and nothing was changed


@pytest.mark.parametrize("start", ["missing", "behind"])
def test_a_sqlite_store_is_created_or_upgraded_on_start(
    start: str, tmp_path: Path, fake: FakeIntercom, daemons: list[DaemonProcess]
) -> None:
    make_docs(tmp_path / "docs", 2)
    store_url = f"sqlite:///{tmp_path / 'state' / 'store.db'}"
    if start == "behind":
        (tmp_path / "state").mkdir()
        migrate.upgrade(store_url, "0001")
    config = tmp_path / "syncer.yaml"
    write_config(
        config, fake=fake, store=store_url, sources=[("docs", tmp_path / "docs")], run_on_start=True
    )
    daemon = DaemonProcess(config, tmp_path / "daemon.log", migrate=False)
    daemons.append(daemon)
    assert daemon.get("/readyz")[0] == 200
    assert migrate.current(store_url) == migrate.head()
    wait_for(
        "the first run",
        lambda: any(r.status == "succeeded" for r in runs_of(store_url, "docs")),
        20,
    )
    daemon.send(signal.SIGTERM)
    assert daemon.wait(15) == 0
