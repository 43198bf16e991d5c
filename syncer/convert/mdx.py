"""MDX's syntax on top of markdown-it: ESM lines, JSX tags and ``{expressions}`` as tokens.

MDX (what Docusaurus 3 compiles every ``.md`` and ``.mdx`` page with) is CommonMark
plus three constructs, as the MDX grammar defines them (micromark-extension-mdxjs):

- **ESM**: at the top level, a line that starts with ``import`` or ``export`` opens a
  block of JavaScript that runs to the next blank line. Token ``mdx_esm`` (hidden).
- **JSX**: ``<Name attr="v" attr={expr} {...spread}>``, ``</Name>``, ``<Name />`` and
  fragments ``<>``. A line made only of tags and expressions is *flow* (block) JSX,
  and so is a line ``<tag>text</tag>`` whose text is then phrasing; elsewhere a tag is
  *text* (inline) JSX. Tokens ``mdx_jsx_flow`` / ``mdx_jsx_text``, one per tag, its
  ``JsxTag`` in ``meta["tag"]``; what lies between an opening and a closing tag is
  Markdown, parsed as usual (so ``<TabItem>`` holds fenced code, lists, admonitions).
- **Expressions**: ``{...}`` anywhere in text, including JSX comments ``{/* */}``.
  Tokens ``mdx_expression_flow`` / ``mdx_expression_text``, the source in ``content``.

No Python library parses MDX, so the tags are scanned here, to the grammar; the
JavaScript inside expressions is only delimited (``jsvalues.expression_end``), never
run. Where MDX would refuse the page (a ``<`` that starts no tag, an unclosed ``{``),
the text stays text. What the tokens mean (which component renders how) is the
caller's: this module owns only the syntax. Indented code does not exist in MDX, so
``mdx_plugin`` turns markdown-it's ``code`` rule off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline

from syncer.convert.jsvalues import expression_end


@dataclass(frozen=True, slots=True)
class Expression:
    """An attribute value written as ``{...}``: its JavaScript source, braces excluded."""

    source: str


AttributeValue = Union[str, Expression, bool]  # noqa: UP007 (a runtime alias)


@dataclass(frozen=True, slots=True)
class JsxTag:
    """One JSX tag. ``name`` is ``""`` for a fragment; ``attributes`` keep their order."""

    name: str
    closing: bool
    self_closing: bool
    attributes: tuple[tuple[str, AttributeValue], ...]
    end: int  # the index just after the tag in the source

    def attribute(self, name: str) -> AttributeValue | None:
        """The value of attribute ``name`` (the last one written wins, as in JSX)."""
        found: AttributeValue | None = None
        for key, value in self.attributes:
            if key == name:
                found = value
        return found

    def text_attribute(self, name: str) -> str | None:
        """Attribute ``name`` when it is written as a string (``"x"``, ``{'x'}``)."""
        value = self.attribute(name)
        if isinstance(value, str):
            return value
        if isinstance(value, Expression):
            return string_literal(value.source)
        return None


_NAME_START = re.compile(r"[A-Za-z_$\u00a0-\uffff]")
_NAME = re.compile(r"[A-Za-z_$\u00a0-\uffff][\w$\-\u00a0-\uffff]*")
_MEMBER = re.compile(r"[A-Za-z_$][\w$\-]*(?:(?:\.[A-Za-z_$][\w$]*)+|:[A-Za-z_$][\w$\-]*)?")
_ATTRIBUTE = re.compile(r"[A-Za-z_$\u00a0-\uffff][\w$\-\u00a0-\uffff]*(?::[A-Za-z_$][\w$\-]*)?")
_WHITESPACE = " \t\n\r"
_STRING_LITERAL = re.compile(
    r"""\s*(?:'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"|`((?:[^`\\$]|\\.|\$(?!\{))*)`)\s*""",
    re.DOTALL,
)
_STRING_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPED = {"n": "\n", "t": "\t", "r": "\r"}
_ESM = re.compile(r"(?:import|export)(?=[\s{*])")


