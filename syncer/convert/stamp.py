"""When a file connector's page must be read again: the render stamp, from stats alone.

A listing appends ``render_stamp`` to every file's version (``versioned``): the converter
version and a digest of the source's settings and of the site config files its flavour
would read (``config_candidates``). It lives apart from ``syncer.convert.site`` so that a
listing, which renders nothing, imports none of the flavours' machinery (the HTML parser,
the MkDocs config's reader).
"""

from __future__ import annotations

import hashlib
import json
import posixpath

from syncer.convert import CONVERTER_VERSION

MKDOCS_CONFIGS = ("mkdocs.yml", "mkdocs.yaml")
DOCUSAURUS_CONFIGS = tuple(f"docusaurus.config.{ext}" for ext in ("js", "ts", "mjs"))
# The config that may sit just above a filesystem source's folder (``outside``).
PARENT_CONFIG = "../mkdocs.yml"


def folders_up(base: str) -> list[str]:
    """``base`` and each folder above it, up to the tree's root (``""``)."""
    folders = []
    folder = posixpath.normpath(base) if base not in ("", ".") else ""
    while True:
        folders.append(folder)
        if not folder:
            return folders
        folder = posixpath.dirname(folder)


def join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def config_candidates(base: str) -> list[str]:
    """The paths of every site config ``detect`` could find for a source at ``base``."""
    names = (*MKDOCS_CONFIGS, *DOCUSAURUS_CONFIGS)
    found = []
    for folder in folders_up(base):
        found += [join(folder, name) for name in names]
        found += [join(join(folder, "website"), name) for name in DOCUSAURUS_CONFIGS]
        found += [
            join(where, f"sidebars.{ext}")
            for where in (folder, join(folder, "website"))
            for ext in ("js", "ts")
        ]
    return found


def render_stamp(*parts: object) -> str:
    """The stamp a file connector appends to every version: the converter version and a
    digest of what else decides a page's output beside its own bytes (``parts``: the
    source's ``markdown:``, URL template and patterns, and the versions of its site config
    files, which a listing gets without reading them).

    When it moves, every file is read again once; a page whose output did not change is
    not re-sent (the content hash decides), so an upgrade costs reads, not writes.
    """
    digest = hashlib.sha256(
        json.dumps([CONVERTER_VERSION, *parts], default=repr, sort_keys=True).encode()
    ).hexdigest()
    return f"c{CONVERTER_VERSION}-{digest[:12]}"


def versioned(version: str, stamp: str) -> str:
    """A listing's version of a file with the render stamp after it."""
    return f"{version}@{stamp}" if stamp else version
