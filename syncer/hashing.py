"""The content hash: one digest of everything a page upsert would send.

Title, HTML, URL, locale, availability flags and the converter version all go in, so a
converter change re-sends every page while a ``touch`` (same bytes) sends nothing.
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
