"""A PowerPoint deck (PPTX) to HTML with python-pptx: a section per slide.

Each slide becomes an ``<h2>`` of its title ("Slide 4" when it has none), then its
shapes in reading order (top to bottom, then left to right): text frames as paragraphs,
or as a list when they are a body placeholder or their paragraphs are indented; tables
as tables; groups opened; hyperlinks kept. The speaker notes follow, marked as notes:
what a presenter says is often the knowledge. Pictures, charts and media are left out.
The title is the deck's core property, else its first slide's title. At most
``max_pages`` slides are converted; the run reports the rest.
"""

from __future__ import annotations

import html
import io
import zipfile
from collections.abc import Iterable
from typing import Any

from pptx import Presentation
from pptx.exc import PackageNotFoundError
from pptx.util import Emu

from syncer.convert.documents.detect import Unreadable, check_unpacked
from syncer.convert.documents.docx import core_title
from syncer.convert.documents.extracted import Extracted, Limits, heading_ids

_LINK_SCHEMES = ("http://", "https://", "mailto:")


def pptx_to_html(data: bytes, limits: Limits) -> Extracted:
    """The HTML of the deck ``data``: one ``<h2>`` section per slide."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_unpacked(archive)
            title = core_title(archive)
        deck = Presentation(io.BytesIO(data))
        slides = list(deck.slides)
        ids = heading_ids()
        out: list[str] = []
        first_title: str | None = None
        for number, slide in enumerate(slides[: limits.max_pages], start=1):
            heading = _slide_title(slide)
            first_title = first_title or heading
            text = heading or f"Slide {number}"
            out.append(f'<h2 id="{ids(text)}">{html.escape(text, quote=False)}</h2>')
            out.extend(_shapes(_reading_order(slide.shapes), skip=_title_shape(slide)))
            notes = _notes(slide)
            if notes:
                out.append("<p><strong>Speaker notes:</strong></p>")
                out.extend(notes)
    except Unreadable:
        raise
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, OSError) as error:
        raise Unreadable(f"damaged PowerPoint deck, python-pptx cannot read it ({error})") from None
    except Exception as error:  # lxml and python-pptx errors share no base class
        raise Unreadable(
            f"damaged PowerPoint deck, python-pptx cannot read it ({type(error).__name__}: {error})"
        ) from None
    notes_out: tuple[str, ...] = ()
    if len(slides) > limits.max_pages:
        notes_out = (
            f"only the first {limits.max_pages} of {len(slides)} slides converted "
            "(documents.max_pages); raise it to send the rest",
        )
    return Extracted(kind="pptx", html="\n".join(out), title=title or first_title, notes=notes_out)


def _title_shape(slide: Any) -> Any:
    try:
        return slide.shapes.title
    except (KeyError, AttributeError):
        return None


def _slide_title(slide: Any) -> str | None:
    shape = _title_shape(slide)
    if shape is None or not shape.has_text_frame:
        return None
    text = " ".join(shape.text_frame.text.split())
    return text or None


def _reading_order(shapes: Iterable[Any]) -> list[Any]:
    def position(shape: Any) -> tuple[int, int]:
        return (int(shape.top or Emu(0)), int(shape.left or Emu(0)))

    return sorted(shapes, key=position)


def _shapes(shapes: Iterable[Any], *, skip: Any = None) -> list[str]:
    out: list[str] = []
    for shape in shapes:
        if skip is not None and shape.shape_id == getattr(skip, "shape_id", None):
            continue
        if shape.shape_type is not None and int(shape.shape_type) == 6:  # a group
            out.extend(_shapes(_reading_order(shape.shapes)))
        elif getattr(shape, "has_table", False) and shape.has_table:
            out.append(_table(shape.table))
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            out.extend(_text_frame(shape.text_frame, bulleted=_is_body(shape)))
    return out


def _is_body(shape: Any) -> bool:
    if not shape.is_placeholder:
        return False
    try:
        kind = int(shape.placeholder_format.type)
    except (ValueError, AttributeError):
        return False
    return kind in (2, 7)  # BODY, OBJECT: the bullets of a "Title and Content" slide


def _text_frame(frame: Any, *, bulleted: bool) -> list[str]:
    items = [(paragraph.level, _runs(paragraph)) for paragraph in frame.paragraphs]
    items = [(level, text) for level, text in items if text.strip()]
    if not items:
        return []
    if not bulleted and all(level == 0 for level, _ in items):
        return [f"<p>{text}</p>" for _, text in items]
    return [_nested_list(items)]


def _nested_list(items: list[tuple[int, str]]) -> str:
    """Paragraphs with outline levels as one list, a deeper level nested in its item."""
    out: list[str] = ["<ul>"]
    depth = 1
    for level, text in items:
        wanted = max(level, 0) + 1
        while depth < wanted:
            if out[-1] == "</li>":
                out.pop()  # the nested list goes inside the item before it
            else:
                out.append("<li>")
            out.append("<ul>")
            depth += 1
        while depth > wanted:
            out.append("</ul></li>")
            depth -= 1
        out.extend((f"<li>{text}", "</li>"))
    while depth > 1:
        out.append("</ul></li>")
        depth -= 1
    out.append("</ul>")
    return "".join(out)


def _runs(paragraph: Any) -> str:
    parts: list[str] = []
    for run in paragraph.runs:
        text = html.escape(run.text, quote=False)
        address = run.hyperlink.address if run.hyperlink is not None else None
        if address and str(address).lower().startswith(_LINK_SCHEMES):
            text = f'<a href="{html.escape(str(address), quote=True)}">{text}</a>'
        parts.append(text)
    return "".join(parts)


def _table(table: Any) -> str:
    rows = []
    for row in table.rows:
        cells = "".join(
            f"<td>{html.escape(' '.join(cell.text.split()), quote=False)}</td>"
            for cell in row.cells
        )
        rows.append(f"<tr>{cells}</tr>")
    return "<table><tbody>" + "".join(rows) + "</tbody></table>"


def _notes(slide: Any) -> list[str]:
    if not slide.has_notes_slide:
        return []
    frame = slide.notes_slide.notes_text_frame
    if frame is None:
        return []
    return _text_frame(frame, bulleted=False)
