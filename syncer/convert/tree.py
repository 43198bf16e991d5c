"""The small mutable HTML tree the normaliser reads, rewrites and writes.

``parse`` runs libxml2's HTML parser (through lxml, recovering from anything) with a
parser target that builds plain ``Element`` objects straight from its events: no second
tree, no per-node bookkeeping beyond a name, attributes, children and a parent. Text is
``str`` children, one per run of character data between two parse events (so text either
side of a comment stays two strings); comments, doctypes and processing instructions are
``Special`` strings, kept only when asked for (``specials=True``).

The tree is built as bs4's lxml builder built it when the normaliser parsed with bs4
(``tests/test_tree.py`` holds the two to the same trees): every void element
(``VOID_ELEMENTS``) is closed where it opens, since libxml2 parses HTML 4 and takes
``<embed>``, ``<source>``, ``<track>``... for containers of everything after them; a
closing tag closes the most recent open element of its name; a run of whitespace outside
``<pre>`` and ``<textarea>`` is one space, or one newline when it holds one. ``text``
reads an element's text as bs4's ``get_text`` does: the text inside an ``<rt>``, ``<rp>``,
``<script>``, ``<style>`` or ``<template>`` is that element's own (a ``Contained``
string), not the text of anything around it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import cast

from lxml import etree

# The elements HTML's parser never gives content (the standard's "void elements", and
# the obsolete ones it parses the same way).
VOID_ELEMENTS = frozenset(
    {
        *("area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr"),
        *("img", "input", "keygen", "link", "meta", "param", "source", "track", "wbr"),
    }
)
_PRESERVE_WHITESPACE = frozenset({"pre", "textarea"})
_ASCII_SPACES = " \n\t\x0c\r"
DOCUMENT = "[document]"


class Special(str):
    """A comment, doctype or processing instruction: in the tree, never text."""

    __slots__ = ()
    prefix = ""
    suffix = ""


class Comment(Special):
    __slots__ = ()
    prefix = "<!--"
    suffix = "-->"


class Doctype(Special):
    __slots__ = ()
    prefix = "<!DOCTYPE "
    suffix = ">\n"


class Instruction(Special):
    __slots__ = ()
    prefix = "<?"
    suffix = ">"


class Contained(str):
    """Text inside an element whose text is its own (``CONTAINED``, by its name)."""

    __slots__ = ()


# bs4's string containers: one string type for the text of each.
CONTAINED: dict[str, type[Contained]] = {
    name: type(f"{name.capitalize()}Text", (Contained,), {"__slots__": ()})
    for name in ("rt", "rp", "script", "style", "template")
}


# What the builder must note when it opens (one test for every other element).
_NOTABLE = VOID_ELEMENTS | _PRESERVE_WHITESPACE | CONTAINED.keys()


class Element:
    """One element: its name, its attributes (one string each), its children in order."""

    __slots__ = ("attrs", "children", "name", "parent")

    def __init__(
        self, name: str, attrs: dict[str, str] | None = None, parent: Element | None = None
    ) -> None:
        self.name = name
        self.attrs: dict[str, str] = {} if attrs is None else attrs
        self.children: list[Node] = []
        self.parent = parent

    def __repr__(self) -> str:
        return f"<Element {self.name} {self.attrs!r} ({len(self.children)} children)>"

    def get(self, key: str) -> str | None:
        """The attribute ``key``, or ``None``."""
        return self.attrs.get(key)

    def append(self, node: Node) -> None:
        """Add ``node`` as the last child (an element leaves the parent it had)."""
        if isinstance(node, Element):
            detach(node)
            node.parent = self
        self.children.append(node)

    def parents(self) -> Iterator[Element]:
        """The ancestors, nearest first."""
        parent = self.parent
        while parent is not None:
            yield parent
            parent = parent.parent


Node = Element | str


def detach(element: Element) -> None:
    """Take ``element`` (with everything in it) out of its parent."""
    parent = element.parent
    if parent is None:
        return
    children = parent.children
    for index, child in enumerate(children):
        if child is element:
            del children[index]
            break
    element.parent = None


def elements(root: Element) -> list[Element]:
    """Every element below ``root``, in document order."""
    found: list[Element] = []
    stack = [child for child in reversed(root.children) if child.__class__ is Element]
    while stack:
        element = stack.pop()
        found.append(element)
        stack.extend(child for child in reversed(element.children) if child.__class__ is Element)
    return found


def find(root: Element, condition: Callable[[Element], bool]) -> Element | None:
    """The first element below ``root`` in document order for which ``condition`` holds."""
    stack = [child for child in reversed(root.children) if isinstance(child, Element)]
    while stack:
        element = stack.pop()
        if condition(element):
            return element
        stack.extend(child for child in reversed(element.children) if isinstance(child, Element))
    return None


def named(root: Element, name: str) -> Element | None:
    """The first ``<name>`` below ``root``."""
    return find(root, lambda element: element.name == name)


def text(element: Element, separator: str = "") -> str:
    """The text below ``element``, its strings joined by ``separator`` (bs4's ``get_text``):
    the plain strings, or for an element of ``CONTAINED`` the strings of its own kind."""
    wanted = CONTAINED.get(element.name, str)
    strings: list[str] = []
    stack: list[Node] = list(reversed(element.children))
    while stack:
        node = stack.pop()
        if isinstance(node, Element):
            stack.extend(reversed(node.children))
        elif node.__class__ is wanted:
            strings.append(node)
    return separator.join(strings)


def prune(root: Element, names: frozenset[str]) -> list[Element]:
    """Remove every element below ``root`` named in ``names``, with its content; the
    elements left, in document order. One pass, each parent's children rebuilt once."""
    found: list[Element] = []
    stack = [root]
    while stack:
        element = stack.pop()
        if element is not root:
            found.append(element)
        kept: list[Node] = []
        below: list[Element] = []
        removed = False
        for child in element.children:
            if child.__class__ is Element:
                if child.name in names:
                    child.parent = None
                    removed = True
                    continue
                below.append(child)
            kept.append(child)
        if removed:
            element.children = kept
        below.reverse()
        stack.extend(below)
    return found


def remove_where(root: Element, condition: Callable[[Element], bool]) -> None:
    """Remove every element below ``root`` for which ``condition`` holds, with its content.

    An element is judged before anything inside it is removed, and what is inside a
    removed element is not judged. One pass, each parent's children rebuilt once.
    """
    stack = [root]
    while stack:
        element = stack.pop()
        kept: list[Node] = []
        removed = False
        for child in element.children:
            if isinstance(child, Element):
                if condition(child):
                    child.parent = None
                    removed = True
                    continue
                stack.append(child)
            kept.append(child)
        if removed:
            element.children = kept


class _Builder:
    """lxml's parser target: the events of one parse, as ``Element`` objects."""

    def __init__(self, specials: bool) -> None:
        self.reset(specials)

    def reset(self, specials: bool) -> None:
        """Ready for the events of another parse."""
        self.root = Element(DOCUMENT)
        self.top = self.root  # the innermost open element
        self.stack = [self.root]
        self.pending: str | None = None  # character data since the last event
        self.specials = specials
        self.preserving = 0  # open <pre> and <textarea> elements
        self.containers: list[str] = []  # open elements of CONTAINED, innermost last

    def _data(self, data: str) -> str:
        if not self.preserving and not data.strip(_ASCII_SPACES):
            return "\n" if "\n" in data else " "
        return data

    def _flush(self, data: str) -> None:
        self.pending = None
        data = self._data(data)
        if self.containers:
            data = CONTAINED[self.containers[-1]](data)
        self.top.children.append(data)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.pending is not None:
            self._flush(self.pending)
        parent = self.top
        element = Element(tag, dict(attrib) if attrib else {}, parent)
        parent.children.append(element)
        if tag in _NOTABLE:
            if tag in VOID_ELEMENTS:
                return  # closed where it opens; libxml2's own end for it comes later
            if tag in _PRESERVE_WHITESPACE:
                self.preserving += 1
            else:
                self.containers.append(tag)
        self.stack.append(element)
        self.top = element

    def end(self, tag: str) -> None:
        if tag in VOID_ELEMENTS:
            return
        if self.pending is not None:
            self._flush(self.pending)
        stack = self.stack
        if self.top.name == tag and len(stack) > 1:
            depth = len(stack) - 1
        else:
            depth = next((d for d in range(len(stack) - 1, 0, -1) if stack[d].name == tag), 0)
            if not depth:
                return  # nothing of that name is open
        for closed in stack[depth:]:
            if closed.name in _NOTABLE:
                if closed.name in _PRESERVE_WHITESPACE:
                    self.preserving -= 1
                else:
                    self.containers.pop()
        del stack[depth:]
        self.top = stack[-1]

    def data(self, data: str) -> None:
        pending = self.pending
        self.pending = data if pending is None else pending + data

    def _special(self, kind: type[Special], value: str) -> None:
        if self.pending is not None:
            self._flush(self.pending)
        if self.specials:
            # Its text is tidied as any other (bs4 ran both through one step): an empty
            # comment is one space.
            self.top.children.append(kind(self._data(value)))

    def comment(self, text: str) -> None:
        self._special(Comment, text)

    def pi(self, target: str, data: str) -> None:
        self._special(Instruction, f"{target} {data}")

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        self._special(Doctype, _doctype(name, pubid, system))

    def close(self) -> Element:
        if self.pending is not None:
            self._flush(self.pending)
        return self.root


def _doctype(name: str, pubid: str | None, system: str | None) -> str:
    # bs4's Doctype._string_for_name_and_ids, so a page's doctype reads as it did.
    value = name or ""
    if pubid is not None:
        value += f' PUBLIC "{pubid}"'
        if system is not None:
            value += f' "{system}"'
    elif system is not None:
        value += f' SYSTEM "{system}"'
    return value


def parse(html: str, *, specials: bool = False) -> Element:
    """The tree of ``html`` under a ``[document]`` root; never raises."""
    if html.startswith("\ufeff"):
        html = html[1:]
    parser, builder = _parser()
    builder.reset(specials)
    try:
        parser.feed(html)
        parser.close()
    except etree.ParserError:
        # libxml2 refuses a document with nothing in it; what it gave so far stands.
        builder.close()
        _parsers.made = None  # and its parser is made again, whatever state it is in
    except BaseException:
        _parsers.made = None
        raise
    return builder.root


_parsers = threading.local()


def _parser() -> tuple[etree.HTMLParser, _Builder]:
    """This thread's parser and its target, made once: making a parser with a target
    inspects the target's methods (``inspect.getfullargspec``), which cost as much as
    parsing a short page."""
    made: tuple[etree.HTMLParser, _Builder] | None = getattr(_parsers, "made", None)
    if made is None:
        builder = _Builder(specials=False)
        # A parser fed ``str`` hands its target ``str`` only (the stubs allow bytes too).
        target = cast("etree.ParserTarget", builder)
        made = (etree.HTMLParser(target=target, recover=True), builder)
        _parsers.made = made
    return made


# bs4's ``str(tag)`` (its "minimal" formatter), so a page's main content reads as before.
_EMPTY_ELEMENTS = VOID_ELEMENTS | {"command", "image", "isindex", "menuitem", "nextid", "spacer"}
_RAW_TEXT = frozenset({"script", "style"})


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _quoted(value: str) -> str:
    value = _escape(value)
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    return '"' + value.replace('"', "&quot;") + '"'


def outer_html(root: Element) -> str:
    """``root`` written as HTML (the ``[document]`` root as its content alone)."""
    out: list[str] = []
    # Each entry: the element whose end tag comes once its children are written.
    stack: list[tuple[Element, Iterator[Node]]] = []

    def open_element(element: Element) -> None:
        attributes = "".join(
            f" {key}={_quoted(value)}" for key, value in sorted(element.attrs.items())
        )
        if not element.children and element.name in _EMPTY_ELEMENTS:
            out.append(f"<{element.name}{attributes}/>")
            return
        out.append(f"<{element.name}{attributes}>")
        stack.append((element, iter(element.children)))

    if root.name == DOCUMENT:
        stack.append((root, iter(root.children)))
    else:
        open_element(root)
    while stack:
        element, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if element is not root or root.name != DOCUMENT:
                out.append(f"</{element.name}>")
        elif isinstance(child, Element):
            open_element(child)
        elif isinstance(child, Special):
            out.append(f"{child.prefix}{child}{child.suffix}")
        else:
            out.append(child if element.name in _RAW_TEXT else _escape(child))
    return "".join(out)
