"""The document converters on real files made by python-docx, python-pptx and reportlab:
what reaches the normaliser, titles, caps, and every way a file is refused."""

from __future__ import annotations

import io
import zipfile

import pytest
from bs4 import BeautifulSoup

from syncer.convert.documents import Limits, Unreadable, Unusable, extract, sniff
from syncer.convert.html import normalise
from tests.documents import (
    LINK,
    MARKERS,
    corrupt_docx_bytes,
    docx_bytes,
    pdf_bytes,
    plain_zip_bytes,
    pptx_bytes,
    scanned_pdf_bytes,
    untitled_docx_bytes,
    with_part,
)

DEFAULT = Limits()


def converted(path: str, data: bytes, limits: Limits = DEFAULT) -> tuple[BeautifulSoup, str]:
    kind = sniff(path, data)
    assert kind is not None
    extracted = extract(kind, data, limits)
    html = normalise(extracted.html, base_url=None)
    return BeautifulSoup(html, "html.parser"), extracted.title or ""


def texts(soup: BeautifulSoup, tag: str) -> list[str]:
    return [" ".join(node.get_text().split()) for node in soup.find_all(tag)]


def cells(soup: BeautifulSoup) -> list[list[str]]:
    return [texts(row, "td") for row in soup.find_all("tr")]


def test_docx_keeps_headings_lists_tables_links_and_its_title() -> None:
    soup, title = converted("manual.docx", docx_bytes())
    assert title == "Widget manual"
    assert texts(soup, "h1")[:2] == ["Widget manual", MARKERS["heading"]]
    assert MARKERS["subheading"] in texts(soup, "h2")
    assert soup.find("h2")["id"] == "mounting-bracket"  # type: ignore[index]
    assert texts(soup.find("ol"), "li") == [MARKERS["list"], "Lift the cover"]  # type: ignore[arg-type]
    assert texts(soup.find("ul"), "li") == ["Keep the screws"]  # type: ignore[arg-type]
    assert cells(soup)[:2] == [["Model", "Price"], [MARKERS["table"], MARKERS["price"]]]
    link = soup.find("a")
    assert link is not None
    assert (link.get_text(), link["href"]) == (MARKERS["link"], LINK)


def test_docx_without_properties_has_no_title_of_its_own() -> None:
    _, title = converted("manual.docx", docx_bytes("Plain", core_title=False))
    assert title == ""


def test_pptx_gives_a_section_per_slide_with_its_table_links_and_notes() -> None:
    soup, title = converted("training.pptx", pptx_bytes())
    assert title == "Widget training"
    heading = MARKERS["heading"]
    assert texts(soup, "h2") == ["Widget training", heading, heading + " part 2"]
    items = texts(soup, "li")
    assert items[0].startswith(MARKERS["list"])
    assert "Lift the cover" in items  # a level-1 bullet, nested in its item
    assert soup.select("li > ul > li")
    assert [MARKERS["table"], MARKERS["price"]] in cells(soup)
    link = soup.find("a")
    assert link is not None
    assert (link.get_text(), link["href"]) == (MARKERS["link"], LINK)
    assert f"Say: {MARKERS['subheading']} matters." in soup.get_text()
    assert "Speaker notes" in soup.get_text()


def test_pdf_reads_headings_paragraphs_lists_tables_links_and_page_breaks() -> None:
    soup, title = converted("prices.pdf", pdf_bytes())
    assert title == "Widget price list"
    assert texts(soup, "h1") == [MARKERS["heading"], MARKERS["heading"] + " part 2"]
    assert texts(soup, "h2") == [MARKERS["subheading"], MARKERS["subheading"] + " part 2"]
    paragraphs = texts(soup, "p")
    assert paragraphs[0].startswith("Paragraph 1: the widget ships")
    assert paragraphs[0].endswith("keep the receipt.")  # two lines, one paragraph
    assert texts(soup.find("ul"), "li") == [MARKERS["list"], "Lift the cover"]  # type: ignore[arg-type]
    assert cells(soup)[:3] == [
        ["Model", "Price"],
        [MARKERS["table"], MARKERS["price"]],
        ["Widget Mini", "89 EUR"],
    ]
    link = soup.find("a")
    assert link is not None
    assert (link.get_text(), link["href"]) == (MARKERS["link"], LINK)
    assert len(soup.find_all("hr")) == 2  # a page break after each of the two pages


def test_the_page_cap_converts_the_first_pages_and_says_so() -> None:
    data = pdf_bytes(sections=3)
    extracted = extract("pdf", data, Limits(max_pages=2))
    assert "part 3" not in extracted.html
    assert "part 2" in extracted.html
    assert extracted.notes == (
        "only the first 2 of 3 pages converted (documents.max_pages); raise it to send the rest",
    )
    deck = extract("pptx", pptx_bytes(), Limits(max_pages=1))
    assert deck.notes[0].startswith("only the first 1 of 3 slides converted")


def test_format_comes_from_the_bytes_not_the_name() -> None:
    assert sniff("notes.txt", pdf_bytes()) == "pdf"
    assert sniff("report.bin", docx_bytes()) == "docx"
    assert sniff("deck", pptx_bytes()) == "pptx"
    assert sniff("readme.md", b"# Hello\n") is None


