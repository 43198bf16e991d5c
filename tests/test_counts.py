"""Counts that mean what they say, in text and ``--json``, dry runs and real ones: a draft
or a ``fin: false`` file is excluded on every run (never "unchanged"), files an
``exclude:`` pattern drops are counted, and deletions the guard held back are not listed
as deletions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from syncer.cli import main
from tests.conftest import Workspace
from tests.test_git_support import GitRepo


def sync(
    space: Workspace, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, Any], str]:
    """One pass, as ``--json`` and as text (the same pass again: dry runs only)."""
    config = ("-c", str(space.config))
    code = main(["--log-level", "error", "sync", "--json", *extra, *config])
    report = json.loads(capsys.readouterr().out)["sources"][0]
    text = ""
    if "--dry-run" in extra:
        main(["--log-level", "error", "sync", *extra, *config])
        text = capsys.readouterr().out
    return code, report, text


def write_pages(space: Workspace) -> None:
    space.write("a.md", "# A\n\nWords.\n")
    space.write("b.md", "# B\n\nMore words.\n")
    space.write("draft.md", "---\ndraft: true\n---\n# Draft\n")
    space.write("internal.md", "---\nfin: false\n---\n# Internal\n")


def test_drafts_and_fin_false_files_stay_excluded_not_unchanged(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    write_pages(workspace)
    code, first, _ = sync(workspace, capsys)
    assert code == 0
    assert first["counts"] == {
        "created": 2,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "excluded": 2,
        "failed": 0,
    }
    # Nothing changed: the pages are unchanged, the draft and the fin: false file are
    # still excluded (remembered, so not read again).
    for extra in [(), ("--dry-run",)]:
        code, again, text = sync(workspace, capsys, *extra)
        assert code == 0
        assert again["counts"] == {
            "created": 0,
            "updated": 0,
            "deleted": 0,
            "unchanged": 2,
            "excluded": 2,
            "failed": 0,
        }
        assert again["excluded"] == []  # none read this run, so no reason anew
        assert sorted(again["excluded_before"]) == ["draft.md", "internal.md"]
    assert "unchanged 2, excluded 2" in text
    assert "  x 2 excluded before and unchanged since (drafts, fin: false" in text


def test_files_an_exclude_pattern_drops_are_counted(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(workspace.root / "repo")
    repo.write("docs/guide.md", "# Guide\n")
    repo.write("docs/drafts/one.md", "# One\n")
    repo.write("docs/drafts/two.md", "# Two\n")
    repo.write("docs/drafts/picture.png", "not a document: include never wanted it\n")
    repo.write("docs/.hidden/x.md", "# Hidden: never a document\n")
    repo.commit("docs")
    workspace.config.write_text(
        f"intercom:\n  token: ${{TEST_INTERCOM_TOKEN}}\n  base_url: {workspace.fake.url}\n"
        f"store:\n  url: sqlite:///{workspace.root / 'store.db'}\n"
        "sources:\n  - name: product-docs\n    type: git\n"
        f"    repo: {repo.path}\n    ref: main\n    subpath: docs\n"
        '    exclude: ["drafts/**"]\n'
        "    url: https://github.com/acme/docs/tree/{ref}/docs\n"
    )
    code, planned, text = sync(workspace, capsys, "--dry-run")
    assert code == 0
    assert planned["counts"]["created"] == 1
    assert planned["counts"]["excluded"] == 2
    assert planned["left_out"] == 2
    assert "excluded 2" in text
    assert "  x 2 files left out by the source's exclude: patterns" in text
    code, synced, _ = sync(workspace, capsys)
    assert code == 0
    assert (synced["counts"]["created"], synced["counts"]["excluded"]) == (1, 2)


def test_deletions_the_guard_held_back_are_not_listed_as_deletions(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(4):
        workspace.write(f"page-{i}.md", f"# Page {i}\n")
    assert sync(workspace, capsys)[0] == 0
    for path in workspace.docs.iterdir():
        path.unlink()
    texts = []
    for extra in [("--dry-run",), ()]:
        code, report, text = sync(workspace, capsys, *extra)
        texts.append(text)
        assert code == 3
        assert report["status"] == "blocked"
        assert report["counts"]["deleted"] == 0
        assert report["delete"] == []
        assert sorted(r["key"] for r in report["held_back"]) == [f"page-{i}.md" for i in range(4)]
    lines = texts[0].splitlines()
    assert [line for line in lines if line.startswith("  - ")] == []
    assert "  ! held back: Page 0  (page-0.md)" in lines
    assert "would delete 0" in lines[0]
    assert len(workspace.fake.pages()) == 4
    # Let through, they are deletions again.
    code, report, _ = sync(workspace, capsys, "--allow-mass-delete", "--dry-run")
    assert code == 0
    assert len(report["delete"]) == 4
    assert report["held_back"] == []


def test_a_filesystem_source_counts_the_files_its_exclude_patterns_drop(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files an ``exclude:`` pattern drops from a folder the walk enters are counted; a
    folder excluded whole is not entered (so an excluded ``node_modules/`` costs nothing)
    and its files are not counted."""
    workspace.write("guide.md", "# Guide\n")
    workspace.write("notes/keep.md", "# Keep\n")
    workspace.write("notes/one.draft.md", "# One\n")
    workspace.write("notes/two.draft.md", "# Two\n")
    workspace.write("notes/picture.png", "not a document: include never wanted it\n")
    workspace.write("archive/old.md", "# Old: in a folder excluded whole\n")
    text = workspace.config.read_text()
    workspace.config.write_text(
        text.replace(
            "    type: filesystem\n",
            '    type: filesystem\n    exclude: ["*.draft.md", "archive/"]\n',
            1,
        )
    )
    code, planned, shown = sync(workspace, capsys, "--dry-run")
    assert code == 0, planned
    assert planned["counts"]["created"] == 2
    assert planned["left_out"] == 2
    assert "  x 2 files left out by the source's exclude: patterns" in shown
