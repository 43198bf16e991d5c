"""The daemon's housekeeping: last-success, staleness and next-run gauges, stale warnings.

Run by the scheduler every few seconds (half the shortest period, at most 30 s): reads
each source's last success from the store, sets the gauges, and logs ``source_stale``
once when a source turns stale and ``source_fresh`` when it recovers, and hands every
source's verdict to ``on_checked`` (alerts keep their own state, in the store).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from syncer.config.settings import Settings
from syncer.daemon.metrics import Metrics
from syncer.errors import StoreError
from syncer.status import is_stale, stale_after
from syncer.store import Store


class Housekeeping:
    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        *,
        settings: Callable[[], Settings],
        next_runs: Callable[[], dict[str, datetime | None]],
        clock: Callable[[], datetime],
        since: datetime,
        log: structlog.typing.FilteringBoundLogger,
        on_checked: Callable[[str, bool, datetime | None], None] = lambda _n, _s, _at: None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self._settings = settings
        self._next_runs = next_runs
        self._clock = clock
        self._since = since
        self._log = log
        self._on_checked = on_checked
        self._stale: set[str] = set()

    def __call__(self) -> None:
        """Refresh the gauges; warn of newly stale sources."""
        settings = self._settings()
        try:
            successes = self.store.runs.last_successes()
        except StoreError as exc:
            self._log.warning("store_unreachable", error=str(exc))
            return
        now = self._clock()
        for source in settings.sources:
            name = source.name
            success = successes.get(name)
            if success is not None:
                self.metrics.last_success.labels(name).set(success.timestamp())
            limit = stale_after(source, settings)
            stale = is_stale(success, since=self._since, now=now, limit=limit)
            self.metrics.stale.labels(name).set(1 if stale else 0)
            if stale and name not in self._stale:
                self._stale.add(name)
                self._log.warning(
                    "source_stale",
                    source=name,
                    last_success_at=success.isoformat() if success else None,
                    stale_after_s=limit.total_seconds(),
                )
            elif not stale and name in self._stale:
                self._stale.discard(name)
                self._log.info("source_fresh", source=name)
            self._on_checked(name, stale, success)
        self.next_run_gauges()

    def next_run_gauges(self) -> None:
        for name, at in self._next_runs().items():
            if at is not None:
                self.metrics.next_run.labels(name).set(at.timestamp())
