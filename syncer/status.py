"""What each configured source's state is, from the store: ``syncer status`` and ``/status``.

One implementation for both, read from the store rather than from any process's memory,
so every replica and the command line show the same: the last run (a run still
``running`` whose source lock nobody holds was left by a process that died, and is
shown as abandoned), the last success, who holds the source now, and staleness.

A source is stale when its last success is older than ``daemon.stale_after_intervals``
schedule periods. A source that never succeeded counts from ``since``: the daemon
passes its own start, so a fresh deployment is not flagged at once; the command line
has no such moment, so for it a source that never succeeded is stale.

With ``daemon.engine: procrastinate`` each row also counts the source's jobs: waiting
(``queued``), ``running`` and ``failed``, with the newest failure's time and error, read
from procrastinate's tables in the store's Postgres in one query (``Store.jobs``).

``source_detail`` adds what the daemon's page of one source shows: its recent runs and
what one of them (the newest, unless asked) did with each document; ``last_reload``
the newest config reload of any replica.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from syncer.config.schedule import period
from syncer.config.settings import Settings, SourceSettings
from syncer.engine import TASKS
from syncer.store import JobCounts, RunDocument, RunSummary, Store
from syncer.store.schema import DOCUMENT_ACTIONS, MAX_RUN_DOCUMENTS

RECENT_RUNS = 20


def stale_after(source: SourceSettings, settings: Settings) -> timedelta:
    """How old a source's last success may be before it is stale."""
    return period(source.schedule) * settings.daemon.stale_after_intervals


def is_stale(
    last_success: datetime | None, *, since: datetime | None, now: datetime, limit: timedelta
) -> bool:
    """Older than ``limit``, counting from ``since`` when there was never a success
    (never having succeeded, with no ``since``, is stale)."""
    start = last_success or since
    return start is None or now - start > limit


def source_rows(
    settings: Settings,
    store: Store,
    *,
    now: datetime,
    since: datetime | None = None,
    next_runs: Mapping[str, datetime | None] | None = None,
    running_here: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """One JSON-ready row per configured source, read from ``store``.

    ``next_runs``: when the daemon's scheduler runs each source next; ``running_here``:
    the sources this process is syncing (the store knows the rest by their locks).
    """
    last_runs = {run.source: run for run in store.runs.latest()}
    successes = store.runs.last_successes()
    engine_jobs = store.jobs.counts(TASKS) if settings.daemon.engine == "procrastinate" else None
    # Split runs (syncer.engine.batches) hold no source lock while their batches go.
    splitting = store.batches.splitting()
    rows = []
    for source in settings.sources:
        name = source.name
        run = last_runs.get(name)
        holder = store.lock_holder(name)
        success = successes.get(name)
        limit = stale_after(source, settings)
        next_run = (next_runs or {}).get(name)
        rows.append(
            {
                "name": name,
                "type": source.type,
                "schedule": str(source.schedule),
                "next_run": _iso(next_run),
                "running": name in running_here or holder is not None or name in splitting,
                "lock_holder": holder,
                "last_run": _run(run),
                "abandoned": run is not None
                and run.status == "running"
                and holder is None
                and name not in splitting,
                "last_success_at": _iso(success),
                "stale": is_stale(success, since=since, now=now, limit=limit),
                "stale_after_s": limit.total_seconds(),
            }
        )
        if engine_jobs is not None:
            rows[-1]["jobs"] = _jobs(engine_jobs.get(name, JobCounts()))
    return rows


def source_detail(
    settings: Settings,
    store: Store,
    name: str,
    *,
    now: datetime,
    since: datetime | None = None,
    next_runs: Mapping[str, datetime | None] | None = None,
    running_here: frozenset[str] = frozenset(),
    run_id: int | None = None,
) -> dict[str, Any] | None:
    """Source ``name`` 's row, its recent runs (newest first) and what run ``run_id``
    (default: the newest) did with each document; None if it is not configured."""
    rows = source_rows(
        settings, store, now=now, since=since, next_runs=next_runs, running_here=running_here
    )
    row = next((r for r in rows if r["name"] == name), None)
    if row is None:
        return None
    runs = store.runs.of(name, limit=RECENT_RUNS)
    kept = store.runs.with_documents(name)
    ids = {run.id for run in runs}
    chosen = run_id if run_id is not None and (run_id in ids or run_id in kept) else None
    if chosen is None and runs:
        chosen = runs[0].id
    documents = store.runs.documents(chosen) if chosen is not None else []
    return {
        "source": row,
        "runs": [{**(_run(run) or {}), "documents_kept": run.id in kept} for run in runs],
        "run_id": chosen,
        "documents": _grouped(documents),
        "documents_capped": len(documents) >= MAX_RUN_DOCUMENTS,
    }


def last_reload(store: Store) -> dict[str, Any] | None:
    """The newest config reload of any replica, JSON-ready; None before the first."""
    reload = store.reloads.latest()
    if reload is None:
        return None
    return {
        "replica": reload.replica,
        "at": _iso(reload.at),
        "ok": reload.ok,
        "problems": list(reload.problems),
    }


def source_status(settings: Settings, *, now: datetime) -> list[dict[str, Any]]:
    """``syncer status``: every source's row, from the store opened read-only."""
    with Store.open_read_only(settings.store.url) as store:
        return source_rows(settings, store, now=now)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _jobs(counts: JobCounts) -> dict[str, Any]:
    failure = counts.last_failure
    return {
        "queued": counts.queued,
        "running": counts.running,
        "failed": counts.failed,
        "last_failure": None
        if failure is None
        else {"job_id": failure.job_id, "at": _iso(failure.at), "error": failure.error},
    }


def _grouped(documents: list[RunDocument]) -> list[dict[str, Any]]:
    """The documents by action, in ``DOCUMENT_ACTIONS`` order, the empty ones left out."""
    groups = []
    for action in DOCUMENT_ACTIONS:
        members = [d for d in documents if d.action == action]
        if members:
            groups.append(
                {
                    "action": action,
                    "documents": [
                        {"key": d.key, "title": d.title, "reason": d.reason} for d in members
                    ],
                }
            )
    return groups


def _run(run: RunSummary | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "id": run.id,
        "status": run.status,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_s": round(run.duration.total_seconds(), 3) if run.duration else None,
        "counts": run.counts.as_dict(),
        "errors": list(run.errors),
    }
