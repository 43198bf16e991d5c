"""Plain values read out of JavaScript and TypeScript source, without running it.

A docs site's generator is configured in code (``docusaurus.config.ts``) and its pages
pass values to components in code (``values={[{label: 'A', value: 'a'}]}``,
``src={useBaseUrl('img/x.png')}``). syncer never runs that code: this module reads only
what is written as a literal (strings, numbers, booleans, ``null``, arrays and objects
of them) and gives everything else back as ``Opaque`` with its source text, so the
caller can say which value it could not read and fall back. No Python library parses
TypeScript without Node (esprima's port stops at ES2017 and has no types), so this is
the smallest reader that is right about what it reads: a tokenizer that knows strings,
template literals, comments and regular expressions (so a ``}`` or ``baseUrl`` inside
them is never taken for code), and a reader of literal values over its tokens that
skips TypeScript's ``as``/``satisfies`` annotations.

- ``expression_end(src, start)``: where the ``{...}`` opening at ``start`` closes.
- ``literal(src)``: the value of one expression, or ``Opaque``.
- ``object_literals(src)``: every object literal that starts an expression, read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Opaque:
    """A value that is not a plain literal (a call, a variable, an operation): its source."""

    source: str


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "string", "template", "number", "name", "punct"
    text: str
    start: int
    end: int
    value: Any = None  # a string's or template's decoded text (None: interpolated)


_SPACE = re.compile(r"\s+")
_LINE_COMMENT = re.compile(r"//[^\n]*")
_BLOCK_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.DOTALL)
_STRING = re.compile(r"""'(?:[^'\\\n]|\\.|\\\n)*'|"(?:[^"\\\n]|\\.|\\\n)*\"""", re.DOTALL)
_NUMBER = re.compile(r"(?:0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?)n?")
_NAME = re.compile(r"[A-Za-z_$\u00a0-\uffff][\w$\u00a0-\uffff]*")
_PUNCT = re.compile(r"\.\.\.|=>|\?\.|\?\?|[{}\[\]()<>,:;=+\-*/%!&|?~^@#.]")
_REGEX = re.compile(r"/(?:[^/\\\[\n]|\\.|\[(?:[^\]\\\n]|\\.)*\])+/[a-z]*")
# After these a ``/`` starts a regular expression, not a division.
_REGEX_AFTER_PUNCT = frozenset("(,=:[!&|?{};+-*%~^<>")
_REGEX_AFTER_NAME = frozenset({"return", "typeof", "case", "do", "else", "in", "of", "void"})
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\n|.)", re.DOTALL)


