"""Links between documents of one source: ``../guide/setup.md#x`` -> that page's URL.

A source's documents link to each other by file path. Fin knows pages by URL, so a link
to another document becomes the target's page URL (with the fragment kept); anything
else is left to the normaliser, which resolves it against the document's own URL.
``checked_links`` does the same knowing the source's files (``SiteFiles``): a link or
image to nothing in the source is reported and keeps only its text.
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


def checked_links(
    doc_path: str,
    url_of: Callable[[str], str | None],
    exists: Callable[[str], bool],
    notes: list[str],
    *,
    fallback: Callable[[str], str | None] | None = None,
    what: str = "link",
) -> Callable[[str], str | None]:
    """A resolver like ``document_links``'s that also knows which files the source has.

    A relative link to a document becomes its page URL, as there; a folder stands for its
    ``index.md`` or ``README.md`` (MkDocs' ``../setup/``), a path without suffix for its
    ``.md`` file (Docusaurus' ``../api/store``). A link to another file of the source (an
    image, a download, a document it does not sync) goes to ``fallback`` (a raw-file
    URL), else the page URL resolves it. A link to nothing in the source, or out of it,
    is named in ``notes`` (``link to 'x.md': no such file in the source``) and drops its
    ``href`` (``""``: the link's text, or an image's alt text, stays), rather than
    leaving a URL that answers 404.
    """
    base = posixpath.dirname(doc_path)

    def resolve(href: str) -> str | None:
        if not is_relative(href):
            return None
        try:
            parts = urlsplit(href.strip())
        except ValueError:
            return None
        if not parts.path or parts.path.startswith("/"):
            return None
        target = posixpath.normpath(posixpath.join(base, unquote(parts.path)))
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        if target == ".." or target.startswith("../"):
            notes.append(f"{what} to {href!r}: outside the source, left out")
            return ""
        candidates = [target] if target != "." else []
        candidates += [posixpath.join(target, name) for name in _FOLDER_PAGES]
        if not posixpath.splitext(target)[1]:
            candidates += [f"{target}{suffix}" for suffix in (".md", ".mdx")]
        for candidate in candidates:
            # ``url_of`` answers from the patterns alone: the file must be there too.
            url = url_of(candidate)
            if url is not None and exists(candidate):
                return url + fragment
        if target != "." and exists(target):
            return fallback(target) if fallback is not None else None
        notes.append(f"{what} to {href!r}: no such file in the source, left out")
        return ""

    return resolve


_FOLDER_PAGES = ("index.md", "README.md", "index.mdx")
