"""Glob patterns with gitignore semantics: checked one by one, compiled with pathspec.

Used for ``include`` / ``exclude`` in settings and for ``.syncignore`` files. Patterns
are relative to the source root (or to the ``.syncignore``'s folder).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pathspec import GitIgnoreSpec


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used, in one line, or ``None`` when it is fine."""
    body = pattern.removeprefix("!")
    if not body.strip():
        return f"pattern {pattern!r} is empty; remove it"
    if body.startswith("/"):
        return (
            f"pattern {pattern!r} is absolute; patterns are relative to the source "
            f"folder, write {body.lstrip('/')!r}"
        )
    segments = body.split("/")
    if ".." in segments:
        return f"pattern {pattern!r} has a '..' segment; patterns cannot leave the source folder"
    if segments[0] == ".":
        return f"pattern {pattern!r} starts with './', which never matches; write {body[2:]!r}"
    if body.startswith("#"):
        return f"pattern {pattern!r} is a comment in gitignore syntax; write '\\#' for a '#'"
    try:
        GitIgnoreSpec.from_lines([pattern])
    except (ValueError, re.error) as error:
        return f"pattern {pattern!r} is not a valid gitignore pattern ({error})"
    return None


def checked_patterns(field: str, patterns: tuple[str, ...]) -> tuple[str, ...]:
    """``patterns`` for the setting ``field`` (include / exclude), or ``ValueError`` naming
    every bad one; an empty ``include`` would sync nothing and is an error too."""
    if field == "include" and not patterns:
        raise ValueError("include is empty, so nothing would be synced; list a pattern")
    problems = [problem for pattern in patterns if (problem := pattern_problem(pattern))]
    if problems:
        raise ValueError(f"{field} " + "; ".join(problems))
    return patterns


def compile_patterns(patterns: Iterable[str]) -> GitIgnoreSpec:
    """A spec for patterns already checked by ``pattern_problem``."""
    return GitIgnoreSpec.from_lines(list(patterns))


def has_negation(spec: GitIgnoreSpec) -> bool:
    """True when a ``!pattern`` may re-include something inside an excluded folder."""
    return any(getattr(pattern, "include", None) is False for pattern in spec.patterns)


def read_ignore_file(text: str) -> GitIgnoreSpec:
    """A ``.syncignore``'s spec; ``ValueError`` naming the line of a bad pattern."""
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            GitIgnoreSpec.from_lines([line])
        except (ValueError, re.error) as error:
            raise ValueError(f"line {number}: {line!r} is not a valid pattern ({error})") from None
    return GitIgnoreSpec.from_lines(lines)
