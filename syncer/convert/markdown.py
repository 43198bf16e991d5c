"""Markdown to HTML, and the YAML front matter that may open a Markdown file.

Rendering is GFM through markdown-it-py: CommonMark plus GitHub's tables, strikethrough,
alerts (``> [!NOTE]``, ``[!TIP]``, ``[!IMPORTANT]``, ``[!WARNING]``, ``[!CAUTION]``) and
heading ids (GitHub's slugs: ``## Set up`` is ``#set-up``, a repeat ``#set-up-1``); an
alert is written in the one callout shape (``syncer.convert.callouts``). With
``gfm=False`` it is plain CommonMark (the ``commonmark`` flavour): none of those. Raw HTML
inside Markdown is passed through on purpose: the normaliser cleans it later, like any
other HTML. Lists and block quotes nested past ``MAX_NESTING`` are flattened
into plain paragraphs, every word kept, and the rendering says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.parser_block import ParserBlock
from markdown_it.renderer import RendererHTML
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import OptionsDict
from mdit_py_plugins.anchors import anchors_plugin

from syncer.convert import callouts

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FENCE = "---"
_CLOSERS = ("---", "...")


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """``(front matter, body)``; ``({}, text)`` when ``text`` does not open with ``---``.

    Raises ``ValueError`` with a one-line, human message when the block is unclosed, is
    not YAML, or is not a mapping.
    """
    lines = text.split("\n")
    if lines[0].rstrip() != _FENCE:
        return {}, text
    for number, line in enumerate(lines[1:], start=1):
        if line.rstrip() in _CLOSERS:
            raw = "\n".join(lines[1:number])
            body = "\n".join(lines[number + 1 :])
            break
    else:
        raise ValueError(
            "front matter opened with '---' on line 1 is never closed; add a '---' line after it"
        )
    return _parse_yaml(raw), body


def _parse_yaml(raw: str) -> dict[str, Any]:
    try:
        # libyaml's loader: the same safe subset, several times faster than pure Python.
        data = yaml.load(raw, Loader=_SAFE_LOADER)  # noqa: S506
    except yaml.MarkedYAMLError as error:
        # +2: the mark counts from 0 within the block, which starts after the '---' line.
        line = f" on line {error.problem_mark.line + 2}" if error.problem_mark else ""
        problem = error.problem or error.context or "syntax error"
        raise ValueError(f"front matter is not valid YAML{line}: {problem}") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as error:
        # safe_load builds dates and numbers itself: "2024-13-01" fails in datetime.
        raise ValueError(f"front matter is not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(
            f"front matter must be 'key: value' lines, not a YAML {type(data).__name__}"
        )
    return {str(key): value for key, value in data.items()}


# markdown-it's block parser recurses once per level (a list level is two: the list and
# its item), and past its ``maxNesting`` it silently skips the rest of the block. 100 is
# markdown-it's own default (the CommonMark preset's 20 dropped a list's 10th level):
# about 200 Python frames, well inside the recursion limit. Inline markup shares the
# option; past it, inline markup is read as text, which loses nothing.
MAX_NESTING = 100
# Where a body's first flattened block starts (0-based line), in the render's ``env``.
_FLATTENED = "syncer_flattened_line"
# Container markers at the start of a flattened line: quote, bullet, ordered item.
_MARKERS = re.compile(r"^(?:[ \t]*(?:>|(?:[-+*]|[0-9]{1,9}[.)])(?=[ \t]|$)))+[ \t]*")


def render_markdown(
    text: str, notes: list[str] | None = None, *, first_line: int = 1, gfm: bool = True
) -> str:
    """HTML for a Markdown body (front matter already split off); fenced code keeps its
    language as ``class="language-x"``. ``gfm=False``: plain CommonMark.

    When nesting past ``MAX_NESTING`` was flattened, a one-line note saying from which
    line is appended to ``notes`` (``first_line``: the file's line the body starts on).
    """
    return render_markdown_ids(text, notes, first_line=first_line, gfm=gfm)[0]


def render_markdown_ids(
    text: str, notes: list[str] | None = None, *, first_line: int = 1, gfm: bool = True
) -> tuple[str, frozenset[str] | None]:
    """``render_markdown`` 's HTML, and every id in it when the tokens tell them all: a
    page without raw HTML has no tags but markdown-it's, whose ids are its headings'
    (``None``: read them from the HTML, ``syncer.convert.site.ids_in``)."""
    env: dict[str, Any] = {}
    md = _parser(gfm)
    tokens = md.parse(text, env)
    html = str(md.renderer.render(tokens, md.options, env))
    line = env.get(_FLATTENED)
    if notes is not None and isinstance(line, int):
        notes.append(
            f"lists and block quotes nested {MAX_NESTING} levels deep (a list level counts "
            f"2) were flattened into paragraphs from line {first_line + line}; "
            "all their text is kept"
        )
    return html, _ids(tokens)


def _ids(tokens: Sequence[Token]) -> frozenset[str] | None:
    """The ids of the tags ``tokens`` render to, or ``None`` when they may hold others:
    raw HTML, or an id on anything but a heading (none of the rules here sets one)."""
    ids: set[str] = set()
    for token in tokens:
        if token.type == "html_block":
            return None
        for child in token.children or ():
            if child.type == "html_inline" or "id" in child.attrs:
                return None
        if "id" in token.attrs:
            if token.type != "heading_open":
                return None
            # As the HTML gives it back: escaped, then unescaped; an empty id is none.
            value = str(token.attrs["id"])
            if value:
                ids.add(value)
    return frozenset(ids)


class _FlatteningBlockParser(ParserBlock):
    """markdown-it's block parser, flattening what nests too deep instead of dropping it."""

    def tokenize(self, state: StateBlock, startLine: int, endLine: int) -> None:  # noqa: N803
        # Each list item and block quote tokenizes its content through here, so this is
        # the one place that sees the level a block opens at.
        if state.level < state.md.options.maxNesting:
            super().tokenize(state, startLine, endLine)
        else:
            _flatten(state, startLine, endLine)


def _flatten(state: StateBlock, start: int, end: int) -> None:
    """The lines a too deep block holds, as paragraphs of text without container markers.

    Ends where the block would (a line indented less than a list item's content ends
    the item), so the blocks around it parse as usual. Inline markup still applies.
    """
    lines: list[str] = []
    first = line = start
    while line < end:
        if state.isEmpty(line):
            _paragraph(state, lines, first, line)
            lines = []
        elif state.sCount[line] < state.blkIndent:
            break
        else:
            if not lines:
                first = line
            text = state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]
            lines.append(_MARKERS.sub("", text, count=1))
        line += 1
    _paragraph(state, lines, first, line)
    state.line = line
    state.env.setdefault(_FLATTENED, start)


