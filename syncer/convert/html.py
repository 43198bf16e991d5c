"""HTML in, the one clean HTML Fin reads out: main content, allow-list, absolute links.

Every converter ends here. ``normalise`` keeps an allow-list of tags and attributes,
drops active content with everything inside it, unwraps the rest (keeping its text),
keeps the ``id`` of every heading, tab and element a ``#fragment`` link of the document
points at (so ``page#anchor`` links land), makes links and images absolute, and
serialises deterministically (``serialise``), so the same input always hashes the same.
Callouts and content tabs keep their one shape (``callouts``, ``tabs``): the classes of
those shapes are the only ones kept besides a code block's language, and callouts in
other tools' markup (MkDocs admonitions, ``<aside class="note">``, Bootstrap alerts...)
are rewritten to it. Nothing here raises on malformed input: libxml2 repairs what it can
and the rest is text.

One parse per call, into the small tree of ``syncer.convert.tree`` (which closes void
elements where they open); ``normalise`` then makes three passes over it (drop, adopt
callouts, find link targets) and writes it in a fourth, cleaning each element as it is
written. Every parse moves body content libxml2 left in ``<head>`` to the body, as HTML's
own parser does (``HEAD_ELEMENTS``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from html import unescape
from urllib.parse import unquote

from syncer.convert import callouts, tabs, tree
from syncer.convert.serialise import serialise
from syncer.convert.tree import VOID_ELEMENTS, Element, Special
from syncer.convert.urls import IMAGE_SCHEMES, LINK_SCHEMES, absolute_url

__all__ = [
    "DROPPED",
    "KEPT",
    "VOID_ELEMENTS",
    "first_heading",
    "main_content",
    "normalise",
    "page_title",
]

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
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


def _parse(html: str, *, specials: bool = False) -> Element:
    document = tree.parse(html, specials=specials)
    _body_out_of_head(document)
    return document


def _head(document: Element) -> Element | None:
    """The document's ``<head>``: libxml2 opens one only right under ``<html>`` (it drops a
    misplaced ``<head>`` tag), so no search of the whole tree is needed."""
    for root in document.children:
        if isinstance(root, Element):
            for child in root.children:
                if isinstance(child, Element) and child.name == "head":
                    return child
    return None


def _body(document: Element) -> Element | None:
    """The document's first ``<body>``. Usually right under ``<html>``, but libxml2 opens
    one wherever the first body content comes (inside a ``<noscript>`` in ``<head>``,
    say), so it is the first in document order; the search stops there, having read the
    head, not the page."""
    return tree.named(document, "body")


def _body_out_of_head(document: Element) -> None:
    """Move the first node of ``<head>`` that belongs to the body, and all after it, there."""
    head = _head(document)
    if head is None:
        return
    first = next((i for i, node in enumerate(head.children) if _of_the_body(node)), None)
    if first is None:
        return
    stray = head.children[first:]
    del head.children[first:]
    body = _body(document)
    if body is None:
        parent = head.parent or document
        body = Element("body", parent=parent)
        at = next(i for i, node in enumerate(parent.children) if node is head)
        parent.children.insert(at + 1, body)
    for node in stray:
        if isinstance(node, Element):
            node.parent = body
    body.children[0:0] = stray


def _of_the_body(node: tree.Node) -> bool:
    if isinstance(node, Element):
        return node.name not in HEAD_ELEMENTS
    return not isinstance(node, Special) and bool(node.strip())


def main_content(html: str) -> str:
    """The part of a whole HTML page that is the document, without page furniture.

    The first ``<main>`` (or ``role=main``), else a lone ``<article>``, else ``<body>``;
    navigation, asides, forms, scripts and page-level headers and footers are removed.
    """
    document = _parse(html, specials=True)
    container = (
        tree.named(document, "main")
        or tree.find(document, lambda element: element.attrs.get("role") == "main")
        or _lone([element for element in tree.elements(document) if element.name == "article"])
        or _body(document)
        or document
    )
    tree.remove_where(container, _is_furniture)
    return tree.outer_html(container)


def _lone(tags: list[Element]) -> Element | None:
    return tags[0] if len(tags) == 1 else None


def _is_furniture(tag: Element) -> bool:
    role = (tag.attrs.get("role") or "").strip().lower()
    if tag.name == "aside" and callouts.is_callout(tag):
        return False
    if tag.name in DROPPED or tag.name in FURNITURE or role in FURNITURE_ROLES:
        return True
    if "hidden" in tag.attrs or (tag.attrs.get("aria-hidden") or "").lower() == "true":
        return True
    if tag.name in ("header", "footer"):
        return not any(
            parent.name in SECTIONING or parent.attrs.get("role") == "main"
            for parent in tag.parents()
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
    document = _parse(html)  # comments, doctypes and instructions never enter the tree
    root = _body(document) or document
    found = tree.prune(root, _DROPPED)
    if callouts.adopt(root, found):
        found = tree.elements(root)
    targets = _link_targets(root, found)
    clean = partial(_clean, base_url, link_resolver, image_resolver, targets)
    return serialise(root, clean=clean)


# Dropped by name, or by the name it would be renamed to.
_DROPPED = DROPPED | {name for name, renamed in RENAMED.items() if renamed in DROPPED}


def _link_targets(root: Element, found: list[Element]) -> frozenset[str]:
    """The ids a link of the document points at (``href="#x"``).

    An anchor that holds nothing (``<a id="x"></a>``, ``<a name="x">``) would vanish as an
    empty element; its id moves to its parent when the parent has none, and is kept
    there, so links to it from other pages still land.
    """
    targets: set[str] = set()
    for link in found:
        if link.name != "a":
            continue
        attrs = link.attrs
        href = (attrs.get("href") or "").strip()
        if href.startswith("#") and len(href) > 1:
            targets.add(unquote(href[1:]))
        name = attrs.get("id") or attrs.get("name")
        parent = link.parent
        if (
            name
            and not href
            and not tree.text(link).strip()
            and parent is not None
            and parent is not root
            and not parent.attrs.get("id")
        ):
            parent.attrs["id"] = name
            targets.add(name)  # an anchor written on purpose is a target
    return frozenset(targets)


def _clean(
    base_url: str | None,
    link_resolver: Callable[[str], str | None] | None,
    image_resolver: Callable[[str], str | None] | None,
    targets: frozenset[str],
    tag: Element,
) -> bool | str:
    """Rename ``tag`` and filter its attributes; ``False`` when only its content stays,
    a string when that text stands in its place (an image's alt text). The element is
    last so that ``partial`` can bind the rest: this runs once per element."""
    name = RENAMED.get(tag.name, tag.name)
    if name not in KEPT:
        return False
    tag.name = name
    if not tag.attrs:  # nothing to filter (most elements): only a link or image lacks
        return False if name == "a" else "" if name == "img" else True
    allowed = _ATTRIBUTES.get(name, _NOTHING) | _EVERYWHERE
    attributes: dict[str, str] = {}
    for key, raw in tag.attrs.items():
        value = _attribute(name, key, raw) if key in allowed else None
        if (
            key == _TARGET_ID
            and value is None
            and (raw.strip() in targets or tabs.kept_class(name, tag.attrs.get("class") or ""))
        ):
            # A tab is a link target by design (``#install-macos`` opens that tab).
            value = _attribute(name, key, raw)
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
            return attributes.get("alt", "")
        attributes["src"] = resolved
    tag.attrs = attributes
    return True


_NOTHING: frozenset[str] = frozenset()


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


def _text(tag: Element) -> str | None:
    text = _WHITESPACE.sub(" ", tree.text(tag)).strip()
    return text or None


def first_heading(html: str, *, normalised: bool = False) -> str | None:
    """The text of the first ``<h1>``..``<h6>`` in document order, if any has text.

    ``normalised``: ``html`` is ``normalise`` 's output, whose lines tell the answer
    without parsing it again, unless a ``<pre>`` or a heading holding blocks comes first.
    """
    if normalised:
        sure, found = _first_heading_line(html)
        if sure:
            return found
    for heading in tree.elements(_parse(html)):
        if heading.name in HEADINGS:
            text = _text(heading)
            if text:
                return text
    return None


# What ``serialise`` writes: every block, so every heading, at the start of a line (but
# in a <pre>, whose content it writes as it is); a heading holding no block on one line;
# "<" and ">" nowhere but in tags (text and attribute values are escaped), and in text
# only "&", "<" and ">" escaped.
_HEADING_START = re.compile(r"^<h[1-6][ >]", re.MULTILINE)
_HEADING_LINE = re.compile(r"<h([1-6])(?: [^>]*)?>(.*)</h\1>")
_TAG = re.compile(r"<[^>]*>")
# Characters a parse may not give back as they are written.
_UNEASY = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")


def _first_heading_line(html: str) -> tuple[bool, str | None]:
    """``first_heading`` of ``normalise`` 's output from its lines, and whether they
    could tell it (else it is parsed)."""
    pre = html.find("<pre")
    for match in _HEADING_START.finditer(html):
        if 0 <= pre < match.start():
            return False, None  # a heading inside the <pre> may come first
        end = html.find("\n", match.start())
        line = _HEADING_LINE.fullmatch(html, match.start(), end if end >= 0 else len(html))
        if line is None:
            return False, None  # blocks inside: written over several lines
        text = unescape(_TAG.sub("", line.group(2)))
        if _UNEASY.search(text):
            return False, None
        text = _WHITESPACE.sub(" ", text).strip()
        if text:
            return True, text
    return pre < 0, None


def page_title(html: str) -> str | None:
    """The text of a whole page's ``<title>``, if it has one."""
    title = tree.named(_parse(html), "title")
    return _text(title) if title is not None else None
