"""Which document a file holds, from its first bytes and its zip directory: never from
its name alone.

``sniff`` tells a PDF, a Word document (DOCX) and a PowerPoint deck (PPTX) from what
they are inside: ``%PDF-`` within the first kilobyte; a zip whose ``[Content_Types].xml``
names the WordprocessingML or PresentationML main part. Anything else that is binary
and looks like a document is refused with a reason a person can act on, and never
reaches the text converters: a zip that is not an Office document, a spreadsheet, a
password-protected Office file (an OLE2 container holding ``EncryptionInfo``), the
97-2003 binary formats. A file that is none of these is ``None``: text, for the text
converters, which refuse what is binary in their turn. A file named like a document
(``.pdf``, ``.docx``, ``.pptx``) that holds something else is refused too: its name is
a promise its bytes do not keep.
"""

from __future__ import annotations

import functools
import io
import posixpath
import zipfile
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from lxml import etree

Kind = Literal["pdf", "docx", "pptx"]
KINDS: tuple[Kind, ...] = ("pdf", "docx", "pptx")
SUFFIXES: dict[str, Kind] = {".pdf": "pdf", ".docx": "docx", ".pptx": "pptx"}
MEDIA_TYPES: dict[Kind, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
NAMES: dict[Kind, str] = {"pdf": "PDF", "docx": "Word document", "pptx": "PowerPoint deck"}
# A PDF may have bytes before its header (Acrobat reads up to 1024 of them).
_PDF_WINDOW = 1024
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The main part's content type in [Content_Types].xml says what an OOXML package is.
_MAIN_PARTS: dict[str, Kind | str] = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.ms-word.document.macroEnabled.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml": "pptx",
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": "pptx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "spreadsheet",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "spreadsheet",
}
# Whatever a zip declares it unpacks to: past these, it is a zip bomb, not a document.
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_RATIO = 200


@functools.cache
def safe_xml() -> etree.XMLParser:
    """The one XML parser of an Office package's parts: no entities, network or DTD.

    Made (and lxml imported) when the first zip is looked into, not with this module:
    a listing asks ``kind_of_name`` and reads no document.
    """
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


class Unusable(Exception):  # noqa: N818 - a reason, not an error of the program
    """The file is a document syncer cannot turn into text as it is (encrypted, scanned,
    another format): skipped with ``reason``, and remembered, so it is not read again
    until it changes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unreadable(ValueError):  # noqa: N818 - a reason, not an error of the program
    """The file claims to be a document but cannot be read (cut short, damaged): a
    failure of this run, so a page it made before stays until it is readable again."""


def kind_of_name(path: str) -> Kind | None:
    """The document kind a file's name promises (``.pdf``, ``.docx``, ``.pptx``)."""
    return SUFFIXES.get(posixpath.splitext(path)[1].lower())


def sniff(path: str, data: bytes) -> Kind | None:
    """The kind of document ``data`` holds, or ``None`` when it is none (text, or binary
    the text converters refuse). Raises ``Unusable`` / ``Unreadable`` with the reason."""
    named = kind_of_name(path)
    found = _sniff(data)
    if found is None and named is not None:
        raise Unusable(
            f"named {posixpath.splitext(path)[1].lower()} but it is not a {NAMES[named]} "
            f"({_what(data)}); rename it or exclude it"
        )
    return found


def _sniff(data: bytes) -> Kind | None:
    if b"%PDF-" in data[:_PDF_WINDOW]:
        return "pdf"
    if data.startswith(_OLE2):
        raise Unusable(_ole2_reason(data))
    if data.startswith(_ZIP):
        return _ooxml(data)
    return None


def _ooxml(data: bytes) -> Kind:
    from lxml import etree

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise Unreadable(f"damaged or cut-short zip, not a readable document ({error})") from None
    with archive:
        check_unpacked(archive)
        names = set(archive.namelist())
        if "[Content_Types].xml" not in names:
            raise Unusable(
                "a zip archive, not an Office document (it has no [Content_Types].xml); "
                "exclude it, or unpack it into the source"
            )
        try:
            types = etree.fromstring(archive.read("[Content_Types].xml"), safe_xml())
        except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, ValueError) as error:
            raise Unreadable(f"damaged Office document: [Content_Types].xml ({error})") from None
    found = {str(node.get("ContentType") or "") for node in types.iter("{*}Override", "{*}Default")}
    kinds = {_MAIN_PARTS[t] for t in found if t in _MAIN_PARTS}
    for kind in KINDS:
        if kind in kinds:
            return kind
    if "spreadsheet" in kinds:
        raise Unusable("an Excel spreadsheet: syncer converts PDF, DOCX and PPTX files only")
    raise Unusable(
        "a zip archive, not a Word or PowerPoint document (no document part in its "
        "[Content_Types].xml); exclude it"
    )


def check_unpacked(archive: zipfile.ZipFile) -> None:
    """Refuse a zip that declares more than ``MAX_UNPACKED_BYTES``, or squeezes a member
    more than ``MAX_RATIO`` times: unpacking it would take the memory of the machine."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.file_size > 1_000_000 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise Unusable(
                f"{info.filename} would unpack {info.file_size:,} bytes from "
                f"{info.compress_size:,} (a zip bomb?): not read"
            )
    if total > MAX_UNPACKED_BYTES:
        raise Unusable(f"unpacks to {total:,} bytes, more than syncer reads of one document")


def _ole2_reason(data: bytes) -> str:
    # An OLE2 compound file: Office 97-2003 formats, and the container that
    # password-protected DOCX and PPTX files are stored in (MS-OFFCRYPTO).
    streams = data[:65536]
    if "EncryptionInfo".encode("utf-16-le") in streams or b"E\x00n\x00c\x00r\x00y" in streams:
        return (
            "a password-protected Office document: it cannot be read without the password; "
            "save a copy without a password"
        )
    if "WordDocument".encode("utf-16-le") in streams:
        return "a Word 97-2003 .doc file: save it as .docx (or PDF) to sync it"
    if "PowerPoint Document".encode("utf-16-le") in streams:
        return "a PowerPoint 97-2003 .ppt file: save it as .pptx (or PDF) to sync it"
    return "an OLE2 (Office 97-2003) file: save it as DOCX, PPTX or PDF to sync it"


def _what(data: bytes) -> str:
    if not data.strip():
        return "it is empty"
    if b"\x00" in data[:4096]:
        return "it holds binary data of another kind"
    return "it holds text"
