"""``type: filesystem`` settings: the folder, which files count, and their page URLs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from syncer.config.settings import SourceSettings
from syncer.config.templates import template_problem
from syncer.connectors.filesystem.page_url import PLACEHOLDERS
from syncer.connectors.filesystem.patterns import checked_patterns
from syncer.convert.documents.settings import DocumentSettings
from syncer.convert.flavour import MarkdownSetting

DEFAULT_INCLUDE = (
    *("**/*.md", "**/*.markdown", "**/*.html", "**/*.htm", "**/*.txt"),
    "**/*.mdx",  # Docusaurus' MDX: Markdown too
    *("**/*.pdf", "**/*.docx", "**/*.pptx"),  # documents: syncer.convert.documents
)


class FilesystemSettings(SourceSettings):
    """A folder of Markdown, HTML, text and PDF/DOCX/PPTX files (a file share, a checkout)."""

    type: Literal["filesystem"]
    path: Path = Field(description="The folder; a relative path is read from the config's folder")
    include: tuple[str, ...] = Field(
        default=DEFAULT_INCLUDE, description="gitignore-style patterns of files to sync"
    )
    exclude: tuple[str, ...] = Field(
        default=(), description="gitignore-style patterns of files to leave out"
    )
    page_url: str | None = Field(
        default=None,
        description="Page URL template with {path} (relative path) and {path_stem} "
        "(without extension; a PDF, DOCX or PPTX keeps it: its URL is the file's own); no URL "
        "means Fin cannot cite the page",
    )
    max_file_bytes: int = Field(
        default=5_000_000, gt=0, description="Larger files are reported, not read"
    )
    documents: DocumentSettings = Field(
        default_factory=DocumentSettings,
        description="PDF, DOCX and PPTX files: size and page caps, splitting by heading",
    )
    markdown: MarkdownSetting = Field(
        default="auto",
        description="How Markdown files render: auto (mkdocs.yml in the folder, or just above "
        "it with this folder as its docs_dir: mkdocs; docusaurus.config.{js,ts,mjs} in the "
        "folder or its website/: docusaurus; else gfm), commonmark, gfm (tables, "
        "strikethrough, alerts, heading ids), mkdocs (Python-Markdown with the extensions "
        "mkdocs.yml enables) or docusaurus (MDX)",
    )

    @field_validator("path")
    @classmethod
    def _readable_folder(cls, value: Path, info: ValidationInfo) -> Path:
        context = info.context or {}
        base_dir = context.get("base_dir")
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        path = (base / value.expanduser()).resolve()
        # A run checks the folder when it lists it (one source's missing folder fails
        # that source only); `syncer validate` checks it now.
        if context.get("check_environment", True) and (problem := folder_problem(path, base)):
            raise ValueError(problem)
        return path

    @field_validator("include", "exclude")
    @classmethod
    def _valid_patterns(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        return checked_patterns(str(info.field_name), value)

    @field_validator("page_url")
    @classmethod
    def _valid_template(cls, value: str | None) -> str | None:
        if value is not None and (problem := template_problem(value, PLACEHOLDERS)):
            raise ValueError(problem)
        return value


def folder_problem(path: Path, base: Path | None = None) -> str | None:
    """What is wrong with ``path`` as a source folder on this machine; None if nothing."""
    if not path.exists():
        where = f" (a relative path is read from {base})" if base is not None else ""
        return f"folder {path} does not exist; create it or correct path{where}"
    if not path.is_dir():
        return f"{path} is not a folder; point path at the folder of documents"
    if not os.access(path, os.R_OK | os.X_OK):
        return (
            f"folder {path} is not readable by this user; grant read and execute permission on it"
        )
    return None
