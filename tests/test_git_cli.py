"""A git source end to end: ``syncer sync`` into the fake Intercom over real HTTP, commit
after commit; and a broken git source that fails alone while the others sync."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncer.cli import main
from tests.conftest import Workspace
from tests.test_git_support import GitRepo, free_port


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--log-format", "json", *args])
    out, err = capsys.readouterr()
    return code, out, err


def configure(space: Workspace, git_source: str, *, with_folder: bool = False) -> None:
    folder = (
        "  - name: handbook\n    type: filesystem\n    path: docs\n"
        '    page_url: "https://docs.example.com/{path_stem}"\n'
        if with_folder
        else ""
    )
    space.config.write_text(
        f"intercom:\n  token: ${{TEST_INTERCOM_TOKEN}}\n  base_url: {space.fake.url}\n"
        f"store:\n  url: sqlite:///{space.root / 'store.db'}\n"
        "sources:\n"
        "  - name: product-docs\n    type: git\n"
        f"{git_source}"
        "    url: https://github.com/acme/docs/tree/{ref}/docs\n"
        '    page_url: "https://github.com/acme/docs/blob/{ref}/{path}"\n'
        f"{folder}"
    )


def test_a_git_source_follows_its_commits_into_intercom(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(workspace.root / "repo")
    repo.write("docs/setup.md", "---\ntitle: Setting up\n---\nSee [billing](billing.md).\n")
    repo.write("docs/billing.md", "# Billing\n\nInvoices monthly.\n")
    repo.write("docs/faq.md", "---\nexternal_id: faq\n---\n# FAQ\n\nAsk away.\n")
    repo.write("src/app.py", "print('not a doc')\n")
    topics = {f"docs/topic-{n}.md": f"Topic {n}" for n in range(5)}
    for path, title in topics.items():
        repo.write(path, f"# {title}\n\nAbout {title}.\n")
    repo.commit("docs")
    configure(workspace, f"    repo: {repo.path}\n    ref: main\n    subpath: docs\n")
    config = str(workspace.config)

    code, out, _ = run(capsys, "sync", "-c", config)
    assert code == 0, out
    assert workspace.titles() == {
        "docs/setup.md": "Setting up",
        "docs/billing.md": "Billing",
        "faq": "FAQ",
        **topics,
    }
    [setup] = [p for p in workspace.fake.pages() if p["external_id"] == "docs/setup.md"]
    assert setup["url"] == "https://github.com/acme/docs/blob/main/docs/setup.md"
    assert 'href="https://github.com/acme/docs/blob/main/docs/billing.md"' in setup["html"]

    repo.write("docs/billing.md", "# Billing\n\nInvoices weekly now.\n")
    repo.move("docs/faq.md", "docs/help/faq.md")
    repo.remove("docs/setup.md")
    repo.commit("edit, move, delete")

    code, out, _ = run(capsys, "sync", "--dry-run", "--json", "-c", config)
    assert code == 0
    [planned] = json.loads(out)["sources"]
    assert [u["key"] for u in planned["update"]] == ["docs/billing.md", "docs/help/faq.md"]
    assert [d["key"] for d in planned["delete"]] == ["docs/setup.md"]
    assert "docs/setup.md" in workspace.titles()  # a dry run sends nothing

    writes = workspace.fake.writes
    code, out, _ = run(capsys, "sync", "-c", config)
    assert code == 0, out
    assert workspace.titles() == {"docs/billing.md": "Billing", "faq": "FAQ", **topics}
    assert workspace.fake.writes - writes == 3  # two upserts, one delete

    code, out, _ = run(capsys, "sync", "-c", config)
    assert code == 0
    assert "unchanged 7" in out
    assert workspace.fake.writes - writes == 3


def test_an_unreachable_repository_fails_its_source_only(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.write("welcome.md", "# Welcome\n")
    url = f"git://127.0.0.1:{free_port()}/docs.git"
    configure(workspace, f"    repo: {url}\n", with_folder=True)

    code, out, err = run(capsys, "sync", "-c", str(workspace.config))
    assert code == 1
    assert f"cannot reach {url}" in out
    assert "product-docs (git): failed" in out
    assert "handbook (filesystem): succeeded" in out
    assert workspace.titles() == {"welcome.md": "Welcome"}
    assert "Traceback" not in err

    code, out, _ = run(capsys, "status", "-c", str(workspace.config))
    assert "cannot reach" in out


def test_validate_accepts_a_git_source_offline(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    configure(workspace, "    repo: https://git.invalid/acme/docs.git\n    ref: v2.1\n")
    code, out, _ = run(capsys, "validate", "-c", str(workspace.config))
    assert code == 0
    assert "product-docs (git)" in out
