"""``documents:`` in a file-based or Confluence source: caps, and splitting by heading."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from syncer.config.settings import StrictModel

SplitAt = Literal["off", "h1", "h2", "h3"]


class DocumentSettings(StrictModel):
    """How PDF, Word (DOCX) and PowerPoint (PPTX) files become pages."""

    max_bytes: int = Field(
        default=50_000_000,
        gt=0,
        description="PDF, DOCX and PPTX files larger than this are reported, not read "
        "(text files keep max_file_bytes)",
    )
    max_pages: int = Field(
        default=500,
        gt=0,
        description="Pages of a PDF (slides of a deck) converted; the rest are left out and "
        "the run reports it",
    )
    split_at: SplitAt = Field(
        default="off",
        description="Split a long document into one External Page per section: at each "
        "h1, h1-h2 or h1-h3 heading (PDF headings come from type sizes, decks split per "
        "slide at h2); off keeps one page per file",
    )
    split_min_chars: int = Field(
        default=20_000,
        ge=0,
        description="Only documents with more text than this are split",
    )

    @property
    def split_level(self) -> int:
        """The deepest heading level a split starts a section at; 0 when off."""
        return 0 if self.split_at == "off" else int(self.split_at[1])
