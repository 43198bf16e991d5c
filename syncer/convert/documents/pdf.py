"""A PDF's text layer to HTML with pypdfium2 (PDFium, the engine of Chrome's viewer).

PDF has no paragraphs or headings, only glyphs at positions; this reads them back from
the layout, where the layout allows. Per page, PDFium's text (in reading order, a line
per ``\\r\\n``) is split into lines; each line gets its type size and position (its first
glyph's), and its text rectangles (PDFium's runs of glyphs). Then, over the document:

- the body size is the size most of the text is set in; a short line set clearly larger
  (``HEADING_RATIO``) is a heading, its level the rank of its size (largest: ``h1``;
  at most three levels);
- lines of the body size follow one another within a paragraph when the gap between
  them is under ``PARAGRAPH_GAP`` of their size; a wider gap starts a paragraph;
- a line that opens with a bullet or a number (``1.``, ``a)``) is a list item;
- consecutive lines made of two or more runs set far apart (more than ``CELL_GAP``
  sizes) are the rows of a table, each run a cell;
- a link annotation over a run makes it a link (``http``/``mailto`` only);
- each page ends with ``<hr>``: the page breaks stay visible, and a section of a split
  document knows its page (``#page=N``, which browsers' PDF viewers open at).

A PDF that needs a password is ``Unusable``; so is one with no text at all ("scanned
PDF, needs OCR"); one PDFium cannot open is ``Unreadable``. PDFium is not thread-safe:
every use holds ``_PDFIUM``.
"""

from __future__ import annotations

import ctypes
import html
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from syncer.convert.documents.detect import Unreadable, Unusable
from syncer.convert.documents.extracted import Extracted, Limits, heading_ids

# PDFium keeps global state and is not thread-safe (pypdfium2's documentation says so):
# two sources converting at once in the daemon must take turns.
_PDFIUM = threading.Lock()
HEADING_RATIO = 1.15
HEADING_MAX_CHARS = 160
PARAGRAPH_GAP = 0.9
CELL_GAP = 1.0
_BULLET = re.compile(r"^(?:[•◦▪‣●○■□–\-*·]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+")
_ORDERED = re.compile(r"^\(?(?:\d{1,3}|[a-z])[.)]\s+")
_LINK_SCHEMES = ("http://", "https://", "mailto:")


@dataclass
class _Line:
    text: str
    size: float
    top: float
    bottom: float
    page: int
    cells: list[str] = field(default_factory=list)
    html: str = ""


def pdf_to_html(data: bytes, limits: Limits) -> Extracted:
    """The HTML of the PDF ``data`` (its first ``limits.max_pages`` pages)."""
    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as error:
            if "password" in str(error).lower():
                raise Unusable(
                    "encrypted PDF: it cannot be opened without its password; save a copy "
                    "without a password to sync it"
                ) from None
            raise Unreadable(f"damaged PDF, PDFium cannot open it ({error})") from None
        try:
            pages = len(document)
            title = _metadata_title(document)
            read = min(pages, limits.max_pages)
            lines: list[_Line] = []
            for number in range(read):
                page = document[number]
                try:
                    lines.extend(_page_lines(page, number + 1))
                finally:
                    page.close()
        finally:
            document.close()
    notes: list[str] = []
    if pages > read:
        notes.append(
            f"only the first {read} of {pages} pages converted (documents.max_pages); "
            "raise it to send the rest"
        )
    if not any(line.text.strip() for line in lines):
        raise Unusable(f"scanned PDF, needs OCR: {_pages(pages)} no text layer, only images")
    empty = read - len({line.page for line in lines})
    if empty:
        notes.append(f"{empty} of {read} pages have no text layer (scanned?): left out")
    return Extracted(kind="pdf", html=_layout(lines, read), title=title, notes=tuple(notes))


def _pages(count: int) -> str:
    return "its one page has" if count == 1 else f"its {count} pages have"


