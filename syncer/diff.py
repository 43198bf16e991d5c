"""What Fin would read of a page, and what a change does to it: HTML as Markdown, diffed.

Fin reads a page's text, not its markup, so a page is shown the way a person reads it:
its title, then its HTML turned into Markdown by markdownify (ATX headings, ``-``
bullets, fenced code with its language, pipe tables), one paragraph a line. A diff of
two such texts is then a diff of what Fin reads: an edited paragraph is one changed
line, and markup that reads the same (attribute order, whitespace, Intercom's own
reformatting of what it stores) shows nothing.

``Differ`` is the dry run's ``--diff``: for each page the plan would update, it reads
what Intercom holds now (one ``GET /ai/external_pages/{id}`` a page, counted) and
diffs it against the page the run would send. markdownify (and BeautifulSoup under it)
is imported with this module, which only ``--diff`` and ``preview --markdown`` use.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any

from markdownify import MarkdownConverter

from syncer.errors import FatalIntercomError, IntercomError, NotFoundError
from syncer.model import Hashed, PageDiff

# Lines of context around each change: enough to find the place, not the whole page.
CONTEXT = 2
_BLANK_RUNS = re.compile(r"\n{3,}")


def _language(pre: Any) -> str | None:
    """A fence's language, from the ``language-*`` class of its ``<code>`` (or ``<pre>``)."""
    code = pre.find("code")
    for element in (code, pre):
        for name in (element.get("class") or []) if element is not None else []:
            if name.startswith("language-"):
                return str(name.removeprefix("language-"))
    return None


_CONVERTER = MarkdownConverter(heading_style="ATX", bullets="-", code_language_callback=_language)


def fin_markdown(html: str) -> str:
    """``html`` as the Markdown text a person (and Fin) reads: one paragraph a line."""
    text = _CONVERTER.convert(html)
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines))


def fin_text(title: str, html: str) -> str:
    """The page as Fin reads it: its title, then its body as Markdown."""
    return f"title: {title}\n\n{fin_markdown(html)}\n"


def text_diff(before: str, after: str, *, old_name: str, new_name: str) -> tuple[str, ...]:
    """A unified diff of two texts, line by line; empty when they read the same."""
    return tuple(
        difflib.unified_diff(
            before.splitlines(),
            after.splitlines(),
            fromfile=old_name,
            tofile=new_name,
            n=CONTEXT,
            lineterm="",
        )
    )


class Differ:
    """Diffs each page a dry run would update against what Intercom holds now.

    ``read`` takes a page id and returns what Intercom holds as ``(title, html)``; it is
    called once per page diffed, and ``calls`` counts them. A page Intercom no longer
    has is diffed against nothing (the run would create it again).
    """

    def __init__(self, read: Callable[[str], tuple[str, str]]) -> None:
        self._read = read
        self.calls = 0

    def diff(self, item: Hashed, page_id: str | None) -> PageDiff:
        """What sending ``item`` over the page ``page_id`` would change in what Fin reads."""
        document = item.document
        before, note = "", ""
        if page_id is None:
            note = "the store holds no page id for it: nothing to compare with"
        else:
            self.calls += 1
            try:
                title, html = self._read(page_id)
                before = fin_text(title, html)
            except NotFoundError:
                note = f"Intercom has no page {page_id} any more: the run would create it"
            except FatalIntercomError:
                raise  # the token: no other page will fare better
            except IntercomError as exc:
                note = f"could not read page {page_id} from Intercom: {exc}"
        after = fin_text(document.title, document.html)
        lines = text_diff(
            before,
            after,
            old_name=f"intercom: page {page_id}" if page_id else "intercom: no page",
            new_name=f"{document.key}: what the run would send",
        )
        return PageDiff(document.key, document.title, page_id, lines, note)
