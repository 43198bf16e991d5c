"""One file of a file-based source (a folder, a git tree) to one page, by its suffix.

Shared by every connector that reads files, so a Markdown file converts the same from a
file share as from git. Input is the file's POSIX path relative to the source root and
its bytes; no file system is touched but through the source's ``Site`` (its Markdown
flavour, ``syncer.convert.site``, and its files, to check links). A file that cannot
become a page raises ``ValueError`` with a one-line reason (the connector turns it into a
``Failure``); a file that asks not to be published, or holds nothing to send (blank, or
nothing left once rendered: an MkDocs redirect page is front matter alone), comes back as
``Skipped``: a state of the file, remembered at its version, not an error to retry. A
page that converted with a caveat (deep nesting flattened, a link to nothing in the
source, an include left out) says so in its ``notes``; its links, images and anchors that
point at nothing in the source are also its ``broken_links``.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from syncer.convert.html import first_heading, main_content, normalise, page_title
from syncer.convert.links import checked_links, distinct, document_links
from syncer.convert.markdown import render_markdown_ids, split_front_matter
from syncer.convert.site import Site
from syncer.convert.text import text_to_html
from syncer.convert.titles import title_from_path
from syncer.convert.urls import scheme_of
from syncer.model import BrokenLink

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd", ".mdx")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
EMPTY_FILE = "empty file: nothing to send"
NOTHING_LEFT = "no content left after conversion: nothing to send"


@dataclass(frozen=True, slots=True)
class Page:
    """What a file becomes; ``external_id`` is set only when the file overrides it.

    ``notes`` are one-line caveats for the run report: what conversion had to change
    (never content it dropped: it drops none silently). ``broken_links``: each link or
    image to nothing in the source, and each anchor its page lacks, once.
    """

    title: str
    html: str
    url: str | None
    external_id: str | None = None
    notes: tuple[str, ...] = ()
    broken_links: tuple[BrokenLink, ...] = ()


@dataclass(frozen=True, slots=True)
class Skipped:
    """The file is not to reach Fin: it asked (front matter ``draft: true`` or
    ``fin: false``), or it holds nothing to send (``EMPTY_FILE``, ``NOTHING_LEFT``)."""

    reason: str


def decode_text(data: bytes) -> str:
    """``data`` as UTF-8 text, or ``ValueError`` for binary or non-UTF-8 content."""
    if b"\x00" in data:
        raise ValueError("binary file (it contains NUL bytes); exclude it or convert it to text")
    offset = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[offset:].decode("utf-8")
    except UnicodeDecodeError as error:
        position = offset + error.start
        raise ValueError(
            f"not valid UTF-8: byte 0x{data[position]:02x} at offset {position}; "
            "save the file as UTF-8"
        ) from None
    return text


def convert_file(
    path: str,
    data: bytes,
    *,
    url_of: Callable[[str], str | None],
    image_resolver: Callable[[str], str | None] | None = None,
    site: Site | None = None,
    raw_url_of: Callable[[str], str | None] | None = None,
) -> Page | Skipped:
    """The page for the file at ``path`` holding ``data``.

    ``url_of(path)`` is the page URL of any document of the source (``None`` when there
    is none, or ``path`` is not a document); links between documents go through it.
    ``image_resolver(src)``, when given, makes an image's ``src`` absolute first (a git
    source points images at raw file URLs); otherwise images resolve against the page URL.
    With a ``site`` (the source's tree and Markdown flavour), Markdown renders in that
    flavour, and links and images are checked against the tree (``checked_links``): one
    to nothing in the source is a note and a ``BrokenLink``, and so is an anchor its page
    lacks (a flavour checks its own pages', ``Site.anchors`` those rendered as GFM);
    ``raw_url_of(path)`` then gives an image's URL.
    Markdown may set ``title``, ``url``, ``external_id``, ``draft`` and ``fin`` in its
    front matter; HTML gives its main content; any other suffix is plain text.
    """
    text = decode_text(data)
    if not text.strip():
        return Skipped(EMPTY_FILE)
    lower = path.lower()
    front: dict[str, Any] = {}
    notes: list[str] = []
    broken: list[BrokenLink] = []
    anchors: Callable[[str], frozenset[str] | None] | None = None
    title: str | None = None
    if lower.endswith(MARKDOWN_SUFFIXES):
        front, body = split_front_matter(text)
        skip = _skip_reason(front)
        if skip is not None:
            return Skipped(skip)
        rendered = site.render(path, text) if site is not None else None
        if rendered is None:
            first_line = text.count("\n") - body.count("\n") + 1
            gfm = site is None or site.flavour != "commonmark"
            raw, ids = render_markdown_ids(body, notes, first_line=first_line, gfm=gfm)
            if site is not None and gfm:
                site.rendered_gfm(path, raw, ids)
                anchors = _markdown_anchors(site)
        else:
            raw, title = rendered.html, rendered.title
            front = {**front, **rendered.front}
            notes.extend(rendered.notes)
            broken.extend(rendered.broken_links)
    elif lower.endswith(HTML_SUFFIXES):
        raw = main_content(text)
        title = page_title(text)
    else:
        raw = text_to_html(text)
    url = _front_url(front) or url_of(path)
    link_resolver = document_links(path, url_of)
    if site is not None:
        link_resolver = checked_links(
            path, url_of, site.exists, notes, broken=broken, anchors=anchors
        )
        image_resolver = checked_links(
            path, _no_page, site.exists, notes, fallback=raw_url_of, what="image", broken=broken
        )
    html = normalise(
        raw,
        base_url=url,
        link_resolver=link_resolver,
        image_resolver=image_resolver,
    )
    if not html:
        return Skipped(NOTHING_LEFT)
    # A flavour's title is its generator's rule (MkDocs: nav first); else front matter.
    if site is None or title is None or lower.endswith(HTML_SUFFIXES):
        title = _front_string(front, "title") or title
    title = title or first_heading(html, normalised=True) or title_from_path(path)
    title = " ".join(title.split())
    return Page(
        title=title,
        html=html,
        url=url,
        external_id=_front_string(front, "external_id"),
        notes=tuple(notes),
        broken_links=distinct(broken),
    )


def _no_page(path: str) -> str | None:
    return None


def _markdown_anchors(site: Site) -> Callable[[str], frozenset[str] | None]:
    """The ids of a Markdown page as ``site.anchors`` knows them; other files: unchecked."""
    return lambda path: site.anchors(path) if path.lower().endswith(MARKDOWN_SUFFIXES) else None


def _skip_reason(front: dict[str, Any]) -> str | None:
    for key, skip_when in (("draft", True), ("fin", False)):
        value = front.get(key)
        if value is None:
            continue
        if not isinstance(value, bool):
            raise ValueError(f"front matter {key}: must be true or false, not {value!r}")
        if value is skip_when:
            return f"front matter {key}: {str(value).lower()}"
    return None


def _front_string(front: dict[str, Any], key: str) -> str | None:
    value = front.get(key)
    if value is None:
        return None
    # YAML reads "title: 2024" or "external_id: 42" as numbers; the author meant text.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"front matter {key}: must be text, not {value!r}")
    text = str(value).strip()
    if not text:
        raise ValueError(f"front matter {key}: is empty; remove it or give it a value")
    return text


def _front_url(front: dict[str, Any]) -> str | None:
    url = _front_string(front, "url")
    if url is not None and scheme_of(url) not in ("http", "https"):
        raise ValueError(f"front matter url: {url!r} must start with http:// or https://")
    return url
