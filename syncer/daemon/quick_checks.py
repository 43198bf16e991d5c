"""Quick checks: between scheduled runs, ask a source cheaply whether it changed.

A source with ``quick_check:`` (Confluence: Cloud's webhooks need an installed app) gets
a job of its own at that period. Unless the source is running or has never succeeded,
the job asks its connector (``syncer.connector.QuickCheck``: one CQL search a space)
what changed since its last successful run began, less ``MARGIN`` for the two clocks;
anything found triggers the source through ``Daemon.trigger`` (kind ``quick check``), so
a run under way is followed by one more, as for a webhook. Deletions are not asked
about: the scheduled full run finds them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from syncer import registry
from syncer.config.settings import SourceSettings
from syncer.connector import Context, QuickCheck
from syncer.errors import StoreError, SyncerError
from syncer.store import Store

# Our clock against the source's: a page saved just before the last run began, on a
# clock a little ahead of ours, is still asked about.
MARGIN = timedelta(minutes=5)


def period(source: SourceSettings) -> timedelta | None:
    """How often ``source`` is quick-checked; ``None`` when it is not."""
    value = getattr(source, "quick_check", None)  # a setting of the types that have one
    return value if isinstance(value, timedelta) else None


class QuickChecks:
    """What a source's quick-check job does."""

    def __init__(
        self,
        store: Store,
        *,
        source: Callable[[str], SourceSettings | None],
        cache_dir: Callable[[], Path],
        running: Callable[[], frozenset[str]],
        trigger: Callable[[str, str], object],
        clock: Callable[[], datetime],
        log: structlog.typing.FilteringBoundLogger,
    ) -> None:
        self.store = store
        self._source = source
        self._cache_dir = cache_dir
        self._running = running
        self._trigger = trigger
        self._clock = clock
        self._log = log

    def __call__(self, name: str) -> None:
        source = self._source(name)
        if source is None or name in self._running():
            return  # a run under way sees every change the check would
        try:
            found = self._check(source)
        except (SyncerError, StoreError) as exc:  # the schedule stays the safety net
            self._log.warning("quick_check_failed", source=name, error=str(exc))
            return
        if found is not None:
            self._log.info("quick_check_changed", source=name, what=found)
            self._trigger(name, f"quick check: {found}")

    def _check(self, source: SourceSettings) -> str | None:
        since = self.store.runs.last_success_starts().get(source.name)
        if since is None:
            return None  # never synced: the scheduled run lists everything anyway
        state = self.store.source_state(source.name)
        connector = registry.get(source.type).create(
            source,
            Context(
                cache_dir=self._cache_dir() / source.name,
                cursor=state.cursor if state is not None else None,
            ),
        )
        try:
            if not isinstance(connector, QuickCheck):
                return None
            return connector.changed_since(since - MARGIN, self._clock())
        finally:
            connector.close()
