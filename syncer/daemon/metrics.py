"""The daemon's Prometheus metrics, in a registry of its own (no global state).

Counters are this replica's (Prometheus sums replicas); last-success times and
staleness come from the store, so every replica reports the same for a source.
Intercom request and 429 counts are read from the clients' transport stats at scrape
time, including those of clients retired by a config reload.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from syncer.intercom.transport import Stats
from syncer.run import SourceReport

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
# Seconds from a change in a source to Intercom holding it: webhooks aim at under 10,
# schedules at their period (30 min by default).
FRESHNESS_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 86400.0)


class _IntercomCollector(Collector):
    def __init__(self, totals: Callable[[], Stats]) -> None:
        self._totals = totals

    def collect(self) -> Iterator[Metric]:
        stats = self._totals()
        yield CounterMetricFamily(
            "syncer_intercom_requests", "Requests sent to Intercom", value=stats.requests
        )
        yield CounterMetricFamily(
            "syncer_intercom_rate_limited",
            "Intercom replies that were 429 rate_limit_exceeded",
            value=stats.rate_limited,
        )
        yield CounterMetricFamily(
            "syncer_intercom_retries", "Intercom requests retried", value=stats.retries
        )


class Metrics:
    """Every metric the daemon exposes on ``/metrics``."""

    def __init__(self, intercom_totals: Callable[[], Stats]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter(
            "syncer_runs", "Source runs by how they ended", ["source", "status"], registry=r
        )
        self.documents = Counter(
            "syncer_documents",
            "Documents written by action: created, updated, deleted, failed",
            ["source", "action"],
            registry=r,
        )
        self.skipped = Counter(
            "syncer_runs_skipped",
            "Scheduled runs not started: locked (another replica or a one-shot sync holds "
            "the source), running, recent",
            ["source", "reason"],
            registry=r,
        )
        self.duration = Histogram(
            "syncer_run_duration_seconds",
            "How long source runs took",
            ["source"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.freshness = Histogram(
            "syncer_freshness_seconds",
            "From a change in the source (its commit or page version time, else its "
            "trigger's) to the run that put it in Intercom ending",
            ["source"],
            buckets=FRESHNESS_BUCKETS,
            registry=r,
        )
        self.triggers = Counter(
            "syncer_triggers",
            "Triggers by kind (webhook, cli, status page) and outcome: started, queued, "
            "ignored, refused",
            ["source", "kind", "outcome"],
            registry=r,
        )
        self.last_success = Gauge(
            "syncer_last_success_timestamp_seconds",
            "When the source's newest successful run finished (Unix time, from the store)",
            ["source"],
            registry=r,
        )
        self.stale = Gauge(
            "syncer_source_stale",
            "1 if the last success is older than daemon.stale_after_intervals schedules",
            ["source"],
            registry=r,
        )
        self.running = Gauge(
            "syncer_source_running", "1 while this replica syncs the source", ["source"], registry=r
        )
        self.next_run = Gauge(
            "syncer_next_run_timestamp_seconds",
            "When the source's next scheduled run is due on this replica (Unix time)",
            ["source"],
            registry=r,
        )
        self.reloads = Counter(
            "syncer_config_reloads", "SIGHUP reloads by result: ok, failed", ["result"], registry=r
        )
        self.source_locks_lost = Counter(
            "syncer_source_locks_lost",
            "Runs stopped because they lost their source lock (its connection was cut)",
            ["source"],
            registry=r,
        )
        self.alerts = Counter(
            "syncer_alerts",
            "Alert messages by webhook target, kind and result: sent, failed, dropped",
            ["target", "kind", "result"],
            registry=r,
        )
        self.ready = Gauge("syncer_ready", "1 when /readyz answers 200", registry=r)
        r.register(_IntercomCollector(intercom_totals))

    def observe(self, report: SourceReport) -> None:
        """Count one finished run."""
        name = report.source
        self.runs.labels(name, report.status).inc()
        self.duration.labels(name).observe(report.duration)
        counts = report.counts
        for action, n in (
            ("created", counts.created),
            ("updated", counts.updated),
            ("deleted", counts.deleted),
            ("failed", counts.failed),
        ):
            self.documents.labels(name, action).inc(n)
        if report.lock_lost:
            self.source_locks_lost.labels(name).inc()

    def forget_sources(self, names: Iterable[str]) -> None:
        """Drop per-source gauges of sources removed from the config."""
        for name in names:
            for gauge in (self.last_success, self.stale, self.running, self.next_run):
                with contextlib.suppress(KeyError):
                    gauge.remove(name)

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
