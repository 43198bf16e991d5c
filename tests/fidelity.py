"""What Fin reads, scanned: the callouts and content tabs of converted HTML, checked
against their one shape (``syncer.convert.callouts``, ``syncer.convert.tabs``).

A test helper, reused by every converter's tests (Confluence pages, HTML files, Markdown
of any flavour, whole documentation trees): parse the output, list its callouts and tab
sets, and report every way one falls short of the shape, as one line each, so a corpus
test asserts ``shape_problems(html) == []`` rather than a page's exact HTML.

- ``callouts(html)`` / ``tab_sets(html)``: what the page holds, in document order.
- ``shape_problems(html)``: a callout without its ``callout-KIND`` class, without a label
  that starts with the kind's word, or with nothing in its body; a tab without a label or
  content; a code block inside a tab that lost its language or its line breaks.
- ``text_outside(html)``: the page's text with every callout taken out, to check that no
  callout body was left loose beside its block (``loose_texts``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bs4 import BeautifulSoup, Tag

from syncer.convert import callouts as shape
from syncer.convert import tabs as tab_shape

_SPACE = re.compile(r"\s+")


def words(text: str) -> str:
    """``text`` with its whitespace collapsed: how text is compared here."""
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class Callout:
    """One callout as Fin gets it: its kind (from the class), label and body."""

    kind: str | None
    label: str
    body: str  # the body's text, whitespace collapsed
    element: Tag


@dataclass(frozen=True)
class TabSet:
    """One set of tabs: ``(label, content text)`` per tab, and the element."""

    tabs: tuple[tuple[str, str], ...]
    element: Tag


def parse(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _classes(tag: Tag) -> list[str]:
    value = tag.get("class")
    if isinstance(value, str):
        return value.split()
    return list(value or [])


def _callout_elements(soup: BeautifulSoup) -> list[Tag]:
    return [tag for tag in soup.find_all(shape.TAG) if shape.CLASS in _classes(tag)]


def _kind(tag: Tag) -> str | None:
    prefix = f"{shape.CLASS}-"
    found = [c.removeprefix(prefix) for c in _classes(tag) if c.startswith(prefix)]
    return found[0] if len(found) == 1 else None


def _first_child(tag: Tag) -> Tag | None:
    return next((child for child in tag.children if isinstance(child, Tag)), None)


def _title(tag: Tag, title_class: str) -> Tag | None:
    first = _first_child(tag)
    if first is not None and first.name == "p" and _classes(first) == [title_class]:
        return first
    return None


def _body_text(tag: Tag, title: Tag | None) -> str:
    parts = [
        child.get_text(" ") if isinstance(child, Tag) else str(child)
        for child in tag.children
        if child is not title
    ]
    return words(" ".join(parts))


def callouts(html: str) -> list[Callout]:
    """Every callout of ``html``, outer before inner, in document order."""
    found = []
    for tag in _callout_elements(parse(html)):
        title = _title(tag, shape.TITLE_CLASS)
        label = words(title.get_text(" ")) if title is not None else ""
        found.append(Callout(_kind(tag), label, _body_text(tag, title), tag))
    return found


def tab_sets(html: str) -> list[TabSet]:
    """Every set of tabs of ``html``, in document order."""
    found = []
    for tag in parse(html).find_all("div"):
        if _classes(tag) != [tab_shape.TABS_CLASS]:
            continue
        tabs = []
        for tab in tag.find_all("div", recursive=False):
            title = _title(tab, tab_shape.LABEL_CLASS)
            label = words(title.get_text(" ")) if title is not None else ""
            tabs.append((label, _body_text(tab, title)))
        found.append(TabSet(tuple(tabs), tag))
    return found


def shape_problems(html: str) -> list[str]:
    """Each way a callout or tab set of ``html`` falls short of its shape, one line each."""
    problems: list[str] = []
    soup = parse(html)
    for tag in _callout_elements(soup):
        where = words(tag.get_text(" "))[:60]
        kind = _kind(tag)
        title = _title(tag, shape.TITLE_CLASS)
        if kind is None:
            problems.append(f"callout without one callout-KIND class: {where!r}")
            continue
        if title is None or title.find("strong") is None:
            problems.append(f"callout without its bold title line first: {where!r}")
            continue
        label = words(title.get_text(" "))
        word = shape.kind_label(kind)
        if not label.casefold().startswith(word.casefold()):
            problems.append(f"callout label {label!r} does not say its kind {word!r}")
        if not _body_text(tag, title) and not tag.find("img"):
            problems.append(f"callout {label!r} has an empty body")
    for tag in soup.find_all("div"):
        classes = _classes(tag)
        if classes == [tab_shape.TAB_CLASS] and not (
            isinstance(tag.parent, Tag) and _classes(tag.parent) == [tab_shape.TABS_CLASS]
        ):
            problems.append(f"tab outside a set of tabs: {words(tag.get_text(' '))[:60]!r}")
        if classes != [tab_shape.TABS_CLASS]:
            continue
        tabs = tag.find_all("div", recursive=False)
        if not tabs:
            problems.append("a set of tabs without a tab")
        for tab in tabs:
            title = _title(tab, tab_shape.LABEL_CLASS)
            if _classes(tab) != [tab_shape.TAB_CLASS] or title is None:
                problems.append(f"tab without its label first: {words(tab.get_text(' '))[:60]!r}")
                continue
            label = words(title.get_text(" "))
            if not label:
                problems.append("tab with an empty label")
            if not _body_text(tab, title):
                problems.append(f"tab {label!r} has no content")
            problems.extend(_code_problems(tab, label))
    return problems


def _code_problems(tab: Tag, label: str) -> list[str]:
    problems = []
    for code in tab.find_all("code"):
        if not isinstance(code.parent, Tag) or code.parent.name != "pre":
            continue
        if not any(c.startswith("language-") for c in _classes(code)):
            problems.append(f"code block in tab {label!r} lost its language")
        if "\n" not in code.get_text().rstrip("\n"):
            problems.append(f"code block in tab {label!r} is one line: {code.get_text()[:40]!r}")
    return problems


def code_blocks(html: str) -> list[tuple[str | None, str]]:
    """``(language, text)`` of every ``<pre><code>`` of ``html``, in document order."""
    found = []
    for code in parse(html).select("pre > code"):
        languages = [c.removeprefix("language-") for c in _classes(code)]
        found.append((languages[0] if languages else None, code.get_text()))
    return found


def text_outside(html: str) -> str:
    """The text of ``html`` with every callout (label and body) taken out."""
    soup = parse(html)
    found = _callout_elements(soup)
    ids = {id(tag) for tag in found}
    for tag in found:
        if not any(id(parent) in ids for parent in tag.parents):
            tag.extract()  # an inner callout goes with its outer one
    return words(soup.get_text(" "))


def loose_texts(html: str, bodies: Iterable[str], *, also_outside: str = "") -> list[str]:
    """The ``bodies`` (texts that belong in callouts) found in ``html`` outside every callout.

    ``also_outside`` is text the source itself holds outside its callouts: a body found
    there may rightly appear outside too, and is not counted.
    """
    outside = text_outside(html)
    allowed = words(also_outside)
    return [
        body
        for body in (words(b) for b in bodies)
        if body and body in outside and body not in allowed
    ]