def _unescape(body: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code == "\n":
            return ""  # a line continuation
        if code.startswith("u{"):
            return chr(int(code[2:-1], 16))
        if code[0] in "ux" and len(code) > 1:
            return chr(int(code[1:], 16))
        return _ESCAPES.get(code, code)

    return _ESCAPE.sub(one, body)


def _template_end(src: str, start: int) -> tuple[int, bool]:
    """The end of the template literal opening at ``start``, and whether it interpolates."""
    pos = start + 1
    interpolated = False
    while pos < len(src):
        char = src[pos]
        if char == "\\":
            pos += 2
        elif char == "`":
            return pos + 1, interpolated
        elif src.startswith("${", pos):
            interpolated = True
            end = expression_end(src, pos + 2)
            if end < 0:
                return -1, True
            pos = end
        else:
            pos += 1
    return -1, interpolated


def _tokens(src: str, start: int = 0) -> Iterator[_Token]:
    pos = start
    previous: _Token | None = None
    while pos < len(src):
        match = _SPACE.match(src, pos)
        if match:
            pos = match.end()
            continue
        if src.startswith("//", pos):
            pos = _LINE_COMMENT.match(src, pos).end()  # type: ignore[union-attr]
            continue
        if src.startswith("/*", pos):
            pos = _BLOCK_COMMENT.match(src, pos).end()  # type: ignore[union-attr]
            continue
        char = src[pos]
        token: _Token | None = None
        if char in "'\"":
            match = _STRING.match(src, pos)
            if match is None:
                return  # an unclosed string: nothing after it can be read
            token = _Token(
                "string", match.group(0), pos, match.end(), _unescape(match.group(0)[1:-1])
            )
        elif char == "`":
            end, interpolated = _template_end(src, pos)
            if end < 0:
                return
            text = src[pos:end]
            token = _Token(
                "template", text, pos, end, None if interpolated else _unescape(text[1:-1])
            )
        elif char == "/" and _starts_regex(previous):
            match = _REGEX.match(src, pos)
            if match is not None:
                token = _Token("regex", match.group(0), pos, match.end())
        if token is None:
            match = _NUMBER.match(src, pos) if char.isdigit() or char == "." else None
            if match and match.end() > pos and (char != "." or len(match.group(0)) > 1):
                token = _Token("number", match.group(0), pos, match.end())
            elif match := _NAME.match(src, pos):
                token = _Token("name", match.group(0), pos, match.end())
            elif match := _PUNCT.match(src, pos):
                token = _Token("punct", match.group(0), pos, match.end())
            else:
                token = _Token("punct", char, pos, pos + 1)
        yield token
        previous = token
        pos = token.end


def _starts_regex(previous: _Token | None) -> bool:
    if previous is None:
        return True
    if previous.kind == "punct":
        return previous.text in _REGEX_AFTER_PUNCT or previous.text in ("=>", "??", "...")
    return previous.kind == "name" and previous.text in _REGEX_AFTER_NAME


_OPEN = {"{": "}", "[": "]", "(": ")"}


def expression_end(src: str, start: int) -> int:
    """The index just after the ``}`` that closes the ``{`` before ``start``; -1 if none.

    ``start`` is the first character inside the braces. Braces in strings, template
    literals, comments and regular expressions do not count.
    """
    depth = 1
    for token in _tokens(src, start):
        if token.kind != "punct":
            continue
        if token.text == "{":
            depth += 1
        elif token.text == "}":
            depth -= 1
            if depth == 0:
                return token.end
    return -1


class _Reader:
    def __init__(self, src: str, tokens: list[_Token]) -> None:
        self.src = src
        self.tokens = tokens

    def _text(self, index: int) -> str | None:
        return self.tokens[index].text if index < len(self.tokens) else None

    def _skip_to_separator(self, index: int) -> int:
        """The index of the next ``,``/``;`` or unmatched closer at this depth."""
        depth = 0
        while index < len(self.tokens):
            token = self.tokens[index]
            if token.kind == "punct":
                if token.text in _OPEN:
                    depth += 1
                elif token.text in ("}", "]", ")"):
                    if depth == 0:
                        return index
                    depth -= 1
                elif token.text in (",", ";") and depth == 0:
                    return index
            index += 1
        return index

    def _opaque(self, start: int, end: int) -> Opaque:
        if start >= len(self.tokens):
            return Opaque("")
        last = self.tokens[min(end, len(self.tokens)) - 1] if end > start else self.tokens[start]
        return Opaque(self.src[self.tokens[start].start : last.end].strip())

    def value(self, index: int) -> tuple[Any, int]:
        """The value of the expression at ``index`` and the index of what follows it."""
        if index >= len(self.tokens):
            return Opaque(""), index
        token = self.tokens[index]
        value: Any
        after = index + 1
        if token.text == "(" and token.kind == "punct":
            # A parenthesised value (`({...})`, after a JSDoc type cast) is that value.
            value, after = self.value(index + 1)
            if self._text(after) != ")":
                end = self._skip_to_separator(index)
                return self._opaque(index, end), end
            after += 1
        elif token.text == "{" and token.kind == "punct":
            value, after = self._object(index + 1)
        elif token.text == "[" and token.kind == "punct":
            value, after = self._array(index + 1)
        elif token.kind == "string" or (token.kind == "template" and token.value is not None):
            value = token.value
        elif token.kind == "number":
            value = _number(token.text)
        elif token.kind == "name" and token.text in ("true", "false", "null", "undefined"):
            value = {"true": True, "false": False}.get(token.text)
        else:
            end = self._skip_to_separator(index)
            return self._opaque(index, end), end
        # TypeScript's annotations change nothing at run time: `{...} satisfies Options`.
        if self._text(after) in ("as", "satisfies"):
            after = self._skip_to_separator(after)
        if self._text(after) not in (None, ",", ";", "}", "]", ")"):
            # An operation on the literal (`'/' + x`, `a || 'b'`): not a plain value.
            end = self._skip_to_separator(after)
            return self._opaque(index, end), end
        return value, after

    def _object(self, index: int) -> tuple[dict[str, Any], int]:
        found: dict[str, Any] = {}
        while index < len(self.tokens):
            token = self.tokens[index]
            if token.text == "}":
                return found, index + 1
            if token.text == ",":
                index += 1
                continue
            key: str | None = None
            if token.kind in ("name", "number"):
                key = token.text
            elif token.kind == "string":
                key = str(token.value)
            if key is not None and self._text(index + 1) == ":":
                found[key], index = self.value(index + 2)
            elif key is not None and self._text(index + 1) in (",", "}"):
                found[key] = Opaque(key)  # shorthand `{ docs }`: a variable
                index += 1
            else:  # a spread, a method, a computed key: nothing plain to read
                index = self._skip_to_separator(index + 1)
        return found, index

    def _array(self, index: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        while index < len(self.tokens):
            token = self.tokens[index]
            if token.text == "]":
                return items, index + 1
            if token.text == ",":
                index += 1
                continue
            item, index = self.value(index)
            items.append(item)
            if self._text(index) not in (",", "]"):
                index = self._skip_to_separator(index)
                if self._text(index) in (")", "}"):
                    index += 1  # an unbalanced closer: step over it
        return items, index


def _number(text: str) -> int | float | Opaque:
    clean = text.replace("_", "").rstrip("n")
    try:
        return (
            int(clean, 0)
            if clean.isdigit() or clean[:2].lower() in ("0x", "0o", "0b")
            else float(clean)
        )
    except ValueError:
        return Opaque(text)


def literal(src: str) -> Any:
    """The value of the JavaScript expression ``src`` if it is a plain literal, else ``Opaque``.

    Objects and arrays are read member by member: a member that is not plain is an
    ``Opaque`` inside an otherwise readable value.
    """
    tokens = list(_tokens(src))
    value, after = _Reader(src, tokens).value(0)
    if after < len(tokens) and tokens[after].text != ";":
        return Opaque(src.strip())
    return value


# An object literal starts an expression after these (``const c: Config = {``,
# ``module.exports = {``, ``export default {``, ``defineConfig({``, ``return {``).
_STARTS_VALUE = frozenset({"=", "(", "default", "return", "=>"})


def object_literals(src: str) -> Iterator[dict[str, Any]]:
    """Every object literal of ``src`` that starts an expression, read, in source order.

    Objects inside one that was read are not yielded again.
    """
    tokens = list(_tokens(src))
    reader = _Reader(src, tokens)
    index = 1
    while index < len(tokens):
        token = tokens[index]
        if token.text == "{" and token.kind == "punct" and tokens[index - 1].text in _STARTS_VALUE:
            value, after = reader._object(index + 1)
            yield value
            index = max(after, index + 1)
        else:
            index += 1
