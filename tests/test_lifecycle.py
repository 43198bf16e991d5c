"""Ordinary operator events never lose, duplicate or leak a page (issue 10, items 1-11).

Each test is an event an operator causes without thinking twice: renaming a source,
losing the store, two runs at once, a reconcile, a kill, a page deleted in Intercom, a
file claiming another's page, Ctrl-C. Against the fake Intercom (real HTTP, requests
checked against the spec), real files, real SQLite and Postgres, real processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncer.cli import main
from syncer.model import Hashed, Page
from syncer.run import NoProgress, Options, sync_source
from syncer.store import Store
from syncer.store.locks import CONFIRM_S
from tests.conftest import TOKEN, Workspace, terminate_session
from tests.fakes.confluence import FakeConfluence, seed_space
from tests.memory import MemoryPublisher, MemorySettings, MemorySource, memory_type

REPO = Path(__file__).resolve().parents[1]


# ---- helpers ------------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["--log-level", "error", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def sync(
    space: Workspace, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any]]:
    return cli(capsys, "sync", "-c", str(space.config), *args)


def reconcile(
    space: Workspace, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any]]:
    return cli(capsys, "reconcile", "-c", str(space.config), *args)


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {source["name"]: source for source in report["sources"]}


def seed(space: Workspace, n: int, folder: str = "") -> dict[str, str]:
    made = {}
    for i in range(n):
        key = f"{folder}doc-{i:03d}.md"
        space.write(key, f"# Doc {folder}{i}\n\nBody {i}.\n")
        made[key] = f"Doc {folder}{i}"
    return made


def source_titles(root: Path) -> dict[str, str]:
    """What Fin should hold for a folder: external_id (its path) -> first heading."""
    return {
        p.relative_to(root).as_posix(): p.read_text().splitlines()[0].removeprefix("# ")
        for p in sorted(root.rglob("*.md"))
    }


def page_ids(space: Workspace) -> dict[str, str]:
    pages = space.fake.pages()
    assert len({p["external_id"] for p in pages}) == len(pages), "duplicate pages"
    return {p["external_id"]: p["id"] for p in pages}


def rename(space: Workspace, old: str, new: str) -> None:
    text = space.config.read_text()
    assert f"name: {old}\n" in text
    space.config.write_text(text.replace(f"name: {old}\n", f"name: {new}\n"))


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "TEST_INTERCOM_TOKEN": TOKEN}


def syncer_process(space: Workspace, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "syncer", "--log-level", "error", "sync", "--json"]
    return subprocess.Popen(
        [*command, "-c", str(space.config), *args],
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(what: str, check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def store_in_fin(space: Workspace, source: str = "docs") -> dict[str, str | None]:
    with Store.open_read_only(f"sqlite:///{space.root / 'store.db'}") as store:
        return {r.external_id: r.page_id for r in store.records(source).values() if r.in_fin}


# ---- 1, 4: a renamed source keeps its pages -----------------------------------------------


def test_a_renamed_source_keeps_its_pages_and_reconcile_then_deletes_nothing(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = seed(workspace, 20)
    assert sync(workspace, capsys)[0] == 0
    before = page_ids(workspace)
    rename(workspace, "docs", "handbook")

    code, report = sync(workspace, capsys)
    assert code == 0, report
    counts = by_name(report)["handbook"]["counts"]
    assert (counts["created"], counts["unchanged"], counts["deleted"]) == (0, 20, 0)
    assert "docs" not in by_name(report)  # the old name is the new one now, not "removed"
    assert page_ids(workspace) == before  # the same pages, not copies
    assert len(workspace.fake.sources()) == 1

    code, report = reconcile(workspace, capsys, "--delete-orphans")
    assert code == 0, report
    assert [(r["source"], r["orphans"], r["deleted"]) for r in report["sources"]] == [
        ("handbook", [], 0)
    ]
    code, report = sync(workspace, capsys)
    assert by_name(report)["handbook"]["counts"]["unchanged"] == 20
    assert {p["external_id"]: p["title"] for p in workspace.fake.pages()} == expected


def test_the_example_config_says_the_url_names_the_import_source() -> None:
    text = (REPO / "config" / "example.yaml").read_text()
    assert "names the Content Import Source" not in text
    assert "Its url" in text.split("- name: handbook")[1].split("\n")[0]


# ---- 2: every deleting path goes through the planner's rules ---------------------------------


def test_reconcile_delete_orphans_of_an_emptied_folder_is_held_by_the_guard(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace, 20)
    assert sync(workspace, capsys)[0] == 0
    for path in workspace.docs.glob("*.md"):
        path.unlink()
    code, report = reconcile(workspace, capsys, "--delete-orphans")
    assert code == 3
    (result,) = report["sources"]
    assert result["status"] == "blocked"
    assert result["deleted"] == 0
    assert "all 20 pages" in result["problem"]
    assert len(workspace.fake.pages()) == 20


def test_reconcile_delete_orphans_never_deletes_what_an_incomplete_listing_missed(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace, 10)
    seed(workspace, 10, folder="private/")
    assert sync(workspace, capsys)[0] == 0
    # A .syncignore that cannot be read: the folder is skipped, the listing incomplete.
    (workspace.docs / "private" / ".syncignore").write_bytes(b"\xff\xfe not utf-8\n")
    code, report = reconcile(workspace, capsys, "--delete-orphans", "--allow-mass-delete")
    (result,) = report["sources"]
    assert result["deleted"] == 0
    assert result["listing_complete"] is False
    assert code != 0
    assert len(workspace.fake.pages()) == 20


def test_reconcile_delete_orphans_keeps_a_confluence_space_the_bot_cannot_see(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeConfluence("cloud") as cloud:
        seed_space(cloud, "SUP", 5)
        seed_space(cloud, "KB", 8)
        monkeypatch.setenv("CONFLUENCE_TOKEN", cloud.token)
        workspace.configure(
            extra="  - name: wiki\n    type: confluence\n"
            f"    base_url: {cloud.base_url}\n    email: {cloud.email}\n"
            "    token: ${CONFLUENCE_TOKEN}\n    spaces: [SUP, KB]\n"
        )
        assert sync(workspace, capsys, "--source", "wiki")[0] == 0
        assert len(workspace.fake.pages()) == 13
        with cloud._lock:
            del cloud.spaces["KB"]  # the bot lost access to KB
        code, report = reconcile(
            workspace, capsys, "--source", "wiki", "--delete-orphans", "--allow-mass-delete"
        )
        (result,) = report["sources"]
        assert result["deleted"] == 0
        assert code != 0
        assert len(workspace.fake.pages()) == 13


# ---- 3: a lost store ------------------------------------------------------------------------


def test_a_lost_store_is_rebuilt_from_intercom_by_a_plain_sync(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace, 50)
    assert sync(workspace, capsys)[0] == 0
    before = page_ids(workspace)
    (workspace.root / "store.db").unlink()
    workspace.write("doc-007.md", "# Doc 7, edited while the store was gone\n")
    (workspace.docs / "doc-011.md").unlink()
    writes = workspace.fake.writes

    code, report = sync(workspace, capsys)
    assert code == 0, report
    counts = report["sources"][0]["counts"]
    assert (counts["created"], counts["updated"], counts["deleted"]) == (0, 1, 1)
    assert counts["unchanged"] == 48
    assert workspace.fake.writes - writes == 2  # what really changed, nothing else
    assert len(workspace.fake.sources()) == 1
    after = page_ids(workspace)
    assert after == {k: v for k, v in before.items() if k != "doc-011.md"}
    assert {p["external_id"]: p["title"] for p in workspace.fake.pages()} == source_titles(
        workspace.docs
    )
    # ...and the store knows every page again: the next run is a no-op.
    assert sync(workspace, capsys)[1]["sources"][0]["counts"]["unchanged"] == 49
    assert workspace.fake.writes - writes == 2


def test_two_sources_with_one_url_are_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "syncer.yaml"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config.write_text(
        "sources:\n"
        "  - name: a\n    type: filesystem\n    path: a\n    url: https://docs.example.com/\n"
        "  - name: b\n    type: filesystem\n    path: b\n"
        '    page_url: "https://docs.example.com/{path_stem}"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "validate", "-c", str(config)],
        capture_output=True,
        text=True,
        env=env(),
        check=False,
    )
    assert done.returncode == 2
    assert f"{config}:9: sources[1].page_url:" in done.stderr
    assert "same url as source 'a'" in done.stderr


# ---- 5: two runs at once ------------------------------------------------------------------


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_two_first_runs_at_once_make_one_import_source(
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    expected = seed(workspace, 30)
    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        workspace.configure(store=url)
        assert main(["db", "upgrade", "-c", str(workspace.config)]) == 0
        capsys.readouterr()
    # Both runs list Intercom's sources before either has created one.
    workspace.fake.faults.slow_down(0.5, method="POST", path_prefix="/ai/content_import_sources")
    first, second = syncer_process(workspace), syncer_process(workspace)
    outs = [p.communicate(timeout=120) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outs
    assert len(workspace.fake.sources()) == 1
    assert {p["external_id"]: p["title"] for p in workspace.fake.pages()} == expected
    reports = [json.loads(out)["sources"][0] for out, _ in outs]
    assert sorted(r["counts"]["created"] for r in reports) == [0, 30]


def test_a_run_waits_for_the_lock_and_then_finds_nothing_to_do(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace, 5)
    with Store.open(f"sqlite:///{workspace.root / 'store.db'}", migrate=True) as store:
        lock = store.try_lock("docs", "a test holding the lock")
        assert lock is not None
        started = time.monotonic()
        code, report = sync(workspace, capsys, "--lock-timeout", "0.5")
        assert time.monotonic() - started >= 0.5
        assert code == 1
        (result,) = report["sources"]
        assert result["status"] == "skipped"
        assert "a test holding the lock" in result["errors"][0]
        assert workspace.fake.calls == []  # nothing was asked of Intercom
        lock.release()
    assert sync(workspace, capsys)[0] == 0


# ---- 6: a lost create-source reply ---------------------------------------------------------


def test_a_lost_reply_to_creating_the_import_source_leaves_no_second_one(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = seed(workspace, 10)
    workspace.fake.faults.lose_replies(1, method="POST", path_prefix="/ai/content_import_sources")
    code, report = sync(workspace, capsys)
    assert len(workspace.fake.sources()) == 1
    assert code == 0, report
    assert sync(workspace, capsys)[0] == 0
    assert len(workspace.fake.sources()) == 1
    assert {p["external_id"]: p["title"] for p in workspace.fake.pages()} == expected


# ---- 7: a kill between a create and its record -------------------------------------------------


def test_a_kill_after_creates_landed_unrecorded_leaves_no_orphan(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace, 40)
    # Intercom makes each page at once; its answer takes 30 s, so the run dies before it.
    workspace.fake.faults.hold_replies(30, method="POST", path_prefix="/ai/external_pages")
    process = syncer_process(workspace)
    wait_until("pages made in Intercom", lambda: len(workspace.fake.pages()) >= 5)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    workspace.fake.faults.clear()
    made = {p["external_id"] for p in workspace.fake.pages()}
    assert made
    assert not store_in_fin(workspace)
    for external_id in made:  # and their files are gone before the next run
        (workspace.docs / external_id).unlink()

    code, report = sync(workspace, capsys)
    assert code == 0, report
    assert {p["external_id"]: p["title"] for p in workspace.fake.pages()} == source_titles(
        workspace.docs
    )
    assert report["sources"][0]["counts"]["deleted"] == len(made)
    assert set(store_in_fin(workspace).values()) == {p["id"] for p in workspace.fake.pages()}


# ---- 8: a replica paused while its lock's connection is cut -----------------------------------


class _PausingPublisher(MemoryPublisher):
    """Fin, where the process pauses (``pause``) while the n-th upsert is out."""

    def __init__(self, pause_at: int, pause: Callable[[], None]) -> None:
        super().__init__()
        self.pause_at, self.pause = pause_at, pause
        self.upserts = 0

    def upsert(self, import_source_id: str, page: Page) -> str:
        self.upserts += 1
        if self.upserts == self.pause_at:
            self.pause()
        return super().upsert(import_source_id, page)


@pytest.mark.postgres
def test_a_replica_paused_while_its_lock_was_cut_sends_nothing_more(
    tmp_path: Path, postgres_url: str
) -> None:
    source = MemorySource()
    for n in range(20):
        source.put(f"doc-{n:02}.md", f"body {n}")

    def pause() -> None:
        # SIGSTOP ... SIGCONT, meanwhile the server drops the lock's session (a restart,
        # a cut network): the lock may be another replica's by now. The lock counts as
        # confirmed for CONFIRM_S, so the pause outlasts that.
        terminate_session(postgres_url, "syncer replica-a")
        time.sleep(CONFIRM_S)

    fin = _PausingPublisher(pause_at=5, pause=pause)
    settings = MemorySettings(name="mem", type="memory")
    with Store.open(postgres_url, migrate=True) as store:
        report = sync_source(
            settings,
            store,
            fin,
            Options(),
            cache_dir=tmp_path,
            clock=lambda: datetime.now(UTC),
            progress=NoProgress(),
            lookup=lambda _type: memory_type({"mem": source}),
            holder="replica-a",
        )
        assert fin.upserts == 5  # the one out when the pause began, and none after it
        assert report.status == "interrupted"
        assert report.lock_lost
        # What Intercom answered is recorded; the next run sends the rest.
        assert len([r for r in store.records("mem").values() if r.in_fin]) == 5


# ---- 9: pages deleted in Intercom out of band ------------------------------------------------


def test_pages_deleted_in_intercom_are_noticed_and_sent_again(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = seed(workspace, 17)
    assert sync(workspace, capsys)[0] == 0
    with httpx.Client(
        base_url=workspace.fake.url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as admin:
        for page in workspace.fake.pages()[:6]:
            reply = admin.delete(
                f"/ai/external_pages/{page['id']}", headers={"Intercom-Version": "Preview"}
            )
            assert reply.status_code == 200
    mark = len(workspace.fake.calls)
    code, report = sync(workspace, capsys)
    assert code == 0
    assert report["sources"][0]["counts"]["created"] == 6
    assert {p["external_id"]: p["title"] for p in workspace.fake.pages()} == expected
    lists = [c for c in workspace.fake.calls[mark:] if c.operation_id == "listExternalPages"]
    assert len(lists) == 2  # the count, then the listing it called for

    # Nothing drifted since: the check costs one call, and nothing is sent.
    mark = len(workspace.fake.calls)
    code, report = sync(workspace, capsys)
    assert report["sources"][0]["counts"]["unchanged"] == 17
    reads = [c for c in workspace.fake.calls[mark:] if c.operation_id == "listExternalPages"]
    assert [c.query for c in reads] == ["per_page=1"]
    assert not any(c.write for c in workspace.fake.calls[mark:])


# ---- 10: a file cannot take another file's page ----------------------------------------------


@pytest.mark.parametrize("claimant", ["0-first.md", "zz-last.md"])
@pytest.mark.parametrize("owner_synced_first", [True, False])
def test_a_file_claiming_anothers_external_id_never_takes_its_page(
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    claimant: str,
    owner_synced_first: bool,
) -> None:
    workspace.write("guide.md", "# The real guide\n\nKeep me.\n")
    workspace.write("other.md", "# Other\n")
    if owner_synced_first:
        assert sync(workspace, capsys)[0] == 0
    workspace.write(claimant, "---\nexternal_id: guide.md\n---\n# Impostor\n\nOverwrite.\n")
    code, report = sync(workspace, capsys)
    assert code == 1
    pages = {p["external_id"]: p for p in workspace.fake.pages()}
    assert pages["guide.md"]["title"] == "The real guide"
    assert "Overwrite" not in pages["guide.md"]["html"]
    (error,) = [e for e in report["sources"][0]["errors"] if claimant in e]
    assert "guide.md" in error
    assert "already used by" in error
    # Fixing the front matter gives the file its own page.
    workspace.write(claimant, "# Impostor\n\nNow on its own page.\n")
    assert sync(workspace, capsys)[0] == 0
    assert sorted(p["external_id"] for p in workspace.fake.pages()) == sorted(
        [claimant, "guide.md", "other.md"]
    )


# ---- 11: Ctrl-C and SIGTERM stop a one-shot run like the daemon ---------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_a_one_shot_run_between_calls_and_records_every_answer(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], signum: int
) -> None:
    seed(workspace, 200)
    workspace.fake.faults.slow_down(0.05, method="POST", path_prefix="/ai/external_pages")
    process = syncer_process(workspace)
    wait_until("writes under way", lambda: workspace.fake.writes >= 30)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    report = json.loads(out)["sources"][0]
    assert report["status"] == "interrupted"
    in_fin = {p["id"] for p in workspace.fake.pages()}
    assert 0 < len(in_fin) < 200
    assert set(store_in_fin(workspace).values()) == in_fin  # every answer recorded
    _code, status = cli(capsys, "status", "-c", str(workspace.config))
    assert status["sources"][0]["last_run"]["status"] == "interrupted"
    workspace.fake.faults.clear()
    assert sync(workspace, capsys)[0] == 0
    assert {p["external_id"]: p["title"] for p in workspace.fake.pages()} == source_titles(
        workspace.docs
    )


def test_a_run_left_running_by_a_kill_is_shown_abandoned_then_closed(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace, 100)
    workspace.fake.faults.slow_down(0.05, method="POST", path_prefix="/ai/external_pages")
    process = syncer_process(workspace)
    wait_until("writes under way", lambda: workspace.fake.writes >= 10)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    _code, status = cli(capsys, "status", "-c", str(workspace.config))
    row = status["sources"][0]
    assert row["last_run"]["status"] == "running"
    assert row["abandoned"] is True
    main(["status", "-c", str(workspace.config)])
    text = capsys.readouterr().out
    assert "abandoned" in text
    assert "None" not in text
    workspace.fake.faults.clear()
    assert sync(workspace, capsys)[0] == 0
    with Store.open_read_only(f"sqlite:///{workspace.root / 'store.db'}") as store:
        runs = store.runs.of("docs")
    assert [r.status for r in runs] == ["succeeded", "interrupted"]
    assert "abandoned" in runs[1].errors[0]


def test_an_unfinished_page_held_back_by_the_guard_stays_unfinished(tmp_path: Path) -> None:
    source = MemorySource()
    for n in range(8):
        source.put(f"doc-{n}.md", f"body {n}")
    fin = MemoryPublisher()
    settings = MemorySettings(name="mem", type="memory")
    kind = memory_type({"mem": source})

    def run(**options: bool) -> str:
        report = sync_source(
            settings,
            store,
            fin,
            Options(**options),
            cache_dir=tmp_path,
            clock=lambda: datetime.now(UTC),
            progress=NoProgress(),
            lookup=lambda _type: kind,
        )
        return report.status

    with Store.open(f"sqlite:///{tmp_path / 's.db'}", migrate=True) as store:
        assert run() == "succeeded"
        # A run that died after Intercom made x.md's page, before the store heard of it.
        import_source = fin.source_id_for(str(settings.url))
        store.record_intents("mem", [("x.md", "x.md")], datetime.now(UTC))
        source.put("x.md", "x")
        fin.upsert(import_source, _hashed(kind, source, "x.md").page)
        source.remove("x.md")
        for n in range(4):  # and half the source is gone: the guard holds every delete
            source.remove(f"doc-{n}.md")
        assert run() == "blocked"
        assert store.intents("mem") == {"x.md": "x.md"}
        assert run(allow_mass_delete=True) == "succeeded"
        assert store.intents("mem") == {}
        assert sorted(p["external_id"] for p in fin.pages.values()) == [
            f"doc-{n}.md" for n in range(4, 8)
        ]


def _hashed(kind: Any, source: MemorySource, key: str) -> Hashed:
    from syncer.hashing import hashed
    from syncer.model import Availability, Document, Stub

    connector = kind.create(MemorySettings(name="mem", type="memory"), None)
    (document,) = connector.fetch([Stub(key, str(source.versions[key]))])
    assert isinstance(document, Document)
    return hashed(document, Availability())


def test_a_source_removed_from_the_config_is_planned_and_deleted_only_under_the_guard(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace, 3)
    workspace.with_second_source("other")
    assert sync(workspace, capsys)[0] == 0
    assert len(workspace.fake.sources()) == 2
    workspace.configure()  # "other" is gone from the config

    code, plan = sync(workspace, capsys, "--dry-run")
    assert code == 3
    gone = by_name(plan)["other"]
    assert (gone["removed"], gone["status"]) == (True, "blocked")
    assert gone["delete"] == []  # held back by the guard: not a deletion
    assert [d["external_id"] for d in gone["held_back"]] == ["x.md"]
    assert "no longer in the config" in gone["errors"][0]
    main(["--log-level", "error", "sync", "--dry-run", "-c", str(workspace.config)])
    assert "other (filesystem, no longer in the config): blocked" in capsys.readouterr().out

    writes = workspace.fake.writes
    assert sync(workspace, capsys)[0] == 3
    assert workspace.fake.writes == writes  # the guard held it: nothing deleted
    assert len(workspace.fake.pages()) == 4

    code, report = sync(workspace, capsys, "--allow-mass-delete")
    assert code == 0, report
    assert by_name(report)["other"]["counts"]["deleted"] == 1
    assert [s["url"] for s in workspace.fake.sources()] == ["https://docs.example.com/"]
    assert sorted(p["external_id"] for p in workspace.fake.pages()) == [
        "doc-000.md",
        "doc-001.md",
        "doc-002.md",
    ]
    writes = workspace.fake.writes
    code, report = sync(workspace, capsys)
    assert code == 0
    assert list(by_name(report)) == ["docs"]  # the store has let it go
    assert workspace.fake.writes == writes
