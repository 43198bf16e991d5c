"""``type: git`` settings: the commented example validates offline, bad values are
reported precisely (all at once, with file:line), and no secret is ever echoed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from syncer.cli import main
from syncer.config import loader
from syncer.connectors.git import GitSettings
from syncer.errors import ConfigError

REPO = Path(__file__).parent.parent


def example_git_source() -> str:
    """The commented git source of ``config/example.yaml``, uncommented."""
    lines = (REPO / "config" / "example.yaml").read_text().splitlines()
    start = lines.index("  # - name: product-docs")
    block = []
    for line in lines[start:]:
        if not line.startswith("  # "):
            break
        block.append("  " + line[4:])
    return "\n".join(block) + "\n"


_spawned: list[str] = []
_watching = False


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _watching and event == "subprocess.Popen":
        _spawned.append(str(args[0]))


sys.addaudithook(_audit)


def test_the_example_git_source_validates_without_a_network(tmp_path: Path) -> None:
    global _watching
    text = "sources:\n" + example_git_source()
    _watching = True
    try:
        settings = loader.loads(text, base_dir=tmp_path, env={"GITHUB_TOKEN": "t0ken"})
    finally:
        _watching = False
    assert _spawned == []  # no git, no ssh: validation never reaches the remote
    [source] = settings.sources
    assert isinstance(source, GitSettings)
    assert source.ref == "main"
    assert source.subpath == "docs"
    assert source.url == "https://github.com/acme/docs/tree/main/docs"
    assert source.token is not None
    assert source.token.get_secret_value() == "t0ken"
    assert "t0ken" not in repr(source)
    assert source.raw_template() == "https://raw.githubusercontent.com/acme/docs/{commit}/{path}"


def test_defaults_and_local_paths(tmp_path: Path) -> None:
    (tmp_path / "checkout").mkdir()
    text = "sources:\n  - name: docs\n    type: git\n    repo: checkout\n"
    [source] = loader.loads(text, base_dir=tmp_path, env={}).sources
    assert isinstance(source, GitSettings)
    assert source.repo == str(tmp_path / "checkout")
    assert (source.ref, source.subpath, source.token, source.page_url) == ("HEAD", "", None, None)
    assert "**/*.md" in source.include


def test_every_bad_git_value_is_reported_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {
        "https://bob:hunter2-secret@github.com/acme/docs.git": "password or token in its URL",
        "ftp://example.com/docs.git": "has scheme ftp://",
        "missing-folder": "does not exist",
        "-upload-pack=evil": "starts with '-'",
    }
    sources = [f"  - name: s{n}\n    type: git\n    repo: {repo}\n" for n, repo in enumerate(bad)]
    sources += [
        "  - name: t1\n    type: git\n    repo: git@github.com:acme/docs.git\n    token: abc\n",
        "  - name: t2\n    type: git\n    repo: http://git.example.com/docs.git\n    token: abc\n",
        "  - name: r1\n    type: git\n    repo: https://github.com/a/b\n    ref: main..dev\n",
        "  - name: r2\n    type: git\n    repo: https://github.com/a/b\n    subpath: ../up\n",
        "  - name: u1\n    type: git\n    repo: https://github.com/a/b\n"
        '    page_url: "https://x.example.com/{branch}"\n',
        "  - name: u2\n    type: git\n    repo: https://github.com/a/b\n"
        '    url: "https://x.example.com/{path}"\n',
    ]
    config = tmp_path / "syncer.yaml"
    config.write_text("sources:\n" + "".join(sources))
    assert main(["validate", "-c", str(config)]) == 2
    err = capsys.readouterr().err
    for expect in [
        *bad.values(),
        "token is only used for https://",
        "would cross the network unencrypted",
        "ref 'main..dev' is not a valid branch",
        "subpath '../up' must be a folder inside the repository",
        "uses unknown placeholder {branch}; allowed: {path}, {path_stem}, {rel_path}",
        "uses unknown placeholder {path}; allowed: {ref} (per-page URLs go in page_url)",
    ]:
        assert expect in err, f"{expect!r} not in:\n{err}"
    assert "hunter2" not in err
    problems = [line for line in err.splitlines() if line.startswith(f"{config}:")]
    assert len(problems) == len(sources) + 1  # one per source, plus the summary


def test_token_is_allowed_on_loopback_http(tmp_path: Path) -> None:
    text = (
        "sources:\n  - name: docs\n    type: git\n    repo: http://127.0.0.1:8080/docs.git\n"
        "    token: abc\n"
    )
    [source] = loader.loads(text, base_dir=tmp_path, env={}).sources
    assert isinstance(source, GitSettings)


def test_unknown_git_keys_get_a_hint(tmp_path: Path) -> None:
    text = (
        "sources:\n  - name: docs\n    type: git\n    repo: https://github.com/a/b\n"
        "    sub_path: d\n"
    )
    with pytest.raises(ConfigError, match="sub_path"):
        loader.loads(text, base_dir=tmp_path, env={})
