"""``syncer validate`` as a new user meets it: an empty file, a file without sources or
without the Intercom token a sync needs, a git URL with a typo, and ``--online``, which
asks the fake Intercom, the store and each source whether they answer."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from syncer.cli import main
from tests.conftest import Workspace

FOLDER_SOURCE = (
    "sources:\n  - name: docs\n    type: filesystem\n    path: docs\n"
    "    url: https://docs.example.com/\n"
)


def validate(capsys: pytest.CaptureFixture[str], config: Path, *extra: str) -> tuple[int, str, str]:
    code = main(["--log-level", "error", "validate", "-c", str(config), *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def problems(err: str, config: Path) -> list[str]:
    """The problem lines of ``err`` (file:line: ...), the summary left out."""
    lines = [line for line in err.splitlines() if line.startswith(f"{config}:")]
    assert re.fullmatch(rf"{re.escape(str(config))}: \d+ problems?", lines[-1]), lines
    return lines[:-1]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n# and another\n"])
def test_an_empty_file_is_rejected_with_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    config = tmp_path / "syncer.yaml"
    config.write_text(text)
    code, _, err = validate(capsys, config)
    assert code == 2
    assert problems(err, config) == [
        f"{config}:1: the file is empty: a config lists the sources to sync under sources: "
        "(syncer init writes a commented starter config; config/example.yaml has every key)"
    ]


def test_an_empty_file_as_a_process_says_so_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "syncer.yaml"
    config.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "validate", "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert f"{config}:1: the file is empty" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("text", ["intercom:\n  region: eu\n", "store: {}\nsources:\n"])
def test_a_config_without_sources_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    config = tmp_path / "syncer.yaml"
    config.write_text(text)
    code, _, err = validate(capsys, config)
    assert code == 2
    [problem] = problems(err, config)
    assert problem.startswith(f"{config}:")
    assert ": sources: missing: list the sources to sync" in problem
    assert "syncer init" in problem


def test_an_explicitly_empty_list_of_sources_is_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "syncer.yaml"
    config.write_text("sources: []\n")
    code, out, _ = validate(capsys, config)
    assert code == 0
    assert out == f"{config}: ok: no sources\n"


def test_sources_without_an_intercom_section_are_rejected_but_a_dry_run_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n")
    config = tmp_path / "syncer.yaml"
    config.write_text(f"store:\n  url: sqlite:///{tmp_path / 's.db'}\n" + FOLDER_SOURCE)
    code, _, err = validate(capsys, config)
    assert code == 2
    assert problems(err, config) == [
        f"{config}:1: intercom: missing: the sources are synced to Intercom, which needs its "
        "access token; add intercom: {token: ${INTERCOM_TOKEN}} (only sync --dry-run works "
        "without it)"
    ]
    assert main(["--log-level", "error", "sync", "--dry-run", "-c", str(config)]) == 0
    assert "would create 1" in capsys.readouterr().out


def test_an_intercom_section_without_a_token_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "docs").mkdir()
    config = tmp_path / "syncer.yaml"
    config.write_text("sources: []\nintercom:\n  region: eu\n  token: ''\n")
    assert validate(capsys, config)[0] == 0  # no source: nothing needs the token
    config.write_text("# a comment\nintercom:\n  region: eu\n" + FOLDER_SOURCE)
    code, _, err = validate(capsys, config)
    assert code == 2
    [problem] = problems(err, config)
    assert problem.startswith(f"{config}:2: intercom.token: not set:")
    assert "token: ${INTERCOM_TOKEN}" in problem


def test_missing_sections_wait_for_the_other_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A bad indent is what hid sources: here; the user is told about the indent.
    config = tmp_path / "syncer.yaml"
    config.write_text("intercom:\n  token: t\n  sources:\n  - name: a\n")
    code, _, err = validate(capsys, config)
    assert code == 2
    [problem] = problems(err, config)
    assert problem.startswith(f"{config}:3: intercom.sources: unknown key 'sources'")


@pytest.mark.parametrize(
    ("repo", "meant"),
    [
        ("htps:/github.com/acme/docs.git", "https://github.com/acme/docs.git"),
        ("https:/github.com/acme/docs.git", "https://github.com/acme/docs.git"),
        ("htttps://github.com/acme/docs.git", None),
        ("sssh:git@github.com/acme/docs.git", "ssh://git@github.com/acme/docs.git"),
        ("HTTPS:github.com/acme/docs.git", "https://github.com/acme/docs.git"),
    ],
)
def test_a_git_url_that_cannot_be_a_url_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repo: str, meant: str | None
) -> None:
    config = tmp_path / "syncer.yaml"
    config.write_text(
        f"intercom:\n  token: t\nsources:\n  - name: g\n    type: git\n    repo: {repo}\n"
    )
    code, _, err = validate(capsys, config)
    assert code == 2
    [problem] = problems(err, config)
    assert problem.startswith(f"{config}:6: sources[0].repo: repo {repo!r}")
    if meant is not None:
        assert f"did you mean {meant!r}?" in problem
    else:
        assert "has scheme htttps://" in problem


@pytest.mark.parametrize(
    "repo", ["git@github.com:acme/docs.git", "docs-host:acme/docs.git", "github:acme/docs.git"]
)
def test_scp_like_ssh_repositories_stay_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repo: str
) -> None:
    config = tmp_path / "syncer.yaml"
    config.write_text(
        f"intercom:\n  token: t\nsources:\n  - name: g\n    type: git\n    repo: {repo}\n"
    )
    code, out, _ = validate(capsys, config)
    assert code == 0
    assert out == f"{config}: ok: g (git)\n"


# -- --online -------------------------------------------------------------------------


def test_online_checks_the_token_the_store_and_each_source(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.write("a.md", "# A\n")
    workspace.write("b.md", "# B\n")
    code, out, _ = validate(capsys, workspace.config, "--online")
    assert code == 0
    assert out.splitlines() == [
        f"{workspace.config}: ok: docs (filesystem)",
        "intercom: ok: the token is accepted (0 Content Import sources listed)",
        f"store: ok: {workspace.root / 'store.db'} does not exist yet; the first sync creates it",
        "source docs: ok: 2 documents listed",
    ]
    assert [c.path for c in workspace.fake.calls] == ["/ai/content_import_sources"]
    assert not (workspace.root / "store.db").exists()  # nothing created
    assert main(["--log-level", "error", "sync", "-c", str(workspace.config)]) == 0
    code, out, _ = validate(capsys, workspace.config, "--online")
    assert code == 0
    assert "intercom: ok: the token is accepted (1 Content Import source listed)" in out
    assert "store: ok: sqlite, at this release's schema" in out


def test_online_says_which_checks_failed(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", "not-the-token")
    workspace.configure(
        store="postgresql+psycopg://syncer:hunter2@127.0.0.1:1/nope",
        extra="  - name: wiki\n    type: git\n    repo: http://127.0.0.1:1/wiki.git\n",
    )
    code, out, err = validate(capsys, workspace.config, "--online")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"{workspace.config}: ok: docs (filesystem), wiki (git)"
    assert lines[1].startswith("intercom: FAILED: Intercom refused the token (")
    assert "check intercom.token" in lines[1]
    assert lines[2].startswith("store: FAILED: ")
    assert "127.0.0.1" in lines[2]
    assert lines[3] == "source docs: ok: 0 documents listed"
    assert lines[4].startswith("source wiki: FAILED: ")
    assert "127.0.0.1:1/wiki.git" in lines[4]
    assert err.splitlines()[-1] == (
        f"{workspace.config}: online: 3 failed: intercom, store, source wiki"
    )
    assert "hunter2" not in out + err
    assert "not-the-token" not in out + err


def test_online_without_an_answer_from_intercom_says_what_to_check(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.configure(intercom="  timeout: 2\n")
    workspace.config.write_text(
        workspace.config.read_text().replace(workspace.fake.url, "http://127.0.0.1:1")
    )
    code, out, err = validate(capsys, workspace.config, "--online")
    assert code == 1
    assert "intercom: FAILED: Intercom did not answer (" in out
    assert "check the network, intercom.region and intercom.base_url" in out
    assert err.endswith("online: 1 failed: intercom\n")


def test_a_config_for_the_api_command_alone_needs_no_sources(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # validate checks a config for syncing; `syncer api` runs on an intercom: section alone.
    workspace.config.write_text(
        f"intercom:\n  token: ${{TEST_INTERCOM_TOKEN}}\n  base_url: {workspace.fake.url}\n"
    )
    assert validate(capsys, workspace.config)[0] == 2
    code = main(
        ["--log-level", "error", "api", "listContentImportSources", "-c", str(workspace.config)]
    )
    assert code == 0
    assert '"data"' in capsys.readouterr().out
