"""The content hash: one digest of the ``Page`` an upsert sends, and its converter.

``page_digest(page)`` is the digest of the page body alone: what can be computed from
both sides, a document about to be sent and a page Intercom lists, so a page found in
Intercom that the store did not know (a lost store, a crash between a create and its
record) costs no call when it already holds what would be sent. ``content_hash`` is
the digest of that same page under the hash scheme: the converter version is not part
of it, so a converter change re-sends exactly the pages whose output changed. (Reading
every file again after an upgrade is the listing's job: file connectors put the
converter version in each file's version, ``syncer.convert.stamp.render_stamp``.) A
``touch`` (same bytes) sends nothing either way.
"""

from __future__ import annotations

import hashlib
import json

from syncer.model import Availability, Document, Hashed, Page

# Bump when the meaning of the hash input changes (a field added or removed). 2: the
# converter version left the hash (every page is re-sent once, at that upgrade only).
HASH_SCHEME = "2"


def _fields(page: Page) -> list[object]:
    # The order is the stored hashes' order: changing it would re-send every page.
    return [
        page.external_id,
        page.title,
        page.html,
        page.url,
        page.locale,
        page.ai_agent_availability,
        page.ai_copilot_availability,
        page.ai_sales_agent_availability,
    ]


def _sha256(payload: list[object]) -> str:
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def page_digest(page: Page) -> str:
    """A hex SHA-256 of the page body as Intercom keeps it (no converter version)."""
    return _sha256(_fields(page))


def content_hash(document: Document, availability: Availability) -> str:
    """A hex SHA-256 of what would be sent for ``document`` (what decides a write)."""
    return _sha256([HASH_SCHEME, *_fields(Page.of(document, availability))])


def document_digest(document: Document, availability: Availability) -> str:
    """``page_digest`` of what would be sent for ``document``."""
    return page_digest(Page.of(document, availability))


def hashed(document: Document, availability: Availability) -> Hashed:
    return Hashed(document, content_hash(document, availability), availability)
