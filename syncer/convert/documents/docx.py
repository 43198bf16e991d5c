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

from syncer.convert.documents.detect import Unreadable, check_unpacked, safe_xml
from syncer.convert.documents.extracted import Extracted, Limits, heading_ids

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_STYLE_REFERENCE = re.compile(
    rb'<w:(?:pStyle|rStyle|tblStyle|numStyleLink|styleLink)\b[^>]*\bw:val="([^"]+)"'
)
# Parts whose paragraphs mammoth reads (and so whose styles it looks up).
_STYLED_PARTS = (
    "word/document.xml",
    "word/numbering.xml",
    "word/footnotes.xml",
    "word/endnotes.xml",
    "word/comments.xml",
)
# What mammoth reads besides the styles; the rest (themes, fonts, settings, a second
# copy of the styles "with effects", thumbnails) it never opens.
_KEPT_PARTS = frozenset({"[Content_Types].xml", *_STYLED_PARTS})
_KEPT_FOLDERS = ("_rels/", "word/_rels/", "docProps/")
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
            data = _with_used_styles(archive, data)
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


def _with_used_styles(archive: zipfile.ZipFile, data: bytes) -> bytes:
    """``data`` with ``word/styles.xml`` cut down to the styles the text uses.

    mammoth parses every part with minidom, and a styles part may define hundreds of
    styles no paragraph uses (python-docx's template: 350 kB, half a second a file);
    the styles the text names, what they are based on, and the defaults give the same
    HTML. Any surprise (no styles part, an unparsable one) keeps ``data`` as it is.
    """
    names = set(archive.namelist())
    if "word/styles.xml" not in names:
        return data
    used: set[str] = set()
    for part in _STYLED_PARTS:
        if part in names:
            used.update(
                v.decode("utf-8", "replace") for v in _STYLE_REFERENCE.findall(archive.read(part))
            )
    try:
        styles = etree.fromstring(archive.read("word/styles.xml"), safe_xml())
    except (etree.XMLSyntaxError, ValueError):
        return data
    by_id = {str(node.get(f"{{{_W}}}styleId")): node for node in styles.iter(f"{{{_W}}}style")}
    wanted = set()
    pending = [style for style in used if style in by_id]
    while pending:
        style = pending.pop()
        if style in wanted:
            continue
        wanted.add(style)
        for link in ("basedOn", "link", "next"):
            for ref in by_id[style].iter(f"{{{_W}}}{link}"):
                target = str(ref.get(f"{{{_W}}}val"))
                if target in by_id:
                    pending.append(target)
    for style_id, node in by_id.items():
        default = node.get(f"{{{_W}}}default") in ("1", "true", "on")
        parent = node.getparent()
        if style_id not in wanted and not default and parent is not None:
            parent.remove(node)
    out = io.BytesIO()
    # Stored, not deflated: this copy lives for one conversion.
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy:
        for info in archive.infolist():
            if info.filename == "word/styles.xml":
                copy.writestr(info.filename, etree.tostring(styles, xml_declaration=True))
            elif info.filename in _KEPT_PARTS or info.filename.startswith(_KEPT_FOLDERS):
                copy.writestr(info.filename, archive.read(info.filename))
    return out.getvalue()


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
        core = etree.fromstring(archive.read("docProps/core.xml"), safe_xml())
    except (KeyError, etree.XMLSyntaxError, zipfile.BadZipFile, ValueError, OSError):
        return None
    for node in core.iter("{http://purl.org/dc/elements/1.1/}title"):
        text = " ".join((node.text or "").split())
        if text:
            return text
    return None
