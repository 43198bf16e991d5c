"""A worker's endpoint (``syncer.engine.endpoint``) over real HTTP on 127.0.0.1.

``/healthz`` turns 503 once the worker's event loop has been silent past ``WEDGED_S``,
``/readyz`` says why it is not ready (starting, stopping, the store), ``/metrics``
counts each job by task and by how it ended, from what it raised; and a worker whose
port is taken exits with a message that names the port and what to do.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from syncer.engine.endpoint import WEDGED_S, Pulse, WorkerEndpoint, WorkerMetrics
from syncer.engine.jobs import HandedBackError, SourceBusyError, outcome_of
from syncer.errors import StoreError
from syncer.intercom.transport import Stats
from syncer.store import migrate
from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom
from tests.test_daemon import REPO, write_config


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Store:
    """What ``readyz`` asks: a ping that fails while ``down`` is set."""

    def __init__(self) -> None:
        self.down: str | None = None

    def ping(self) -> None:
        if self.down:
            raise StoreError(self.down)


@pytest.fixture
def parts() -> Iterator[tuple[WorkerEndpoint, Clock, Store, threading.Event, str]]:
    clock, store, stopping = Clock(), Store(), threading.Event()
    endpoint = WorkerEndpoint(
        "127.0.0.1",
        0,
        holder="worker test:1",
        metrics=WorkerMetrics(Stats),
        pulse=Pulse(clock),
        ping=store.ping,
        stopping=stopping,
    )
    endpoint.start()
    try:
        yield endpoint, clock, store, stopping, f"http://127.0.0.1:{endpoint.port}"
    finally:
        endpoint.close()


def test_healthz_is_503_once_the_event_loop_is_silent_too_long(
    parts: tuple[WorkerEndpoint, Clock, Store, threading.Event, str],
) -> None:
    endpoint, clock, _, _, url = parts
    assert httpx.get(f"{url}/healthz").json() == {"status": "alive", "worker": "worker test:1"}
    clock.now += WEDGED_S + 1
    wedged = httpx.get(f"{url}/healthz")
    assert wedged.status_code == 503
    assert "has not run for 31 s" in wedged.json()["reason"]
    endpoint.pulse.beat()
    assert httpx.get(f"{url}/healthz").status_code == 200


def test_readyz_says_why_a_worker_is_not_ready(
    parts: tuple[WorkerEndpoint, Clock, Store, threading.Event, str],
) -> None:
    endpoint, _, store, stopping, url = parts

    def reason() -> str | None:
        reply = httpx.get(f"{url}/readyz")
        assert (reply.status_code == 200) is reply.json()["ready"]
        return reply.json().get("reason")

    assert reason() == "starting"
    endpoint.running.set()
    assert reason() is None
    store.down = "store postgresql://db/syncer: connection refused"
    assert reason() == store.down
    assert "syncer_ready 0.0" in httpx.get(f"{url}/metrics").text
    store.down = None
    assert reason() is None
    assert "syncer_ready 1.0" in httpx.get(f"{url}/metrics").text
    stopping.set()
    assert reason() == "shutting down: handing its jobs to other workers"


def test_each_job_is_counted_by_how_it_ended(
    parts: tuple[WorkerEndpoint, Clock, Store, threading.Event, str],
) -> None:
    endpoint, _, _, _, url = parts
    metrics = endpoint.metrics
    endings: list[BaseException | None] = [
        None,
        None,
        HandedBackError("docs"),
        SourceBusyError("docs"),
        StoreError("gone"),
        RuntimeError("a bug"),
    ]
    for raised in endings:
        if raised is None:
            with metrics.job("sync_batch", outcome_of):
                pass
            continue
        with pytest.raises(type(raised)), metrics.job("sync_batch", outcome_of):
            raise raised
    text = httpx.get(f"{url}/metrics").text
    for outcome, n in [
        ("done", 2),
        ("handed_back", 1),
        ("busy", 1),
        ("store_error", 1),
        ("failed", 1),
    ]:
        assert f'syncer_jobs_total{{outcome="{outcome}",task="sync_batch"}} {n}.0' in text
    assert 'syncer_jobs_running{task="sync_batch"} 0.0' in text
    assert 'syncer_job_duration_seconds_count{task="sync_batch"} 6.0' in text


@pytest.mark.postgres
def test_a_worker_whose_port_is_taken_says_so(tmp_path: Path, postgres_url: str) -> None:
    with socket.socket() as taken, FakeIntercom(TOKEN) as fake:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "syncer.yaml"
        write_config(
            config,
            fake=fake,
            store=postgres_url,
            sources=[("docs", tmp_path)],
            daemon="  engine: procrastinate\n",
        )
        migrate.upgrade(postgres_url)
        done = subprocess.run(
            [sys.executable, "-m", "syncer", "worker", "-c", str(config), "--port", str(port)],
            cwd=REPO,
            env={**os.environ, "TEST_INTERCOM_TOKEN": TOKEN},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert f"cannot serve /healthz and /metrics on 127.0.0.1:{port}" in done.stderr
    assert "give it another port with --port" in done.stderr
    assert "Traceback" not in done.stderr
