"""``syncer sync --dry-run --diff`` against the fake Intercom: what an update would change
in the text Fin reads, each page read from Intercom once and counted, nothing written;
and ``syncer preview --markdown``, which prints a document the same way."""

from __future__ import annotations

import json
from typing import Any

import pytest

from syncer.cli import main
from syncer.diff import fin_markdown, fin_text, text_diff
from tests.conftest import Workspace
from tests.test_startup import imported_by

GUIDE = (
    "# Guide\n\n"
    "Install the widget from the app store.\n\n"
    "## Settings\n\n"
    "Open settings and choose a plan.\n\n"
    "- one\n- two\n\n"
    "Ask support when stuck.\n"
)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--log-level", "error", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def dry_run_diff(
    space: Workspace, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[dict[str, Any], str]:
    """The --diff dry run as JSON and as text, and the calls it made to the fake."""
    config = ("-c", str(space.config))
    code, out, err = cli(capsys, "sync", "--dry-run", "--diff", "--json", *extra, *config)
    assert code == 0, err
    (report,) = json.loads(out)["sources"]
    code, text, err = cli(capsys, "sync", "--dry-run", "--diff", *extra, *config)
    assert code == 0, err
    return report, text


def synced(space: Workspace, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    space.write("guide.md", GUIDE)
    space.write("faq.md", "# FAQ\n\nQuestions.\n")
    space.write("notes.md", "# Notes\n\nSome notes.\n")
    assert cli(capsys, "sync", "-c", str(space.config))[0] == 0
    return {p["external_id"]: p["id"] for p in space.fake.pages()}


def store_state(space: Workspace) -> tuple[bytes, int]:
    store = space.root / "store.db"
    return store.read_bytes(), store.stat().st_mtime_ns


def test_an_edited_paragraph_is_one_changed_line(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = synced(workspace, capsys)
    workspace.write("guide.md", GUIDE.replace("choose a plan", "choose a yearly plan"))
    before, writes, mark = store_state(workspace), workspace.fake.writes, len(workspace.fake.calls)

    report, text = dry_run_diff(workspace, capsys)

    page = ids["guide.md"]
    (change,) = report["diffs"]
    assert (change["key"], change["title"], change["page_id"]) == ("guide.md", "Guide", page)
    diff = change["diff"]
    assert diff[:2] == [f"--- intercom: page {page}", "+++ guide.md: what the run would send"]
    assert [line for line in diff[2:] if line.startswith("-")] == [
        "-Open settings and choose a plan."
    ]
    assert [line for line in diff[2:] if line.startswith("+")] == [
        "+Open settings and choose a yearly plan."
    ]
    assert report["counts"]["updated"] == 1
    # Read from Intercom: that one page, once a run (JSON, then text), and counted.
    assert report["intercom_check"]["calls"] == 1
    calls = workspace.fake.calls[mark:]
    assert [(c.method, c.path) for c in calls] == [("GET", f"/ai/external_pages/{page}")] * 2
    assert workspace.fake.writes == writes
    assert store_state(workspace) == before  # a dry run writes nothing, not even the store
    lines = text.splitlines()
    assert "  diff: 1 page read from Intercom (1 call); 1 would read differently" in lines
    assert f"  Guide  (guide.md), page {page}, as Fin would read it:" in lines
    assert "    -Open settings and choose a plan." in lines
    assert "    +Open settings and choose a yearly plan." in lines
    assert "    Ask support when stuck." not in lines  # two lines of context, no more


def test_an_unchanged_page_shows_nothing(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(workspace, capsys)
    mark = len(workspace.fake.calls)
    # No change: no update, so nothing is read from Intercom and nothing is shown.
    report, text = dry_run_diff(workspace, capsys)
    assert "diffs" not in report
    assert report["intercom_check"]["calls"] == 0
    assert workspace.fake.calls[mark:] == []
    assert "diff:" not in text
    # --full updates every page: each is read, and none reads differently.
    report, text = dry_run_diff(workspace, capsys, "--full")
    assert report["counts"]["updated"] == 3
    assert report["intercom_check"]["calls"] == 3
    assert "diffs" not in report
    assert "  diff: 3 pages read from Intercom (3 calls); 0 would read differently" in text
    assert "as Fin would read it" not in text


def test_a_page_gone_from_intercom_is_said_so(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = synced(workspace, capsys)
    assert (
        cli(
            capsys,
            "api",
            "deleteExternalPage",
            "-p",
            f"id={ids['faq.md']}",
            "-c",
            str(workspace.config),
        )[0]
        == 0
    )
    workspace.write("faq.md", "# FAQ\n\nAnswers.\n")
    report, text = dry_run_diff(workspace, capsys)
    (change,) = report["diffs"]
    assert change["note"] == (
        f"Intercom has no page {ids['faq.md']} any more: the run would create it"
    )
    assert "+Answers." in change["diff"]
    assert f"    ! Intercom has no page {ids['faq.md']} any more" in text


def test_diff_needs_a_dry_run_and_a_token(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    synced(workspace, capsys)
    code, _, err = cli(capsys, "sync", "--diff", "-c", str(workspace.config))
    assert code == 2
    assert "--diff shows what a dry run would change; add --dry-run" in err
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", "")
    code, _, err = cli(capsys, "sync", "--dry-run", "--diff", "-c", str(workspace.config))
    assert code == 2
    assert "intercom.token is not set" in err


def test_preview_markdown_prints_what_the_diff_compares(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = synced(workspace, capsys)
    edited = GUIDE.replace("Ask support", "Ask our support team")
    workspace.write("guide.md", edited)
    code, out, err = cli(
        capsys, "preview", "docs", "guide.md", "--markdown", "-c", str(workspace.config)
    )
    assert code == 0
    assert out.startswith("title: Guide\n\n")
    assert "Open settings and choose a plan." in out.splitlines()
    assert "- one" in out.splitlines()
    assert "<p>" not in out
    assert "title: Guide" in err  # the usual facts on stderr
    # The diff's new side is exactly what preview --markdown printed.
    report, _ = dry_run_diff(workspace, capsys)
    (change,) = report["diffs"]
    assert change["page_id"] == ids["guide.md"]
    new_side = "\n".join(line[1:] for line in change["diff"][3:] if line[:1] in ("+", " "))
    assert "+Ask our support team when stuck." in change["diff"]
    assert new_side in out  # one hunk: a stretch of the text preview printed


def test_markup_that_reads_the_same_is_no_change() -> None:
    html = '<h2 id="a">Setup</h2><p>Install <strong>it</strong>.</p><ul><li>x</li></ul>'
    other = '<h2 id="b" class="x">Setup</h2>\n<p>Install   <b>it</b>.</p>\n\n<ul><li>x</li></ul>'
    assert fin_markdown(html) == fin_markdown(other) == "## Setup\n\nInstall **it**.\n\n- x"
    assert text_diff(fin_text("T", html), fin_text("T", other), old_name="a", new_name="b") == ()
    code = '<pre><code class="language-python">x = 1\n</code></pre>'
    assert fin_markdown(code) == "```python\nx = 1\n```"


def test_a_sync_without_diff_does_not_load_markdownify(workspace: Workspace) -> None:
    workspace.write("a.md", "# A\n")
    modules = imported_by("sync", "--dry-run", "-c", str(workspace.config))
    assert "markdownify" not in {m.split(".")[0] for m in modules}
    assert "syncer.diff" not in modules
