"""Links between documents of one source: ``../guide/setup.md#x`` -> that page's URL.

A source's documents link to each other by file path. Fin knows pages by URL, so a link
to another document becomes the target's page URL (with the fragment kept); anything
else is left to the normaliser, which resolves it against the document's own URL.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from syncer.convert.urls import is_relative


def document_links(
    doc_path: str, url_of: Callable[[str], str | None]
) -> Callable[[str], str | None]:
    """A link resolver for the document at ``doc_path`` (POSIX, relative to the root).

    ``url_of(path)`` gives the page URL of the document at ``path``, or ``None`` when
    ``path`` is not a document of the source (or has no URL).
    """

    def resolve(href: str) -> str | None:
        if not is_relative(href):
            return None
        try:
            parts = urlsplit(href.strip())
        except ValueError:
            return None
        # "#x" and "?q" point into the document itself, "/x" at the site: the
        # document's own URL is the right base for those, not another document.
        if not parts.path or parts.path.startswith("/"):
            return None
        target = posixpath.normpath(
            posixpath.join(posixpath.dirname(doc_path), unquote(parts.path))
        )
        if target == ".." or target.startswith("../") or target == ".":
            return None
        url = url_of(target)
        if url is None:
            return None
        return f"{url}#{parts.fragment}" if parts.fragment else url

    return resolve
