"""What a run keeps of each document it touched, through a real sync into the fake
Intercom: created, updated, deleted, failed (Intercom's reason), skipped (drafts) and
held back by the mass-delete guard; a run that changes nothing keeps nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from syncer.config import loader
from syncer.intercom.client import IntercomClient
from syncer.intercom.publisher import IntercomPublisher
from syncer.run import Options, SourceReport, sync
from syncer.store import RunDocument, Store
from tests.conftest import Workspace


def _sync(workspace: Workspace) -> tuple[SourceReport, list[RunDocument]]:
    settings = loader.load(workspace.config)
    with (
        Store.open(settings.store.url, migrate=True) as store,
        IntercomClient.from_settings(settings.intercom) as client,
    ):
        (report,) = sync(
            settings,
            store,
            IntercomPublisher(client, concurrency=4),
            Options(),
            cache_dir=workspace.root / "cache",
            clock=lambda: datetime.now(UTC),
        )
        (run,) = store.runs.of("docs", limit=1)
        return report, store.runs.documents(run.id)


def _actions(documents: list[RunDocument]) -> list[tuple[str, str]]:
    return [(d.action, d.key) for d in documents]


def test_each_run_keeps_what_it_did_with_each_document(workspace: Workspace) -> None:
    kept = [f"keep-{i}.md" for i in range(6)]
    for key in kept:
        workspace.write(key, f"# Keep {key}\n\nBody.\n")
    workspace.write("a.md", "# Alpha\n\nOne.\n")
    workspace.write("b.md", "# Beta\n\nTwo.\n")
    workspace.write("draft.md", "---\ndraft: true\n---\n# Draft\n")
    workspace.write("rejected.md", "# Rejected\n")
    workspace.fake.faults.reject_external_id("rejected.md", message="title is too long")

    report, documents = _sync(workspace)
    assert report.status == "failed"
    failed, skipped, *created = documents
    assert (failed.action, failed.key, failed.title) == ("failed", "rejected.md", "Rejected")
    assert "title is too long" in failed.reason
    assert not failed.reason.startswith("rejected.md:")
    assert (skipped.action, skipped.key) == ("skipped", "draft.md")
    assert skipped.reason
    assert {d.action for d in created} == {"created"}
    assert {d.key for d in created} == {"a.md", "b.md", *kept}
    assert {d.title for d in created if d.key in ("a.md", "b.md")} == {"Alpha", "Beta"}

    workspace.fake.faults.clear()
    (workspace.docs / "rejected.md").unlink()
    workspace.write("a.md", "# Alpha\n\nOne, edited.\n")
    (workspace.docs / "b.md").unlink()
    report, documents = _sync(workspace)
    assert report.status == "succeeded"
    assert _actions(documents) == [("deleted", "b.md"), ("updated", "a.md")]
    assert documents[0].title == "Beta"

    report, documents = _sync(workspace)  # nothing changed
    assert report.status == "succeeded"
    assert documents == []

    for path in workspace.docs.glob("*.md"):
        path.unlink()
    report, documents = _sync(workspace)
    assert report.status == "blocked"
    assert sorted(_actions(documents)) == sorted(("held", key) for key in ["a.md", *kept])
    assert all("mass-delete guard" in d.reason for d in documents)
