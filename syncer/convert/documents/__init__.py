"""PDF, Word (DOCX) and PowerPoint (PPTX) files: detected by content, converted to HTML.

``sniff`` (``detect``) says which document a file holds from its bytes, or why it cannot
be read; ``extract`` hands it to its converter (``pdf``: pypdfium2; ``docx``: mammoth;
``pptx``: python-pptx), each giving HTML with ids on its headings and the document's own
title (``Extracted``). That HTML then goes through the one normaliser like every other
format (``syncer.convert.source_file``); a long one may be cut into sections by heading
(``sections``). Nothing here touches a file system or the network: bytes in, HTML out.
"""

from __future__ import annotations

from syncer.convert.documents.detect import (
    KINDS,
    MEDIA_TYPES,
    SUFFIXES,
    Kind,
    Unreadable,
    Unusable,
    kind_of_name,
    sniff,
)
from syncer.convert.documents.extracted import Extracted, Limits


def extract(kind: Kind, data: bytes, limits: Limits) -> Extracted:
    """``data`` (a document of ``kind``, as ``sniff`` said) as HTML for the normaliser."""
    if kind == "pdf":
        from syncer.convert.documents.pdf import pdf_to_html

        return pdf_to_html(data, limits)
    if kind == "docx":
        from syncer.convert.documents.docx import docx_to_html

        return docx_to_html(data, limits)
    from syncer.convert.documents.pptx import pptx_to_html

    return pptx_to_html(data, limits)


__all__ = [
    "KINDS",
    "MEDIA_TYPES",
    "SUFFIXES",
    "Extracted",
    "Kind",
    "Limits",
    "Unreadable",
    "Unusable",
    "extract",
    "kind_of_name",
    "sniff",
]
