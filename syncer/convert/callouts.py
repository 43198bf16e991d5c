"""The one shape of a callout (admonition, panel, alert) in the HTML Fin reads.

Every converter writes a callout as::

    <blockquote class="callout callout-warning">
    <p class="callout-title"><strong>Warning: Back up first</strong></p>
    <p>The whole body, inside the block.</p>
    </blockquote>

The kind and the title are visible text (``label``), because Fin reads the words, not
the classes; the body is inside the element, so where the callout ends is structure,
not a guess. ``<blockquote>`` rather than ``<aside>`` or ``<div>``: it is the one block
every HTML-to-text step keeps as a block (``> `` lines in Markdown, the form GitHub's
own ``> [!WARNING]`` alerts take), where ``<aside>`` is what boilerplate removers
(``main_content`` here among them) drop as a sidebar, and a ``<div>`` leaves no edge in
text at all. The classes say the same for a reader of the HTML.

This module owns the shape: the builders (``callout_open``, ``callout_html``), the
classes the normaliser keeps (``kept_class``), and ``adopt``, which rewrites callouts
written in other tools' markup (MkDocs and Sphinx admonitions, Docusaurus, GitHub's
rendered alerts, Bootstrap alerts, Confluence's HTML export, ``<aside class="note">``,
``<details class="warning">``) into it, so HTML from any renderer ends the same.
"""

from __future__ import annotations

import html
import re

from syncer.convert.tree import Element, Node, detach, elements, text

TAG = "blockquote"
CLASS = "callout"
TITLE_CLASS = "callout-title"
CLOSE = f"</{TAG}>"
# When nothing says which kind a callout is (a bare ``.admonition``, a Confluence
# ``panel``), it is this.
DEFAULT_KIND = "note"

