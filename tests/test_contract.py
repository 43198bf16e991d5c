"""Every connector passes the one contract (``tests/contract.py``): filesystem, git,
Confluence (Cloud and Data Center, against the fake Confluence) and the memory
connector the other tests use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncer.connector import Connector, Context
from syncer.connectors.confluence import CONNECTOR as CONFLUENCE
from syncer.connectors.confluence.settings import ConfluenceSettings
from syncer.connectors.filesystem import CONNECTOR as FILESYSTEM
from syncer.connectors.filesystem.settings import FilesystemSettings
from syncer.connectors.git import CONNECTOR as GIT
from syncer.connectors.git.settings import GitSettings
from tests.contract import ConnectorContract, Harness
from tests.fakes.confluence import FakeConfluence
from tests.memory import MemoryConnector, MemorySource
from tests.test_git_support import GitRepo


class MemoryHarness:
    def __init__(self) -> None:
        self.source = MemorySource()

    def key_of(self, name: str) -> str:
        return f"{name}.md"

    def add(self, name: str, body: str) -> None:
        self.source.put(self.key_of(name), body)

    edit = add

    def remove(self, name: str) -> None:
        self.source.remove(self.key_of(name))

    def break_listing(self) -> None:
        self.source.complete = False

    def break_document(self, name: str) -> None:
        self.source.broken.add(self.key_of(name))

    def connector(self, cursor: str | None = None, *, elsewhere: bool = False) -> Connector:
        return MemoryConnector(self.source)


class FilesystemHarness:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        self.settings = FilesystemSettings.model_validate(
            {"name": "docs", "type": "filesystem", "path": str(root)}
        )
        self.writes = 0

    def key_of(self, name: str) -> str:
        return f"{name}.md"

    def add(self, name: str, body: str) -> None:
        path = self.root / self.key_of(name)
        path.write_text(f"# {name}\n\n{body}\n")
        # Each write a distinct mtime, however coarse the file system's clock.
        self.writes += 1
        os.utime(
            path,
            ns=(1_700_000_000_000_000_000 + self.writes, 1_700_000_000_000_000_000 + self.writes),
        )

    edit = add

    def remove(self, name: str) -> None:
        (self.root / self.key_of(name)).unlink()

    def break_listing(self) -> None:
        # A folder whose .syncignore cannot be read: its files might be private.
        locked = self.root / "locked"
        locked.mkdir()
        (locked / "hidden.md").write_text("# Hidden\n")
        (locked / ".syncignore").write_bytes(b"\xff\xfe not utf-8\n")

    def break_document(self, name: str) -> None:
        (self.root / self.key_of(name)).write_bytes(b"\x00\x01 binary, not text")

    def connector(self, cursor: str | None = None, *, elsewhere: bool = False) -> Connector:
        cache = self.root.parent / ("cache-elsewhere" if elsewhere else "cache")
        return FILESYSTEM.create(self.settings, Context(cache, cursor))


class GitHarness:
    def __init__(self, root: Path) -> None:
        self.repo = GitRepo(root / "repo")
        self.repo.write("README.txt", "not a document\n")
        self.repo.commit("start")
        self.cache = root / "cache"
        self.settings = GitSettings.model_validate(
            {
                "name": "docs",
                "type": "git",
                "repo": str(self.repo.path),
                "url": "https://git.example.com/docs",
                "include": ["**/*.md"],
            }
        )

    def key_of(self, name: str) -> str:
        return f"{name}.md"

    def add(self, name: str, body: str) -> None:
        self.repo.write(self.key_of(name), f"# {name}\n\n{body}\n")
        self.repo.commit(f"write {name}")

    edit = add

    def remove(self, name: str) -> None:
        self.repo.remove(self.key_of(name))
        self.repo.commit(f"remove {name}")

    def break_listing(self) -> None:
        # The remote is gone: git cannot even start a listing.
        self.repo.path.rename(self.repo.path.with_name("moved-away"))

    def break_document(self, name: str) -> None:
        self.repo.write(self.key_of(name), b"\x00\x01 binary, not text")
        self.repo.commit(f"break {name}")

    def connector(self, cursor: str | None = None, *, elsewhere: bool = False) -> Connector:
        cache = self.cache.with_name("cache-elsewhere") if elsewhere else self.cache
        return GIT.create(self.settings, Context(cache, cursor))


class ConfluenceHarness:
    def __init__(self, fake: FakeConfluence, root: Path) -> None:
        self.fake = fake
        self.root = root
        self.ids: dict[str, int] = {}
        fields: dict[str, Any] = {
            "name": "wiki",
            "type": "confluence",
            "base_url": fake.base_url,
            "deployment": fake.deployment,
            "token": fake.token,
            "spaces": ["SUP"],
        }
        if fake.deployment == "cloud":
            fields["email"] = fake.email
        self.settings = ConfluenceSettings.model_validate(fields)
        fake.add_space("SUP")

    def key_of(self, name: str) -> str:
        return str(self.ids[name])

    def add(self, name: str, body: str) -> None:
        self.ids[name] = self.fake.add_page("SUP", f"Page {name}", f"<p>{body}</p>").id

    def edit(self, name: str, body: str) -> None:
        self.fake.edit(self.ids[name], body=f"<p>{body}</p>")

    def remove(self, name: str) -> None:
        self.fake.purge(self.ids[name])

    def break_listing(self) -> None:
        # The bot refused its space (a revoked permission looks like this): no retry.
        self.fake.faults.fail_next(403, path_prefix="/")

    def break_document(self, name: str) -> None:
        self.fake.restrict(self.ids[name])  # a page the bot may not publish

    def connector(self, cursor: str | None = None, *, elsewhere: bool = False) -> Connector:
        cache = self.root / ("cache-elsewhere" if elsewhere else "cache")
        return CONFLUENCE.create(self.settings, Context(cache, cursor))


class TestMemory(ConnectorContract):
    resumable = False  # the one that lists again in each batch of a split run

    @pytest.fixture
    def harness(self, tmp_path: Path) -> Harness:
        return MemoryHarness()


class TestFilesystem(ConnectorContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Harness:
        return FilesystemHarness(tmp_path / "docs")


class TestGit(ConnectorContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Harness:
        return GitHarness(tmp_path)


class TestConfluenceCloud(ConnectorContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[Harness]:
        with FakeConfluence("cloud") as fake:
            yield ConfluenceHarness(fake, tmp_path)


class TestConfluenceDataCenter(ConnectorContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[Harness]:
        with FakeConfluence("datacenter", context="/confluence") as fake:
            yield ConfluenceHarness(fake, tmp_path)
