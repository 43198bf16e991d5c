"""A title for a document that has none of its own, made from its file name."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

_SEPARATORS = re.compile(r"[-_\s]+")
# Files that stand for their folder: "setup/index.md" is about "Setup".
_FOLDER_NAMES = frozenset({"index", "readme"})


def title_from_path(path: str) -> str:
    """``guides/getting-started.md`` -> ``Getting started``; ``setup/README.md`` -> ``Setup``."""
    pure = PurePosixPath(path)
    stem = pure.stem
    if stem.lower() in _FOLDER_NAMES and pure.parent.name:
        stem = pure.parent.name
    words = _SEPARATORS.sub(" ", stem).strip()
    if not words:
        return pure.name or path
    return words[0].upper() + words[1:]
