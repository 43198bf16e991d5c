"""The one shape of a set of content tabs in the HTML Fin reads.

A site shows one tab at a time; Fin gets every tab, each under its label::

    <div class="tabs">
    <div class="tab">
    <p class="tab-label"><strong>TOML</strong></p>
    <pre><code class="language-toml">key = "value"
    </code></pre>
    </div>
    <div class="tab">
    <p class="tab-label"><strong>CLI</strong></p>
    ...
    </div>
    </div>

The label is visible text (the words Fin reads), the tab's content sits inside its own
block after it, and code keeps its ``<pre><code class="language-x">`` with its line
breaks like any other code. This module owns the shape: the builders and the classes
the normaliser keeps (``kept_class``). Whichever renderer meets tabs (pymdownx.tabbed,
Docusaurus ``<Tabs>``) writes them through these builders.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

TABS_CLASS = "tabs"
TAB_CLASS = "tab"
LABEL_CLASS = "tab-label"
TABS_OPEN = f'<div class="{TABS_CLASS}">'
TAB_CLOSE = "</div>"
TABS_CLOSE = "</div>"

_SPACE = re.compile(r"\s+")


def tab_open(label: str) -> str:
    """The opening of one tab, its label included; its content and ``TAB_CLOSE`` follow."""
    text = _SPACE.sub(" ", label).strip() or "Tab"
    return (
        f'<div class="{TAB_CLASS}">'
        f'<p class="{LABEL_CLASS}"><strong>{html.escape(text)}</strong></p>'
    )


def tabs_html(tabs: Iterable[tuple[str, str]]) -> str:
    """A whole set of tabs from ``(label, content HTML)`` pairs, in their order."""
    inner = "".join(f"{tab_open(label)}{content}{TAB_CLOSE}" for label, content in tabs)
    return f"{TABS_OPEN}{inner}{TABS_CLOSE}"


def kept_class(tag: str, value: str) -> str | None:
    """The ``class`` the normaliser keeps on ``tag`` for this shape, or ``None``."""
    words = value.split()
    if tag == "div" and words in ([TABS_CLASS], [TAB_CLASS]):
        return words[0]
    if tag == "p" and words == [LABEL_CLASS]:
        return LABEL_CLASS
    return None
