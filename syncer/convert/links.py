"""Links between documents of one source: ``../guide/setup.md#x`` -> that page's URL.

A source's documents link to each other by file path. Fin knows pages by URL, so a link
to another document becomes the target's page URL (with the fragment kept); anything
else is left to the normaliser, which resolves it against the document's own URL.
``checked_links`` does the same knowing the source's files (``SiteFiles``): a link or
image to nothing in the source is reported (a note and a ``BrokenLink``) and keeps only
its text; given the ids of the pages (``anchors``), an anchor its page lacks is reported.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from typing import Literal
from urllib.parse import unquote, urlsplit

from syncer.convert.urls import is_relative
from syncer.model import BrokenLink


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
    what: Literal["link", "image"] = "link",
    broken: list[BrokenLink] | None = None,
    anchors: Callable[[str], frozenset[str] | None] | None = None,
) -> Callable[[str], str | None]:
    """A resolver like ``document_links``'s that also knows which files the source has.

    A relative link to a document becomes its page URL, as there; a folder stands for its
    ``index.md`` or ``README.md`` (MkDocs' ``../setup/``), a path without suffix for its
    ``.md`` file (Docusaurus' ``../api/store``). A link to another file of the source (an
    image, a download, a document it does not sync) goes to ``fallback`` (a raw-file
    URL), else the page URL resolves it. A link to nothing in the source, or out of it,
    is named in ``notes`` (``link to 'x.md': no such file in the source``) and in
    ``broken``, and drops its ``href`` (``""``: the link's text, or an image's alt text,
    stays), rather than leaving a URL that answers 404.

    ``anchors(path)``, when given, is the ids of the page at ``path`` (``None``: not
    checked): a ``#fragment`` none of them is (in any case, as GitHub forgives) is
    reported too, and kept: the link still lands on its page, and the host may know an
    id the source's Markdown does not show (GitHub's ``user-content-`` ones).
    """
    base = posixpath.dirname(doc_path)

    def report(href: str, reason: str, note: str) -> None:
        notes.append(f"{what} to {href!r}: {note}")
        if broken is not None:
            broken.append(BrokenLink(what, href, reason))

    def landed(path: str, fragment: str) -> bool:
        ids = anchors(path) if anchors is not None and fragment else None
        if ids is None:
            return True
        wanted = unquote(fragment)
        return wanted in ids or wanted.lower() in {i.lower() for i in ids}

    def resolve(href: str) -> str | None:
        if not is_relative(href):
            return None
        try:
            parts = urlsplit(href.strip())
        except ValueError:
            return None
        if not parts.path and not parts.query and not landed(doc_path, parts.fragment):
            report(href, _NO_ANCHOR, "no such anchor on this page")
        if not parts.path or parts.path.startswith("/"):
            return None
        target = posixpath.normpath(posixpath.join(base, unquote(parts.path)))
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        if target == ".." or target.startswith("../"):
            report(href, "outside the source", "outside the source, left out")
            return ""
        candidates = [target] if target != "." else []
        candidates += [posixpath.join(target, name) for name in _FOLDER_PAGES]
        if not posixpath.splitext(target)[1]:
            candidates += [f"{target}{suffix}" for suffix in (".md", ".mdx")]
        for candidate in candidates:
            # ``url_of`` answers from the patterns alone: the file must be there too.
            url = url_of(candidate)
            if url is not None and exists(candidate):
                if not landed(candidate, parts.fragment):
                    report(href, _NO_ANCHOR, "no such anchor on that page")
                return url + fragment
        if target != "." and exists(target):
            return fallback(target) if fallback is not None else None
        report(href, _NO_FILE, "no such file in the source, left out")
        return ""

    return resolve


def distinct(links: Iterable[BrokenLink]) -> tuple[BrokenLink, ...]:
    """``links`` with each (kind, target) once, the first reason given for it kept (a
    flavour's says more than the tree check's that sees the same link after it)."""
    seen: dict[tuple[str, str], BrokenLink] = {}
    for link in links:
        seen.setdefault((link.kind, link.target), link)
    return tuple(seen.values())


_FOLDER_PAGES = ("index.md", "README.md", "index.mdx")
_NO_ANCHOR = "no such anchor"
_NO_FILE = "no such file in the source"
