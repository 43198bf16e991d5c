"""The ``page_url`` template: which placeholders it may use, and filling it for a path."""

from __future__ import annotations

import posixpath
from urllib.parse import quote

PLACEHOLDERS = ("path", "path_stem")


def fill_template(template: str, path: str, **values: str) -> str:
    """The URL for the document at ``path`` (POSIX, relative), percent-encoded.

    ``values`` fill a connector's own placeholders (git: ``{ref}``, ``{commit}``).
    """
    stem, _ = posixpath.splitext(path)
    extra = {name: quote(value) for name, value in values.items()}
    return template.format(path=quote(path), path_stem=quote(stem), **extra)
