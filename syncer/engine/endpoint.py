"""A worker's HTTP endpoint: ``/healthz``, ``/readyz`` and ``/metrics``, as a daemon's.

A worker serves no status page (the daemon's shows every worker's jobs), but an
orchestrator must tell a live worker from a wedged one and Prometheus must see what it
does. The endpoint runs on a thread of its own (``syncer.daemon.http``), so it answers
while every job thread is busy; what it answers is therefore about the worker's event
loop, where procrastinate fetches jobs and beats the heartbeat:

* ``/healthz``: 200 while the loop has ticked within ``WEDGED_S`` (``Pulse``), 503
  after: the process lives but fetches nothing, and a restart hands its jobs on.
* ``/readyz``: 200 once the worker runs jobs, while the store answers and the worker is
  not stopping; 503 otherwise, with the reason.
* ``/metrics``: the daemon's run metrics (``syncer_runs``, ``syncer_documents``,
  ``syncer_run_duration_seconds``, ``syncer_freshness_seconds``, ``syncer_alerts``,
  the Intercom request counts), counted by whichever worker recorded the run, so
  Prometheus sums workers and daemons alike; and the jobs themselves
  (``syncer_jobs`` by task and outcome, ``syncer_jobs_running``,
  ``syncer_job_duration_seconds``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

from syncer.daemon.http import Endpoint, Reply, Request, json_reply
from syncer.daemon.metrics import CONTENT_TYPE, DURATION_BUCKETS, Metrics
from syncer.errors import StoreError
from syncer.intercom.transport import Stats

# A loop silent this long is wedged (procrastinate's own waits are a few seconds).
WEDGED_S = 30.0


class Pulse:
    """When the worker's event loop last ticked (``beat`` from a task on it)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._last = monotonic()

    def beat(self) -> None:
        self._last = self._monotonic()

    def silent_for(self) -> float:
        return self._monotonic() - self._last


class WorkerMetrics(Metrics):
    """The daemon's metrics, and the jobs of this worker."""

    def __init__(self, intercom_totals: Callable[[], Stats]) -> None:
        super().__init__(intercom_totals)
        r = self.registry
        self.jobs = Counter(
            "syncer_jobs",
            "Jobs by task and how they ended (syncer.engine.jobs.outcome_of): done, "
            "handed_back (the worker stopping), busy (a one-shot run held the source), "
            "store_error, failed",
            ["task", "outcome"],
            registry=r,
        )
        self.jobs_running = Gauge(
            "syncer_jobs_running", "Jobs this worker runs now, by task", ["task"], registry=r
        )
        self.job_duration = Histogram(
            "syncer_job_duration_seconds",
            "How long jobs took, by task",
            ["task"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )

    @contextmanager
    def job(self, task: str, outcome: Callable[[BaseException | None], str]) -> Iterator[None]:
        """Count one job of ``task``; ``outcome`` names how it ended from what it raised."""
        started = time.monotonic()
        running = self.jobs_running.labels(task)
        running.inc()
        raised: BaseException | None = None
        try:
            yield
        except BaseException as exc:
            raised = exc
            raise
        finally:
            running.dec()
            self.job_duration.labels(task).observe(time.monotonic() - started)
            self.jobs.labels(task, outcome(raised)).inc()


class WorkerEndpoint:
    """The routes of one worker, served on ``host:port`` until ``close``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        holder: str,
        metrics: WorkerMetrics,
        pulse: Pulse,
        ping: Callable[[], None],
        stopping: threading.Event,
    ) -> None:
        self.metrics = metrics
        self.running = threading.Event()  # set once the worker fetches jobs
        self.pulse = pulse
        self._holder = holder
        self._ping = ping
        self._stopping = stopping
        self._endpoint = Endpoint(
            host,
            port,
            [
                ("GET", "/healthz", self.healthz),
                ("GET", "/readyz", self.readyz),
                ("GET", "/metrics", self.metrics_page),
            ],
        )

    @property
    def port(self) -> int:
        return self._endpoint.port

    def start(self) -> None:
        self._endpoint.start()

    def close(self) -> None:
        self._endpoint.close()

    def healthz(self, _request: Request) -> Reply:
        silent = self.pulse.silent_for()
        if silent > WEDGED_S:
            reason = f"the worker's event loop has not run for {silent:.0f} s"
            return json_reply(503, {"status": "wedged", "worker": self._holder, "reason": reason})
        return json_reply(200, {"status": "alive", "worker": self._holder})

    def readyz(self, _request: Request) -> Reply:
        reason = None
        if self._stopping.is_set():
            reason = "shutting down: handing its jobs to other workers"
        elif not self.running.is_set():
            reason = "starting"
        else:
            try:
                self._ping()
            except StoreError as exc:
                reason = str(exc)
        self.metrics.ready.set(reason is None)
        if reason is not None:
            return json_reply(503, {"ready": False, "worker": self._holder, "reason": reason})
        return json_reply(200, {"ready": True, "worker": self._holder})

    def metrics_page(self, _request: Request) -> Reply:
        return Reply(200, CONTENT_TYPE, self.metrics.exposition())
