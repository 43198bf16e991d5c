"""Real office documents for tests and benchmarks, made by the tools that make them.

DOCX by python-docx, PPTX by python-pptx, PDF by reportlab (its Platypus layout: real
fonts, real text layer, real page breaks); an encrypted PDF by reportlab's standard
encryption, a scanned one as a page that holds only a picture (Pillow). Each maker is
cached: a session makes each file once, whatever the number of tests that read it.
Every document holds headings, a list, a table and a link, with words the tests look
for (``MARKERS``).
"""

from __future__ import annotations

import io
import zipfile
from functools import cache

LINK = "https://example.com/warranty"
# Words each generated document holds, by what they stand for.
MARKERS = {
    "heading": "Installing the widget",
    "subheading": "Mounting bracket",
    "list": "Unscrew the lid",
    "table": "Widget Pro",
    "price": "149 EUR",
    "link": "warranty terms",
}


@cache
def docx_bytes(
    title: str = "Widget manual", *, sections: int = 2, core_title: bool = True, words: int = 40
) -> bytes:
    """A Word document: a title heading, ``sections`` H1 sections each with an H2, a
    numbered and a bulleted list, a table and a hyperlink."""
    from docx import Document
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = Document()
    if core_title:
        document.core_properties.title = title
    document.add_heading(title, level=0)
    filler = " ".join(f"word{n}" for n in range(words))
    for n in range(sections):
        suffix = "" if n == 0 else f" part {n + 1}"
        document.add_heading(MARKERS["heading"] + suffix, level=1)
        document.add_paragraph(f"Read this section{suffix} before you start. {filler}")
        document.add_heading(MARKERS["subheading"] + suffix, level=2)
        document.add_paragraph(MARKERS["list"] + suffix, style="List Number")
        document.add_paragraph("Lift the cover", style="List Number")
        document.add_paragraph("Keep the screws", style="List Bullet")
        table = document.add_table(rows=3, cols=2)
        for row, (model, price) in enumerate(
            [("Model", "Price"), (MARKERS["table"], MARKERS["price"]), ("Widget Mini", "89 EUR")]
        ):
            table.cell(row, 0).text = model
            table.cell(row, 1).text = price
        paragraph = document.add_paragraph("See the ")
        relation = paragraph.part.relate_to(LINK, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        link = OxmlElement("w:hyperlink")
        link.set(qn("r:id"), relation)
        run = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = MARKERS["link"]
        run.append(text)
        link.append(run)
        paragraph._p.append(link)
        paragraph.add_run(".")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@cache
def pptx_bytes(title: str = "Widget training", *, slides: int = 3) -> bytes:
    """A deck: a title slide, then bullet slides with speaker notes, a table and a link."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    deck.core_properties.title = title
    first = deck.slides.add_slide(deck.slide_layouts[0])
    first.shapes.title.text = title
    first.placeholders[1].text = "For the support team"
    for n in range(slides - 1):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        suffix = "" if n == 0 else f" part {n + 1}"
        slide.shapes.title.text = MARKERS["heading"] + suffix
        body = slide.placeholders[1].text_frame
        body.text = MARKERS["list"] + suffix
        item = body.add_paragraph()
        item.text = "Lift the cover"
        item.level = 1
        linked = body.add_paragraph()
        run = linked.add_run()
        run.text = MARKERS["link"]
        run.hyperlink.address = LINK
        shape = slide.shapes.add_table(3, 2, Inches(1), Inches(4.5), Inches(6), Inches(1.5))
        for row, (model, price) in enumerate(
            [("Model", "Price"), (MARKERS["table"], MARKERS["price"]), ("Widget Mini", "89 EUR")]
        ):
            shape.table.cell(row, 0).text = model
            shape.table.cell(row, 1).text = price
        slide.notes_slide.notes_text_frame.text = f"Say: {MARKERS['subheading']}{suffix} matters."
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


@cache
def pdf_bytes(
    title: str = "Widget price list",
    *,
    sections: int = 2,
    encrypt: bool = False,
    paragraphs: int = 3,
) -> bytes:
    """A PDF laid out by reportlab: H1 and H2 headings in larger bold type, paragraphs,
    a bulleted list, a table and a link; each section starts on a new page."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import (
        ListFlowable,
        ListItem,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    out = io.BytesIO()
    template = SimpleDocTemplate(
        out, pagesize=A4, title=title, author="Tests", encrypt="secret" if encrypt else None
    )
    story: list[object] = []
    for n in range(sections):
        suffix = "" if n == 0 else f" part {n + 1}"
        if n:
            story.append(PageBreak())
        story.append(Paragraph(MARKERS["heading"] + suffix, styles["Heading1"]))
        for p in range(paragraphs):
            story.append(
                Paragraph(
                    f"Paragraph {p + 1}{suffix}: the widget ships in one box with its bracket, "
                    "four screws and a cable long enough for most rooms; keep the receipt.",
                    styles["BodyText"],
                )
            )
        story.append(Paragraph(MARKERS["subheading"] + suffix, styles["Heading2"]))
        story.append(
            ListFlowable(
                [
                    ListItem(Paragraph(MARKERS["list"] + suffix, styles["BodyText"])),
                    ListItem(Paragraph("Lift the cover", styles["BodyText"])),
                ],
                bulletType="bullet",
            )
        )
        table = Table(
            [["Model", "Price"], [MARKERS["table"], MARKERS["price"]], ["Widget Mini", "89 EUR"]]
        )
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
        story.append(table)
        story.append(
            Paragraph(f'See the <a href="{LINK}">{MARKERS["link"]}</a>.', styles["BodyText"])
        )
    template.build(story)
    return out.getvalue()


@cache
def scanned_pdf_bytes() -> bytes:
    """A PDF page holding only a picture of text: what a scanner makes, no text layer."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    picture = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(picture).text((20, 80), "Scanned invoice 2024", fill="black")
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.drawImage(ImageReader(picture), 50, 500, width=400, height=200)
    page.showPage()
    page.save()
    return out.getvalue()


def corrupt_docx_bytes() -> bytes:
    """A Word document cut short, as a copy that stopped half-way leaves it."""
    data = docx_bytes()
    return data[: len(data) // 2]


def with_part(data: bytes, name: str, content: bytes) -> bytes:
    """``data`` (an OOXML package) with its part ``name`` replaced by ``content``: a
    document whose zip is sound but whose XML is not, as a crashed editor leaves it."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy,
    ):
        for info in source.infolist():
            copy.writestr(info.filename, content if info.filename == name else source.read(info))
    return out.getvalue()


@cache
def untitled_docx_bytes() -> bytes:
    """A Word document with no title in its properties and no heading: one paragraph."""
    from docx import Document

    document = Document()
    document.add_paragraph("Only a paragraph: no heading, no title in the properties.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def plain_zip_bytes() -> bytes:
    """A zip archive of two text files: what a ``.zip`` renamed ``.docx`` holds."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "Not a Word document.")
        archive.writestr("data/list.csv", "a,b\n1,2\n")
    return out.getvalue()
