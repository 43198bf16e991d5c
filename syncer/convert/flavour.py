"""What a Markdown flavour (a docs site's generator) is to the converters: the shared types.

A docs-as-code source means what its generator renders, not what CommonMark renders
(MkDocs with pymdown-extensions, Docusaurus with MDX). A flavour is read from the
source's own tree, without running the generator (``SiteFiles``: read-only, confined to
the source), and renders one file at a time into ``Rendered``: HTML that the one
normaliser (``syncer.convert.html``) then cleans like any other, the title the
generator would show, and notes for the run report (components dropped, links that
point nowhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from syncer.model import BrokenLink

Flavour = Literal["commonmark", "gfm", "mkdocs", "docusaurus"]
FLAVOURS: tuple[Flavour, ...] = ("commonmark", "gfm", "mkdocs", "docusaurus")
# A source's ``markdown:`` setting: a flavour, or ``auto`` (detected from the tree).
MarkdownSetting = Literal["auto", "commonmark", "gfm", "mkdocs", "docusaurus"]


class SiteFiles(Protocol):
    """A source's files as its generator sees them: a folder, or a git commit's tree.

    Paths are POSIX, relative to the root of the tree the source reads (the folder, or
    the repository); nothing outside it can be read (``None``, never an error).
    """

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or ``None`` if it is not there (or leaves the tree)."""
        ...

    def paths(self) -> Iterable[str]:
        """Every file's path in the tree."""
        ...


@dataclass(frozen=True, slots=True)
class Rendered:
    """One file as a flavour renders it, before the normaliser.

    ``title``: the title the generator would show (``None``: let the usual rule decide:
    front matter, else the first heading, else the file name). ``front``: the file's
    front matter. ``notes``: one-line caveats for the run report. ``broken_links``: the
    links, images and anchors the generator found pointing at nothing in the tree.
    """

    html: str
    title: str | None = None
    front: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    broken_links: tuple[BrokenLink, ...] = ()