_KIND = re.compile(r"[a-z][a-z0-9-]{0,30}")
_OURS = re.compile(rf"{CLASS} {CLASS}-({_KIND.pattern})")
_SPACE = re.compile(r"\s+")
# Labels that ``str.capitalize`` would spell wrong.
_LABELS = {"seealso": "See also", "tldr": "TL;DR", "faq": "FAQ", "todo": "To do"}
# Kind words other tools use, by their own names (MkDocs Material's types and aliases,
# reStructuredText's, GitHub's, Docusaurus', Confluence's, Bootstrap's).
KNOWN_KINDS = frozenset(
    {
        *("note", "abstract", "summary", "tldr", "info", "todo", "tip", "hint"),
        *("important", "success", "check", "done", "question", "help", "faq"),
        *("warning", "caution", "attention", "failure", "fail", "missing", "danger"),
        *("error", "bug", "example", "quote", "cite", "seealso", "information"),
    }
)
# Other tools' names for a kind, where theirs is not a word a reader would use.
_SYNONYMS = {
    "information": "info",  # Confluence's HTML export
    "primary": "note",  # Bootstrap's colours
    "secondary": "note",
    "light": "note",
    "dark": "note",
}
# Classes of other tools' title elements (the first matching child is the title).
_TITLE_CLASSES = frozenset(
    {"admonition-title", "admonition-heading", "markdown-alert-title", TITLE_CLASS}
)
_TITLE_PREFIXES = ("admonitionheading",)  # Docusaurus 3: admonitionHeading_<hash>
# Classes beside ``admonition`` that say how it looks, not what it is.
_MODIFIERS = frozenset({"admonition", "inline", "end", "left", "right", "is-collapsible"})
# Whose content is inline: loose inline content of a callout is wrapped in a <p>.
_INLINE = frozenset(
    {
        *("a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "del", "dfn"),
        *("em", "i", "img", "ins", "kbd", "mark", "q", "s", "samp", "small", "span"),
        *("strike", "strong", "sub", "sup", "time", "tt", "u", "var"),
    }
)


def kind_name(word: str | None) -> str:
    """``word`` as a kind (lower case, ``[a-z][a-z0-9-]*``); ``DEFAULT_KIND`` if it is none."""
    kind = _SPACE.sub("-", (word or "").strip().lower()).replace("_", "-")
    kind = _SYNONYMS.get(kind, kind)
    return kind if _KIND.fullmatch(kind) else DEFAULT_KIND


def kind_label(kind: str) -> str:
    """The word a reader sees for ``kind``: ``warning`` -> ``Warning``."""
    return _LABELS.get(kind) or kind.replace("-", " ").capitalize()


def label(kind: str, title: str | None = None) -> str:
    """The visible first line: the kind, then the title if it says more.

    ``("warning", "Back up first")`` -> ``Warning: Back up first``; a title that is the
    kind's word, or starts with it (``Warning about X``), stands alone.
    """
    word = kind_label(kind_name(kind))
    text = _SPACE.sub(" ", title or "").strip()
    if not text:
        return word
    if text.casefold() == word.casefold():
        return text if text[0].isupper() else word  # "Pied Piper" as written; "tip" -> "Tip"
    if re.match(rf"{re.escape(word)}\b", text, re.IGNORECASE):
        return text
    return f"{word}: {text}"


def callout_open(kind: str, title: str | None = None) -> str:
    """The opening of a callout, title line included; the body and ``CLOSE`` follow."""
    name = kind_name(kind)
    return (
        f'<{TAG} class="{CLASS} {CLASS}-{name}">'
        f'<p class="{TITLE_CLASS}"><strong>{html.escape(label(name, title))}</strong></p>'
    )


def callout_html(kind: str, title: str | None, body: str) -> str:
    """A whole callout around ``body`` (HTML, already safe to embed)."""
    return f"{callout_open(kind, title)}{body}{CLOSE}"


def kept_class(tag: str, value: str) -> str | None:
    """The ``class`` the normaliser keeps on ``tag`` for this shape, or ``None``."""
    words = value.split()
    if tag == TAG:
        match = _OURS.fullmatch(" ".join(words))
        return match.group(0) if match else None
    if tag == "p" and words == [TITLE_CLASS]:
        return TITLE_CLASS
    return None


# ---- other tools' markup --------------------------------------------------------------


def is_callout(tag: Element) -> bool:
    """Whether ``tag`` is a callout, in this shape or in a markup ``adopt`` knows."""
    return _is_ours(tag) or _foreign_kind(tag) is not None


def adopt(root: Element, found: list[Element] | None = None) -> bool:
    """Rewrite every callout under ``root`` written in another tool's markup to this shape;
    whether there was one. ``found``: the elements under ``root``, if already listed.

    The element keeps its body where it is; its title element (``.admonition-title``,
    ``<summary>``...) becomes the label, and loose inline content is wrapped in ``<p>``.
    """
    adopted = False
    for tag in elements(root) if found is None else found:
        if "class" not in tag.attrs and tag.name != "aside":
            continue  # no markup says callout without a class, but an <aside role="note">
        if _is_ours(tag):
            continue
        kind = _foreign_kind(tag)
        if kind is None:
            continue
        title_element = _title_element(tag)
        title = None
        if title_element is not None:
            title = text(title_element, " ")
            detach(title_element)
        tag.name = TAG
        tag.attrs = {"class": f"{CLASS} {CLASS}-{kind}"}
        for parent in tag.parents():
            # libxml2 (HTML 4) nests an element it does not know, <aside> or <details>,
            # inside an open <p>; a <p> may not hold a block, so it becomes a <div>.
            if parent.name == "p":
                parent.name = "div"
            elif parent.name not in _INLINE:
                break
        _wrap_inline(tag)
        heading = Element("p", {"class": TITLE_CLASS})
        strong = Element("strong")
        strong.append(label(kind, title))
        heading.append(strong)
        heading.parent = tag
        tag.children.insert(0, heading)
        adopted = True
    return adopted


def _classes(tag: Element) -> list[str]:
    return (tag.attrs.get("class") or "").lower().split()


def _is_ours(tag: Element) -> bool:
    if tag.name != TAG or kept_class(TAG, " ".join(_classes(tag))) is None:
        return False
    first = next((child for child in tag.children if isinstance(child, Element)), None)
    return first is not None and first.name == "p" and _classes(first) == [TITLE_CLASS]


def _prefixed(classes: list[str], *prefixes: str) -> str | None:
    """The kind of the first class ``<prefix><kind>`` whose kind is a known word."""
    for word in classes:
        for prefix in prefixes:
            rest = word.removeprefix(prefix)
            if rest != word and (rest in KNOWN_KINDS or rest in _SYNONYMS):
                return kind_name(rest)
    return None


def _foreign_kind(tag: Element) -> str | None:
    """The kind of a callout in another tool's markup, ``None`` when ``tag`` is not one."""
    classes = _classes(tag)
    known = next((kind_name(word) for word in classes if word in KNOWN_KINDS), None)
    if "markdown-alert" in classes:  # GitHub's rendered alerts (and markdown-it-py's)
        return _prefixed(classes, "markdown-alert-") or DEFAULT_KIND
    if "admonition" in classes or any(w.startswith("theme-admonition") for w in classes):
        # MkDocs/Python-Markdown and Sphinx: ``admonition note``; MkDocs custom types are
        # any word; Docusaurus: ``theme-admonition theme-admonition-tip`` (3) or
        # ``admonition admonition-tip`` (2).
        custom = next(
            (
                w
                for w in classes
                if w not in _MODIFIERS and _KIND.fullmatch(w) and not w.startswith("admonition")
            ),
            None,
        )
        prefixed = _prefixed(classes, "theme-admonition-", "admonition-")
        return prefixed or known or (kind_name(custom) if custom else DEFAULT_KIND)
    if "confluence-information-macro" in classes:  # Confluence's HTML export
        return _prefixed(classes, "confluence-information-macro-") or "info"
    if "alert" in classes:  # Bootstrap ``alert alert-warning``, Infima ``alert--warning``
        return _prefixed(classes, "alert-", "alert--")
    if tag.name == TAG and CLASS in classes:
        return _prefixed(classes, f"{CLASS}-") or known or DEFAULT_KIND
    if tag.name == "details":  # pymdownx.details: ``<details class="warning">``
        return known
    if tag.name == "aside":
        if known:
            return known
        if CLASS in classes or (tag.attrs.get("role") or "").strip().lower() == "note":
            return _prefixed(classes, f"{CLASS}-") or DEFAULT_KIND
    return None


def _title_element(tag: Element) -> Element | None:
    for child in tag.children:
        if not isinstance(child, Element):
            continue
        if tag.name == "details" and child.name == "summary":
            return child
        classes = _classes(child)
        if any(c in _TITLE_CLASSES or c.startswith(_TITLE_PREFIXES) for c in classes):
            return child
        if "alert-heading" in classes or ("title" in classes and child.name == "p"):
            return child
    return None


def _wrap_inline(tag: Element) -> None:
    """Put each run of loose inline content of ``tag`` into a ``<p>`` of its own."""
    children: list[Node] = []
    run: list[Node] = []
    for child in [*tag.children, None]:
        if isinstance(child, str) or (isinstance(child, Element) and child.name in _INLINE):
            run.append(child)
            continue
        if any(_says_something(node) for node in run):
            paragraph = Element("p", parent=tag)
            for node in run:
                if isinstance(node, Element):
                    node.parent = paragraph
            paragraph.children = run
            children.append(paragraph)
        else:
            children.extend(run)
        if child is not None:
            children.append(child)
        run = []
    tag.children = children


def _says_something(node: Node) -> bool:
    if isinstance(node, Element):
        return node.name != "br"
    return bool(node.strip())
