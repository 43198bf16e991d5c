"""PDF, DOCX and PPTX files synced for real: from a folder and from a git repository,
through the run and the store, into the fake Intercom; refused files with their reasons;
an unchanged document never read again."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from syncer.config import loader
from syncer.connector import Context
from syncer.connectors.git import GitConnector, GitSettings, create
from syncer.intercom.client import IntercomClient
from syncer.intercom.publisher import IntercomPublisher
from syncer.model import Document
from syncer.run import Options, SourceReport, sync
from syncer.store import Store
from tests.conftest import Workspace
from tests.documents import (
    LINK,
    MARKERS,
    corrupt_docx_bytes,
    docx_bytes,
    pdf_bytes,
    plain_zip_bytes,
    pptx_bytes,
    scanned_pdf_bytes,
)
from tests.test_git_support import GitRepo
from tests.test_sync_intercom import counts, sync_json, writes_by_operation

GOOD = {
    "manual.docx": ("Widget manual", docx_bytes),
    "slides/training.pptx": ("Widget training", pptx_bytes),
    "prices.pdf": ("Widget price list", pdf_bytes),
}


def write_documents(space: Workspace) -> None:
    for name, (_, make) in GOOD.items():
        path = space.docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make())
    space.write("index.md", "# Home\n\nSee the [price list](prices.pdf).\n")
    (space.docs / "secret.pdf").write_bytes(pdf_bytes(encrypt=True))
    (space.docs / "scan.pdf").write_bytes(scanned_pdf_bytes())
    (space.docs / "cut.docx").write_bytes(corrupt_docx_bytes())
    (space.docs / "archive.docx").write_bytes(plain_zip_bytes())


def pages(space: Workspace) -> dict[str, dict]:  # type: ignore[type-arg]
    return {page["external_id"]: page for page in space.fake.pages()}


def test_documents_reach_intercom_with_their_text_headings_tables_and_links(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    write_documents(workspace)
    report = sync_json(workspace, capsys)
    source = report["sources"][0]
    assert counts(report) == {
        "created": 4,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "excluded": 3,
        "failed": 1,
    }
    found = pages(workspace)
    assert {key: page["title"] for key, page in found.items()} == {
        "index.md": "Home",
        **{key: title for key, (title, _) in GOOD.items()},
    }
    for key in GOOD:
        page = found[key]
        assert page["url"] == f"https://docs.example.com/{key}"  # the file itself
        soup = BeautifulSoup(page["html"], "html.parser")
        assert MARKERS["heading"] in [h.get_text(" ", strip=True) for h in soup.find_all("h1")] + [
            h.get_text(" ", strip=True) for h in soup.find_all("h2")
        ]
        rows = [
            [td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in soup.find_all("tr")
        ]
        assert [MARKERS["table"], MARKERS["price"]] in rows
        link = soup.find("a", href=LINK)
        assert link is not None
        assert link.get_text() == MARKERS["link"]
        items = [li.get_text(" ", strip=True) for li in soup.find_all("li")]
        assert any(item.startswith(MARKERS["list"]) for item in items)
    # A link from a page to a document is a link to the document's own URL.
    assert 'href="https://docs.example.com/prices.pdf"' in found["index.md"]["html"]
    assert {e["key"]: e["reason"] for e in source["excluded"]} == {
        "secret.pdf": "encrypted PDF: it cannot be opened without its password; save a copy "
        "without a password to sync it",
        "scan.pdf": "scanned PDF, needs OCR: its one page has no text layer, only images",
        "archive.docx": "a zip archive, not an Office document (it has no [Content_Types].xml); "
        "exclude it, or unpack it into the source",
    }
    (failure,) = source["errors"]
    assert failure.startswith("cut.docx: damaged or cut-short zip, not a readable document")
    assert "PK" not in "".join(page["html"] for page in found.values())


def test_an_unchanged_document_is_never_read_again(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    write_documents(workspace)
    sync_json(workspace, capsys)
    # Same size, same mtime, other bytes: a run that read any of them would notice.
    for name in [*GOOD, "secret.pdf", "scan.pdf", "archive.docx"]:
        path = workspace.docs / name
        info = path.stat()
        path.write_bytes(b"\x00" * info.st_size)
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    mark = len(workspace.fake.calls)
    report = sync_json(workspace, capsys)
    assert writes_by_operation(workspace, mark) == {}
    assert counts(report)["unchanged"] == 4  # the pages in Fin
    assert counts(report)["excluded"] == 3  # the excluded ones, remembered: not read again
    assert counts(report)["failed"] == 1  # the damaged one is read again, and still fails


def test_with_every_file_included_a_docx_is_a_document_and_an_image_stays_binary(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.configure(extra='    include: ["**/*"]\n')
    (workspace.docs / "manual.docx").write_bytes(docx_bytes())
    (workspace.docs / "report.dat").write_bytes(pdf_bytes())  # a PDF by its bytes
    (workspace.docs / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    report = sync_json(workspace, capsys)
    found = pages(workspace)
    assert sorted(found) == ["manual.docx", "report.dat"]
    assert found["manual.docx"]["html"].startswith('<h1 id="widget-manual">Widget manual</h1>')
    assert found["report.dat"]["title"] == "Widget price list"
    assert report["sources"][0]["errors"] == [
        "logo.png: binary file (it contains NUL bytes); exclude it or convert it to text"
    ]


def test_size_and_page_caps_are_reported(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.configure(extra="    documents:\n      max_bytes: 5000\n      max_pages: 1\n")
    (workspace.docs / "prices.pdf").write_bytes(pdf_bytes())
    (workspace.docs / "manual.docx").write_bytes(docx_bytes())
    report = sync_json(workspace, capsys, "--dry-run")
    source = report["sources"][0]
    size = len(docx_bytes())
    assert source["errors"] == [
        f"manual.docx: file is {size / 1000:.1f} kB, over documents.max_bytes 5.0 kB; raise "
        "documents.max_bytes or exclude it"
    ]
    assert source["notes"] == {
        "prices.pdf: only the first 1 of 2 pages converted (documents.max_pages); raise it to "
        "send the rest": 1
    }


def test_a_git_source_sends_documents_with_raw_urls_pinned_to_the_commit(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "work")
    repo.write("docs/manual.docx", docx_bytes())
    repo.write("docs/guide.md", "# Guide\n\nRead the [manual](manual.docx).\n")
    commit = repo.commit()
    source = create(
        GitSettings.model_validate(
            {
                "name": "docs",
                "type": "git",
                "repo": str(repo.path),
                "subpath": "docs",
                "page_url": "https://git.example.com/docs/blob/{ref}/{path_stem}",
                "raw_url": "https://git.example.com/docs/raw/{commit}/{path}",
            }
        ),
        Context(cache_dir=tmp_path / "cache"),
    )
    assert isinstance(source, GitConnector)
    fetched = {item.key: item for item in source.fetch(source.list().stubs)}
    manual = fetched["docs/manual.docx"]
    assert isinstance(manual, Document)
    assert manual.title == "Widget manual"
    assert manual.url == f"https://git.example.com/docs/raw/{commit}/docs/manual.docx"
    guide = fetched["docs/guide.md"]
    assert isinstance(guide, Document)
    assert 'href="https://git.example.com/docs/blob/HEAD/docs/manual.docx"' in guide.html


def test_a_git_source_never_reads_an_unchanged_document_again(workspace: Workspace) -> None:
    """A new commit that leaves the document's blob as it was: the run reads only what
    changed (the planner's fetch list, logged), and the document keeps its raw URL at the
    commit it was read at, which serves the same bytes."""
    from structlog.testing import capture_logs

    repo = GitRepo(workspace.root / "repo")
    repo.write("docs/manual.docx", docx_bytes())
    repo.write("docs/prices.pdf", pdf_bytes())
    repo.write("docs/guide.md", "# Guide\n\nRead the [manual](manual.docx).\n")
    first_commit = repo.commit()
    workspace.config.write_text(
        workspace.config.read_text().split("sources:")[0]
        + f"sources:\n  - name: docs\n    type: git\n    repo: {repo.path}\n"
        "    subpath: docs\n    page_url: https://git.example.com/docs/blob/{ref}/{path_stem}\n"
        "    raw_url: https://git.example.com/docs/raw/{commit}/{path}\n"
    )

    def synced() -> tuple[SourceReport, list[int]]:
        with capture_logs() as logs:
            (report,) = _sync(workspace)
        fetched = [int(e["to_fetch"]) for e in logs if e["event"] == "source_listed"]
        return report, fetched

    report, fetched = synced()
    assert (report.counts.created, fetched) == (3, [3])
    raw = f"https://git.example.com/docs/raw/{first_commit}/docs/"
    assert pages(workspace)["docs/manual.docx"]["url"] == raw + "manual.docx"
    assert pages(workspace)["docs/prices.pdf"]["url"] == raw + "prices.pdf"
    repo.write("docs/guide.md", "# Guide\n\nRead the [manual](manual.docx) first.\n")
    repo.commit()
    report, fetched = synced()
    assert (report.counts.updated, report.counts.unchanged, fetched) == (1, 2, [1])
    assert pages(workspace)["docs/manual.docx"]["url"] == raw + "manual.docx"
    report, fetched = synced()  # nothing moved: nothing read
    assert (report.counts.unchanged, fetched) == (3, [0])


def _sync(workspace: Workspace) -> tuple[SourceReport, ...]:
    settings = loader.load(workspace.config)
    with (
        Store.open(settings.store.url, migrate=True) as store,
        IntercomClient.from_settings(settings.intercom) as client,
    ):
        return tuple(
            sync(
                settings,
                store,
                IntercomPublisher(client, concurrency=2),
                Options(),
                cache_dir=workspace.root / "cache",
                clock=lambda: datetime.now(UTC),
            )
        )


def test_the_config_schema_and_validation_know_documents_and_attachments(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import json

    import jsonschema

    from syncer.cli import main
    from syncer.config import loader
    from syncer.errors import ConfigError

    assert main(["config", "schema"]) == 0
    validator = jsonschema.Draft202012Validator(json.loads(capsys.readouterr().out))
    folder = {"name": "a", "type": "filesystem", "path": "."}
    good = {**folder, "documents": {"split_at": "h2", "max_pages": 10}}
    assert list(validator.iter_errors({"sources": [good]})) == []
    bad = {**folder, "documents": {"split_at": "h4"}}
    assert list(validator.iter_errors({"sources": [bad]}))
    wiki = {
        "name": "w",
        "type": "confluence",
        "base_url": "https://acme.atlassian.net/wiki",
        "email": "bot@acme.test",
        "token": "t",
        "spaces": ["SUP"],
    }
    for attachments in (True, ["pdf", "application/pdf"]):
        assert (
            list(validator.iter_errors({"sources": [{**wiki, "attachments": attachments}]})) == []
        )
    text = (
        "sources:\n  - name: docs\n    type: filesystem\n    path: .\n"
        "    documents:\n      max_pagez: 3\n"
    )
    with pytest.raises(ConfigError) as caught:
        loader.loads(text, base_dir=tmp_path, env={})
    assert "did you mean 'max_pages'" in str(caught.value)
