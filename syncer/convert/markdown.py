"""Markdown to HTML, and the YAML front matter that may open a Markdown file.

Rendering is CommonMark plus GitHub's tables and strikethrough, through markdown-it-py.
Raw HTML inside Markdown is passed through on purpose: the normaliser cleans it later,
like any other HTML.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml
from markdown_it import MarkdownIt

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


def render_markdown(text: str) -> str:
    """HTML for a Markdown body (front matter already split off); fenced code keeps its
    language as ``class="language-x"``."""
    return str(_parser().render(text))


@cache
def _parser() -> MarkdownIt:
    # Built once: construction compiles every rule chain (a third of a small page's
    # render time). Rendering keeps its state per call, so one parser serves all.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
