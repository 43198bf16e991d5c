"""A long document cut at its headings into a lead and one part per section.

Sections start at every heading of level ``level`` or above that stands at the top of
the document (not inside a table or a callout). Each part is an External Page of its
own: its key and external id come from the heading's id (a slug of its text, so they
hold while the heading's wording does), its title is the document's followed by the
heading, its URL the file's with a fragment (``#page=N`` for a PDF, which viewers open
at that page; the heading's id otherwise). The lead keeps the document's key, title and
URL: what comes before the first section, then the list of sections with their links,
so the page Fin cites for the document as a whole still says what is in it. A context
the document opens with (an attachment's page) opens every part as well.
"""

from __future__ import annotations

import html as escape
from dataclasses import replace

from syncer.convert.html import normalise
from syncer.convert.slugger import slug
from syncer.model import Document
from syncer.parts import lead_version, part_key

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def split_document(
    document: Document, level: int, *, pages: bool = False, context: str = ""
) -> tuple[Document, ...]:
    """``document`` as its lead and parts; itself alone when it has no such heading.

    ``pages``: the document is a PDF whose pages end with ``<hr>``, so a part's URL
    fragment is the page its heading is on. ``context``: HTML that opens the document
    and each part too (the Confluence page an attachment is on), so a part Fin cites
    alone still says where it comes from.
    """
    # Here: every sync that reads files imports this module, few split a document, and
    # bs4 (soupsieve's CSS parser with it) is a tenth of a second to import.
    from bs4 import BeautifulSoup, Tag

    soup = BeautifulSoup(document.html, "html.parser")
    lead: list[str] = []
    sections: list[tuple[str, str, int, list[str]]] = []  # id, heading text, page, html
    seen: set[str] = set()
    page = 1
    for node in list(soup.children):
        if isinstance(node, Tag) and node.name == "hr":
            page += 1
        if isinstance(node, Tag) and node.name in _HEADINGS[:level]:
            text = " ".join(node.get_text().split())
            anchor = str(node.get("id") or "") or slug(text) or f"section-{len(sections) + 1}"
            while anchor in seen:
                anchor += "-1"
            seen.add(anchor)
            sections.append((anchor, text, page, [str(node)]))
            continue
        target = sections[-1][3] if sections else lead
        target.append(str(node))
    if not sections:
        return (document,)
    base = document.url
    parts: list[Document] = []
    contents: list[str] = []
    for anchor, text, on_page, body in sections:
        url = f"{base}#{f'page={on_page}' if pages else anchor}" if base else None
        title = f"{document.title}: {text}" if text else document.title
        parts.append(
            replace(
                document,
                key=part_key(document.key, anchor),
                external_id=f"{document.external_id}#{anchor}",
                title=title,
                html=normalise(context + "".join(body), base_url=url),
                url=url,
            )
        )
        shown = escape.escape(text or anchor, quote=False)
        contents.append(
            f'<li><a href="{escape.escape(url, quote=True)}">{shown}</a></li>'
            if url
            else f"<li>{shown}</li>"
        )
    listing = f"<p>Sections of this document:</p><ul>{''.join(contents)}</ul>"
    head = replace(
        document,
        version=lead_version(document.version, len(parts)),
        html=normalise("".join(lead) + listing, base_url=base),
    )
    return (head, *parts)
