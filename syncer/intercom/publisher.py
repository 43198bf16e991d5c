"""Apply sync plans to Intercom: the ``Publisher`` that ``syncer.run`` writes through.

One Content Import Source per configured source (created once, its id kept in the
store, or adopted from ``import_source_id``), checked against one listing of the
workspace's sources per pass, so a no-op run makes a single Intercom call. Pages are
upserted by external_id under it with every field each time; deletes go by Intercom's
page id, and a page already gone counts as deleted.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from syncer.config.settings import SourceSettings
from syncer.errors import IntercomError, SourceError
from syncer.intercom.client import IntercomClient
from syncer.intercom.models import ContentImportSource
from syncer.model import Hashed


class IntercomPublisher:
    """Thread-safe: ``upsert`` and ``delete`` may run on many workers at once."""

    def __init__(self, client: IntercomClient, *, concurrency: int = 8) -> None:
        self.client = client
        self.concurrency = concurrency
        self._sources: dict[str, ContentImportSource] | None = None
        self._lock = threading.Lock()

    def ensure_source(self, source: SourceSettings, import_source_id: str | None) -> str:
        ai = self.client.ai_content
        wanted = source.import_source_id or import_source_id
        url = source_url(source)
        existing = self._existing().get(wanted) if wanted else None
        if existing is None and source.import_source_id:
            raise SourceError(
                f"source {source.name}: Content Import Source {wanted} (import_source_id in "
                "the config) does not exist in this workspace",
                source=source.name,
            )
        if existing is not None:
            if existing.url != url or sorted(existing.audience_ids) != sorted(source.audience_ids):
                ai.update_content_import_source(
                    existing.id, url=url, audience_ids=list(source.audience_ids)
                )
            return str(existing.id)
        created = ai.create_content_import_source(url=url, audience_ids=source.audience_ids)
        with self._lock:
            if self._sources is not None:
                self._sources[str(created.id)] = created
        return str(created.id)

    def _existing(self) -> dict[str, ContentImportSource]:
        """The workspace's Content Import Sources: one listing per pass, for every source."""
        with self._lock:
            if self._sources is None:
                listed = self.client.ai_content.list_content_import_sources()
                self._sources = {str(s.id): s for s in listed}
            return self._sources

    def upsert(self, import_source_id: str, item: Hashed, source: SourceSettings) -> str:
        doc = item.document
        page = self.client.ai_content.create_external_page(
            title=doc.title,
            html=doc.html,
            url=doc.url,
            locale=doc.locale,
            source_id=int(import_source_id),
            external_id=doc.external_id,
            ai_agent_availability=source.ai_agent_availability,
            ai_copilot_availability=source.ai_copilot_availability,
            ai_sales_agent_availability=source.ai_sales_agent_availability,
        )
        return page.id

    def delete(self, page_id: str) -> None:
        try:
            self.client.ai_content.delete_external_page(page_id)
        except IntercomError as exc:
            if exc.status != 404:
                raise


def source_url(source: SourceSettings) -> str:
    """The Content Import Source URL: ``url:``, else the origin of ``page_url``."""
    if source.url:
        return source.url
    template = getattr(source, "page_url", None)
    if isinstance(template, str):
        parts = urlsplit(template)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}/"
    raise SourceError(
        f"source {source.name} has no url: set `url:` to the address Intercom should show "
        "for this Content Import Source",
        source=source.name,
    )