def string_literal(source: str) -> str | None:
    """The text of a JavaScript string or plain template literal, ``None`` for other code."""
    match = _STRING_LITERAL.fullmatch(source)
    if match is None:
        return None
    body = next(group for group in match.groups() if group is not None)
    return _STRING_ESCAPE.sub(lambda m: _ESCAPED.get(m.group(1), m.group(1)), body)


def is_comment(source: str) -> bool:
    """Whether an expression holds only JavaScript comments (``{/* note */}``)."""
    return re.fullmatch(r"\s*(?:/\*.*?\*/\s*|//[^\n]*\n\s*)*", source, re.DOTALL) is not None


def _skip_space(src: str, pos: int, end: int) -> int:
    while pos < end and src[pos] in _WHITESPACE:
        pos += 1
    return pos


def _quoted_end(src: str, pos: int, end: int) -> int:
    close = src.find(src[pos], pos + 1, end)
    return close + 1 if close >= 0 else -1


def scan_tag(src: str, pos: int, end: int) -> JsxTag | None:
    """The JSX tag that opens at ``src[pos] == "<"``, if one does before ``end``."""
    if pos + 1 >= end:
        return None
    cursor = pos + 1
    closing = src[cursor] == "/"
    if closing:
        cursor += 1
    if cursor < end and src[cursor] == ">":  # a fragment: <> or </>
        return JsxTag("", closing, False, (), cursor + 1)
    if cursor >= end or not _NAME_START.match(src[cursor]):
        return None  # "a < b", "<3", "< div": not a tag
    name_match = _MEMBER.match(src, cursor, end)
    if name_match is None:
        return None
    name = name_match.group(0)
    cursor = name_match.end()
    attributes: list[tuple[str, AttributeValue]] = []
    while True:
        spaced = _skip_space(src, cursor, end)
        if spaced >= end:
            return None
        char = src[spaced]
        if char == ">":
            return JsxTag(name, closing, False, tuple(attributes), spaced + 1)
        if char == "/":
            after = _skip_space(src, spaced + 1, end)
            if after < end and src[after] == ">" and not closing:
                return JsxTag(name, False, True, tuple(attributes), after + 1)
            return None
        if closing or spaced == cursor:
            return None  # a closing tag has no attributes; attributes need a space first
        if char == "{":  # a spread: {...props}
            close = expression_end(src, spaced + 1)
            if close < 0 or close > end:
                return None
            attributes.append(("...", Expression(src[spaced + 1 : close - 1])))
            cursor = close
            continue
        attribute = _ATTRIBUTE.match(src, spaced, end)
        if attribute is None:
            return None
        key = attribute.group(0)
        cursor = attribute.end()
        equals = _skip_space(src, cursor, end)
        if equals >= end or src[equals] != "=":
            attributes.append((key, True))
            continue
        value_at = _skip_space(src, equals + 1, end)
        if value_at >= end:
            return None
        if src[value_at] in "'\"":
            close = _quoted_end(src, value_at, end)
            if close < 0:
                return None
            attributes.append((key, src[value_at + 1 : close - 1]))
        elif src[value_at] == "{":
            close = expression_end(src, value_at + 1)
            if close < 0 or close > end:
                return None
            attributes.append((key, Expression(src[value_at + 1 : close - 1])))
        else:
            return None
        cursor = close


def _flow_items(src: str, pos: int, end: int) -> tuple[list[JsxTag | str], int] | None:
    """The tags and expressions (as ``str`` sources) of a flow line from ``pos``.

    Returns them with the index of the line end they stop at, or ``None`` when the line
    holds anything else. ``<tag>text</tag>`` alone on a line gives the two tags around a
    ``("text", start, stop)`` marker-free slice: see ``_phrasing``.
    """
    items: list[JsxTag | str] = []
    while True:
        while pos < end and src[pos] in " \t":
            pos += 1
        if pos >= end or src[pos] == "\n":
            return (items, pos) if items else None
        if src[pos] == "<":
            tag = scan_tag(src, pos, end)
            if tag is None:
                return None
            items.append(tag)
            pos = tag.end
        elif src[pos] == "{":
            close = expression_end(src, pos + 1)
            if close < 0 or close > end:
                return None
            items.append(src[pos + 1 : close - 1])
            pos = close
        else:
            return None


