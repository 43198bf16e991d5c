"""Apply sync plans to Intercom: the ``Publisher`` that ``syncer.run`` writes through.

One Content Import Source per configured source (created once, its id kept in the
store, or adopted from ``import_source_id``); pages upserted by external_id under it
with every field each time; deletes by Intercom's page id, where a page already gone
counts as deleted.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from syncer.config.settings import SourceSettings
from syncer.errors import IntercomError, SourceError
from syncer.intercom.client import IntercomClient
from syncer.model import Hashed


class IntercomPublisher:
    """Thread-safe: ``upsert`` and ``delete`` may run on many workers at once."""

    def __init__(self, client: IntercomClient, *, concurrency: int = 8) -> None:
        self.client = client
        self.concurrency = concurrency

    def ensure_source(self, source: SourceSettings, import_source_id: str | None) -> str:
        ai = self.client.ai_content
        wanted = source.import_source_id or import_source_id
        url = _source_url(source)
        if wanted is not None:
            try:
                existing = ai.get_content_import_source(wanted)
            except IntercomError as exc:
                if exc.status != 404:
                    raise
                if source.import_source_id:
                    raise SourceError(
                        f"source {source.name}: Content Import Source {wanted} (import_source_id "
                        "in the config) does not exist in this workspace",
                        source=source.name,
                    ) from None
            else:
                audiences = sorted(source.audience_ids)
                if existing.url != url or sorted(existing.audience_ids) != audiences:
                    ai.update_content_import_source(
                        existing.id, url=url, audience_ids=list(source.audience_ids)
                    )
                return str(existing.id)
        created = ai.create_content_import_source(url=url, audience_ids=source.audience_ids)
        return str(created.id)

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


def _source_url(source: SourceSettings) -> str:
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
