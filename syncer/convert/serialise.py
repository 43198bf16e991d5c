"""Write a cleaned tree as tidy, deterministic HTML.

The output is hashed to decide whether a page is re-sent, so it must depend only on the
tree: attributes sorted, whitespace collapsed outside ``<pre>``, spaces moved out of
inline elements' edges, one block per line, elements with nothing in them dropped. The
walk uses an explicit stack: hostile input nests thousands deep.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from bs4 import Tag
from bs4.element import NavigableString, PageElement

BLOCK = frozenset(
    {
        "blockquote",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
VOID = frozenset({"br", "hr", "img"})
# Empty cells hold a table's shape; every other empty element says nothing.
_KEEP_EMPTY = frozenset({"td", "th"})
# HTML's whitespace; a no-break space is content and stays.
_WHITESPACE = re.compile(r"[ \t\n\r\f]+")

Kind = Literal["inline", "br", "block"]


@dataclass(frozen=True, slots=True)
class _Piece:
    """Serialised output of one child; inline pieces say whether a space surrounds them."""

    html: str
    kind: Kind
    lead: bool = False
    trail: bool = False


@dataclass(slots=True)
class _Run:
    """Inline pieces joined with single spaces, none at a ``<br>``."""

    html: str = ""
    lead: bool = False
    space: bool = False
    after_br: bool = False

    def add(self, piece: _Piece) -> None:
        if not piece.html:
            self.space = self.space or piece.lead or piece.trail
            return
        self.space = self.space or piece.lead
        if not self.html:
            self.lead = self.space
        elif self.space and piece.kind != "br" and not self.after_br:
            self.html += " "
        self.html += piece.html
        self.space = piece.trail
        self.after_br = piece.kind == "br"


@dataclass(slots=True)
class _Frame:
    # None for the root and for an unwrapped tag, whose pieces go to its parent's.
    tag: Tag | None
    children: Iterator[PageElement]
    pre: bool
    pieces: list[_Piece] = field(default_factory=list)


def serialise(root: Tag, *, unwrap: frozenset[int] = frozenset()) -> str:
    """The children of ``root`` as tidy HTML, blocks separated by newlines.

    Tags whose ``id()`` is in ``unwrap`` are written as their content alone: cheaper
    than ``Tag.unwrap``, which costs the size of the subtree each time.
    """
    stack = [_Frame(None, iter(root.contents), pre=False)]
    while True:
        frame = stack[-1]
        child = next(frame.children, None)
        if child is None:
            stack.pop()
            if not stack:
                return "\n".join(_layout(frame.pieces).lines)
            if frame.tag is None:
                stack[-1].pieces.extend(frame.pieces)
                continue
            piece = _close(frame.tag, frame.pieces, frame.pre)
            if piece is not None:
                stack[-1].pieces.append(piece)
        elif isinstance(child, Tag):
            if id(child) in unwrap:
                stack.append(_Frame(None, iter(child.contents), pre=frame.pre))
            elif child.name in VOID:
                frame.pieces.append(_void(child))
            else:
                pre = frame.pre or child.name == "pre"
                stack.append(_Frame(child, iter(child.contents), pre=pre))
        elif isinstance(child, NavigableString):
            frame.pieces.append(_text(str(child), frame.pre))


def _text(text: str, pre: bool) -> _Piece:
    if pre:
        return _Piece(html.escape(text, quote=False), "inline")
    collapsed = _WHITESPACE.sub(" ", text)
    core = collapsed.strip(" ")
    return _Piece(
        html.escape(core, quote=False),
        "inline",
        lead=collapsed.startswith(" "),
        trail=collapsed.endswith(" "),
    )


def _open(tag: Tag) -> str:
    attributes = "".join(
        f' {name}="{html.escape(str(value), quote=True)}"'
        for name, value in sorted(tag.attrs.items())
    )
    return f"<{tag.name}{attributes}>"


def _void(tag: Tag) -> _Piece:
    if tag.name == "br":
        return _Piece("<br>", "br")
    return _Piece(_open(tag), "block" if tag.name in BLOCK else "inline")


@dataclass(frozen=True, slots=True)
class _Layout:
    """An element's content as lines; ``run`` is the last inline run (for its edges)."""

    lines: list[str]
    blocks: int
    run: _Run


def _layout(pieces: list[_Piece]) -> _Layout:
    lines: list[str] = []
    run = _Run()
    blocks = 0
    for piece in pieces:
        if piece.kind == "block":
            if run.html:
                lines.append(run.html)
            run = _Run()
            lines.append(piece.html)
            blocks += 1
        else:
            run.add(piece)
    if run.html:
        lines.append(run.html)
    return _Layout(lines, blocks, run)


def _close(tag: Tag, pieces: list[_Piece], pre: bool) -> _Piece | None:
    kind: Kind = "block" if tag.name in BLOCK else "inline"
    if pre:
        content = "".join(piece.html for piece in pieces)
        if not content.strip() and tag.name not in _KEEP_EMPTY:
            return None
        return _Piece(f"{_open(tag)}{content}</{tag.name}>", kind)
    layout = _layout(pieces)
    lines, run = layout.lines, layout.run
    if not lines:
        if tag.name in _KEEP_EMPTY:
            return _Piece(f"{_open(tag)}</{tag.name}>", kind)
        # An empty inline element may still have separated two words.
        return _Piece("", "inline", lead=run.space) if kind == "inline" else None
    if layout.blocks:
        inner = "\n".join(lines)
        if tag.name == "div" and not tag.attrs and layout.blocks == len(lines):
            # A bare <div> around blocks only (what <main>, <article>, <section> become)
            # adds nothing: its blocks already stand on their own lines.
            return _Piece(inner, "block")
        return _Piece(f"{_open(tag)}\n{inner}\n</{tag.name}>", "block")
    if kind == "block":
        return _Piece(f"{_open(tag)}{lines[0]}</{tag.name}>", "block")
    return _Piece(f"{_open(tag)}{lines[0]}</{tag.name}>", "inline", run.lead, run.space)