def _paragraph(state: StateBlock, lines: list[str], first: int, end: int) -> None:
    content = "\n".join(line for line in lines if line.strip())
    if not content:
        return
    state.push("paragraph_open", "p", 1).map = [first, end]
    inline = state.push("inline", "", 0)
    inline.content = content
    inline.map = [first, end]
    inline.children = []
    state.push("paragraph_close", "p", -1)


@cache
def _parser(gfm: bool = True) -> MarkdownIt:
    # Built once: construction compiles every rule chain (a third of a small page's
    # render time). Rendering keeps its state per call, so one parser serves all.
    # GitHub alerts are markdown-it-py's own block rule (``alerts``, 4.1+), the one
    # mdit-py-plugins' gfm plugin enables too; only their HTML is ours.
    md = MarkdownIt("commonmark", {"html": True, "maxNesting": MAX_NESTING, "alerts": gfm})
    if gfm:
        md.enable(["table", "strikethrough"])
        # mdit-py-plugins' anchors: GitHub's slug rule, repeats numbered as GitHub does.
        md.use(anchors_plugin, min_level=1, max_level=6)
        md.core.ruler.push("syncer_alert_titles", _drop_alert_titles)
        md.add_render_rule("alert_open", _alert_open)
        md.add_render_rule("alert_close", _alert_close)
    block = _FlatteningBlockParser()
    block.ruler = md.block.ruler  # the rules the preset and enable() chose
    md.block = block
    return md


def _drop_alert_titles(state: StateCore) -> None:
    """Remove the title paragraph markdown-it gives an alert: ``callout_open`` writes it."""
    kept: list[Token] = []
    in_title = False
    for token in state.tokens:
        if token.type == "alert_title_open":
            in_title = True
        elif token.type == "alert_title_close":
            in_title = False
        elif not in_title:
            kept.append(token)
    state.tokens = kept


def _alert_open(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    kind = str(tokens[idx].meta.get("kind") or tokens[idx].info)
    return callouts.callout_open(kind) + "\n"


def _alert_close(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    return callouts.CLOSE + "\n"
