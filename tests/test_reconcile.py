"""``syncer reconcile`` against the fake Intercom: a lost store is rebuilt so the next
sync writes only what really changed, and orphans are reported, deleted on request."""

from __future__ import annotations

import json

import pytest

from syncer.cli import main
from tests.conftest import Workspace


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["--log-level", "error", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def seed(space: Workspace, n: int) -> None:
    for i in range(n):
        space.write(f"doc-{i}.md", f"# Doc {i}\n\nBody {i}.\n")


def lose_the_store(space: Workspace) -> None:
    (space.root / "store.db").unlink()


def test_a_lost_store_is_rebuilt_and_the_next_sync_writes_nothing(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace, 5)
    config = str(workspace.config)
    assert run(capsys, "sync", "-c", config)[0] == 0
    lose_the_store(workspace)
    code, report = run(capsys, "reconcile", "-c", config)
    assert code == 0
    (result,) = report["sources"]
    assert (result["restored"], result["identical"], result["orphans"]) == (5, 5, [])
    writes = workspace.fake.writes
    code, synced = run(capsys, "sync", "-c", config)
    assert code == 0
    assert synced["sources"][0]["counts"]["unchanged"] == 5
    assert workspace.fake.writes == writes


def test_what_changed_while_the_store_was_lost_is_sent_once(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace, 5)
    config = str(workspace.config)
    run(capsys, "sync", "-c", config)
    lose_the_store(workspace)
    workspace.write("doc-2.md", "# Doc 2\n\nRewritten.\n")
    code, report = run(capsys, "reconcile", "-c", config)
    assert code == 0
    assert (report["sources"][0]["restored"], report["sources"][0]["identical"]) == (5, 4)
    code, synced = run(capsys, "sync", "-c", config)
    counts = synced["sources"][0]["counts"]
    assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 1, 4)
    assert len(workspace.fake.pages()) == 5


def test_orphans_are_reported_and_deleted_only_on_request(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace, 5)
    config = str(workspace.config)
    run(capsys, "sync", "-c", config)
    lose_the_store(workspace)
    (workspace.docs / "doc-1.md").unlink()
    (workspace.docs / "doc-3.md").unlink()
    code, report = run(capsys, "reconcile", "-c", config)
    assert code == 1
    orphans = report["sources"][0]["orphans"]
    assert sorted(o["external_id"] for o in orphans) == ["doc-1.md", "doc-3.md"]
    assert len(workspace.fake.pages()) == 5
    # Two of five pages is more than max_delete_fraction (0.25): the request must say so.
    code, report = run(capsys, "reconcile", "--delete-orphans", "--allow-mass-delete", "-c", config)
    assert code == 0
    assert report["sources"][0]["deleted"] == 2
    assert sorted(p["external_id"] for p in workspace.fake.pages()) == [
        "doc-0.md",
        "doc-2.md",
        "doc-4.md",
    ]


def test_pages_of_a_source_removed_from_the_config_are_orphans(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.with_second_source()
    seed(workspace, 2)
    config = str(workspace.config)
    assert run(capsys, "sync", "-c", config)[0] == 0
    workspace.configure()
    code, report = run(capsys, "reconcile", "-c", config)
    assert code == 1
    gone = [r for r in report["sources"] if not r["configured"]]
    assert [(r["source"], [o["external_id"] for o in r["orphans"]]) for r in gone] == [
        ("other", ["x.md"])
    ]
