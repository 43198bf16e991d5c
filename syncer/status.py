"""``syncer status``: the last run of each configured source, and whether it is stale.

A last run still ``running`` whose source lock nobody holds was left by a process that
died (a kill, a lost machine): it is shown as abandoned, and the source's next run
closes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from syncer.config.schedule import period
from syncer.config.settings import Settings
from syncer.store import Store


def source_status(settings: Settings, *, now: datetime) -> list[dict[str, Any]]:
    """One row per configured source: its last run and staleness, from a read-only store."""
    store = Store.open_read_only(settings.store.url)
    try:
        last = {run.source: run for run in store.last_runs()}
        holders = {
            source.name: store.lock_holder(source.name)
            for source in settings.sources
            if source.name in last and last[source.name].status == "running"
        }
        succeeded = {
            source.name: next(
                (r for r in store.runs(source.name, limit=50) if r.status == "succeeded"), None
            )
            for source in settings.sources
        }
    finally:
        store.close()
    rows = []
    for source in settings.sources:
        run = last.get(source.name)
        good = succeeded[source.name]
        limit = period(source.schedule) * settings.daemon.stale_after_intervals
        rows.append(
            {
                "name": source.name,
                "type": source.type,
                "schedule": str(source.schedule),
                "last_run": None
                if run is None
                else {
                    "status": run.status,
                    "started_at": run.started_at.isoformat(),
                    "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                    "duration_s": round(run.duration.total_seconds(), 3) if run.duration else None,
                    "counts": run.counts.as_dict(),
                    "errors": list(run.errors),
                },
                "last_success_at": good.finished_at.isoformat()
                if good and good.finished_at
                else None,
                "stale": _stale(good.finished_at if good else None, now, limit),
                "lock_holder": holders.get(source.name),
                "abandoned": run is not None
                and run.status == "running"
                and holders.get(source.name) is None,
            }
        )
    return rows


def _stale(last_success: datetime | None, now: datetime, limit: timedelta) -> bool:
    return last_success is None or now - last_success > limit
