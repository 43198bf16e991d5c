"""One document file (a PDF, DOCX or PPTX in a folder, a repository or a Confluence
attachment) to what a connector yields: a ``Document``, its sections, or why not.

``convert_document`` is the step every file-reading connector takes before the text
converters: when the bytes are a document (``sniff``), it is converted here, and the
text converters never see it, so a zip is never sent as ``<p>PK...``. What cannot be
read as it is (encrypted, scanned, another format) is ``Excluded`` with its reason:
remembered with its version, so it is not read again until it changes, and a page it
had leaves Fin, as Fin must mirror what the file now is. A damaged file is a
``Failure``: the run reports it and a page it had stays until it reads again.

The HTML goes through the one normaliser; the title is the document's properties, else
its first heading, else its file name. With ``split_at`` (``sections``), a long document
becomes its lead and one part per section.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from syncer.convert import CONVERTER_VERSION
from syncer.convert.documents.detect import NAMES, Unreadable, Unusable, kind_of_name, sniff
from syncer.convert.documents.extracted import Limits
from syncer.convert.documents.sections import split_document
from syncer.convert.documents.settings import DocumentSettings
from syncer.convert.html import first_heading, normalise
from syncer.convert.titles import title_from_path
from syncer.model import Document, Excluded, Failure, Fetched

_TAGS = re.compile(r"<[^>]*>")
# One file's results: a document, or its lead and sections, or why it is not one.
Converted = Fetched | tuple[Document, ...]


def each(converted: Converted) -> Iterator[Fetched]:
    """The results of one file, one by one."""
    if isinstance(converted, tuple):
        yield from converted
    else:
        yield converted


def read_cap(path: str, max_file_bytes: int, documents: DocumentSettings | None) -> tuple[int, str]:
    """The most bytes read of the file at ``path``, and the setting that says so: a
    document's cap for a name that promises a document, the text cap for any other (what
    the bytes are is only known once read, and a file over its cap is never read, not
    even in part)."""
    if documents is not None and kind_of_name(path) is not None:
        return documents.max_bytes, "documents.max_bytes"
    return max_file_bytes, "max_file_bytes"


def convert_document(
    key: str,
    version: str,
    data: bytes,
    *,
    url: str | None,
    settings: DocumentSettings,
    notes: Counter[str] | None = None,
    title: str | None = None,
    lead: str = "",
    name: str | None = None,
) -> Converted | None:
    """What the file ``key`` holding ``data`` becomes, or ``None`` when it holds no
    document (the text converters take it then).

    ``url`` is the file's own URL; ``title`` wins over the document's (a Confluence
    attachment is titled by its file name); ``lead`` is HTML put before the content (the
    page an attachment belongs to); ``name`` is the file name, when ``key`` is not it.
    Caveats (pages left out) are counted in ``notes`` under ``"<key>: <note>"``.
    """
    path = name or key
    try:
        kind = sniff(path, data)
        if kind is None:
            return None
        if len(data) > settings.max_bytes:
            return Failure(
                key,
                f"{NAMES[kind]} of {len(data):,} bytes, over documents.max_bytes "
                f"{settings.max_bytes:,}; raise it or exclude the file",
            )
        from syncer.convert.documents import extract

        extracted = extract(kind, data, Limits(max_pages=settings.max_pages))
    except Unusable as error:
        return Excluded(key, version, error.reason)
    except Unreadable as error:
        if kind_of_name(path) is None:
            # Bytes that only look like a document under a text name (a page that starts
            # with "%PDF-", a broken zip): the text converters say what they are.
            return None
        return Failure(key, str(error))
    html = normalise(lead + extracted.html, base_url=url)
    if not html.strip() or html.strip() == normalise(lead, base_url=url).strip():
        return Excluded(key, version, f"{NAMES[kind]} with no text in it: nothing to send")
    chosen = (
        title or extracted.title or first_heading(html, normalised=True) or title_from_path(path)
    )
    chosen = " ".join(chosen.split())
    if notes is not None:
        notes.update(f"{key}: {note}" for note in extracted.notes)
    document = Document(
        key=key,
        version=version,
        external_id=key,
        title=chosen,
        html=html,
        url=url,
        converter_version=CONVERTER_VERSION,
    )
    level = settings.split_level
    if not level or len(_TAGS.sub("", html)) <= settings.split_min_chars:
        return document
    context = normalise(lead, base_url=url) if lead else ""
    return split_document(document, level, pages=kind == "pdf", context=context)
