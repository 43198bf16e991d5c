"""A Word document (DOCX) to HTML with mammoth.

mammoth maps Word's semantics, not its looks: heading styles to ``<h1>``..``<h6>``,
numbered and bulleted paragraphs to ``<ol>``/``<ul>`` (nested by level), tables,
hyperlinks, bold and italics; the ``Title`` style becomes an ``<h1>`` too. Images are
left out (Fin reads text; mammoth would inline them as data URIs), keeping their alt
text. The title is the document's ``dc:title`` (File > Properties), read from
``docProps/core.xml`` with a parser that resolves no entity and fetches nothing.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import mammoth
from lxml import etree

from syncer.convert.documents.detect import _SAFE_XML, Unreadable, check_unpacked
from syncer.convert.documents.extracted import Extracted, Limits, heading_ids

_STYLE_MAP = "p[style-name='Title'] => h1:fresh\np[style-name='Subtitle'] => p:fresh"
_HEADING = re.compile(r"<h([1-6])>(.*?)</h\1>", re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


def docx_to_html(data: bytes, limits: Limits) -> Extracted:
    """The HTML of the Word document ``data``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_unpacked(archive)
            if "word/document.xml" not in archive.namelist():
                raise Unreadable("damaged Word document: it has no word/document.xml")
            title = _core_title(archive)
        result = mammoth.convert_to_html(
            io.BytesIO(data),
            style_map=_STYLE_MAP,
            convert_image=mammoth.images.img_element(_no_image),
        )
    except Unreadable:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, etree.XMLSyntaxError) as error:
        raise Unreadable(f"damaged Word document, mammoth cannot read it ({error})") from None
    except Exception as error:  # mammoth's own XML errors have no common base class
        raise Unreadable(
            f"damaged Word document, mammoth cannot read it ({type(error).__name__}: {error})"
        ) from None
    return Extracted(kind="docx", html=_with_ids(str(result.value)), title=title)


def _no_image(image: Any) -> dict[str, str]:
    # No src: the normaliser keeps the alt text in the image's place.
    return {"alt": str(getattr(image, "alt_text", None) or "")}


def _with_ids(html: str) -> str:
    ids = heading_ids()

    def named(match: re.Match[str]) -> str:
        level, inner = match.group(1), match.group(2)
        text = _TAGS.sub("", inner)
        return f'<h{level} id="{ids(text)}">{inner}</h{level}>'

    return _HEADING.sub(named, html)


def _core_title(archive: zipfile.ZipFile) -> str | None:
    """``dc:title`` of ``docProps/core.xml``, if the document has one."""
    return core_title(archive)


def core_title(archive: zipfile.ZipFile) -> str | None:
    """The title in an OOXML package's core properties, if set."""
    try:
        core = etree.fromstring(archive.read("docProps/core.xml"), _SAFE_XML)
    except (KeyError, etree.XMLSyntaxError, zipfile.BadZipFile, ValueError, OSError):
        return None
    for node in core.iter("{http://purl.org/dc/elements/1.1/}title"):
        text = " ".join((node.text or "").split())
        if text:
            return text
    return None
