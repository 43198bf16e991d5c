"""A git source's commit as its docs generator sees it (``SiteFiles``): the whole tree of
the repository at the commit being synced, read-only, from the mirror.

A flavour reads more than the documents under ``subpath``: ``mkdocs.yml`` at the
repository's root, snippets kept beside ``docs/``, the files links point at. The tree is
listed once, lazily (``git ls-tree -r`` of the commit, no blob read), and a blob is read
only when asked for (``git cat-file``), each at most once per run. Only regular files of
that commit exist here: symlinks, submodules and blobs over ``max_file_bytes`` read as
``None``, and nothing outside the repository can be named at all.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from syncer.connectors.git.command import GitError
from syncer.connectors.git.mirror import Mirror

_REGULAR = ("100644", "100755")


class CommitFiles:
    """The files of one commit of a mirror."""

    def __init__(self, mirror: Mirror, commit: str, *, max_bytes: int) -> None:
        self.mirror = mirror
        self.commit = commit
        self.max_bytes = max_bytes
        self._tree: dict[str, tuple[str, int]] | None = None
        self._read: dict[str, bytes | None] = {}

    def _entries(self) -> dict[str, tuple[str, int]]:
        if self._tree is None:
            self._tree = {
                entry.path: (entry.sha, entry.size)
                for entry in self.mirror.tree(self.commit, "")
                if entry.kind == "blob" and entry.mode in _REGULAR
            }
        return self._tree

    def exists(self, path: str) -> bool:
        """Whether ``path`` is a regular file of the commit."""
        return posixpath.normpath(path) in self._entries()

    def read(self, path: str) -> bytes | None:
        """The blob at ``path``, or ``None`` (not in the commit, a link, too large)."""
        key = posixpath.normpath(path)
        if key not in self._read:
            self._read[key] = self._load(key)
        return self._read[key]

    def _load(self, path: str) -> bytes | None:
        entry = self._entries().get(path)
        if entry is None or entry[1] > self.max_bytes:
            return None
        try:
            return self.mirror.git.run(["cat-file", "blob", entry[0]], git_dir=self.mirror.git_dir)
        except GitError:
            return None

    def paths(self) -> Iterator[str]:
        """Every regular file's path in the commit."""
        return iter(sorted(self._entries()))
