"""Long documents split by heading into several External Pages: the sections, the
planner's rules for parts (unchanged, gone, kept on failure, fetched again when one is
missing), and a real sync where a section disappears and leaves Fin."""

from __future__ import annotations

import pytest

from syncer.convert import CONVERTER_VERSION
from syncer.convert.documents.sections import split_document
from syncer.model import Document, Failure, Record
from syncer.parts import lead_version, parent_of, part_key, split_version
from syncer.plan import plan, to_fetch
from tests.conftest import Workspace
from tests.documents import docx_bytes, pdf_bytes
from tests.test_plan import FLAGS, doc, listing, record
from tests.test_sync_intercom import counts, sync_json, writes_by_operation

HTML = (
    "<p>Before any section.</p>"
    '<h1 id="install">Install</h1><p>Unpack it.</p><h2 id="bracket">Bracket</h2><p>Screw.</p>'
    "<hr>"
    '<h1 id="use">Use</h1><p>Switch it on.</p><hr>'
)


def long_document(html: str = HTML, url: str | None = "https://x.test/m.pdf") -> Document:
    return Document(
        key="m.pdf",
        version="v1",
        external_id="m.pdf",
        title="Manual",
        html=html,
        url=url,
        converter_version=CONVERTER_VERSION,
    )


def test_a_document_splits_into_its_lead_and_a_part_per_section() -> None:
    lead, *parts = split_document(long_document(), 1, pages=True)
    assert (lead.key, lead.external_id, lead.title, lead.url) == (
        "m.pdf",
        "m.pdf",
        "Manual",
        "https://x.test/m.pdf",
    )
    assert lead.version == lead_version("v1", 2)
    assert lead.html.startswith("<p>Before any section.</p>")
    assert '<a href="https://x.test/m.pdf#page=2">Use</a>' in lead.html
    assert [(p.key, p.external_id, p.title, p.url, p.version) for p in parts] == [
        ("m.pdf//install", "m.pdf#install", "Manual: Install", "https://x.test/m.pdf#page=1", "v1"),
        ("m.pdf//use", "m.pdf#use", "Manual: Use", "https://x.test/m.pdf#page=2", "v1"),
    ]
    assert "<h2" in parts[0].html  # h2 stays inside its h1's section
    assert "Switch it on." in parts[1].html


def test_splitting_at_h2_and_anchors_of_other_formats() -> None:
    _, *parts = split_document(long_document(), 2)
    assert [p.url for p in parts] == [
        "https://x.test/m.pdf#install",
        "https://x.test/m.pdf#bracket",
        "https://x.test/m.pdf#use",
    ]
    assert split_document(long_document("<p>No headings.</p>"), 1) == (
        long_document("<p>No headings.</p>"),
    )


def test_part_keys_and_versions() -> None:
    assert part_key("a/b.pdf", "intro") == "a/b.pdf//intro"
    assert parent_of("a/b.pdf//intro") == "a/b.pdf"
    assert parent_of("a/b.pdf") is None
    assert split_version(lead_version("12:34@c5-x", 3)) == ("12:34@c5-x", 3)
    assert split_version("12:34@c5-x") == ("12:34@c5-x", None)


def split_records(*parts: str, version: str = "1") -> dict[str, Record]:
    lead = record("m.pdf", version)
    records = {"m.pdf": Record(**{**_fields(lead), "version": lead_version(version, len(parts))})}
    for part in parts:
        key = part_key("m.pdf", part)
        records[key] = record(key, version, external_id=f"m.pdf#{part}")
    return records


def _fields(r: Record) -> dict[str, object]:
    return {name: getattr(r, name) for name in r.__slots__}  # type: ignore[attr-defined]


def part(name: str, version: str = "1", body: str = "x") -> Document:
    return doc(part_key("m.pdf", name), version, body, external_id=f"m.pdf#{name}")


def test_parts_of_a_file_not_read_are_unchanged_and_kept() -> None:
    records = split_records("install", "use")
    files = listing(("m.pdf", "1"))
    assert to_fetch(records, files) == []
    result = plan(records, files, [], FLAGS)
    assert sorted(result.unchanged) == ["m.pdf", "m.pdf//install", "m.pdf//use"]
    assert result.delete == ()


