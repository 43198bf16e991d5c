"""Typed replies of the AI Content API, tolerant of fields Intercom adds later."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Reply(BaseModel):
    """A reply object: unknown fields are kept (Intercom adds fields without notice)."""

    model_config = ConfigDict(extra="allow", frozen=True)


class ContentImportSource(Reply):
    id: int
    type: str = "content_import_source"
    url: str
    sync_behavior: str
    status: str = "active"
    audience_ids: list[int] = []
    created_at: int | None = None
    updated_at: int | None = None
    last_synced_at: int | None = None


class ExternalPage(Reply):
    id: str
    type: str = "external_page"
    title: str
    html: str
    url: str | None = None
    ai_agent_availability: bool = False
    ai_copilot_availability: bool = False
    ai_sales_agent_availability: bool = False
    fin_availability: bool | None = None
    locale: str = "en"
    source_id: int
    external_id: str
    created_at: int | None = None
    updated_at: int | None = None
    last_ingested_at: int | None = None
