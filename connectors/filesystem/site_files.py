"""A filesystem source's folder as its docs generator sees it (``SiteFiles``), confined.

What a flavour reads beside the page it renders (``mkdocs.yml``, snippets, the files a
link points at) comes through ``FolderFiles``, under the same rule as the documents
themselves: only regular files whose resolved path lies inside the source folder, no
larger than ``max_file_bytes``; anything else is ``None``, never an error. Hidden files
and folders are not listed.

One exception, and only one: a source folder that is the ``docs_dir`` of a MkDocs site
whose ``mkdocs.yml`` sits in the folder just above (a checkout's ``docs/``, the common
layout) may have that one file read from there (``parent_config``), and only when its
``docs_dir`` names this folder. Nothing else outside the folder is ever read: a snippet
or include the site keeps beside ``docs/`` is reported missing, not fetched.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterator
from pathlib import Path

from syncer.convert.mkdocs_config import docs_dir_of, parse_config
from syncer.convert.stamp import PARENT_CONFIG

# A mkdocs.yml larger than this is not a config anyone wrote by hand.
MAX_CONFIG_BYTES = 1_000_000


class FolderFiles:
    """The files of one folder, read-only and confined to it."""

    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = root
        self.inside = Path(os.path.realpath(root))
        self.max_bytes = max_bytes
        self._read: dict[str, bytes | None] = {}

    def _target(self, path: str) -> Path | None:
        rel = posixpath.normpath(path)
        if rel.startswith(("/", "../")) or rel in ("..", "."):
            return None
        try:
            target = Path(os.path.realpath(self.root / rel, strict=True))
        except OSError:
            return None
        return target if target.is_relative_to(self.inside) else None

    def exists(self, path: str) -> bool:
        """Whether ``path`` is a regular file inside the folder."""
        target = self._target(path)
        try:
            return target is not None and stat.S_ISREG(target.stat().st_mode)
        except OSError:
            return False

    def read(self, path: str) -> bytes | None:
        """The bytes of the file at ``path``, or ``None`` (missing, outside, too large)."""
        key = posixpath.normpath(path)
        if key not in self._read:
            self._read[key] = self._load(key)
        return self._read[key]

    def _load(self, path: str) -> bytes | None:
        target = self._target(path)
        if target is None:
            return None
        try:
            descriptor = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            with os.fdopen(descriptor, "rb") as file:
                info = os.fstat(file.fileno())
                if not stat.S_ISREG(info.st_mode) or info.st_size > self.max_bytes:
                    return None
                return file.read(self.max_bytes + 1)[: self.max_bytes]
        except OSError:
            return None

    def paths(self) -> Iterator[str]:
        """Every file's path under the folder (hidden entries and links out left out)."""
        for folder, folders, names in os.walk(self.root):
            folders[:] = sorted(name for name in folders if not name.startswith("."))
            rel = os.path.relpath(folder, self.root)
            for name in sorted(names):
                if name.startswith("."):
                    continue
                path = name if rel == "." else f"{Path(rel).as_posix()}/{name}"
                if self.exists(path):
                    yield path


def parent_config(root: Path) -> dict[str, bytes]:
    """``{PARENT_CONFIG: bytes}`` when ``root`` is the ``docs_dir`` of the ``mkdocs.yml``
    in its parent folder (the one file read from outside a source); else ``{}``."""
    config = root.parent / "mkdocs.yml"
    try:
        descriptor = os.open(config, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_CONFIG_BYTES:
                return {}
            data = file.read(MAX_CONFIG_BYTES)
    except OSError:
        return {}
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return {}
    docs = docs_dir_of("", parse_config(text))
    if os.path.realpath(root.parent / docs) != os.path.realpath(root):
        return {}
    return {PARENT_CONFIG: data}
