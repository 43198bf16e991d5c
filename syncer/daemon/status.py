"""What ``/status`` shows and what staleness means, from the store and the scheduler.

A source is stale when its last successful run finished more than
``daemon.stale_after_intervals`` schedule periods ago. A source that never succeeded
counts from when this daemon started, so a fresh deployment is not flagged at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from syncer.config.schedule import period
from syncer.config.settings import Settings, SourceSettings
from syncer.store import Lease, RunSummary


def stale_after(source: SourceSettings, settings: Settings) -> timedelta:
    """How old a source's last success may be before it is stale."""
    return period(source.schedule) * settings.daemon.stale_after_intervals


def is_stale(
    last_success: datetime | None, *, since: datetime, now: datetime, limit: timedelta
) -> bool:
    """Older than ``limit``, counting from ``since`` when there was never a success."""
    return now - (last_success or since) > limit


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _run(run: RunSummary | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "status": run.status,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_s": round(run.duration.total_seconds(), 3) if run.duration else None,
        "counts": run.counts.as_dict(),
        "errors": list(run.errors),
    }


def source_rows(
    settings: Settings,
    *,
    now: datetime,
    since: datetime,
    last_runs: Mapping[str, RunSummary],
    last_successes: Mapping[str, datetime],
    leases: Mapping[str, Lease],
    next_runs: Mapping[str, datetime | None],
    running: set[str],
) -> list[dict[str, Any]]:
    """One JSON-ready row per configured source."""
    rows = []
    for source in settings.sources:
        limit = stale_after(source, settings)
        success = last_successes.get(source.name)
        lease = leases.get(source.name)
        rows.append(
            {
                "name": source.name,
                "type": source.type,
                "schedule": str(source.schedule),
                "next_run": _iso(next_runs.get(source.name)),
                "running": source.name in running,
                "lease": None
                if lease is None or lease.expires_at <= now
                else {"holder": lease.holder, "expires_at": _iso(lease.expires_at)},
                "last_run": _run(last_runs.get(source.name)),
                "last_success_at": _iso(success),
                "stale": is_stale(success, since=since, now=now, limit=limit),
                "stale_after_s": limit.total_seconds(),
            }
        )
    return rows
