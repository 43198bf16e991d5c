"""A document split into parts (a long PDF cut at its headings): the key and version
conventions the connectors write and the planner reads.

A file that becomes several External Pages yields its *lead* under the file's own key
(what comes before the first section, and the list of sections) and one *part* per
section under ``"<key>//<section id>"``: no path has ``//`` in it, and no page id, so a
part's key never meets a file's. The lead's version is the file's followed by how many
parts it has (``lead_version``): the planner fetches the file again when any part is
missing from the store or behind it (a part whose upsert failed), not only when the
file moved. A part that a new version of the file no longer has is deleted, like a
file that is gone; parts of a file that was not read this run stay as they are.
"""

from __future__ import annotations

PART = "//"


def part_key(key: str, section: str) -> str:
    """The key of the part of the document ``key`` that holds ``section``."""
    return f"{key}{PART}{section}"


def parent_of(key: str) -> str | None:
    """The key of the document ``key`` is a part of, or ``None`` for a whole document."""
    parent, found, _ = key.partition(PART)
    return parent if found else None


def lead_version(version: str, parts: int) -> str:
    """The version a lead is recorded with: the file's, and its number of parts."""
    return f"{version}{PART}{parts}"


def split_version(version: str) -> tuple[str, int | None]:
    """A recorded version as (the file's version, its number of parts or ``None``)."""
    base, found, count = version.rpartition(PART)
    if not found or not count.isdigit():
        return version, None
    return base, int(count)
