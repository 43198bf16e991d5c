"""What every document converter gives back: ``Extracted`` (HTML before the normaliser,
the document's own title, caveats), and the ``Limits`` it converts within."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from syncer.convert.documents.detect import Kind
from syncer.convert.slugger import GithubSlugger


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of one document is converted: pages of a PDF, slides of a deck."""

    max_pages: int = 500


@dataclass(frozen=True, slots=True)
class Extracted:
    """A document as HTML for ``syncer.convert.html.normalise``.

    ``title`` is the document's own (its properties), if it has one; every heading has
    an ``id`` (GitHub's slugs), so a section can be linked and split off; ``notes`` are
    one-line caveats for the run report (pages left out, pages without text).
    """

    kind: Kind
    html: str
    title: str | None
    notes: tuple[str, ...] = ()


def heading_ids() -> Callable[[str], str]:
    """A fresh slugger: each heading text to an id unique within one document."""
    slugger = GithubSlugger()

    def make(text: str) -> str:
        made = slugger.slug(" ".join(text.split())[:80]).strip("-")
        return made or slugger.slug("section")

    return make
