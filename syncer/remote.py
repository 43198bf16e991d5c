"""The drift check: when a run asks Intercom what it holds, and what it is told.

The store remembers what was sent; Intercom is what Fin reads. They part when the store
is lost or restored from a backup, when a run dies between a create and its record, or
when someone deletes pages in Intercom. Before planning, each run that writes does:

1. one call, ``GET /ai/external_pages?per_page=1``: the workspace's ``total_count``,
   against what the store expects (its pages in Fin, over every source, plus the pages
   of Content Import Sources that are not the store's, as last counted);
2. only when they differ, when intents of this source are left over from a stopped
   run, or when asked (``syncer reconcile``): the whole listing, 150 pages a call, up to
   Intercom's 10,000 results (``ceil(total / 150)`` calls, at most 67);
3. intents the listing did not reach are looked up one by one (source and external id).

``plan.adopt`` then folds the view into the records. An incomplete view is safe: a page
it does not show is only unseen, never taken for deleted, and a false "missing" costs
one upsert of a page that is there (upserts are idempotent by external id).
"""

from __future__ import annotations

from typing import Protocol

import structlog

from syncer.model import Remote, RemotePage, WorkspacePages
from syncer.store import Store

FOREIGN_PAGES = "foreign_pages"


class PageView(Protocol):
    """The part of the publisher the drift check reads through."""

    def page_total(self) -> int: ...

    def list_pages(self) -> WorkspacePages: ...

    def find_page(self, import_source_id: str, external_id: str) -> RemotePage | None: ...


def view(
    pages: PageView,
    store: Store,
    source: str,
    import_source_id: str,
    *,
    force: bool,
    log: structlog.typing.FilteringBoundLogger,
) -> tuple[Remote | None, int]:
    """Intercom's view of ``source`` 's import source when the check calls for one.

    Returns the view (None when the count agrees and nothing else asks) and the calls
    the check made.
    """
    intents = store.intents(source)
    calls = 0
    reason = "asked" if force else ("intents" if intents else None)
    if reason is None:
        total = pages.page_total()
        calls += 1
        expected = store.pages_in_fin() + int(store.workspace_fact(FOREIGN_PAGES) or 0)
        if total == expected:
            return None, calls
        reason = "count"
        log.info("intercom_drift_suspected", pages_in_intercom=total, pages_expected=expected)
    listed = pages.list_pages()
    calls += listed.calls
    by_source = listed.by_source
    found: list[RemotePage] = list(by_source.get(import_source_id, ()))
    if listed.complete:
        ours = {s.import_source_id for s in store.sources() if s.import_source_id}
        ours.add(import_source_id)
        foreign = sum(len(p) for sid, p in by_source.items() if sid not in ours)
        store.set_workspace_fact(FOREIGN_PAGES, str(foreign))
    looked_up: set[str] = set()
    if not listed.complete:
        seen = {page.external_id for page in found}
        for external_id in sorted(set(intents) - seen):
            page = pages.find_page(import_source_id, external_id)
            calls += 1
            looked_up.add(external_id)
            if page is not None:
                found.append(page)
    log.info(
        "intercom_pages_listed",
        reason=reason,
        pages=len(found),
        complete=listed.complete,
        workspace_pages=listed.total,
        calls=calls,
    )
    return Remote(tuple(found), listed.complete, frozenset(looked_up)), calls
