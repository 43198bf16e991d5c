"""The git connector against real repositories served from local paths.

Listing (blob SHAs, subpath, patterns, hidden files, submodules, symlinks), conversion
(links to page URLs, images to raw URLs, front matter), and sync through the real run
and store: commits, renames with and without front-matter ``external_id``, deletions,
branches, tags, commits, force-pushes. Errors and remotes live in ``test_git_remote``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from syncer.connector import Context
from syncer.connectors.git import GitConnector, GitSettings, create
from syncer.errors import SourceError
from syncer.model import Document, Excluded, Failure, Stub
from tests.test_git_support import GitRepo, GitSync, git, git_syncs, publish

SyncFactory = Callable[[str], GitSync]


def settings(repo: Path | str, **values: object) -> GitSettings:
    return GitSettings.model_validate({"name": "docs", "type": "git", "repo": str(repo), **values})


def connector(
    repo: Path | str, cache: Path, cursor: str | None = None, **values: object
) -> GitConnector:
    made = create(settings(repo, **values), Context(cache_dir=cache, cursor=cursor))
    assert isinstance(made, GitConnector)
    return made


def fetch_all(source: GitConnector) -> dict[str, Document | Excluded | Failure]:
    listing = source.list()
    return {item.key: item for item in source.fetch(listing.stubs)}


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "work")


@pytest.fixture
def git_sync(tmp_path: Path) -> Iterator[SyncFactory]:
    with git_syncs(tmp_path) as make:
        yield make


# ---- listing ------------------------------------------------------------------------


def test_listing_is_the_tree_under_subpath_with_blob_shas(repo: GitRepo, tmp_path: Path) -> None:
    lib = GitRepo(tmp_path / "lib")
    lib.write("inside.md", "# Inside a submodule\n")
    lib.commit()
    repo.write("README.md", "# Outside the subpath\n")
    repo.write("docs/intro.md", "# Intro\n")
    repo.write("docs/guide/setup.md", "# Setup\n")
    repo.write("docs/notes.txt", "plain text\n")
    repo.write("docs/page.html", "<h1>Page</h1>")
    repo.write("docs/logo.png", b"\x89PNG\r\n")
    repo.write("docs/drafts/wip.md", "# Not yet\n")
    repo.write("docs/.github/template.md", "# Hidden folder\n")
    repo.write("docs/.hidden.md", "# Hidden file\n")
    (repo.path / "docs/alias.md").symlink_to("intro.md")
    (repo.path / "docs/broken.md").symlink_to("nowhere.md")
    (repo.path / "docs/escape.md").symlink_to("../../../etc/hostname")
    repo.git("submodule", "add", "--quiet", str(lib.path), "docs/lib")
    repo.commit()

    source = connector(repo.path, tmp_path / "cache", subpath="docs", exclude=["drafts/"])
    listing = source.list()

    assert listing.complete
    # Blob SHAs, then the render stamp (issue 11 #10: a converter upgrade reads all once).
    stamp = source.snapshot.stamp if source.snapshot else ""
    assert stamp.startswith("c")
    assert {stub.key: stub.version for stub in listing.stubs} == {
        "docs/alias.md": f"{repo.blob('docs/intro.md')}@{stamp}",
        "docs/guide/setup.md": f"{repo.blob('docs/guide/setup.md')}@{stamp}",
        "docs/intro.md": f"{repo.blob('docs/intro.md')}@{stamp}",
        "docs/notes.txt": f"{repo.blob('docs/notes.txt')}@{stamp}",
        "docs/page.html": f"{repo.blob('docs/page.html')}@{stamp}",
    }
    problems = {failure.key: failure.message for failure in listing.failures}
    assert set(problems) == {"docs/broken.md", "docs/escape.md"}
    assert "dangling symlink" in problems["docs/broken.md"]
    assert "outside the repository" in problems["docs/escape.md"]
    assert source.cursor() == repo.head()
    # Listing reads no file content.
    assert source.blobs_read == 0


def test_fetch_converts_links_to_page_urls_and_images_to_raw_urls(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.write("README.md", "# Repo\n")
    repo.write("assets/logo.png", b"\x89PNG\r\n")
    repo.write(
        "docs/guide/setup.md",
        "---\ntitle: Setting up\n---\n# Setup\n\n"
        "Read [the intro](../intro.md#start), [the readme](../../README.md) and "
        "[a draft](../drafts/wip.md).\n\n![logo](../../assets/logo.png)\n",
    )
    repo.write("docs/intro.md", "# Intro\n\nHello.\n")
    repo.write(
        "docs/page.html",
        "<html><head><title>An HTML page</title></head><body><nav>Menu</nav>"
        '<main><p>See <a href="intro.md">intro</a>.</p></main></body></html>',
    )
    repo.write("docs/notes.txt", "Plain <text>.\n\nTwo paragraphs.\n")
    repo.write("docs/drafts/wip.md", "---\ndraft: true\n---\n# WIP\n")
    repo.write("docs/big.md", "# Big\n\n" + "word " * 400)
    repo.write("docs/lfs.md", "version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n")
    commit = repo.commit()

    source = connector(
        repo.path,
        tmp_path / "cache",
        ref="main",
        subpath="docs",
        page_url="https://github.com/acme/docs/blob/{ref}/{path}",
        raw_url="https://raw.example.com/acme/docs/{commit}/{path}",
        max_file_bytes=1000,
    )
    fetched = fetch_all(source)

    setup = fetched["docs/guide/setup.md"]
    assert isinstance(setup, Document)
    assert setup.title == "Setting up"
    assert setup.version.partition("@")[0] == repo.blob("docs/guide/setup.md")
    assert setup.url == "https://github.com/acme/docs/blob/main/docs/guide/setup.md"
    assert 'href="https://github.com/acme/docs/blob/main/docs/intro.md#start"' in setup.html
    # Not a document of the source: resolved against the page URL, like a browser would.
    assert 'href="https://github.com/acme/docs/blob/main/README.md"' in setup.html
    assert f'src="https://raw.example.com/acme/docs/{commit}/assets/logo.png"' in setup.html
    page = fetched["docs/page.html"]
    assert isinstance(page, Document)
    assert page.title == "An HTML page"
    assert "Menu" not in page.html
    assert 'href="https://github.com/acme/docs/blob/main/docs/intro.md"' in page.html
    notes = fetched["docs/notes.txt"]
    assert isinstance(notes, Document)
    assert notes.html == "<p>Plain &lt;text&gt;.</p>\n<p>Two paragraphs.</p>"
    assert isinstance(fetched["docs/drafts/wip.md"], Excluded)
    big = fetched["docs/big.md"]
    assert isinstance(big, Failure)
    assert "max_file_bytes" in big.message
    lfs = fetched["docs/lfs.md"]
    assert isinstance(lfs, Failure)
    assert "Git LFS" in lfs.message
    # The oversized file is never read.
    assert source.blobs_read == 6


def test_rel_path_and_commit_placeholders(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("site/content/guide/a.md", "# A\n\n[b](b.md)\n")
    repo.write("site/content/guide/b.md", "# B\n")
    commit = repo.commit()
    source = connector(
        repo.path,
        tmp_path / "cache",
        subpath="site/content",
        page_url="https://docs.example.com/{rel_path_stem}?at={commit}",
    )
    page = fetch_all(source)["site/content/guide/a.md"]
    assert isinstance(page, Document)
    assert page.url == f"https://docs.example.com/guide/a?at={commit}"
    assert f'href="https://docs.example.com/guide/b?at={commit}"' in page.html


def test_github_repositories_get_raw_image_urls_without_configuration() -> None:
    github = settings("https://github.com/acme/docs.git")
    assert github.raw_template() == "https://raw.githubusercontent.com/acme/docs/{commit}/{path}"
    assert settings("git@gitlab.com:acme/team/docs.git").raw_template() == (
        "https://gitlab.com/acme/team/docs/-/raw/{commit}/{path}"
    )
    assert settings("https://git.internal.example.com/docs.git").raw_template() is None


def test_fetch_before_list_is_a_programming_error(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("a.md", "# A\n")
    repo.commit()
    with pytest.raises(RuntimeError, match="before list"):
        list(connector(repo.path, tmp_path / "cache").fetch([Stub("a.md", "x")]))


# ---- sync through the run: commits, renames, deletions --------------------------------


def ten_docs(repo: GitRepo) -> None:
    for n in range(10):
        repo.write(f"docs/doc-{n}.md", f"# Doc {n}\n\nBody {n}.\n")


def test_a_commit_is_synced_by_its_diff_and_renames_follow_front_matter(
    repo: GitRepo, git_sync: SyncFactory
) -> None:
    ten_docs(repo)
    repo.write("docs/keeper.md", "---\nexternal_id: keeper\ntitle: Keeper\n---\nKept page.\n")
    repo.write("docs/plain.md", "# Plain\n\nNo front matter.\n")
    first = repo.commit("first")
    sync = git_sync(f"    repo: {repo.path}\n    subpath: docs\n")

    report = sync.run()
    assert report.status == "succeeded", report.errors
    assert report.counts.created == 12
    assert sync.connector.changes is None  # a first sync lists the tree
    assert sync.connector.blobs_read == 12
    assert sync.cursor() == first
    keeper_page = sync.page_ids()["keeper"]

    repo.write("docs/doc-0.md", "# Doc 0\n\nEdited.\n")
    repo.write("docs/new.md", "# New\n")
    repo.remove("docs/doc-1.md")
    repo.move("docs/keeper.md", "docs/moved/keeper.md")
    repo.move("docs/plain.md", "docs/moved/plain.md")
    second = repo.commit("second")

    report = sync.run()
    assert report.status == "succeeded", report.errors
    changes = sync.connector.changes
    assert changes is not None
    assert (changes.since, changes.until) == (first, second)
    assert changes.added == ("docs/new.md",)
    assert changes.modified == ("docs/doc-0.md",)
    assert changes.deleted == ("docs/doc-1.md",)
    assert set(changes.renamed) == {
        ("docs/keeper.md", "docs/moved/keeper.md"),
        ("docs/plain.md", "docs/moved/plain.md"),
    }
    # Read: the edit, the new file and both renamed files; nothing else.
    assert sync.connector.blobs_read == 4
    # keeper kept its page (front matter external_id); plain.md was deleted and recreated.
    assert report.counts.as_dict() == {
        "created": 2,  # new.md, moved/plain.md
        "updated": 2,  # doc-0.md, keeper (same page)
        "deleted": 2,  # doc-1.md, plain.md
        "unchanged": 8,  # doc-2.md .. doc-9.md
        "excluded": 0,
        "failed": 0,
    }
    assert sync.page_ids()["keeper"] == keeper_page
    assert "docs/plain.md" not in sync.pages()
    assert "docs/moved/plain.md" in sync.pages()
    assert sync.cursor() == second

    report = sync.run()
    assert report.counts.created + report.counts.updated + report.counts.deleted == 0
    assert sync.connector.blobs_read == 0
    assert sync.connector.changes is not None
    assert sync.connector.changes.count == 0


def test_a_force_push_converges_with_or_without_the_old_commit(
    repo: GitRepo, tmp_path: Path, git_sync: SyncFactory
) -> None:
    ten_docs(repo)
    base = repo.commit("base")
    repo.write("docs/doc-2.md", "# Doc 2\n\nA change that will be force-pushed away.\n")
    repo.write("docs/extra.md", "# Extra\n")
    repo.commit("to be rewritten")
    remote = publish(repo, tmp_path / "served")
    sync = git_sync(f"    repo: {remote}\n    subpath: docs\n    max_delete_fraction: 0.5\n")
    assert sync.run().status == "succeeded"
    assert "docs/extra.md" in sync.pages()

    # History rewritten: main goes back to base and gets another commit.
    repo.git("reset", "--quiet", "--hard", base)
    repo.write("docs/doc-3.md", "# Doc 3\n\nRewritten history.\n")
    rewritten = repo.commit("rewritten")
    publish(repo, tmp_path / "served")
    git("gc", "--quiet", "--prune=now", cwd=remote)

    report = sync.run()
    assert report.status == "succeeded", report.errors
    # The old commit is still in the mirror, so the two trees can be compared.
    assert sync.connector.changes is not None
    assert set(sync.connector.changes.modified) == {"docs/doc-2.md", "docs/doc-3.md"}
    assert sync.connector.blobs_read == 2
    assert report.counts.updated == 2
    assert report.counts.deleted == 1  # extra.md
    assert "docs/extra.md" not in sync.pages()
    assert sync.cursor() == rewritten

    # Again, from a fresh mirror after another force-push: the last synced commit is
    # nowhere, so blob SHAs against the store decide, and read only what moved.
    shutil.rmtree(sync.cache)
    repo.git("reset", "--quiet", "--hard", base)
    repo.write("docs/doc-4.md", "# Doc 4\n\nOnce more.\n")
    repo.write("docs/doc-3.md", "# Doc 3\n\nRewritten history.\n")
    again = repo.commit("rewritten again")
    publish(repo, tmp_path / "served")
    git("gc", "--quiet", "--prune=now", cwd=remote)

    report = sync.run()
    assert report.status == "succeeded", report.errors
    assert sync.connector.changes is None
    assert sync.connector.blobs_read == 1  # doc-4.md; doc-3.md's blob is the same as before
    assert report.counts.updated == 1
    assert sync.cursor() == again


def test_dry_run_plans_without_moving_the_cursor(repo: GitRepo, git_sync: SyncFactory) -> None:
    ten_docs(repo)
    repo.commit()
    sync = git_sync(f"    repo: {repo.path}\n")
    report = sync.run(dry_run=True)
    assert report.status == "planned"
    assert report.counts.created == 10
    assert sync.cursor() is None
    assert sync.fin.pages == {}


# ---- refs ---------------------------------------------------------------------------


def test_branches_tags_and_commits(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("a.md", "# On main\n")
    first = repo.commit()
    repo.git("tag", "-a", "v1", "-m", "release 1")
    repo.git("tag", "light", first)
    repo.git("checkout", "--quiet", "-b", "feature")
    repo.write("a.md", "# On feature\n")
    feature = repo.commit()
    repo.git("checkout", "--quiet", "main")
    repo.write("a.md", "# Main moved on\n")
    main = repo.commit()
    remote = publish(repo, tmp_path / "served")

    def title(ref: str, cache: str, source: GitConnector | None = None) -> tuple[str, str | None]:
        source = source or connector(remote, tmp_path / cache, ref=ref)
        page = fetch_all(source)["a.md"]
        assert isinstance(page, Document)
        return page.title, source.cursor()

    assert title("HEAD", "c1") == ("Main moved on", main)
    assert title("main", "c2") == ("Main moved on", main)
    assert title("feature", "c3") == ("On feature", feature)
    assert title("refs/heads/feature", "c4") == ("On feature", feature)
    assert title("v1", "c5") == ("On main", first)
    assert title("light", "c6") == ("On main", first)
    pinned = settings(remote, ref=feature)
    assert title(feature, "c7") == ("On feature", feature)

    # A commit never moves: once mirrored, the remote is not asked again.
    remote.rename(remote.with_name("gone.git"))
    again = create(pinned, Context(cache_dir=tmp_path / "c7"))
    assert isinstance(again, GitConnector)
    assert title(feature, "c7", again) == ("On feature", feature)
    with pytest.raises(SourceError, match="no repository there"):
        create(pinned, Context(cache_dir=tmp_path / "c8")).list()


def test_an_annotated_tag_already_mirrored_is_not_fetched_again(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.write("a.md", "# A\n")
    repo.commit()
    repo.git("tag", "-a", "v1", "-m", "release 1")
    cache = tmp_path / "cache"
    connector(repo.path, cache, ref="v1").list()
    source = connector(repo.path, cache, ref="v1")
    source.list()
    assert source.cursor() == repo.head()


def test_an_unknown_ref_names_the_branches(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("a.md", "# A\n")
    repo.commit()
    repo.git("branch", "develop")
    with pytest.raises(SourceError, match=r"no branch or tag 'mian'; did you mean 'main'\?"):
        connector(repo.path, tmp_path / "cache", ref="mian").list()
    with pytest.raises(SourceError, match="full 40-character SHA"):
        connector(repo.path, tmp_path / "cache", ref=repo.head()[:10]).list()


# ---- the mirror -------------------------------------------------------------------------


def test_the_mirror_is_bare_shallow_and_holds_no_remote(repo: GitRepo, tmp_path: Path) -> None:
    for n in range(3):
        repo.write("a.md", f"# Version {n}\n")
        repo.commit()
    source = connector(f"file://{repo.path}", tmp_path / "cache")
    source.list()
    mirror = tmp_path / "cache" / "mirror.git"
    assert (mirror / "HEAD").exists()
    assert not (mirror / "index").exists()  # nothing checked out
    assert (mirror / "shallow").read_text().split() == [repo.head()]
    assert "[remote" not in (mirror / "config").read_text()


def test_a_corrupt_mirror_is_deleted_and_cloned_again(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("a.md", "# A\n")
    repo.commit()
    cache = tmp_path / "cache"
    mirror = cache / "mirror.git"
    connector(repo.path, cache).list()

    (mirror / "HEAD").write_text("garbage\n")
    with capture_logs() as logs:
        assert len(fetch_all(connector(repo.path, cache))) == 1
    [reset] = [log for log in logs if log["event"] == "git_mirror_reset"]
    assert "not a git repository" in reset["reason"]

    for stored in (mirror / "objects").glob("*/*"):
        if stored.is_file():  # loose objects and packs alike
            stored.chmod(0o644)
            stored.write_bytes(b"not an object")
    with capture_logs() as logs:
        assert isinstance(fetch_all(connector(repo.path, cache))["a.md"], Document)
    assert any(log["event"] == "git_mirror_reset" for log in logs)

    shutil.rmtree(mirror / "objects")
    assert isinstance(fetch_all(connector(repo.path, cache))["a.md"], Document)


def test_a_blob_lost_after_listing_fails_its_document_and_heals_next_run(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.write("a.md", "# A\n")
    repo.commit()
    cache = tmp_path / "cache"
    source = connector(repo.path, cache)
    listing = source.list()
    for pack in (cache / "mirror.git" / "objects" / "pack").glob("*"):
        pack.unlink()
    shutil.rmtree(cache / "mirror.git" / "objects")
    (cache / "mirror.git" / "objects").mkdir()
    [result] = source.fetch(listing.stubs)
    assert isinstance(result, Failure)
    assert "cloned again on the next run" in result.message
    assert isinstance(fetch_all(connector(repo.path, cache))["a.md"], Document)


def test_a_changed_repo_setting_starts_a_new_mirror(tmp_path: Path) -> None:
    one, two = GitRepo(tmp_path / "one"), GitRepo(tmp_path / "two")
    one.write("a.md", "# One\n")
    one.commit()
    two.write("b.md", "# Two\n")
    two.commit()
    cache = tmp_path / "cache"
    assert [s.key for s in connector(one.path, cache).list().stubs] == ["a.md"]
    assert [s.key for s in connector(two.path, cache).list().stubs] == ["b.md"]


def test_a_missing_subpath_is_an_error_not_an_empty_source(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("docs/a.md", "# A\n")
    repo.commit()
    with pytest.raises(SourceError, match="subpath 'doc' is not a folder at commit"):
        connector(repo.path, tmp_path / "cache", subpath="doc").list()
    repo.write("empty/.keep", "")
    repo.commit()
    assert connector(repo.path, tmp_path / "cache", subpath="empty").list().stubs == ()


def test_empty_repositories_unknown_commits_and_unusable_caches(tmp_path: Path) -> None:
    empty = GitRepo(tmp_path / "empty")
    with pytest.raises(SourceError, match=r"no branch or tag 'HEAD'; it has no branches"):
        connector(empty.path, tmp_path / "c1").list()
    full = GitRepo(tmp_path / "full")
    full.write("a.md", "# A\n")
    full.commit()
    with pytest.raises(SourceError, match=r"did not serve commit 0{40}"):
        connector(full.path, tmp_path / "c2", ref="0" * 40).list()
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(SourceError, match="cannot use the cache folder"):
        connector(full.path, tmp_path / "a-file" / "cache").list()
