"""Apply sync plans to Intercom: the ``Publisher`` that ``syncer.run`` writes through.

Content Import Sources are listed once per pass (and again, fresh, when the run is
about to conclude that one is gone or missing: see ``syncer.identity``), created with
``sync_behavior: api`` and the source's URL, and kept in line with the config. Pages are
upserted by external_id with every field each time; deletes go by Intercom's page id,
and a page already gone counts as deleted.

What Intercom holds is read three ways, cheapest first: ``page_total`` (one call: the
workspace's ``total_count``), ``list_pages`` (the whole workspace, 150 a call, as far as
Intercom lists: 10,000 results), and ``find_page`` (one page by source and external id,
a filter Intercom's current reference documents beyond the bundled spec).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from syncer.errors import IntercomError
from syncer.hashing import page_digest
from syncer.intercom.client import IntercomClient
from syncer.model import ImportSource, Page, RemotePage, WorkspacePages

# GET /ai/external_pages: at most 150 a page, and no result past the 10,000th
# (`page * per_page` may not exceed it; Intercom's reference, newer than the spec).
PER_PAGE = 150
MAX_RESULTS = 10_000


class IntercomPublisher:
    """Thread-safe: ``upsert`` and ``delete`` may run on many workers at once."""

    def __init__(self, client: IntercomClient, *, concurrency: int = 8) -> None:
        self.client = client
        self.concurrency = concurrency
        self._sources: list[ImportSource] | None = None
        self._lock = threading.Lock()

    # -- Content Import Sources ------------------------------------------------------------

    def import_sources(self, *, fresh: bool = False) -> list[ImportSource]:
        """The workspace's Content Import Sources: one listing per pass unless ``fresh``."""
        with self._lock:
            if self._sources is None or fresh:
                self._sources = [
                    ImportSource(str(s.id), s.url, tuple(s.audience_ids))
                    for s in self.client.ai_content.list_content_import_sources()
                ]
            return list(self._sources)

    def create_source(self, url: str, audience_ids: Sequence[int]) -> ImportSource:
        created = self.client.ai_content.create_content_import_source(
            url=url, audience_ids=list(audience_ids)
        )
        made = ImportSource(str(created.id), created.url, tuple(created.audience_ids))
        with self._lock:
            if self._sources is not None:
                self._sources.append(made)
        return made

    def update_source(self, source: ImportSource, url: str, audience_ids: Sequence[int]) -> None:
        """Make ``source`` 's url and audiences those of the config, if they differ."""
        if source.url == url and sorted(source.audience_ids) == sorted(audience_ids):
            return
        self.client.ai_content.update_content_import_source(
            source.id, url=url, audience_ids=list(audience_ids)
        )
        with self._lock:
            if self._sources is not None:
                self._sources = [
                    ImportSource(s.id, url, tuple(audience_ids)) if s.id == source.id else s
                    for s in self._sources
                ]

    def delete_source(self, import_source_id: str) -> None:
        """Delete a Content Import Source (and whatever pages it still has)."""
        try:
            self.client.ai_content.delete_content_import_source(import_source_id)
        except IntercomError as exc:
            if exc.status != 404:
                raise
        with self._lock:
            if self._sources is not None:
                self._sources = [s for s in self._sources if s.id != import_source_id]

    # -- pages -------------------------------------------------------------------------

    def upsert(self, import_source_id: str, page: Page) -> str:
        """Create or update ``page`` by external_id, sent exactly as it is."""
        return self.client.ai_content.upsert_external_page(page.body(int(import_source_id))).id

    def delete(self, page_id: str) -> None:
        try:
            self.client.ai_content.delete_external_page(page_id)
        except IntercomError as exc:
            if exc.status != 404:
                raise

    # -- what Intercom holds -------------------------------------------------------------

    def page_total(self) -> int:
        """How many External Pages the workspace has: one call."""
        reply = self._pages_call({"per_page": 1})
        return int(reply.get("total_count") or 0)

    def list_pages(self) -> WorkspacePages:
        """Every External Page Intercom lists, without keeping their bodies."""
        by_source: dict[str, dict[str, RemotePage]] = {}
        seen = 0
        total = 0
        calls = 0
        for page_number, per_page in _page_plan():
            reply = self._pages_call({"page": page_number, "per_page": per_page})
            calls += 1
            total = int(reply.get("total_count") or 0)
            data = [item for item in reply.get("data") or [] if isinstance(item, Mapping)]
            for item in data:
                page = remote_page(item)
                pages = by_source.setdefault(str(item.get("source_id")), {})
                if page.page_id not in pages:
                    pages[page.page_id] = page
                    seen += 1
            if len(data) < per_page or seen >= total:
                break
        complete = seen == total
        return WorkspacePages(
            {source: tuple(pages.values()) for source, pages in by_source.items()},
            complete,
            total,
            calls,
        )

    def find_page(self, import_source_id: str, external_id: str) -> RemotePage | None:
        """The page of ``external_id`` under ``import_source_id``, if Intercom has one."""
        reply = self._pages_call({"source_id": import_source_id, "external_id": external_id})
        for item in reply.get("data") or []:
            if (
                isinstance(item, Mapping)
                and str(item.get("source_id")) == import_source_id
                and item.get("external_id") == external_id
            ):
                return remote_page(item)
        return None

    def _pages_call(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        reply = self.client.transport.request("GET", "/ai/external_pages", params=params)
        if not isinstance(reply, Mapping):
            raise IntercomError("GET /ai/external_pages: the reply is not a list object")
        return reply


def _page_plan() -> list[tuple[int, int]]:
    """(page, per_page) requests that walk the first 10,000 results in as few calls.

    150 a call up to the last whole page under the cap, then one request whose
    ``page * per_page`` lands exactly on 10,000 for the results left (9,901-10,000 is
    page 100 of 100).
    """
    whole = MAX_RESULTS // PER_PAGE
    plan = [(n, PER_PAGE) for n in range(1, whole + 1)]
    left = MAX_RESULTS - whole * PER_PAGE
    if left:
        plan.append((MAX_RESULTS // left, left))
    return plan


def remote_page(item: Mapping[str, Any]) -> RemotePage:
    """A listed External Page as syncer compares it: id, external id, body digest."""
    page = Page(
        external_id=str(item.get("external_id")),
        title=str(item.get("title") or ""),
        html=str(item.get("html") or ""),
        url=item.get("url") or None,
        locale=str(item.get("locale") or "en"),
        ai_agent_availability=bool(item.get("ai_agent_availability")),
        ai_copilot_availability=bool(item.get("ai_copilot_availability")),
        ai_sales_agent_availability=bool(item.get("ai_sales_agent_availability")),
    )
    return RemotePage(str(item.get("id")), page.external_id, page.title, page_digest(page))
