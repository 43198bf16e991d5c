"""A git source's commit as its docs generator sees it (``SiteFiles``): the whole tree of
the repository at the commit being synced, read-only, from the mirror.

A flavour reads more than the documents under ``subpath``: ``mkdocs.yml`` at the
repository's root, snippets kept beside ``docs/``, the files links point at. The tree is
listed once, lazily (``git ls-tree -r`` of the commit, no blob read), and a blob is read
only when asked for (``git cat-file``), each at most once per run. What the listing
already looked up is answered without the tree: the files under ``subpath`` (the
listing's own ``ls-tree``), and each path a site config could have (its render stamp's).
So a page of a source without a site config is rendered, its links to other pages of
the source checked, without listing the rest of the repository. Only regular files of
that commit exist here: symlinks, submodules and blobs over ``max_file_bytes`` read as
``None``, and nothing outside the repository can be named at all.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator, Mapping, Sequence

from syncer.connectors.git.command import GitError
from syncer.connectors.git.mirror import Mirror, TreeEntry

_REGULAR = ("100644", "100755")


class CommitFiles:
    """The files of one commit of a mirror."""

    def __init__(
        self,
        mirror: Mirror,
        commit: str,
        *,
        max_bytes: int,
        folder: str = "",
        listed: Sequence[TreeEntry] | None = None,
        known: Mapping[str, TreeEntry | None] | None = None,
    ) -> None:
        """``listed``, when given, is every entry under ``folder`` at ``commit`` (``git
        ls-tree -r`` of it; ``folder`` ``""`` is the whole tree); ``known`` maps further
        paths already looked up at ``commit`` to their entries (``None``: no such path)."""
        self.mirror = mirror
        self.commit = commit
        self.max_bytes = max_bytes
        folder = posixpath.normpath(folder) if folder not in ("", ".") else ""
        self._prefix = folder + "/" if folder else ""
        self._listed = _regular_files(listed) if listed is not None else None
        self._known = {
            posixpath.normpath(path): (entry.sha, entry.size)
            if entry is not None and _regular(entry)
            else None
            for path, entry in (known or {}).items()
        }
        self._tree = self._listed if not folder else None
        self._read: dict[str, bytes | None] = {}

    def _entries(self) -> dict[str, tuple[str, int]]:
        if self._tree is None:
            self._tree = _regular_files(self.mirror.tree(self.commit, ""))
        return self._tree

    def _entry(self, path: str) -> tuple[str, int] | None:
        """The blob SHA and size of the regular file at ``path`` (normalised), or None;
        from what the listing already holds when it can tell."""
        if self._tree is None:
            if self._listed is not None and path.startswith(self._prefix):
                return self._listed.get(path)
            if path in self._known:
                return self._known[path]
        return self._entries().get(path)

    def exists(self, path: str) -> bool:
        """Whether ``path`` is a regular file of the commit."""
        return self._entry(posixpath.normpath(path)) is not None

    def read(self, path: str) -> bytes | None:
        """The blob at ``path``, or ``None`` (not in the commit, a link, too large)."""
        key = posixpath.normpath(path)
        if key not in self._read:
            self._read[key] = self._load(key)
        return self._read[key]

    def _load(self, path: str) -> bytes | None:
        entry = self._entry(path)
        if entry is None or entry[1] > self.max_bytes:
            return None
        try:
            return self.mirror.git.run(["cat-file", "blob", entry[0]], git_dir=self.mirror.git_dir)
        except GitError:
            return None

    def paths(self) -> Iterator[str]:
        """Every regular file's path in the commit."""
        return iter(sorted(self._entries()))


def _regular_files(entries: Iterable[TreeEntry]) -> dict[str, tuple[str, int]]:
    """The blob SHA and size of each regular file among ``entries``, by path."""
    return {entry.path: (entry.sha, entry.size) for entry in entries if _regular(entry)}


def _regular(entry: TreeEntry) -> bool:
    """A regular file: not a folder, a submodule or a symlink."""
    return entry.kind == "blob" and entry.mode in _REGULAR
