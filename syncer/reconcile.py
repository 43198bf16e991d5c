"""``syncer reconcile``: check the store against what Intercom holds, and find orphans.

A sync already rebuilds the store from Intercom when its one-call drift check says the
two have parted (``syncer.remote``); reconcile is that check asked for, without sending
content: per source it lists Intercom's pages, folds them into the store (``plan.adopt``)
and reports, through the one sequencer (``syncer.run``), so it obeys the same rules:

* a page that belongs to a current document is restored to the store, with the true
  content hash when Intercom holds exactly what would be sent (the next sync sends
  nothing), else so that the next sync updates that very page;
* a record whose page is gone from Intercom is forgotten (the next sync creates it);
* orphans, pages under the source's Content Import Source that no document claims, and
  every page of a source the config no longer has, are reported; ``--delete-orphans``
  deletes them, from complete listings only and under the mass-delete guard (exit 3).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncer import registry
from syncer.config.settings import Settings
from syncer.connector import ConnectorType
from syncer.run import Options, Publisher, SourceReport, status_exit_code, sync
from syncer.store import Store


@dataclass(frozen=True, slots=True)
class Orphan:
    page_id: str
    external_id: str
    title: str


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """What reconcile found (and did) for one source."""

    source: str
    import_source_id: str | None
    restored: int = 0
    identical: int = 0
    forgotten: int = 0
    orphans: tuple[Orphan, ...] = ()
    deleted: int = 0
    configured: bool = True
    problem: str | None = None
    status: str = "succeeded"
    listing_complete: bool = True

    @property
    def exit_code(self) -> int:
        """3: the guard held the orphans' deletion back; 1: a problem, or orphans left."""
        left = bool(self.problem) or len(self.orphans) > self.deleted
        return status_exit_code(self.status, failed=left)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "configured": self.configured,
            "status": self.status,
            "import_source_id": self.import_source_id,
            "restored": self.restored,
            "identical": self.identical,
            "forgotten": self.forgotten,
            "orphans": [
                {"page_id": o.page_id, "external_id": o.external_id, "title": o.title}
                for o in self.orphans
            ],
            "deleted": self.deleted,
            "listing_complete": self.listing_complete,
            "problem": self.problem,
        }


def reconcile(
    settings: Settings,
    store: Store,
    publisher: Publisher,
    *,
    sources: Sequence[str] = (),
    delete_orphans: bool = False,
    allow_mass_delete: bool = False,
    cache_dir: Path,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    lookup: Callable[[str], ConnectorType[Any]] = registry.get,
    stop: threading.Event | None = None,
    lock_wait: float = 0.0,
) -> list[Reconciliation]:
    """Reconcile the named sources (all when empty) and the store's unconfigured ones."""
    options = Options(
        verify=True, send=False, delete=delete_orphans, allow_mass_delete=allow_mass_delete
    )
    reports = sync(
        settings,
        store,
        publisher,
        options,
        sources=sources,
        cache_dir=cache_dir,
        clock=clock,
        lookup=lookup,
        stop=stop,
        lock_wait=lock_wait,
    )
    return [_reconciliation(report, delete_orphans) for report in reports]


def _reconciliation(report: SourceReport, delete_orphans: bool) -> Reconciliation:
    configured = not report.removed
    if report.plan is None:
        return Reconciliation(
            report.source,
            report.import_source_id,
            configured=configured,
            problem="; ".join(report.errors) or report.status,
            status=report.status,
        )
    the_plan = report.plan
    orphans = tuple(
        Orphan(r.page_id or "", r.external_id, r.title) for r in the_plan.delete if r.page_id
    )
    problem = None
    if report.status == "blocked":
        problem = report.errors[0] if report.errors else str(the_plan.guard)
    elif report.status in ("failed", "interrupted") and report.errors:
        problem = "; ".join(report.errors[:3])
    return Reconciliation(
        report.source,
        report.import_source_id,
        restored=report.drift.restored,
        identical=report.drift.identical,
        forgotten=report.drift.missing,
        orphans=orphans,
        deleted=report.counts.deleted if delete_orphans else 0,
        configured=configured,
        problem=problem,
        status=report.status,
        listing_complete=the_plan.listing_complete,
    )
