"""The git connector against served repositories: ``git daemon`` and smart HTTP.

Incremental syncs over the network, the token (sent as a header, never stored, never
printed), and every whole-source failure as a clear ``SourceError``: refused or missing
credentials, a missing repository, an unreachable or silent remote, a full disk.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from syncer.connector import Context
from syncer.connectors.git import GitConnector, GitSettings, create
from syncer.connectors.git.command import classify
from syncer.errors import SourceError
from tests.test_git_support import (
    GitDaemon,
    GitHttpServer,
    GitRepo,
    GitSync,
    free_port,
    git_syncs,
    publish,
)

TOKEN = "ghp_test-Token-0123456789abcdef"
SyncFactory = Callable[[str], GitSync]


@pytest.fixture
def git_sync(tmp_path: Path) -> Iterator[SyncFactory]:
    with git_syncs(tmp_path) as make:
        yield make


@pytest.fixture
def work(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "work")
    for n in range(5):
        repo.write(f"docs/doc-{n}.md", f"# Doc {n}\n\nBody {n}.\n")
    repo.commit("first")
    return repo


def source(repo: str, **values: object) -> GitConnector:
    settings = GitSettings.model_validate({"name": "docs", "type": "git", "repo": repo, **values})
    made = create(settings, Context(cache_dir=Path(os.environ["GIT_TEST_CACHE"])))
    assert isinstance(made, GitConnector)
    return made


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_TEST_CACHE", str(tmp_path / "cache"))


def test_incremental_sync_over_git_daemon(
    work: GitRepo, tmp_path: Path, git_sync: SyncFactory
) -> None:
    served = tmp_path / "served"
    publish(work, served)
    with GitDaemon(served) as daemon:
        sync = git_sync(f"    repo: {daemon.url('docs.git')}\n    ref: main\n")
        report = sync.run()
        assert report.status == "succeeded", report.errors
        assert report.counts.created == 5

        work.write("docs/doc-3.md", "# Doc 3\n\nEdited over the wire.\n")
        head = work.commit("edit")
        publish(work, served)
        report = sync.run()
        assert report.status == "succeeded", report.errors
        assert report.counts.updated == 1
        assert sync.connector.blobs_read == 1
        changes = sync.connector.changes
        assert changes is not None
        assert changes.modified == ("docs/doc-3.md",)
        assert sync.cursor() == head


def test_the_token_is_sent_as_a_header_and_never_written_or_printed(
    work: GitRepo,
    tmp_path: Path,
    git_sync: SyncFactory,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    served = tmp_path / "served"
    publish(work, served)
    monkeypatch.setenv("GIT_TEST_TOKEN", TOKEN)
    with GitHttpServer(served, token=TOKEN) as server:
        sync = git_sync(f"    repo: {server.url('docs.git')}\n    token: ${{GIT_TEST_TOKEN}}\n")
        assert "**" in repr(sync.settings.sources[0])
        with capture_logs() as logs:
            report = sync.run()
            assert report.status == "succeeded", report.errors
            work.write("docs/doc-0.md", "# Doc 0\n\nEdited.\n")
            work.commit()
            publish(work, served)
            assert sync.run().counts.updated == 1

    expected = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert server.authorizations
    assert set(server.authorizations) == {expected}
    encoded = expected.split()[1]
    for path in [*tmp_path.rglob("*")]:
        if path.is_file() and "work" not in path.parts:
            data = path.read_bytes()
            assert TOKEN.encode() not in data, path
            assert encoded.encode() not in data, path
    output = capfd.readouterr()
    assert "git_fetched" in repr(logs)
    for shown in (output.out, output.err, repr(logs)):
        assert TOKEN not in shown
        assert encoded not in shown


def test_refused_and_missing_credentials_are_clear_and_never_show_the_token(
    work: GitRepo,
    tmp_path: Path,
    git_sync: SyncFactory,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    served = tmp_path / "served"
    publish(work, served)
    monkeypatch.setenv("GIT_TEST_TOKEN", "wrong-" + TOKEN)
    with GitHttpServer(served, token=TOKEN) as server:
        url = server.url("docs.git")
        sync = git_sync(f"    repo: {url}\n    token: ${{GIT_TEST_TOKEN}}\n")
        with capture_logs() as logs:
            report = sync.run()
        assert report.status == "failed"
        assert "credentials were refused" in report.errors[0]
        assert "wrong-" not in report.errors[0] + repr(logs)
        assert sync.cursor() is None
        with pytest.raises(SourceError, match="credentials were refused") as refused:
            source(url, token="wrong-" + TOKEN).list()
        assert "check that token is valid" in str(refused.value)
        assert refused.value.context == {"source": "docs"}
        with pytest.raises(SourceError, match=r"needs token: \(for example") as missing:
            source(url).list()
    for error in (refused.value, missing.value):
        assert TOKEN not in str(error)
    output = capfd.readouterr()
    assert TOKEN not in output.out + output.err


def test_a_missing_repository_on_a_server(work: GitRepo, tmp_path: Path) -> None:
    served = tmp_path / "served"
    publish(work, served)
    with GitHttpServer(served) as server, pytest.raises(SourceError, match="no repository there"):
        source(server.url("nope.git")).list()


def test_an_unreachable_remote(tmp_path: Path) -> None:
    url = f"git://127.0.0.1:{free_port()}/docs.git"
    with pytest.raises(SourceError, match=f"cannot reach {url}"):
        source(url).list()
    assert not (tmp_path / "cache" / "mirror.git").exists()


def test_a_silent_remote_times_out(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        accepted: list[socket.socket] = []
        thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
        thread.start()
        url = f"git://127.0.0.1:{server.getsockname()[1]}/docs.git"
        silent = r"took longer than 0.5 s \(the remote did not answer"
        with pytest.raises(SourceError, match=silent):
            source(url, timeout=0.5).list()
        for connection in accepted:
            connection.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 kB tmpfs; skipped where this process may not mount one (not root)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_repository_too_large_for_the_disk(
    work: GitRepo, small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work.write("docs/video.bin", os.urandom(1_000_000))
    work.commit("a large file")
    monkeypatch.setenv("GIT_TEST_CACHE", str(small_disk / "docs"))
    with pytest.raises(SourceError, match="the disk is full") as full:
        source(str(work.path)).list()
    assert "set cache_dir to a larger disk" in str(full.value)
    # The partial first clone is removed, so the space comes back.
    assert not (small_disk / "docs" / "mirror.git").exists()


def test_git_messages_are_sorted_by_what_to_do() -> None:
    assert classify("fatal: write error: No space left on device") == "disk_full"
    assert classify("remote: Invalid username or password.\nfatal: Authentication failed") == (
        "auth"
    )
    assert classify("git@github.com: Permission denied (publickey).") == "auth"
    assert classify("remote: Repository not found.\nfatal: repository 'x' not found") == (
        "not_found"
    )
    assert classify("fatal: unable to access 'x': Could not resolve host: nope") == "unreachable"
    assert classify("ssh: connect to host x port 22: Connection refused") == "unreachable"
    assert classify("fatal: protocol error: bad pack header") == "other"