def _metadata_title(document: pdfium.PdfDocument) -> str | None:
    try:
        value = document.get_metadata_value("Title")
    except (pdfium.PdfiumError, KeyError, ValueError):
        return None
    text = " ".join(str(value or "").split())
    # Generators write placeholders where the author left the title empty.
    if not text or text.lower() in ("untitled", "(unspecified)", "(anonymous)"):
        return None
    return text


def _page_lines(page: pdfium.PdfPage, number: int) -> list[_Line]:
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        links = _links(page)
        lines: list[_Line] = []
        index = 0
        for raw in re.split(r"\r\n|\n|\r", text):
            start = index
            index += len(raw) + (
                2 if text[index + len(raw) : index + len(raw) + 2] == "\r\n" else 1
            )
            stripped = raw.strip()
            if not stripped:
                continue
            first = start + (len(raw) - len(raw.lstrip()))
            # A bullet is often set in a font of its own: measure the words after it.
            bullet = _BULLET.match(stripped)
            sample = first + (bullet.end() if bullet and bullet.end() < len(stripped) else 0)
            line = _measure(textpage, first, sample, len(stripped), stripped, number, links)
            if line is not None:
                lines.append(line)
        return lines
    finally:
        textpage.close()


def _measure(
    textpage: pdfium.PdfTextPage,
    first: int,
    sample: int,
    count: int,
    text: str,
    number: int,
    links: list[tuple[tuple[float, float, float, float], str]],
) -> _Line | None:
    size = float(pdfium_c.FPDFText_GetFontSize(textpage, sample))
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    if not pdfium_c.FPDFText_GetCharBox(textpage, sample, left, right, bottom, top):
        return _Line(text, size, 0.0, 0.0, number, html=html.escape(text, quote=False))
    line = _Line(text, size, top.value, bottom.value, number)
    rects = [textpage.get_rect(i) for i in range(textpage.count_rects(first, count))]
    runs: list[tuple[tuple[float, float, float, float], str]] = []
    for rect in rects:
        piece = " ".join(textpage.get_text_bounded(*rect).split())
        if piece:
            runs.append((rect, piece))
    gap = CELL_GAP * max(size, 1.0)
    cells: list[list[str]] = []
    last_right: float | None = None
    for rect, piece in runs:
        if last_right is None or rect[0] - last_right > gap:
            cells.append([])
        cells[-1].append(_linked(piece, rect, links))
        last_right = rect[2]
    if len(cells) >= 2:
        line.cells = [" ".join(cell) for cell in cells]
    # The line's own text has the right spaces; only the runs under a link change.
    line.html = html.escape(text, quote=False)
    for rect, piece in runs:
        linked = _linked(piece, rect, links)
        if linked.startswith("<a "):
            line.html = line.html.replace(html.escape(piece, quote=False), linked, 1)
    return line


def _links(page: pdfium.PdfPage) -> list[tuple[tuple[float, float, float, float], str]]:
    """The page's URI link annotations: (rectangle, URI)."""
    found: list[tuple[tuple[float, float, float, float], str]] = []
    position = ctypes.c_int(0)
    link = pdfium_c.FPDF_LINK()
    while pdfium_c.FPDFLink_Enumerate(page.raw, position, link):
        action = pdfium_c.FPDFLink_GetAction(link)
        if not action or pdfium_c.FPDFAction_GetType(action) != pdfium_c.PDFACTION_URI:
            continue
        size = pdfium_c.FPDFAction_GetURIPath(page.pdf.raw, action, None, 0)
        if size <= 1:
            continue
        buffer = ctypes.create_string_buffer(size)
        pdfium_c.FPDFAction_GetURIPath(page.pdf.raw, action, buffer, size)
        uri = buffer.value.decode("utf-8", "replace").strip()
        rect = pdfium_c.FS_RECTF()
        if uri.lower().startswith(_LINK_SCHEMES) and pdfium_c.FPDFLink_GetAnnotRect(link, rect):
            found.append(((rect.left, rect.bottom, rect.right, rect.top), uri))
    return found


