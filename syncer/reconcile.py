"""``syncer reconcile``: rebuild the store from what Intercom holds, and find orphans.

For when the store was lost or doubted. Per configured source: find its Content Import
Source (the store's id, ``import_source_id``, or the one source whose URL matches),
list every External Page once, read the source, and then

* restore a record for each page that belongs to a current document: with the true
  content hash if Intercom holds exactly what would be sent (the next sync sends
  nothing), else with an empty version so the next sync re-reads and updates it;
* forget records whose page is no longer in Intercom (the next sync creates it again);
* report orphans: pages under our sources that no document claims (and pages under
  sources the config no longer has). Only ``--delete-orphans`` deletes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors import registry
from connectors.protocol import ConnectorType, Context
from syncer.config.settings import Settings, SourceSettings
from syncer.errors import SyncerError
from syncer.hashing import hashed
from syncer.intercom.client import IntercomClient
from syncer.intercom.models import ExternalPage
from syncer.intercom.publisher import IntercomPublisher, source_url
from syncer.model import Document, Hashed
from syncer.store import Store

# Not a SHA-256: marks a record whose page differs from what would be sent now.
UNKNOWN_HASH = "reconciled"


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "configured": self.configured,
            "import_source_id": self.import_source_id,
            "restored": self.restored,
            "identical": self.identical,
            "forgotten": self.forgotten,
            "orphans": [
                {"page_id": o.page_id, "external_id": o.external_id, "title": o.title}
                for o in self.orphans
            ],
            "deleted": self.deleted,
            "problem": self.problem,
        }


def reconcile(
    settings: Settings,
    store: Store,
    client: IntercomClient,
    *,
    sources: Sequence[str] = (),
    delete_orphans: bool = False,
    cache_dir: Path,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    lookup: Callable[[str], ConnectorType[Any]] = registry.get,
) -> list[Reconciliation]:
    """Reconcile the named sources (all when empty) and the store's unconfigured ones."""
    ai = client.ai_content
    by_source: dict[str, list[ExternalPage]] = {}
    for page in ai.list_external_pages():
        by_source.setdefault(str(page.source_id), []).append(page)
    import_sources = list(ai.list_content_import_sources())
    chosen = [s for s in settings.sources if not sources or s.name in sources]
    results = []
    for source in chosen:
        try:
            found = _import_source_of(source, store, [(str(s.id), s.url) for s in import_sources])
            if found is None:
                results.append(
                    Reconciliation(
                        source.name,
                        None,
                        problem="no Content Import Source in Intercom matches this source yet",
                    )
                )
                continue
            results.append(
                _reconcile_source(
                    source,
                    found,
                    by_source.get(found, []),
                    store,
                    client,
                    delete_orphans,
                    cache_dir / source.name,
                    clock,
                    lookup,
                )
            )
        except SyncerError as exc:
            results.append(Reconciliation(source.name, None, problem=str(exc)))
    if not sources:
        configured = {s.name for s in settings.sources}
        for state in store.sources():
            if state.name in configured or state.import_source_id is None:
                continue
            pages = by_source.get(state.import_source_id, [])
            orphans = tuple(Orphan(p.id, p.external_id, p.title) for p in pages)
            deleted = _delete(client, orphans) if delete_orphans else 0
            results.append(
                Reconciliation(
                    state.name,
                    state.import_source_id,
                    orphans=orphans,
                    deleted=deleted,
                    configured=False,
                )
            )
    return results


def _import_source_of(
    source: SourceSettings, store: Store, existing: list[tuple[str, str]]
) -> str | None:
    state = store.source_state(source.name)
    known = source.import_source_id or (state.import_source_id if state else None)
    ids = {source_id for source_id, _ in existing}
    if known is not None and known in ids:
        return known
    url = source_url(source)
    matches = [source_id for source_id, source_url_ in existing if source_url_ == url]
    if len(matches) > 1:
        raise SyncerError(
            f"several Content Import Sources have url {url} ({', '.join(matches)}); "
            "set import_source_id on this source to say which is its own"
        )
    return matches[0] if matches else None


def _reconcile_source(
    source: SourceSettings,
    import_source_id: str,
    pages: list[ExternalPage],
    store: Store,
    client: IntercomClient,
    delete_orphans: bool,
    cache_dir: Path,
    clock: Callable[[], datetime],
    lookup: Callable[[str], ConnectorType[Any]],
) -> Reconciliation:
    store.ensure_source(source.name, source.type)
    store.set_import_source_id(source.name, import_source_id)
    state = store.source_state(source.name)
    connector = lookup(source.type).create(
        source, Context(cache_dir=cache_dir, cursor=state.cursor if state else None)
    )
    listing = connector.list()
    documents = {
        item.external_id: item
        for item in connector.fetch(listing.stubs)
        if isinstance(item, Document)
    }
    records = store.records(source.name)
    now = clock()
    restored = identical = 0
    orphans: list[Orphan] = []
    claimed: set[str] = set()
    for page in pages:
        document = documents.get(page.external_id)
        if document is None or page.external_id in claimed:
            orphans.append(Orphan(page.id, page.external_id, page.title))
            continue
        claimed.add(page.external_id)
        item = hashed(document, source.availability)
        if _same(page, item, source):
            identical += 1
        else:
            item = Hashed(replace(document, version=""), UNKNOWN_HASH)
        store.record_pushed(source.name, item, page.id, now)
        restored += 1
    in_intercom = {documents[e].key for e in claimed}
    stale = [k for k, r in records.items() if r.in_fin and k not in in_intercom]
    store.forget(source.name, stale)
    deleted = _delete(client, orphans) if delete_orphans else 0
    return Reconciliation(
        source.name, import_source_id, restored, identical, len(stale), tuple(orphans), deleted
    )


def _same(page: ExternalPage, item: Hashed, source: SourceSettings) -> bool:
    doc = item.document
    return (
        page.title == doc.title
        and page.html == doc.html
        and (page.url or None) == doc.url
        and page.ai_agent_availability == source.ai_agent_availability
        and page.ai_copilot_availability == source.ai_copilot_availability
        and page.ai_sales_agent_availability == source.ai_sales_agent_availability
    )


def _delete(client: IntercomClient, orphans: Sequence[Orphan]) -> int:
    # The publisher's delete, so a page already gone counts as deleted here too.
    publisher = IntercomPublisher(client)
    for orphan in orphans:
        publisher.delete(orphan.page_id)
    return len(orphans)
