"""Write a cleaned tree as tidy, deterministic HTML.

The output is hashed to decide whether a page is re-sent, so it must depend only on the
tree: attributes sorted, whitespace collapsed outside ``<pre>``, spaces moved out of
inline elements' edges, one block per line, elements with nothing in them dropped. The
walk uses an explicit stack: hostile input nests thousands deep. A ``clean`` hook says,
for each element as the walk reaches it, what it becomes: itself, its content alone, or
a text in its place (the normaliser's allow-list runs there, so one walk does both).

Each child becomes a *piece*: its HTML, its kind (inline, ``<br>``, block) and, for
inline pieces, whether a space stood before and after it. An element's pieces are laid
out as lines: blocks each on a line of their own, inline pieces joined into runs with
one space wherever one stood between them (none at a ``<br>``). Pieces are plain tuples:
this walk is the normaliser's hottest loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from syncer.convert.tree import Element, Node

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

# A piece's kind.
_INLINE, _BR, _BLOCK = 0, 1, 2
# (html, kind, space before, space after)
_Piece = tuple[str, int, bool, bool]
_BR_PIECE: _Piece = ("<br>", _BR, False, False)
_SPACE: _Piece = ("", _INLINE, True, True)


def _keep(element: Element) -> bool | str:
    return True


def serialise(root: Element, *, clean: Callable[[Element], bool | str] = _keep) -> str:
    """The children of ``root`` as tidy HTML, blocks separated by newlines.

    ``clean(element)`` is asked of each element in document order, before its content:
    ``True`` writes it (as it then is), ``False`` writes its content alone (cheaper than
    moving the content out of the tree), a string writes that text instead.
    """
    # The element being written (None for the root and for an element written as its
    # content alone, whose pieces are its parent's), its children still to come, whether
    # it is inside a <pre>, and its pieces so far.
    tag: Element | None = None
    children: Iterator[Node] = iter(root.children)
    pre = False
    pieces: list[_Piece] = []
    stack: list[tuple[Element | None, Iterator[Node], bool, list[_Piece]]] = []
    while True:
        for child in children:
            if not isinstance(child, Element):
                if pre:
                    pieces.append((_escape(child), _INLINE, False, False))
                elif child == "\n" or child == " ":
                    # What every run of whitespace outside <pre> is in the tree: a space.
                    pieces.append(_SPACE)
                else:
                    pieces.append(_text(child, pre))
                continue
            verdict = clean(child)
            if verdict is True:
                name = child.name
                if name in VOID:
                    pieces.append(_void(child))
                    continue
                stack.append((tag, children, pre, pieces))
                tag, children, pieces = child, iter(child.children), []
                pre = pre or name == "pre"
                break
            if verdict is False:
                stack.append((tag, children, pre, pieces))
                tag, children = None, iter(child.children)
                break
            pieces.append(_text(verdict, pre))
        else:
            if not stack:
                return "\n".join(_layout(pieces)[0])
            closed, closed_pieces, closed_pre = tag, pieces, pre
            tag, children, pre, pieces = stack.pop()
            if closed is not None:
                piece = _close(closed, closed_pieces, closed_pre)
                if piece is not None:
                    pieces.append(piece)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text(text: str, pre: bool) -> _Piece:
    escaped = _escape(text)
    if pre:
        return (escaped, _INLINE, False, False)
    # Most text has no whitespace but single spaces, which collapsing leaves as they
    # are: looking for anything else is a twentieth of a substitution's cost.
    collapsed = (
        _WHITESPACE.sub(" ", escaped)
        if "  " in escaped
        or "\n" in escaped
        or "\t" in escaped
        or "\r" in escaped
        or "\f" in escaped
        else escaped
    )
    return (
        collapsed.strip(" "),
        _INLINE,
        collapsed.startswith(" "),
        collapsed.endswith(" "),
    )


def _open(tag: Element) -> str:
    if not tag.attrs:
        return f"<{tag.name}>"
    attributes = "".join(
        f' {name}="{_attribute(value)}"' for name, value in sorted(tag.attrs.items())
    )
    return f"<{tag.name}{attributes}>"


def _attribute(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )


def _void(tag: Element) -> _Piece:
    if tag.name == "br":
        return _BR_PIECE
    return (_open(tag), _BLOCK if tag.name in BLOCK else _INLINE, False, False)


def _layout(pieces: list[_Piece]) -> tuple[list[str], int, bool, bool]:
    """An element's content as lines, how many are blocks, and whether a space stood
    before and after the last inline run (for the element's own edges)."""
    lines: list[str] = []
    blocks = 0
    run = ""
    lead = space = after_br = False
    for html, kind, before, after in pieces:
        if kind == _BLOCK:
            if run:
                lines.append(run)
            run = ""
            lead = space = after_br = False
            lines.append(html)
            blocks += 1
        elif not html:
            space = space or before or after
        else:
            space = space or before
            if not run:
                lead = space
            elif space and kind != _BR and not after_br:
                run += " "
            run += html
            space = after
            after_br = kind == _BR
    if run:
        lines.append(run)
    return lines, blocks, lead, space


def _close(tag: Element, pieces: list[_Piece], pre: bool) -> _Piece | None:
    name = tag.name
    kind = _BLOCK if name in BLOCK else _INLINE
    if pre:
        content = "".join(piece[0] for piece in pieces)
        if not content.strip() and name not in _KEEP_EMPTY:
            return None
        return (f"{_open(tag)}{content}</{name}>", kind, False, False)
    if len(pieces) == 1 and pieces[0][1] == _INLINE and pieces[0][0]:
        # One inline piece (``<code>x</code>``, ``<li>word</li>``): its run is itself.
        html, _, lead, space = pieces[0]
        lines, blocks = [html], 0
    else:
        lines, blocks, lead, space = _layout(pieces)
    if not lines:
        if name in _KEEP_EMPTY:
            return (f"{_open(tag)}</{name}>", kind, False, False)
        # An empty inline element may still have separated two words.
        return ("", _INLINE, space, False) if kind == _INLINE else None
    if blocks:
        inner = "\n".join(lines)
        if name == "div" and not tag.attrs and blocks == len(lines):
            # A bare <div> around blocks only (what <main>, <article>, <section> become)
            # adds nothing: its blocks already stand on their own lines.
            return (inner, _BLOCK, False, False)
        return (f"{_open(tag)}\n{inner}\n</{name}>", _BLOCK, False, False)
    if kind == _BLOCK:
        return (f"{_open(tag)}{lines[0]}</{name}>", _BLOCK, False, False)
    return (f"{_open(tag)}{lines[0]}</{name}>", _INLINE, lead, space)
