"""The daemon's HTTP routes: ``/healthz``, ``/readyz``, ``/metrics``, ``/status``.

``/status`` is read from the store (``syncer.status``), so every replica shows the same;
``/readyz`` answers 503 while shutting down or when the store does not answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from syncer.config.settings import Settings
from syncer.daemon.http import Reply, Route, json_reply
from syncer.daemon.metrics import CONTENT_TYPE, Metrics
from syncer.errors import StoreError
from syncer.status import source_rows
from syncer.store import Store
from syncer.store import engine as engines


class Routes:
    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        *,
        settings: Callable[[], Settings],
        config_path: Path,
        holder: str,
        started_at: datetime,
        clock: Callable[[], datetime],
        stopping: Callable[[], bool],
        running: Callable[[], frozenset[str]],
        next_runs: Callable[[], dict[str, datetime | None]],
        refresh_gauges: Callable[[], None],
    ) -> None:
        self.store = store
        self.metrics = metrics
        self._settings = settings
        self._config_path = config_path
        self._holder = holder
        self._started_at = started_at
        self._clock = clock
        self._stopping = stopping
        self._running = running
        self._next_runs = next_runs
        self._refresh_gauges = refresh_gauges

    def table(self) -> dict[str, Route]:
        return {
            "/healthz": self.healthz,
            "/readyz": self.readyz,
            "/metrics": self.metrics_page,
            "/status": self.status,
        }

    def healthz(self) -> Reply:
        return json_reply(200, {"status": "alive", "replica": self._holder})

    def readyz(self) -> Reply:
        if self._stopping():
            return json_reply(503, {"ready": False, "reason": "shutting down"})
        try:
            self.store.ping()
        except StoreError as exc:
            self.metrics.ready.set(0)
            return json_reply(503, {"ready": False, "reason": str(exc)})
        self.metrics.ready.set(1)
        sources = len(self._settings().sources)
        return json_reply(
            200, {"ready": True, "config": str(self._config_path), "sources": sources}
        )

    def metrics_page(self) -> Reply:
        self._refresh_gauges()
        return 200, CONTENT_TYPE, self.metrics.exposition()

    def status(self) -> Reply:
        settings = self._settings()
        try:
            rows = source_rows(
                settings,
                self.store,
                now=self._clock(),
                since=self._started_at,
                next_runs=self._next_runs(),
                running_here=self._running(),
            )
        except StoreError as exc:
            return json_reply(503, {"error": str(exc)})
        return json_reply(
            200,
            {
                "replica": self._holder,
                "started_at": self._started_at.isoformat(),
                "config": str(self._config_path),
                "store": engines.safe_url(settings.store.url),
                "stopping": self._stopping(),
                "sources": rows,
            },
        )