def test_a_section_the_file_no_longer_has_leaves_fin() -> None:
    records = split_records("install", "use")
    files = listing(("m.pdf", "2"))
    assert [s.key for s in to_fetch(records, files)] == ["m.pdf"]
    lead = doc("m.pdf", lead_version("2", 1))
    result = plan(records, files, [lead, part("install", "2")], FLAGS)
    assert [r.key for r in result.delete] == ["m.pdf//use"]
    assert [h.document.key for h in result.refresh] == ["m.pdf", "m.pdf//install"]


def test_parts_stay_when_their_file_fails_and_go_with_their_file() -> None:
    records = split_records("install", "use")
    failed = plan(records, listing(("m.pdf", "2")), [Failure("m.pdf", "damaged")], FLAGS)
    assert failed.delete == ()
    gone = plan(
        records, listing(("other.md", "1")), [doc("other.md")], FLAGS, allow_mass_delete=True
    )
    assert sorted(r.key for r in gone.delete) == ["m.pdf", "m.pdf//install", "m.pdf//use"]
    held = plan(records, listing(("m.pdf", "2"), complete=False), [doc("m.pdf", "2")], FLAGS)
    assert held.delete == ()  # a listing cut short deletes nothing, parts neither


def test_a_file_is_read_again_while_a_part_is_missing_or_behind() -> None:
    records = split_records("install", "use")
    del records["m.pdf//use"]  # its create failed: no record
    assert [s.key for s in to_fetch(records, listing(("m.pdf", "1")))] == ["m.pdf"]
    behind = split_records("install", "use")
    behind["m.pdf//use"] = record("m.pdf//use", "0", external_id="m.pdf#use")  # update failed
    assert [s.key for s in to_fetch(behind, listing(("m.pdf", "1")))] == ["m.pdf"]


@pytest.fixture
def split_workspace(workspace: Workspace) -> Workspace:
    workspace.configure(extra="    documents:\n      split_at: h1\n      split_min_chars: 100\n")
    return workspace


def test_a_split_document_syncs_and_a_vanished_section_leaves_fin(
    split_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    space = split_workspace
    (space.docs / "manual.docx").write_bytes(docx_bytes(sections=3))
    (space.docs / "prices.pdf").write_bytes(pdf_bytes(sections=2))
    first = sync_json(space, capsys)
    assert counts(first)["created"] == 2 + 4 + 2  # two leads, their sections
    pages = {p["external_id"]: p for p in space.fake.pages()}
    assert sorted(pages) == [
        "manual.docx",
        "manual.docx#installing-the-widget",
        "manual.docx#installing-the-widget-part-2",
        "manual.docx#installing-the-widget-part-3",
        "manual.docx#widget-manual",
        "prices.pdf",
        "prices.pdf#installing-the-widget",
        "prices.pdf#installing-the-widget-part-2",
    ]
    section = pages["prices.pdf#installing-the-widget-part-2"]
    assert section["url"] == "https://docs.example.com/prices.pdf#page=2"
    assert section["title"] == "Widget price list: Installing the widget part 2"
    assert "149 EUR" in section["html"]
    assert pages["manual.docx#installing-the-widget"]["url"] == (
        "https://docs.example.com/manual.docx#installing-the-widget"
    )
    mark = len(space.fake.calls)
    assert counts(sync_json(space, capsys))["unchanged"] == 8
    assert writes_by_operation(space, mark) == {}
    (space.docs / "manual.docx").write_bytes(docx_bytes(sections=2))
    third = sync_json(space, capsys)
    assert counts(third)["deleted"] == 1
    assert "manual.docx#installing-the-widget-part-3" not in {
        p["external_id"] for p in space.fake.pages()
    }
    assert len(space.fake.pages()) == 7


def test_preview_shows_a_lead_and_one_section(
    split_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    from syncer.cli import main

    (split_workspace.docs / "prices.pdf").write_bytes(pdf_bytes(sections=2))
    config = str(split_workspace.config)
    assert main(["preview", "-c", config, "docs", "prices.pdf"]) == 0
    lead, err = capsys.readouterr()
    assert "Sections of this document:" in lead
    assert "title: Widget price list\n" in err
    key = "prices.pdf//installing-the-widget-part-2"
    assert main(["preview", "-c", config, "docs", key]) == 0
    section, err = capsys.readouterr()
    assert section.startswith('<h1 id="installing-the-widget-part-2">')
    assert "url:   https://docs.example.com/prices.pdf#page=2" in err
