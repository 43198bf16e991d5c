"""What a git source lists, and what listing and reading it cost in git commands.

The listing asks its ``include`` / ``exclude`` patterns once for each folder, then by
file name (``Wanted``, as the filesystem walk does). Over the two real documentation
trees of the shared corpus, committed to a repository, with and without a ``subpath``,
it must list exactly the files pathspec's ``GitIgnoreSpec`` selects path by path, and
count as left out exactly those the excludes took.

Reading: a page of a source without a site config is rendered without listing the
repository's whole tree. The listing already looked up every path a site config could
have (for the render stamp); the commit's files answer from that. A ``git`` wrapper on
``PATH`` records each git process the connector starts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pathspec import GitIgnoreSpec

from syncer.connectors.git import GitConnector
from syncer.connectors.git.site_files import CommitFiles
from syncer.model import Document
from tests.docs_trees import MKDOCS, REDUX, copy_tree
from tests.test_git_child_env import children, recording_git
from tests.test_git_connector import connector
from tests.test_git_support import GitRepo
from tests.test_patterns import CORPUS_RULES

REGULAR = ("100644", "100755")


# Settings refuse an absolute pattern (they are relative to the source already): the
# corpus rules with each leading "/" taken off, for the listing and pathspec alike.
def relative(patterns: list[str]) -> list[str]:
    return [p.replace("/", "", 1) if p.lstrip("!").startswith("/") else p for p in patterns]


GIT_RULES = [(relative(include), relative(exclude)) for include, exclude in CORPUS_RULES]


@pytest.fixture(scope="module", params=[MKDOCS, REDUX], ids=["mkdocs-material", "redux"])
def corpus_repo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> GitRepo:
    repo = GitRepo(tmp_path_factory.mktemp("corpus") / "work")
    copy_tree(request.param, repo.path)
    repo.commit("the corpus tree")
    return repo


def committed_files(repo: GitRepo) -> list[str]:
    """Every regular file of the repository's head commit."""
    out = repo.git("ls-tree", "-r", "-z", "--full-tree", "HEAD")
    files = []
    for record in out.split("\0"):
        if record:
            meta, _, path = record.partition("\t")
            if meta.split()[0] in REGULAR:
                files.append(path)
    return files


def hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/"))


@pytest.mark.parametrize("subpath", ["", "docs"])
@pytest.mark.parametrize(("include", "exclude"), GIT_RULES)
def test_the_listing_is_what_pathspec_selects(
    corpus_repo: GitRepo, tmp_path: Path, subpath: str, include: list[str], exclude: list[str]
) -> None:
    includes, excludes = GitIgnoreSpec.from_lines(include), GitIgnoreSpec.from_lines(exclude)
    prefix = f"{subpath}/" if subpath else ""
    listed, left_out = set(), 0
    for path in committed_files(corpus_repo):
        if not path.startswith(prefix) or hidden(rel := path[len(prefix) :]):
            continue
        if includes.match_file(rel):
            if excludes.match_file(rel):
                left_out += 1
            else:
                listed.add(path)

    source = connector(
        corpus_repo.path, tmp_path / "cache", subpath=subpath, include=include, exclude=exclude
    )
    listing = source.list()

    assert {stub.key for stub in listing.stubs} == listed, (include, exclude)
    assert listing.left_out == left_out
    assert not listing.failures


def test_a_page_without_a_site_config_is_rendered_without_the_whole_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo(tmp_path / "work")
    repo.write("docs/guide/setup.md", "# Setup\n\nSee [the intro](../intro.md).\n")
    repo.write("docs/intro.md", "# Intro\n\nHello.\n")
    for n in range(20):
        repo.write(f"src/module_{n}.py", f"VALUE = {n}\n")
    # Not a config: a folder where one could be, and a symlink named like one.
    repo.write("website/docusaurus.config.js/README.md", "not a config\n")
    (repo.path / "mkdocs.yml").symlink_to("src/module_0.py")
    repo.commit()
    dumps = tmp_path / "dumps"
    wrapper = recording_git(tmp_path / "bin", dumps)
    monkeypatch.setenv("PATH", f"{wrapper}{os.pathsep}{os.environ['PATH']}")

    source = connector(
        repo.path,
        tmp_path / "cache",
        subpath="docs",
        page_url="https://docs.example.com/{rel_path_stem}",
    )
    listing = source.list()
    fetched = {item.key: item for item in source.fetch(listing.stubs)}

    setup = fetched["docs/guide/setup.md"]
    assert isinstance(setup, Document), setup
    assert 'href="https://docs.example.com/intro"' in setup.html
    trees = [
        child.args for child in children(dumps) if child.command == "ls-tree" and "-r" in child.args
    ]
    assert trees, "the listing lists the subpath's tree"
    assert all(args[-2:] == ("--", "docs") for args in trees), trees
    # The flavour decided without them: neither the folder nor the symlink is a config.
    assert source.site(listing_commit(source)).flavour == "gfm"


@pytest.mark.parametrize("subpath", ["", "docs", "docs/guide"])
def test_the_commits_files_answer_as_the_whole_tree_does(tmp_path: Path, subpath: str) -> None:
    repo = GitRepo(tmp_path / "work")
    repo.write("mkdocs.yml", "site_name: Docs\n")
    repo.write("docs/index.md", "# Home\n")
    repo.write("docs/guide/setup.md", "# Setup\n")
    repo.write("docs/guide/large.md", "# Large\n\n" + "x" * 4096)
    repo.write("docs/guide/website/docusaurus.config.js/notes.md", "a folder, not a config\n")
    repo.write("docs/.hidden/page.md", "# Hidden\n")
    repo.write("snippets/note.md", "A snippet.\n")
    (repo.path / "docs/guide/mkdocs.yml").symlink_to("../../mkdocs.yml")
    (repo.path / "docs/alias.md").symlink_to("index.md")
    repo.commit()
    source = connector(repo.path, tmp_path / "cache", subpath=subpath, max_file_bytes=1024)
    source.list()
    commit = listing_commit(source)
    # What the listing holds answers; the reference lists the whole tree for each answer.
    ours = source.site(commit).files
    assert isinstance(ours, CommitFiles)
    whole = CommitFiles(source.mirror, commit, max_bytes=1024)
    asked = [
        *committed_files(repo),
        *(source.snapshot.configs if source.snapshot else {}),
        "docs/alias.md",
        "docs/guide/mkdocs.yml",
        "docs",
        "docs/guide/website/docusaurus.config.js",
        "docs/./guide/../index.md",
        "docs/missing.md",
        "../outside.md",
    ]
    for path in asked:
        assert ours.exists(path) == whole.exists(path), path
        assert ours.read(path) == whole.read(path), path
    assert ours.exists("docs/index.md")
    assert ours.read("docs/guide/large.md") is None  # over max_file_bytes
    assert not ours.exists("docs/alias.md")  # a symlink
    assert list(ours.paths()) == list(whole.paths())


def listing_commit(source: GitConnector) -> str:
    assert source.snapshot is not None
    return source.snapshot.commit
