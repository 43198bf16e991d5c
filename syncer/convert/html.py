"""HTML in, the one clean HTML Fin reads out: main content, allow-list, absolute links.

Every converter ends here. ``normalise`` keeps an allow-list of tags and attributes,
drops active content with everything inside it, unwraps the rest (keeping its text),
keeps the ``id`` of every heading, tab and element a ``#fragment`` link of the document
points at (so ``page#anchor`` links land), makes links and images absolute, and
serialises deterministically (``serialise``), so the same input always hashes the same.
Callouts and content tabs keep their one shape (``callouts``, ``tabs``): the classes of
those shapes are the only ones kept besides a code block's language, and callouts in
other tools' markup (MkDocs admonitions, ``<aside class="note">``, Bootstrap alerts...)
are rewritten to it. Nothing here raises
on malformed input: lxml repairs what it can and the rest is text. Every parse here
closes void elements where they open and moves body content libxml2 left in ``<head>``
to the body, as HTML's own parser does (``VOID_ELEMENTS``, ``HEAD_ELEMENTS``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from bs4 import BeautifulSoup, Tag
from bs4.builder._lxml import LXMLTreeBuilder
from bs4.element import NavigableString, PageElement, PreformattedString

from syncer.convert import callouts, tabs
from syncer.convert.serialise import serialise
from syncer.convert.urls import IMAGE_SCHEMES, LINK_SCHEMES, absolute_url

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# The elements HTML's parser never gives content (the standard's "void elements", and
# the obsolete ones it parses the same way). libxml2 parses HTML 4: it takes embed,
# source, track, keygen and bgsound for containers of everything after them, and
# dropping the element then dropped the rest of the page with it.
VOID_ELEMENTS = frozenset(
    {
        *("area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr"),
        *("img", "input", "keygen", "link", "meta", "param", "source", "track", "wbr"),
    }
)
# What HTML's parser keeps in <head>; anything else there starts the body. libxml2 keeps
# an element it does not know in <head> when it comes first (``<meta><embed><p>``), and
# everything after it with it: removing <head> then removed the whole page.
HEAD_ELEMENTS = frozenset(
    {
        *("base", "basefont", "bgsound", "link", "meta", "noframes", "noscript", "script"),
        *("style", "template", "title"),
    }
)

# Removed with everything inside: active content, embedded media, form controls and
# document metadata are never knowledge Fin can use, and some of it is dangerous.
DROPPED = frozenset(
    {
        *("applet", "area", "audio", "base", "button", "canvas", "datalist", "dialog"),
        *("embed", "form", "frame", "frameset", "head", "iframe", "input", "link", "map"),
        *("math", "meta", "noembed", "noframes", "noscript", "object", "optgroup"),
        *("option", "param", "portal", "script", "select", "slot", "source", "style"),
        *("svg", "template", "textarea", "title", "track", "video"),
    }
)
KEPT = frozenset(
    {
        *HEADINGS,
        *("p", "div", "br", "hr", "pre", "blockquote", "ul", "ol", "li", "dl", "dt", "dd"),
        *("table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td"),
        *("a", "img", "strong", "em", "code", "kbd", "samp", "var", "sub", "sup", "mark"),
        *("small", "s", "del", "ins", "u", "q", "cite", "abbr", "dfn"),
        *("details", "summary"),
    }
)
# Same meaning under the kept name; block-level containers become <div> so the text of
# two neighbours never runs together.
RENAMED = {
    "b": "strong",
    "i": "em",
    "strike": "s",
    "tt": "code",
    **dict.fromkeys(
        (
            *("address", "article", "aside", "center", "fieldset", "figcaption", "figure"),
            *("footer", "header", "hgroup", "legend", "main", "nav", "search", "section"),
        ),
        "div",
    ),
}
# Page furniture that ``main_content`` removes (``normalise`` alone keeps its text); an
# ``<aside>`` that is a callout (``<aside class="note">``) is content, not furniture.
FURNITURE = frozenset({"nav", "aside"})
FURNITURE_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
# A <header>/<footer> of the page is furniture; one inside an article is its own.
SECTIONING = frozenset({"article", "section", "main"})

_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan"}),
    "ol": frozenset({"start"}),
    "code": frozenset({"class"}),
    # Only the classes of the callout and tabs shapes (``_attribute``).
    "blockquote": frozenset({"class"}),
    "p": frozenset({"class"}),
    "div": frozenset({"class"}),
    "abbr": frozenset({"title"}),
    **{heading: frozenset({"id"}) for heading in HEADINGS},
}
_EVERYWHERE = frozenset({"lang"})
# Any other kept element keeps its ``id`` only while a link of the document points at
# it (``#fn:1`` at a footnote): a bare ``<div>`` with an id would no longer be bare.
_TARGET_ID = "id"
_ID = re.compile(r"[^\s\x00-\x1f\x7f]{1,200}")
_NUMBER = re.compile(r"[0-9]{1,4}")
_LANG = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")
_WHITESPACE = re.compile(r"\s+")


class _TreeBuilder(LXMLTreeBuilder):
    """bs4's lxml HTML builder, closing each of ``VOID_ELEMENTS`` as soon as it opens.

    Done here, on lxml's parse events, so the cost stays linear: moving a swallowed
    element's content out afterwards costs the depth of the tree per move.
    """

    def start(self, tag: str | bytes, *args: Any, **kwargs: Any) -> None:
        super().start(tag, *args, **kwargs)
        if tag in VOID_ELEMENTS:
            super().end(tag)

    def end(self, tag: str | bytes) -> None:
        # libxml2 ends an element it took for a container later, after what followed it;
        # that element was closed at its start.
        if tag not in VOID_ELEMENTS:
            super().end(tag)


def _parse(html: str) -> BeautifulSoup:
    # One string per attribute (no class lists), so every value is checked the same way.
    soup = BeautifulSoup(html, builder=_TreeBuilder(multi_valued_attributes={}))
    _body_out_of_head(soup)
    return soup


def _body_out_of_head(soup: BeautifulSoup) -> None:
    """Move the first node of ``<head>`` that belongs to the body, and all after it, there."""
    head = soup.head
    if head is None:
        return
    first = next((i for i, node in enumerate(head.contents) if _of_the_body(node)), None)
    if first is None:
        return
    stray = [child.extract() for child in head.contents[first:]]
    body = soup.body
    if body is None:
        body = soup.new_tag("body")
        head.insert_after(body)
    body.insert(0, *stray)


def _of_the_body(node: PageElement) -> bool:
    if isinstance(node, Tag):
        return node.name not in HEAD_ELEMENTS
    return (
        isinstance(node, NavigableString)
        and not isinstance(node, PreformattedString)
        and bool(node.strip())
    )


def main_content(html: str) -> str:
    """The part of a whole HTML page that is the document, without page furniture.

    The first ``<main>`` (or ``role=main``), else a lone ``<article>``, else ``<body>``;
    navigation, asides, forms, scripts and page-level headers and footers are removed.
    """
    soup = _parse(html)
    container = (
        soup.find("main")
        or soup.find(True, {"role": "main"})
        or _lone(soup.find_all("article"))
        or soup.body
        or soup
    )
    _remove_where(container, _is_furniture)
    return str(container)


def _remove_where(root: Tag, condition: Callable[[Tag], bool]) -> None:
    """Remove every tag under ``root`` for which ``condition`` holds, with its content.

    Tags come in document order, so a removed tag's descendants follow it and are
    skipped by their parent's id. (``Tag.decomposed`` would search the subtree: bs4
    resolves an unset attribute as a child lookup.)
    """
    removed: set[int] = set()
    for tag in list(root.find_all(True)):
        if id(tag.parent) in removed:
            removed.add(id(tag))
        elif condition(tag):
            removed.add(id(tag))
            tag.extract()


def _lone(tags: list[Tag]) -> Tag | None:
    return tags[0] if len(tags) == 1 else None


def _is_furniture(tag: Tag) -> bool:
    role = str(tag.get("role") or "").strip().lower()
    if tag.name == "aside" and callouts.is_callout(tag):
        return False
    if tag.name in DROPPED or tag.name in FURNITURE or role in FURNITURE_ROLES:
        return True
    if tag.has_attr("hidden") or str(tag.get("aria-hidden") or "").lower() == "true":
        return True
    if tag.name in ("header", "footer"):
        return not any(
            parent.name in SECTIONING or parent.get("role") == "main" for parent in tag.parents
        )
    return False


def normalise(
    html: str,
    *,
    base_url: str | None,
    link_resolver: Callable[[str], str | None] | None = None,
    image_resolver: Callable[[str], str | None] | None = None,
) -> str:
    """The one clean, deterministic HTML for ``html``.

    A relative link goes first to ``link_resolver`` (links between documents of a
    source), then is resolved against ``base_url``; with neither, the link text stays
    and the ``href`` goes. Images likewise, through ``image_resolver`` (a file's raw URL
    in a repository) and then ``base_url``; an image that cannot be made absolute
    leaves its alt text.
    """
    soup = _parse(html)
    root = soup.body or soup
    for node in list(root.descendants):
        if isinstance(node, PreformattedString):  # comments, CDATA, doctypes
            node.extract()
    _remove_where(root, lambda tag: RENAMED.get(tag.name, tag.name) in DROPPED)
    callouts.adopt(soup, root)
    targets = _link_targets(root)
    unwrap = frozenset(
        id(tag)
        for tag in list(root.find_all(True))
        if not _clean(tag, base_url, link_resolver, image_resolver, targets)
    )
    return serialise(root, unwrap=unwrap)


def _link_targets(root: Tag) -> frozenset[str]:
    """The ids a link of the document points at (``href="#x"``).

    An anchor that holds nothing (``<a id="x"></a>``, ``<a name="x">``) would vanish as an
    empty element; its id moves to its parent when the parent has none, and is kept
    there, so links to it from other pages still land.
    """
    targets: set[str] = set()
    for link in root.find_all("a"):
        href = str(link.get("href") or "").strip()
        if href.startswith("#") and len(href) > 1:
            targets.add(unquote(href[1:]))
        name = link.get("id") or link.get("name")
        parent = link.parent
        if (
            name
            and not href
            and not link.get_text().strip()
            and isinstance(parent, Tag)
            and parent is not root
            and not parent.get("id")
        ):
            parent["id"] = str(name)
            targets.add(str(name))  # an anchor written on purpose is a target
    return frozenset(targets)


def _clean(
    tag: Tag,
    base_url: str | None,
    link_resolver: Callable[[str], str | None] | None,
    image_resolver: Callable[[str], str | None] | None = None,
    targets: frozenset[str] = frozenset(),
) -> bool:
    """Rename ``tag`` and filter its attributes; ``False`` when only its content stays."""
    name = RENAMED.get(tag.name, tag.name)
    if name not in KEPT:
        return False
    tag.name = name
    allowed = _ATTRIBUTES.get(name, frozenset()) | _EVERYWHERE
    attributes: dict[str, str] = {}
    for key, raw in tag.attrs.items():
        value = _attribute(name, key, str(raw)) if key in allowed else None
        if (
            key == _TARGET_ID
            and value is None
            and (str(raw).strip() in targets or tabs.kept_class(name, str(tag.get("class") or "")))
        ):
            # A tab is a link target by design (``#install-macos`` opens that tab).
            value = _attribute(name, key, str(raw))
        if value is not None:
            attributes[key] = value
    if name == "a":
        href = attributes.pop("href", None)
        resolved = _link(href, base_url, link_resolver) if href is not None else None
        if resolved is None:
            return False
        attributes["href"] = resolved
    elif name == "img":
        src = attributes.pop("src", None)
        resolved = _image(src, base_url, image_resolver) if src else None
        if resolved is None:
            tag.replace_with(NavigableString(attributes.get("alt", "")))
            return True
        attributes["src"] = resolved
    tag.attrs.clear()
    tag.attrs.update(attributes)
    return True


def _attribute(tag: str, name: str, value: str) -> str | None:
    """The value to keep for an allowed attribute, or ``None`` to drop it."""
    value = value.strip()
    if name in ("colspan", "rowspan", "start"):
        return value if _NUMBER.fullmatch(value) else None
    if name == "lang":
        return value if _LANG.fullmatch(value) else None
    if name == "id":
        return value if _ID.fullmatch(value) else None
    if name == "class":
        if tag == "code":
            languages = [word for word in value.split() if _LANGUAGE_CLASS.fullmatch(word)]
            return languages[0] if languages else None
        return callouts.kept_class(tag, value) or tabs.kept_class(tag, value)
    return _WHITESPACE.sub(" ", value) if name in ("alt", "title") else value


def _link(
    href: str, base_url: str | None, link_resolver: Callable[[str], str | None] | None
) -> str | None:
    if link_resolver is not None:
        target = link_resolver(href.strip())
        if target is not None:
            return absolute_url(target, base_url=None, schemes=LINK_SCHEMES)
    return absolute_url(href, base_url=base_url, schemes=LINK_SCHEMES)


def _image(
    src: str, base_url: str | None, image_resolver: Callable[[str], str | None] | None
) -> str | None:
    if image_resolver is not None:
        target = image_resolver(src.strip())
        if target is not None:
            return absolute_url(target, base_url=None, schemes=IMAGE_SCHEMES)
    return absolute_url(src, base_url=base_url, schemes=IMAGE_SCHEMES)


def _text(tag: Tag) -> str | None:
    text = _WHITESPACE.sub(" ", tag.get_text()).strip()
    return text or None


def first_heading(html: str) -> str | None:
    """The text of the first ``<h1>``..``<h6>`` in document order, if any has text."""
    for heading in _parse(html).find_all(HEADINGS):
        text = _text(heading)
        if text:
            return text
    return None


def page_title(html: str) -> str | None:
    """The text of a whole page's ``<title>``, if it has one."""
    title = _parse(html).find("title")
    return _text(title) if title is not None else None
