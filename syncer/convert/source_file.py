"""One file of a file-based source (a folder, a git tree) to one page, by its suffix.

Shared by every connector that reads files, so a Markdown file converts the same from a
file share as from git. Input is the file's POSIX path relative to the source root and
its bytes; no file system is touched. A file that cannot become a page raises
``ValueError`` with a one-line reason (the connector turns it into a ``Failure``); a
file that asks not to be published comes back as ``Skipped``. A page that converted with
a caveat (deep nesting flattened) says so in its ``notes``.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from syncer.convert.html import first_heading, main_content, normalise, page_title
from syncer.convert.links import document_links
from syncer.convert.markdown import render_markdown, split_front_matter
from syncer.convert.text import text_to_html
from syncer.convert.titles import title_from_path
from syncer.convert.urls import scheme_of

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")


@dataclass(frozen=True, slots=True)
class Page:
    """What a file becomes; ``external_id`` is set only when the file overrides it.

    ``notes`` are one-line caveats for the run report: what conversion had to change
    (never content it dropped: it drops none silently).
    """

    title: str
    html: str
    url: str | None
    external_id: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Skipped:
    """The file asked not to reach Fin (front matter ``draft: true`` or ``fin: false``)."""

    reason: str


def decode_text(data: bytes) -> str:
    """``data`` as UTF-8 text, or ``ValueError`` for binary, non-UTF-8 or blank content."""
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
    if not text.strip():
        raise ValueError("empty file: nothing to send")
    return text


def convert_file(
    path: str,
    data: bytes,
    *,
    url_of: Callable[[str], str | None],
    image_resolver: Callable[[str], str | None] | None = None,
) -> Page | Skipped:
    """The page for the file at ``path`` holding ``data``.

    ``url_of(path)`` is the page URL of any document of the source (``None`` when there
    is none, or ``path`` is not a document); links between documents go through it.
    ``image_resolver(src)``, when given, makes an image's ``src`` absolute first (a git
    source points images at raw file URLs); otherwise images resolve against the page URL.
    Markdown may set ``title``, ``url``, ``external_id``, ``draft`` and ``fin`` in its
    front matter; HTML gives its main content; any other suffix is plain text.
    """
    text = decode_text(data)
    lower = path.lower()
    front: dict[str, Any] = {}
    notes: list[str] = []
    if lower.endswith(MARKDOWN_SUFFIXES):
        front, body = split_front_matter(text)
        skip = _skip_reason(front)
        if skip is not None:
            return Skipped(skip)
        first_line = text.count("\n") - body.count("\n") + 1
        raw, title = render_markdown(body, notes, first_line=first_line), None
    elif lower.endswith(HTML_SUFFIXES):
        raw = main_content(text)
        title = page_title(text)
    else:
        raw, title = text_to_html(text), None
    url = _front_url(front) or url_of(path)
    html = normalise(
        raw,
        base_url=url,
        link_resolver=document_links(path, url_of),
        image_resolver=image_resolver,
    )
    if not html:
        raise ValueError("no content left after conversion: nothing to send")
    title = _front_string(front, "title") or title or first_heading(html) or title_from_path(path)
    title = " ".join(title.split())
    return Page(
        title=title,
        html=html,
        url=url,
        external_id=_front_string(front, "external_id"),
        notes=tuple(notes),
    )


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
