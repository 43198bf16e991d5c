"""``syncer init``: a commented starter per source type that validates, the two commands
it names work as printed, and an existing file is never replaced unasked."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from syncer import registry
from syncer.init import STARTERS, starter

SECTIONS = {"intercom:", "store:", "defaults:", "sources:"}


def syncer(
    *argv: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncer", *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**os.environ, "SYNCER_CONFIG": "", **(env or {})},
        timeout=300,
    )


def commands(out: str) -> list[list[str]]:
    """The commands ``syncer init`` says to run next, as argv lists."""
    return [
        shlex.split(line.split("#")[0]) for line in out.splitlines() if line.startswith("  syncer ")
    ]


ENV = {
    "INTERCOM_TOKEN": "tok",
    "CONFLUENCE_EMAIL": "bot@acme.com",
    "CONFLUENCE_TOKEN": "ctok",
}


@pytest.mark.parametrize("kind", sorted(STARTERS))
def test_each_starter_validates_with_the_commands_init_names(tmp_path: Path, kind: str) -> None:
    config = tmp_path / "conf" / "mine.yaml"
    config.parent.mkdir()
    done = syncer("init", kind, "-c", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert config.read_text() == starter(kind)
    assert f"wrote {config}: a commented starter for a {kind} source." in done.stdout
    validate, dry_run = commands(done.stdout)
    assert validate == ["syncer", "validate", "-c", str(config)]
    assert dry_run == ["syncer", "sync", "--dry-run", "-c", str(config)]
    # What is missing until the user edits it is said, with the line, not a traceback.
    first = syncer(*validate[1:], cwd=tmp_path, env=ENV)
    assert "Traceback" not in first.stderr
    if kind == "filesystem":
        assert first.returncode == 2
        assert f"{config}:" in first.stderr
        assert "sources[0].path: folder" in first.stderr
        (config.parent / "docs").mkdir()
        (config.parent / "docs" / "a.md").write_text("# A\n\nWords.\n")
    again = syncer(*validate[1:], cwd=tmp_path, env=ENV)
    assert again.returncode == 0, again.stderr
    assert f"{config}: ok: " in again.stdout
    if kind == "filesystem":  # the others would reach github.com or Atlassian
        plan = syncer(*dry_run[1:], "--log-level", "error", cwd=tmp_path, env=ENV)
        assert plan.returncode == 0, plan.stderr
        assert "would create 1" in plan.stdout
        assert not (config.parent / "syncer.db").exists()


def test_the_default_file_and_commands_without_c(tmp_path: Path) -> None:
    done = syncer("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "syncer.yaml").read_text() == starter("filesystem")
    assert commands(done.stdout) == [["syncer", "validate"], ["syncer", "sync", "--dry-run"]]
    assert "export INTERCOM_TOKEN" in done.stdout


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    config = tmp_path / "syncer.yaml"
    config.write_text("# mine\n")
    done = syncer("init", "git", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        "syncer: syncer.yaml exists; pass --force to replace it, or -c FILE to write another file\n"
    )
    assert config.read_text() == "# mine\n"
    assert syncer("init", "git", "--force", cwd=tmp_path).returncode == 0
    assert config.read_text() == starter("git")


def test_an_unknown_type_is_a_usage_error(tmp_path: Path) -> None:
    done = syncer("init", "sharepoint", cwd=tmp_path)
    assert done.returncode == 2
    assert "invalid choice: 'sharepoint'" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_every_built_in_type_has_a_starter_and_every_key_a_comment() -> None:
    assert sorted(STARTERS) == sorted(registry.builtin())
    for kind in STARTERS:
        for line in starter(kind).splitlines():
            text = line.strip()
            if not text or text.startswith("#") or text in SECTIONS:
                continue
            assert "#" in line, f"{kind}: {line!r} has no comment"