def reason(path: str, data: bytes, limits: Limits = DEFAULT) -> tuple[str, str]:
    """What refuses ``data``: the exception's class name and its message."""
    try:
        kind = sniff(path, data)
        assert kind is not None
        extract(kind, data, limits)
    except (Unusable, Unreadable) as error:
        return type(error).__name__, str(error)
    raise AssertionError(f"{path} was converted")


def test_an_encrypted_pdf_is_refused_for_its_password() -> None:
    assert reason("secret.pdf", pdf_bytes(encrypt=True)) == (
        "Unusable",
        "encrypted PDF: it cannot be opened without its password; save a copy without a "
        "password to sync it",
    )


def test_a_scanned_pdf_needs_ocr() -> None:
    assert reason("scan.pdf", scanned_pdf_bytes()) == (
        "Unusable",
        "scanned PDF, needs OCR: its one page has no text layer, only images",
    )


def test_a_corrupt_docx_cannot_be_read() -> None:
    kind, message = reason("cut.docx", corrupt_docx_bytes())
    assert kind == "Unreadable"
    assert message.startswith("damaged or cut-short zip, not a readable document")


def test_a_docx_with_damaged_xml_cannot_be_read_by_mammoth() -> None:
    # The zip is sound, so the format is known; the document part is cut mid-element.
    broken = with_part(docx_bytes(), "word/document.xml", b"<w:document><w:body><w:p>")
    assert sniff("broken.docx", broken) == "docx"
    kind, message = reason("broken.docx", broken)
    assert kind == "Unreadable"
    assert message.startswith("damaged Word document, mammoth cannot read it (ExpatError: ")


def test_a_pptx_with_a_damaged_slide_and_a_cut_short_pdf_cannot_be_read() -> None:
    broken = with_part(pptx_bytes(), "ppt/slides/slide2.xml", b"<p:sld")
    kind, message = reason("broken.pptx", broken)
    assert kind == "Unreadable"
    assert message.startswith("damaged PowerPoint deck, python-pptx cannot read it")
    data = pdf_bytes()
    kind, message = reason("cut.pdf", data[: len(data) // 2])
    assert kind == "Unreadable"
    assert message.startswith("damaged PDF, PDFium cannot open it")


def test_the_title_is_the_properties_else_the_first_heading_else_the_file_name() -> None:
    from syncer.convert.documents.files import convert_document
    from syncer.convert.documents.settings import DocumentSettings
    from syncer.model import Document

    def title(path: str, data: bytes) -> str:
        made = convert_document(path, "v1", data, url=None, settings=DocumentSettings())
        assert isinstance(made, Document)
        return made.title

    assert title("a/manual.docx", docx_bytes()) == "Widget manual"  # dc:title
    assert title("a/prices.pdf", pdf_bytes()) == "Widget price list"  # the PDF's Title
    assert title("a/manual.docx", docx_bytes("Plain", core_title=False)) == "Plain"
    assert title("a/prices.pdf", pdf_bytes("")) == MARKERS["heading"]  # no Title: its h1
    assert title("notes/release-notes_2024.docx", untitled_docx_bytes()) == "Release notes 2024"


def test_a_zip_renamed_docx_is_not_a_word_document() -> None:
    assert reason("archive.docx", plain_zip_bytes()) == (
        "Unusable",
        "a zip archive, not an Office document (it has no [Content_Types].xml); exclude it, "
        "or unpack it into the source",
    )


def test_text_named_pdf_and_damaged_pdf() -> None:
    assert reason("fake.pdf", b"just words\n") == (
        "Unusable",
        "named .pdf but it is not a PDF (it holds text); rename it or exclude it",
    )
    kind, message = reason("broken.pdf", b"%PDF-1.7\n" + b"garbage " * 50)
    assert kind == "Unreadable"
    assert message.startswith("damaged PDF, PDFium cannot open it")


def test_spreadsheets_old_formats_and_protected_office_files_are_named() -> None:
    import xlsxwriter  # what python-pptx itself installs, to make charts

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    book.add_worksheet().write(0, 0, "price")
    book.close()
    assert reason("prices.docx", out.getvalue())[1].startswith("an Excel spreadsheet")
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    protected = ole2 + "EncryptionInfo".encode("utf-16-le")
    assert reason("locked.docx", protected)[1].startswith("a password-protected Office document")
    legacy = ole2 + "WordDocument".encode("utf-16-le")
    assert reason("old.doc", legacy)[1].startswith("a Word 97-2003 .doc file")


def test_a_zip_bomb_is_not_unpacked() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\x00" * 20_000_000)
    kind, message = reason("bomb.docx", out.getvalue())
    assert kind == "Unusable"
    assert message.startswith("word/document.xml would unpack 20,000,000 bytes from")


@pytest.mark.parametrize("maker", [docx_bytes, pptx_bytes, pdf_bytes])
def test_the_same_file_always_converts_to_the_same_html(maker: object) -> None:
    data = maker()  # type: ignore[operator]
    kind = sniff("x", data)
    assert kind is not None
    assert extract(kind, data, Limits()) == extract(kind, data, Limits())