def _linked(
    piece: str,
    rect: tuple[float, float, float, float],
    links: list[tuple[tuple[float, float, float, float], str]],
) -> str:
    left, bottom, right, top = rect
    middle_x, middle_y = (left + right) / 2, (bottom + top) / 2
    for (x0, y0, x1, y1), uri in links:
        if min(x0, x1) <= middle_x <= max(x0, x1) and min(y0, y1) <= middle_y <= max(y0, y1):
            href = html.escape(uri, quote=True)
            return f'<a href="{href}">{html.escape(piece, quote=False)}</a>'
    return html.escape(piece, quote=False)


# ---- from lines to blocks ----------------------------------------------------------------


def _layout(lines: list[_Line], pages: int) -> str:
    body = _body_size(lines)
    levels = _heading_levels(lines, body)
    ids = heading_ids()
    out: list[str] = []
    block: list[_Line] = []  # the paragraph or list item being gathered
    kind = ""  # "p" | "li"
    list_tag = ""
    table: list[_Line] = []

    def flush_block() -> None:
        nonlocal block, kind
        if block:
            content = " ".join(line.html for line in block)
            if kind == "li":
                content = _BULLET.sub("", content, count=1)
            out.append(f"<{kind}>{content}</{kind}>")
        block, kind = [], ""

    def close_list() -> None:
        nonlocal list_tag
        flush_block()
        if list_tag:
            out.append(f"</{list_tag}>")
            list_tag = ""

    def flush_table() -> None:
        nonlocal table
        if table:
            rows = "".join(
                "<tr>" + "".join(f"<td>{cell}</td>" for cell in line.cells) + "</tr>"
                for line in table
            )
            out.append(f"<table><tbody>{rows}</tbody></table>")
        table = []

    page = 1
    previous: _Line | None = None
    for line in lines:
        while line.page > page:
            flush_table()
            close_list()
            out.append("<hr>")
            page += 1
            previous = None
        level = levels.get(_size_key(line.size)) if len(line.text) <= HEADING_MAX_CHARS else None
        if level is not None and not line.cells:
            flush_table()
            close_list()
            anchor = ids(line.text)
            out.append(f'<h{level} id="{anchor}">{line.html}</h{level}>')
            previous = line
            continue
        bullet = _BULLET.match(line.text)
        if (
            not bullet
            and len(line.cells) >= 2
            and (not table or abs(len(table[-1].cells) - len(line.cells)) <= 1)
        ):
            close_list()
            table.append(line)
            previous = line
            continue
        flush_table()
        near = previous is not None and _near(previous, line)
        if bullet:
            tag = "ol" if _ORDERED.match(line.text) else "ul"
            flush_block()
            if list_tag != tag:
                close_list()
                out.append(f"<{tag}>")
                list_tag = tag
            block, kind = [line], "li"
        elif kind and near and abs(line.size - block[-1].size) < 0.6:
            block.append(line)  # the paragraph (or list item) goes on
        else:
            close_list()
            block, kind = [line], "p"
        previous = line
    flush_table()
    close_list()
    out.append("<hr>")
    return "\n".join(out)


def _near(above: _Line, below: _Line) -> bool:
    if above.bottom == above.top == 0.0 or below.bottom == below.top == 0.0:
        return True
    gap = above.bottom - below.top
    return gap < PARAGRAPH_GAP * max(below.size, 1.0)


def _size_key(size: float) -> float:
    return round(size * 2) / 2


def _body_size(lines: list[_Line]) -> float:
    weights: Counter[float] = Counter()
    for line in lines:
        weights[_size_key(line.size)] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 0.0


def _heading_levels(lines: list[_Line], body: float) -> dict[float, int]:
    """Type sizes set clearly above the body's, largest first: h1, h2, h3."""
    sizes = sorted(
        {
            _size_key(line.size)
            for line in lines
            if body and line.size >= body * HEADING_RATIO and len(line.text) <= HEADING_MAX_CHARS
        },
        reverse=True,
    )
    return {size: min(rank + 1, 3) for rank, size in enumerate(sizes)}
