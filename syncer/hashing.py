"""The content hash: one digest of everything a page upsert would send.

Title, HTML, URL, locale, availability flags and the converter version all go in, so a
converter change re-sends every page while a ``touch`` (same bytes) sends nothing.

``body_digest`` is the digest of the page body alone, without the converter version:
what can be computed from both sides, a document about to be sent and a page Intercom
lists, so a page found in Intercom that the store did not know (a lost store, a crash
between a create and its record) costs no call when it already holds what would be sent.
"""

from __future__ import annotations

import hashlib
import json

from syncer.model import Availability, Document, Hashed

# Bump when the meaning of the hash input changes (a field added or removed).
HASH_SCHEME = "1"


def content_hash(document: Document, availability: Availability) -> str:
    """A hex SHA-256 over the canonical JSON of what would be sent for ``document``."""
    payload = [
        HASH_SCHEME,
        document.converter_version,
        document.external_id,
        document.title,
        document.html,
        document.url,
        document.locale,
        availability.ai_agent,
        availability.ai_copilot,
        availability.ai_sales_agent,
    ]
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def hashed(document: Document, availability: Availability) -> Hashed:
    return Hashed(document=document, content_hash=content_hash(document, availability))


def body_digest(
    *,
    external_id: str,
    title: str,
    html: str,
    url: str | None,
    locale: str,
    ai_agent: bool,
    ai_copilot: bool,
    ai_sales_agent: bool,
) -> str:
    """A hex SHA-256 of a page body as Intercom keeps it (no converter version)."""
    payload = [external_id, title, html, url or None, locale, ai_agent, ai_copilot, ai_sales_agent]
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def document_digest(document: Document, availability: Availability) -> str:
    """``body_digest`` of what would be sent for ``document``."""
    return body_digest(
        external_id=document.external_id,
        title=document.title,
        html=document.html,
        url=document.url,
        locale=document.locale,
        ai_agent=availability.ai_agent,
        ai_copilot=availability.ai_copilot,
        ai_sales_agent=availability.ai_sales_agent,
    )