def _phrasing(src: str, pos: int, line_end: int) -> tuple[JsxTag, int, int, JsxTag] | None:
    """``<tag ...>text</tag>`` filling the line from ``pos``: the tags and the text span."""
    if src[pos] != "<":
        return None
    opening = scan_tag(src, pos, line_end)
    if opening is None or opening.closing or opening.self_closing:
        return None
    tail = src[opening.end : line_end].rstrip()
    close_at = tail.rfind("</")
    if close_at < 0:
        return None
    close_at += opening.end
    closing = scan_tag(src, close_at, line_end)
    if closing is None or not closing.closing or closing.name != opening.name:
        return None
    if src[closing.end : line_end].strip():
        return None
    return opening, opening.end, close_at, closing


def _line_of(state: StateBlock, index: int, start: int, end: int) -> int:
    line = start
    while line < end and state.eMarks[line] < index:
        line += 1
    return line


def _esm_rule(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    if state.level != 0 or state.sCount[start] != 0 or state.blkIndent != 0:
        return False
    begin = state.bMarks[start] + state.tShift[start]
    if not _ESM.match(state.src, begin, state.eMarks[start]):
        return False
    if silent:
        return True
    line = start + 1
    while line < end and not state.isEmpty(line):
        line += 1
    token = state.push("mdx_esm", "", 0)
    token.content = state.src[begin : state.eMarks[line - 1]]
    token.map = [start, line]
    token.hidden = True
    state.line = line
    return True


def _flow_rule(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    begin = state.bMarks[start] + state.tShift[start]
    if begin >= state.eMarks[start] or state.src[begin] not in "<{":
        return False
    limit = state.eMarks[end - 1] if end > start else state.eMarks[start]
    found = _flow_items(state.src, begin, limit)
    if found is None:
        line_end = state.eMarks[start]
        # Only a line of tags alone ends a paragraph; `<b>x</b>` on one is its text.
        phrasing = None if silent else _phrasing(state.src, begin, line_end)
        if phrasing is None:
            return False
        opening, text_start, text_end, closing = phrasing
        _push_tag(state, opening, [start, start + 1])
        inline = state.push("inline", "", 0)
        inline.content = state.src[text_start:text_end].strip()
        inline.map = [start, start + 1]
        inline.children = []
        _push_tag(state, closing, [start, start + 1])
        state.line = start + 1
        return True
    items, stop = found
    last = _line_of(state, stop, start, end)
    if silent:
        return True
    for item in items:
        if isinstance(item, JsxTag):
            _push_tag(state, item, [start, last + 1])
        else:
            token = state.push("mdx_expression_flow", "", 0)
            token.content = item
            token.map = [start, last + 1]
    state.line = last + 1
    return True


def _push_tag(state: StateBlock, tag: JsxTag, lines: list[int]) -> None:
    token = state.push("mdx_jsx_flow", "", 0)
    token.meta = {"tag": tag}
    token.map = lines
    token.block = True


def _text_rule(state: StateInline, silent: bool) -> bool:
    char = state.src[state.pos]
    if char == "<":
        tag = scan_tag(state.src, state.pos, state.posMax)
        if tag is None:
            return False
        if not silent:
            token = state.push("mdx_jsx_text", "", 0)
            token.meta = {"tag": tag}
        state.pos = tag.end
        return True
    if char == "{":
        close = expression_end(state.src, state.pos + 1)
        if close < 0 or close > state.posMax:
            return False
        if not silent:
            token = state.push("mdx_expression_text", "", 0)
            token.content = state.src[state.pos + 1 : close - 1]
        state.pos = close
        return True
    return False


def mdx_plugin(md: MarkdownIt) -> None:
    """Parse MDX's ESM, JSX and expressions in ``md`` (rendering is the caller's)."""
    md.block.ruler.before("table", "mdx_esm", _esm_rule)
    # Flow JSX may close a paragraph (MDX itself asks for a blank line there, and would
    # refuse the page without one; ending the paragraph keeps the element whole).
    md.block.ruler.before(
        "html_block", "mdx_flow", _flow_rule, {"alt": ["paragraph", "reference", "blockquote"]}
    )
    md.inline.ruler.before("html_inline", "mdx_text", _text_rule)
    md.disable("code")
