"""The ``syncer`` command end to end, in-process: dry runs write nothing, reports,
source selection, the mass-delete guard's exit code, status, migrations, plugins."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from syncer import registry
from syncer.cli import main
from tests.conftest import Workspace


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--log-format", "json", *args])
    out, err = capsys.readouterr()
    return code, out, err


def seed(space: Workspace, n: int = 4) -> None:
    for i in range(n):
        space.write(f"page-{i}.md", f"# Page {i}\n\nBody {i}.\n")


def test_dry_run_writes_nothing_anywhere(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace)
    code, out, _ = run(capsys, "sync", "--dry-run", "-c", str(workspace.config))
    assert code == 0
    assert "would create 4" in out
    assert "Page 0  (page-0.md)" in out
    assert not (workspace.root / "store.db").exists()
    assert workspace.fake.calls == []


def test_dry_run_leaves_an_existing_store_untouched(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace)
    assert run(capsys, "sync", "-c", str(workspace.config))[0] == 0
    store = workspace.root / "store.db"
    before = (store.read_bytes(), store.stat().st_mtime_ns)
    calls = len(workspace.fake.calls)
    workspace.write("page-0.md", "# Page 0\n\nChanged.\n")
    # Beside the store: the store, its lock folder (syncer.store.locks), the config, docs.
    files = _snapshot(workspace.root)
    code, out, _ = run(capsys, "sync", "--dry-run", "-c", str(workspace.config))
    assert code == 0
    assert "would update 1" in out
    assert (store.read_bytes(), store.stat().st_mtime_ns) == before
    assert len(workspace.fake.calls) == calls
    assert sorted(p.name for p in workspace.root.iterdir()) == [
        "docs",
        "store.db",
        "store.db.locks",
        "syncer.yaml",
    ]
    assert _snapshot(workspace.root) == files  # nothing created, nothing touched


def _snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*"))}


def test_json_report_lists_every_document(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace, 30)
    code, out, _ = run(capsys, "sync", "--dry-run", "--json", "-c", str(workspace.config))
    assert code == 0
    report = json.loads(out)
    assert report["dry_run"] is True
    assert report["exit_code"] == 0
    (source,) = report["sources"]
    assert source["name"] == "docs"
    assert source["counts"]["created"] == 30
    assert len(source["create"]) == 30
    first = min(source["create"], key=lambda c: c["key"])
    assert first["title"] == "Page 0"
    assert first["url"] == "https://docs.example.com/page-0"


def test_unknown_source_is_a_usage_error(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "sync", "--dry-run", "--source", "nope", "-c", str(workspace.config))
    assert code == 2
    assert "no source named nope" in err
    assert "Traceback" not in err


def test_source_selection(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    workspace.with_second_source()
    seed(workspace, 2)
    code, out, _ = run(
        capsys, "sync", "--dry-run", "--json", "--source", "other", "-c", str(workspace.config)
    )
    assert code == 0
    assert [s["name"] for s in json.loads(out)["sources"]] == ["other"]


def test_emptied_source_trips_the_guard_and_exits_3(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace, 4)
    assert run(capsys, "sync", "-c", str(workspace.config))[0] == 0
    assert len(workspace.fake.pages()) == 4
    for path in workspace.docs.iterdir():
        path.unlink()
    code, out, _ = run(capsys, "sync", "--dry-run", "-c", str(workspace.config))
    assert code == 3
    assert "mass-delete guard" in out
    code, out, _ = run(capsys, "sync", "-c", str(workspace.config))
    assert code == 3
    assert "would delete all 4 pages" in out
    assert len(workspace.fake.pages()) == 4
    code, _, _ = run(capsys, "sync", "--allow-mass-delete", "-c", str(workspace.config))
    assert code == 0
    assert workspace.fake.pages() == []


def test_touch_sends_nothing_and_an_edit_sends_one(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(workspace, 3)
    assert run(capsys, "sync", "-c", str(workspace.config))[0] == 0
    writes = workspace.fake.writes
    path = workspace.docs / "page-1.md"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    code, out, _ = run(capsys, "sync", "--json", "-c", str(workspace.config))
    assert code == 0
    assert json.loads(out)["sources"][0]["counts"]["updated"] == 0
    assert workspace.fake.writes == writes
    path.write_text("# Page 1\n\nNew words.\n")
    code, out, _ = run(capsys, "sync", "--json", "-c", str(workspace.config))
    assert json.loads(out)["sources"][0]["counts"]["updated"] == 1
    assert workspace.fake.writes == writes + 1


def test_status_shows_the_last_run(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "status", "-c", str(workspace.config))
    assert code == 0
    assert "docs (filesystem): never synced" in out
    seed(workspace, 2)
    run(capsys, "sync", "-c", str(workspace.config))
    code, out, _ = run(capsys, "status", "--json", "-c", str(workspace.config))
    (row,) = json.loads(out)["sources"]
    assert row["last_run"]["status"] == "succeeded"
    assert row["last_run"]["counts"]["created"] == 2
    assert row["stale"] is False


def test_db_upgrade_creates_the_store(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "db", "upgrade", "-c", str(workspace.config))
    assert code == 0
    assert "store at revision" in out
    assert (workspace.root / "store.db").exists()


def test_a_broken_store_url_is_a_clear_error(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.configure(store="postgresql+psycopg://syncer:hunter2@127.0.0.1:1/nope")
    code, _, err = run(capsys, "sync", "-c", str(workspace.config))
    assert code == 2
    assert "127.0.0.1" in err
    assert "hunter2" not in err
    assert "Traceback" not in err


def test_third_party_connectors_register_through_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "syncer_memory-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: syncer-memory\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[syncer.connectors]\nmemory = tests.memory:PLUGIN\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.refresh()
    try:
        assert "memory" in registry.available()
        assert registry.get("memory").name == "memory"
        from syncer.config import loader

        text = "sources:\n  - name: m\n    type: memory\n"
        settings = loader.loads(text, base_dir=tmp_path, env={})
        assert settings.sources[0].type == "memory"
    finally:
        monkeypatch.undo()
        registry.refresh()
    assert "memory" not in registry.available()


def test_module_entry_point_runs() -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "syncer", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("syncer ")


def test_a_sync_that_writes_needs_a_token(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", "")
    seed(workspace, 1)
    code, _, err = run(capsys, "sync", "-c", str(workspace.config))
    assert code == 2
    assert "intercom.token is not set" in err
    assert workspace.fake.calls == []
    assert run(capsys, "sync", "--dry-run", "-c", str(workspace.config))[0] == 0


def test_a_missing_config_file_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SYNCER_CONFIG", raising=False)
    code, _, err = run(capsys, "sync", "--dry-run")
    assert code == 2
    assert "syncer.yaml: no such file; pass -c FILE or set SYNCER_CONFIG" in err
