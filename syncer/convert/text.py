"""Plain text to HTML: one escaped ``<p>`` per blank-line-separated block."""

from __future__ import annotations

import html
import re

_BLANK_LINE = re.compile(r"\n[ \t\f\v]*\n")


def text_to_html(text: str) -> str:
    """Paragraphs for blocks separated by blank lines; single newlines become ``<br>``."""
    unified = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = []
    for block in _BLANK_LINE.split(unified):
        lines = [line.rstrip() for line in block.strip("\n").split("\n")]
        if any(lines):
            escaped = (html.escape(line, quote=False) for line in lines)
            paragraphs.append("<p>" + "<br>\n".join(escaped) + "</p>")
    return "\n".join(paragraphs)
