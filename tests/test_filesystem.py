"""The filesystem connector on real folders: what it lists, how fast, and what it fetches."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from pydantic import ValidationError

from syncer import registry
from syncer.connector import Connector, Context
from syncer.connectors.filesystem import CONNECTOR, FilesystemConnector, FilesystemSettings
from syncer.convert import CONVERTER_VERSION
from syncer.model import Document, Excluded, Failure, Fetched, Listing


def write(root: Path, rel: str, content: str | bytes = "# Title\n\nBody.\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def settings(root: Path, **fields: Any) -> FilesystemSettings:
    return FilesystemSettings.model_validate(
        {"name": "docs", "type": "filesystem", "path": str(root), **fields}
    )


def connector(root: Path, **fields: Any) -> FilesystemConnector:
    return FilesystemConnector(settings(root, **fields))


def keys(listing: Listing) -> list[str]:
    return [stub.key for stub in listing.stubs]


def fetch_all(conn: FilesystemConnector) -> dict[str, Fetched]:
    return {item.key: item for item in conn.fetch(conn.list().stubs)}


def document(item: Fetched) -> Document:
    assert isinstance(item, Document), item
    return item


# --- listing --------------------------------------------------------------------------


def test_default_patterns_list_markdown_html_text_and_documents_only(tmp_path: Path) -> None:
    for rel in ("a.md", "b.markdown", "c.html", "d.htm", "e.txt", "sub/deep/f.md"):
        write(tmp_path, rel)
    for rel in ("g.pdf", "h.docx", "i.pptx"):  # PDF, Word and PowerPoint files (issue 16)
        write(tmp_path, rel)
    for rel in ("logo.png", "sheet.xlsx", "old.doc", "script.js", ".hidden.md", ".git/HEAD.md"):
        write(tmp_path, rel)
    write(tmp_path, ".cache/x.md")
    listing = connector(tmp_path).list()
    assert keys(listing) == [
        *("a.md", "b.markdown", "c.html", "d.htm", "e.txt", "g.pdf", "h.docx", "i.pptx"),
        "sub/deep/f.md",
    ]
    assert listing.complete
    assert listing.failures == ()


def test_include_and_exclude_use_gitignore_semantics(tmp_path: Path) -> None:
    for rel in ("guide/a.md", "guide/b.txt", "drafts/c.md", "drafts/keep.md", "top.md"):
        write(tmp_path, rel)
    conn = connector(tmp_path, include=["guide/**", "*.md"], exclude=["drafts/**", "!keep.md"])
    assert keys(conn.list()) == ["drafts/keep.md", "guide/a.md", "guide/b.txt", "top.md"]
    pruned = connector(tmp_path, include=["**/*.md"], exclude=["drafts/"])
    assert keys(pruned.list()) == ["guide/a.md", "top.md"]


def test_syncignore_at_the_root_and_nested(tmp_path: Path) -> None:
    for rel in ("a.md", "a.txt", "private/x.md", "sub/b.txt", "sub/c.md", "sub/deeper/d.txt"):
        write(tmp_path, rel)
    write(tmp_path, "sub/deeper/secret.md")
    write(tmp_path, "sub/page.html")
    write(tmp_path, ".syncignore", "# comment\nprivate/\n*.html\n")
    # Nested: applies beneath sub/ only, and may re-include what the root ignores.
    write(tmp_path, "sub/.syncignore", "*.txt\n/deeper/secret.md\n!page.html\n")
    assert keys(connector(tmp_path).list()) == [
        "a.md",
        "a.txt",
        "sub/c.md",
        "sub/page.html",
    ]


def test_keys_are_posix_paths_and_versions_are_size_and_mtime(tmp_path: Path) -> None:
    path = write(tmp_path, "guide/setup guide.md", "# Setup\n")
    os.utime(path, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    conn = connector(tmp_path)
    (stub,) = conn.list().stubs
    assert stub.key == "guide/setup guide.md"
    # The render stamp follows (issue 11 #10: a converter upgrade reads every file once).
    assert stub.version == f"{len(b'# Setup ')}:1700000000123456789@{conn.stamp()}"


def test_symlinks_to_files_and_folders_are_followed(tmp_path: Path) -> None:
    # Inside the source folder only: a link that leaves it is refused (issue 10 #12,
    # tests/test_input_safety.py).
    root = tmp_path / "root"
    library = root / "library"
    write(library, "shared.md")
    write(library, "dir/inner.md")
    write(root, "real.md")
    (root / "linked.md").symlink_to(library / "shared.md")
    (root / "linked-dir").symlink_to(library / "dir")
    listing = connector(root).list()
    assert keys(listing) == [
        "library/dir/inner.md",
        "library/shared.md",
        "linked-dir/inner.md",
        "linked.md",
        "real.md",
    ]
    assert listing.complete


# The audit hook cannot be removed once added, so it is added once and only records
# while a test has switched it on.
_OPENS: list[str] = []
_RECORDING: list[bool] = []
_INSTALLED: list[bool] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _RECORDING and event == "open" and isinstance(args[0], str | bytes | os.PathLike):
        _OPENS.append(os.fsdecode(args[0]))


@pytest.fixture
def opened_files() -> Iterator[list[str]]:
    """Paths opened (audit event ``open``) while the test runs."""
    if not _INSTALLED:
        sys.addaudithook(_audit)
        _INSTALLED.append(True)
    _OPENS.clear()
    _RECORDING.append(True)
    try:
        yield _OPENS
    finally:
        _RECORDING.clear()


def test_list_reads_no_file_contents(tmp_path: Path, opened_files: list[str]) -> None:
    for index in range(50):
        write(tmp_path, f"folder{index % 5}/doc{index}.md")
    write(tmp_path, ".syncignore", "nothing-here/\n")
    write(tmp_path, "folder1/.syncignore", "doc1.md\n")
    conn = connector(tmp_path)
    _OPENS.clear()
    listing = conn.list()
    assert len(listing.stubs) == 49
    under_root = [path for path in opened_files if path.startswith(str(tmp_path))]
    # Only the two .syncignore files were opened: proof the hook sees opens at all.
    assert sorted(Path(path).name for path in under_root) == [".syncignore", ".syncignore"]
    _OPENS.clear()
    list(conn.fetch(listing.stubs[:3]))
    assert len([path for path in opened_files if path.startswith(str(tmp_path))]) == 3


def test_ten_thousand_files_list_fast(tmp_path: Path) -> None:
    for folder in range(100):
        directory = tmp_path / f"section-{folder}" / "pages"
        directory.mkdir(parents=True)
        for index in range(100):
            (directory / f"page-{index}.md").write_bytes(b"x")
    conn = connector(tmp_path, exclude=["section-1/**"])
    best = min(_timed(conn) for _ in range(3))
    assert len(conn.list().stubs) == 9_900
    assert best < 0.5, f"listing 10,000 files took {best:.2f} s"


def _timed(conn: FilesystemConnector) -> float:
    start = time.perf_counter()
    conn.list()
    return time.perf_counter() - start


# --- fetching -------------------------------------------------------------------------


def test_titles_come_from_front_matter_heading_html_title_or_file_name(tmp_path: Path) -> None:
    write(tmp_path, "front.md", "---\ntitle: From front matter\n---\n# Heading\n")
    write(tmp_path, "heading.md", "Intro\n\n## The   heading\n")
    write(tmp_path, "getting-started.md", "No heading at all.\n")
    write(tmp_path, "page.html", "<title>HTML title</title><main><h1>H1</h1><p>x</p></main>")
    write(tmp_path, "bare.html", "<body><h2>Only heading</h2><p>x</p></body>")
    write(tmp_path, "release_notes.txt", "Plain text.\n")
    fetched = fetch_all(connector(tmp_path))
    titles = {key: document(item).title for key, item in fetched.items()}
    assert titles == {
        "front.md": "From front matter",
        "heading.md": "The heading",
        "getting-started.md": "Getting started",
        "page.html": "HTML title",
        "bare.html": "Only heading",
        "release_notes.txt": "Release notes",
    }


def test_urls_external_ids_and_exclusions(tmp_path: Path) -> None:
    write(tmp_path, "guide/setup.md", "# Setup\n")
    write(tmp_path, "custom.md", "---\nurl: https://elsewhere.example.com/c\n---\n# C\n")
    write(tmp_path, "renamed.md", "---\nexternal_id: kb-42\nunknown_key: ignored\n---\n# R\n")
    write(tmp_path, "draft.md", "---\ndraft: true\n---\n# D\n")
    write(tmp_path, "internal.md", "---\nfin: false\n---\n# I\n")
    write(tmp_path, "published.md", "---\ndraft: false\nfin: true\n---\n# P\n")
    conn = connector(tmp_path, page_url="https://docs.example.com/{path_stem}")
    fetched = fetch_all(conn)
    setup = document(fetched["guide/setup.md"])
    assert setup.url == "https://docs.example.com/guide/setup"
    assert setup.external_id == "guide/setup.md"
    assert setup.converter_version == CONVERTER_VERSION
    assert document(fetched["custom.md"]).url == "https://elsewhere.example.com/c"
    assert document(fetched["renamed.md"]).external_id == "kb-42"
    assert document(fetched["renamed.md"]).key == "renamed.md"
    assert document(fetched["published.md"]).title == "P"
    draft = fetched["draft.md"]
    assert isinstance(draft, Excluded)
    assert "draft" in draft.reason
    internal = fetched["internal.md"]
    assert isinstance(internal, Excluded)
    assert "fin: false" in internal.reason
    no_template = document(fetch_all(connector(tmp_path))["guide/setup.md"])
    assert no_template.url is None
    full_path = connector(tmp_path, page_url="https://d.example.com/src/{path}")
    assert document(fetch_all(full_path)["guide/setup.md"]).url == (
        "https://d.example.com/src/guide/setup.md"
    )


def test_links_to_documents_become_page_urls_and_images_absolute(tmp_path: Path) -> None:
    write(
        tmp_path,
        "guide/intro.md",
        "# Intro\n\nSee [setup](../setup/install.md#linux), [faq](faq.txt), "
        "[top](#intro), [web](https://example.com/x) and [file](report.pdf).\n\n"
        "![diagram](img/arch.png)\n",
    )
    write(tmp_path, "setup/install.md", "# Install\n")
    write(tmp_path, "guide/faq.txt", "Questions.\n")
    # Files of the source that are not documents (links to missing ones are reported:
    # test_a_link_to_nothing_in_the_source_is_reported).
    write(tmp_path, "guide/report.pdf", b"%PDF-1.4\n")
    write(tmp_path, "guide/img/arch.png", b"\x89PNG\r\n")
    conn = connector(tmp_path, page_url="https://docs.example.com/{path_stem}")
    html = document(fetch_all(conn)["guide/intro.md"]).html
    parsed = BeautifulSoup(html, "lxml")
    links = {a.get_text(): a["href"] for a in parsed.find_all("a")}
    assert links == {
        "setup": "https://docs.example.com/setup/install#linux",
        "faq": "https://docs.example.com/guide/faq",
        "top": "https://docs.example.com/guide/intro#intro",
        "web": "https://example.com/x",
        # Not a document: resolved against this page's URL like any relative link.
        "file": "https://docs.example.com/guide/report.pdf",
    }
    image = parsed.find("img")
    assert image is not None
    assert image["src"] == "https://docs.example.com/guide/img/arch.png"


def test_without_page_url_relative_links_keep_only_their_text(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "# A\n\n[b](b.md) ![pic](p.png)\n")
    write(tmp_path, "b.md", "# B\n")
    parsed = BeautifulSoup(document(fetch_all(connector(tmp_path))["a.md"]).html, "lxml")
    assert parsed.find("a") is None
    assert parsed.find("img") is None
    assert "b pic" in parsed.get_text()


def test_document_version_is_the_stat_of_what_was_read(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "# One\n")
    conn = connector(tmp_path)
    (stub,) = conn.list().stubs
    path.write_text("# Two, longer\n", encoding="utf-8")
    os.utime(path, ns=(1_800_000_000_000_000_000, 1_800_000_000_000_000_000))
    fetched = document(next(conn.fetch([stub])))
    assert fetched.title == "Two, longer"
    assert fetched.version == f"{path.stat().st_size}:1800000000000000000@{conn.stamp()}"
    assert fetched.version != stub.version


def test_vanished_file_is_a_failure(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md")
    conn = connector(tmp_path)
    listing = conn.list()
    path.unlink()
    (item,) = conn.fetch(listing.stubs)
    assert isinstance(item, Failure)
    assert "disappeared" in item.message


def test_registry_builds_the_connector(tmp_path: Path) -> None:
    write(tmp_path, "a.md")
    connector_type = registry.get("filesystem")
    assert connector_type is CONNECTOR
    built = connector_type.create(settings(tmp_path), Context(cache_dir=tmp_path))
    assert isinstance(built, Connector)
    assert built.cursor() is None
    assert keys(built.list()) == ["a.md"]


# --- settings -------------------------------------------------------------------------


def _error(fields: dict[str, Any], context: dict[str, Any] | None = None) -> str:
    with pytest.raises(ValidationError) as raised:
        FilesystemSettings.model_validate(
            {"name": "docs", "type": "filesystem", **fields}, context=context
        )
    return str(raised.value)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("", "is empty"),
        ("/docs/**", "is absolute"),
        ("docs/../secret/**", "'..' segment"),
        ("!../x", "'..' segment"),
        ("./docs/*.md", "starts with './'"),
        ("docs\\", "not a valid gitignore pattern"),
        ("**/[z-a].md", "not a valid gitignore pattern"),
    ],
)
def test_bad_glob_patterns_are_named(tmp_path: Path, pattern: str, expected: str) -> None:
    for field in ("include", "exclude"):
        message = _error({"path": str(tmp_path), field: ["**/*.md", pattern]})
        assert f"pattern {pattern!r}" in message
        assert expected in message


def test_empty_include_is_an_error(tmp_path: Path) -> None:
    assert "include is empty" in _error({"path": str(tmp_path), "include": []})


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "https://d.example.com/{name}",
            "unknown placeholder {name}; allowed: {path}, {path_stem}",
        ),
        ("https://d.example.com/{}", "unknown placeholder {}"),
        ("https://d.example.com/{path!r}", "unknown placeholder {path!r}"),
        ("https://d.example.com/{path", "malformed braces"),
        ("https://d.example.com/path}", "malformed braces"),
        ("docs/{path}", "must start with http:// or https://"),
    ],
)
def test_bad_page_url_templates(tmp_path: Path, template: str, expected: str) -> None:
    assert expected in _error({"path": str(tmp_path), "page_url": template})


def test_path_must_be_an_existing_readable_folder(tmp_path: Path) -> None:
    missing = _error({"path": "nowhere"}, {"base_dir": str(tmp_path)})
    assert f"folder {tmp_path / 'nowhere'} does not exist" in missing
    a_file = write(tmp_path, "file.md")
    assert "is not a folder" in _error({"path": str(a_file)})


def test_relative_path_is_read_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    loaded = FilesystemSettings.model_validate(
        {"name": "docs", "type": "filesystem", "path": "docs"},
        context={"base_dir": str(tmp_path)},
    )
    assert loaded.path == (tmp_path / "docs").resolve()
    # .mdx is Markdown (Docusaurus' MDX), so it is listed by default too (issue 11 #4).
    assert loaded.include == (
        *("**/*.md", "**/*.markdown", "**/*.html", "**/*.htm", "**/*.txt"),
        "**/*.mdx",
        *("**/*.pdf", "**/*.docx", "**/*.pptx"),  # documents (issue 16)
    )
    assert loaded.max_file_bytes == 5_000_000
    assert "greater than 0" in _error({"path": str(tmp_path), "max_file_bytes": 0})


def test_each_listed_file_says_when_it_changed_by_its_mtime(tmp_path: Path) -> None:
    """``Stub.changed_at`` (what freshness is measured from) is the file's mtime, in UTC."""
    from datetime import UTC, datetime

    (tmp_path / "old.md").write_text("# Old\n")
    (tmp_path / "new.md").write_text("# New\n")
    os.utime(tmp_path / "old.md", (1_700_000_000, 1_700_000_000))
    stubs = {stub.key: stub for stub in connector(tmp_path).list().stubs}
    assert stubs["old.md"].changed_at == datetime.fromtimestamp(1_700_000_000, UTC)
    new = stubs["new.md"].changed_at
    assert new is not None
    assert new == datetime.fromtimestamp((tmp_path / "new.md").stat().st_mtime, UTC)
