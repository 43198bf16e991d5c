"""What Fin reads from Confluence, over the whole shared corpus: every panel (info, note,
tip, warning, ``panel``, Cloud ADF panels) is one callout block that says its kind and
title and holds its whole body, and none of a panel's text is left outside its block.

The expectation comes from the storage itself, read with a different parser (bs4's
``html.parser``) than the converter's lxml, so the two do not share a mistake; the
output is scanned with ``tests.fidelity``. Also here: task dates apart from their text,
and mentions shown by the name the page holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString

from syncer.connectors.confluence.convert import PageRef, UserRef, convert_page
from syncer.connectors.confluence.resolve import SiteResolver
from syncer.connectors.confluence.site import Site
from syncer.convert.callouts import kind_label
from tests import fidelity

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "confluence"
SITE = Site("https://acme.atlassian.net/wiki")
PAGE = PageRef("1001", "DOC", "This page", SITE.document_url("1001", "DOC", "This page"))

PANEL_MACROS = {"info": "info", "note": "note", "tip": "tip", "warning": "warning"}
PANEL_MACROS["panel"] = "panel"
ADF_PANELS = {"info", "note", "tip", "warning", "error", "success"}
# Text a reader never sees: macro settings, editor hints, task bookkeeping.
UNSEEN = {"ac:parameter", "ac:placeholder", "ac:task-id", "ac:task-uuid", "ac:task-status"}


@dataclass(frozen=True)
class Panel:
    """A panel as the storage holds it: kind, title parameter and body text chunks."""

    kind: str
    title: str
    chunks: tuple[str, ...]


def corpus_files() -> list[Path]:
    files = sorted(CORPUS.glob("[0-9][0-9][0-9]-*.xml"))
    if not files:
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    return files


def storage_tree(storage: str) -> BeautifulSoup:
    return BeautifulSoup(storage, "html.parser")


def _macro_name(tag: Tag) -> str:
    return str(tag.get("ac:name") or "").strip().lower()


def _panel_kind(tag: Tag) -> str | None:
    if tag.name in ("ac:structured-macro", "ac:macro"):
        return PANEL_MACROS.get(_macro_name(tag))
    if tag.name == "ac:adf-node" and tag.get("type") == "panel":
        for attribute in tag.find_all("ac:adf-attribute", recursive=False):
            if attribute.get("key") == "panel-type":
                value = attribute.get_text().strip()
                return value if value in ADF_PANELS else "panel"
        return "panel"
    return None


def _body(tag: Tag) -> Tag | None:
    name = "ac:rich-text-body" if tag.name != "ac:adf-node" else "ac:adf-content"
    found = tag.find(name, recursive=False)
    return found if isinstance(found, Tag) else None


def _chunks(body: Tag) -> tuple[str, ...]:
    found = []
    for text in body.find_all(string=True):
        if not isinstance(text, NavigableString):
            continue
        if any(parent.name in UNSEEN for parent in text.parents):
            continue
        chunk = fidelity.words(str(text))
        if any(char.isalnum() for char in chunk):
            found.append(chunk)
    return tuple(found)


def panels(storage: str) -> list[Panel]:
    """Every panel of a storage body, outer before inner, in document order."""
    found = []
    for tag in storage_tree(storage).find_all(True):
        kind = _panel_kind(tag)
        if kind is None:
            continue
        title = ""
        for parameter in tag.find_all("ac:parameter", recursive=False):
            if str(parameter.get("ac:name") or "").lower() == "title":
                title = fidelity.words(parameter.get_text())
        body = _body(tag)
        found.append(Panel(kind, title, _chunks(body) if body is not None else ()))
    return found


def text_outside_panels(storage: str) -> str:
    """The storage's text with its panels (and the fallback HTML Cloud keeps for an ADF
    node the converter reads) taken out: what may rightly appear outside callouts."""
    tree = storage_tree(storage)
    for extension in tree.find_all("ac:adf-extension"):
        node = extension.find("ac:adf-node", recursive=False)
        fallback = extension.find("ac:adf-fallback", recursive=False)
        if isinstance(node, Tag) and isinstance(fallback, Tag) and _panel_kind(node):
            fallback.extract()
    for tag in tree.find_all(True):
        if _panel_kind(tag) is not None and tag.parent is not None:
            tag.extract()
    return fidelity.words(tree.get_text(" "))


def converted(storage: str) -> str:
    return convert_page(storage, PAGE, SiteResolver(SITE)).html


# ---- the whole corpus ---------------------------------------------------------------


def test_the_corpus_has_the_panels_its_manifest_names() -> None:
    kinds: dict[str, int] = {}
    for path in corpus_files():
        for panel in panels(path.read_text(encoding="utf-8")):
            kinds[panel.kind] = kinds.get(panel.kind, 0) + 1
    # MANIFEST.md: info in 14 files, tip 10, note 6, warning 5, panel 3; ADF panels in 2.
    assert kinds == {
        "info": 17,
        "tip": 16,
        "note": 9,
        "warning": 5,
        "panel": 21,
        "error": 1,
    }


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name[:3])
def test_every_panel_is_one_labelled_callout_holding_its_body(path: Path) -> None:
    storage = path.read_text(encoding="utf-8")
    expected = panels(storage)
    html = converted(storage)
    found = fidelity.callouts(html)
    assert fidelity.shape_problems(html) == []
    assert [c.kind for c in found] == [p.kind for p in expected]
    for panel, callout in zip(expected, found, strict=True):
        word = kind_label(panel.kind)
        assert callout.label.startswith(word), callout.label
        if panel.title:
            assert callout.label == f"{word}: {panel.title}"
        missing = [chunk for chunk in panel.chunks if chunk not in callout.body]
        assert not missing, f"{callout.label}: body text not in its block: {missing[:3]}"
    loose = fidelity.loose_texts(
        html,
        [chunk for panel in expected for chunk in panel.chunks],
        also_outside=text_outside_panels(storage),
    )
    assert loose == [], f"panel text left outside its block: {loose[:3]}"


def test_the_scan_sees_a_bold_label_with_loose_paragraphs_as_no_callout() -> None:
    # The shape panels had before: the scan must not take it for a callout.
    old = "<p><strong>Warning</strong></p>\n<p>Only once.</p>\n<p>After.</p>"
    assert fidelity.callouts(old) == []
    assert fidelity.loose_texts(old, ["Only once."]) == ["Only once."]


def test_cloud_panels_with_a_title_and_nested_panels() -> None:
    storage = (
        '<ac:structured-macro ac:name="panel"><ac:parameter ac:name="title">Before you '
        "start</ac:parameter><ac:rich-text-body><p>Outer.</p><ac:structured-macro ac:name="
        '"warning"><ac:parameter ac:name="title">Careful</ac:parameter><ac:rich-text-body>'
        "<p>Inner.</p></ac:rich-text-body></ac:structured-macro></ac:rich-text-body>"
        "</ac:structured-macro><p>After.</p>"
    )
    html = converted(storage)
    outer, inner = fidelity.callouts(html)
    assert (outer.kind, outer.label) == ("panel", "Panel: Before you start")
    assert (inner.kind, inner.label) == ("warning", "Warning: Careful")
    assert outer.body == "Outer. Warning: Careful Inner."
    assert inner.element in outer.element.descendants
    assert fidelity.text_outside(html) == "After."


# ---- tasks, dates, mentions ----------------------------------------------------------


def test_a_task_date_typed_against_its_text_is_the_due_date_apart_from_it() -> None:
    soup = BeautifulSoup(
        converted(
            (CORPUS / "027-hallowelt-table-mentions-dates-tasks.xml").read_text(encoding="utf-8")
        ),
        "html.parser",
    )
    tasks = [fidelity.words(li.get_text(" ")) for li in soup.find_all("li")]
    assert any(t.endswith("non proident (due 2023-01-18)") for t in tasks), tasks
    assert "Excepteur sint ab 2023-12-04" in tasks  # a date set off by a space, outside a task
    assert not any("proident2023" in t for t in tasks)

    html = converted(
        "<ac:task-list><ac:task><ac:task-status>incomplete</ac:task-status><ac:task-body>"
        'Ship it<time datetime="2024-05-01"/></ac:task-body></ac:task></ac:task-list>'
        '<p>Released on<time datetime="2024-05-02"/>, then <time datetime="2024-05-03"/>'
        'and <strong>bold</strong><time datetime="2024-05-04"/>.</p>'
    )
    soup = BeautifulSoup(html, "html.parser")
    assert [li.get_text() for li in soup.find_all("li")] == ["[ ] Ship it (due 2024-05-01)"]
    assert fidelity.words(soup.p.get_text() if soup.p else "") == (
        "Released on 2024-05-02, then 2024-05-03 and bold 2024-05-04."
    )


def test_a_mention_shows_the_name_the_page_holds_before_any_lookup() -> None:
    asked: list[UserRef] = []

    def find_users(refs: list[UserRef]) -> dict[UserRef, str]:
        asked.extend(refs)
        return {}

    storage = (
        '<p><ac:link><ri:user ri:userkey="k1"/><ac:plain-text-link-body><![CDATA[Dana Dee]]>'
        '</ac:plain-text-link-body></ac:link>, <ac:link><ri:user ri:userkey="k2"/>'
        "<ac:link-body><em>Eve</em></ac:link-body></ac:link>, "
        '<ac:link><ri:user ri:userkey="k3" ri:username="frank"/></ac:link> and '
        '<ac:link><ri:user ri:userkey="k4"/></ac:link>.</p>'
    )
    done = convert_page(storage, PAGE, SiteResolver(SITE, find_users=find_users))
    text = fidelity.words(BeautifulSoup(done.html, "html.parser").get_text())
    assert text == "Dana Dee, Eve, frank and (unknown user)."
    assert asked == [UserRef(userkey="k3", username="frank"), UserRef(userkey="k4")]
    assert done.notes["user not found"] == 2
