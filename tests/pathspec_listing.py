"""The folder listing as it was before the compiled matcher (``listing.py`` as of
a91b36e), kept as the reference ``tests/test_patterns.py`` holds
``connectors/filesystem/listing.py`` to: the same walk, every pattern checked one by one
by pathspec's ``GitIgnoreSpec`` on every path, a folder skipped only when the settings'
exclude patterns (without any ``!pattern``) or the nearest ``.syncignore`` (without one)
match it.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from pathspec import GitIgnoreSpec

from syncer.connectors.filesystem.listing import IGNORE_FILE, LINKED_OUT, outside_reason
from syncer.model import Failure, Listing, Stub


def has_negation(spec: GitIgnoreSpec) -> bool:
    return any(getattr(pattern, "include", None) is False for pattern in spec.patterns)


def read_ignore_file(text: str) -> GitIgnoreSpec:
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            GitIgnoreSpec.from_lines([line])
        except (ValueError, re.error) as error:
            raise ValueError(f"line {number}: {line!r} is not a valid pattern ({error})") from None
    return GitIgnoreSpec.from_lines(lines)


@dataclass(frozen=True, slots=True)
class Rules:
    """Which files a walk lists: the settings' include and exclude specs."""

    include: GitIgnoreSpec
    exclude: GitIgnoreSpec

    @property
    def prunes(self) -> bool:
        """Whether an excluded folder may be skipped whole (no ``!pattern`` to re-include)."""
        return not has_negation(self.exclude)


@dataclass(frozen=True, slots=True)
class _Ignore:
    """One ``.syncignore``: the folder it sits in (relative, '' for the root), its spec."""

    folder: str
    spec: GitIgnoreSpec
    prunes: bool


@dataclass(frozen=True, slots=True)
class _Folder:
    rel: str
    path: str
    # (st_dev, st_ino) -> relative path of every folder from the root down to this one.
    ancestors: dict[tuple[int, int], str]
    ignores: tuple[_Ignore, ...]


@dataclass(slots=True)
class _Walk:
    rules: Rules
    prunes: bool
    # The source folder with every symlink resolved: what "inside" means.
    inside: Path
    stubs: list[Stub] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    complete: bool = True

    def fail(self, key: str, message: str, *, incomplete: bool = False) -> None:
        self.failures.append(Failure(key, message))
        self.complete = self.complete and not incomplete


def list_folder(root: Path, rules: Rules) -> Listing:
    """Every file under ``root`` that ``rules`` and ``.syncignore`` files let through."""
    walk = _Walk(rules, prunes=rules.prunes, inside=Path(os.path.realpath(root)))
    try:
        root_stat = root.stat()
    except OSError as error:
        walk.fail(".", f"cannot read the source folder {root}: {_reason(error)}", incomplete=True)
        return Listing(stubs=(), complete=False, failures=tuple(walk.failures))
    stack = [_Folder("", str(root), {(root_stat.st_dev, root_stat.st_ino): ""}, ())]
    while stack:
        stack.extend(_scan(stack.pop(), walk))
    return Listing(
        stubs=tuple(sorted(walk.stubs, key=lambda stub: stub.key)),
        complete=walk.complete,
        failures=tuple(sorted(walk.failures, key=lambda failure: failure.key)),
    )


def _scan(folder: _Folder, walk: _Walk) -> list[_Folder]:
    """List one folder's files into ``walk``; return its subfolders to walk next."""
    try:
        with os.scandir(folder.path) as scan:
            entries = list(scan)
    except OSError as error:
        walk.fail(folder.rel or ".", f"cannot read folder: {_reason(error)}", incomplete=True)
        return []
    ignores = folder.ignores
    if any(entry.name == IGNORE_FILE for entry in entries):
        ignore_key = _join(folder.rel, IGNORE_FILE)
        try:
            text = Path(folder.path, IGNORE_FILE).read_text(encoding="utf-8")
            spec = read_ignore_file(text)
            ignores = (*ignores, _Ignore(folder.rel, spec, prunes=not has_negation(spec)))
        except (OSError, ValueError) as error:
            # Without its rules this folder might publish what it meant to hide.
            walk.fail(
                ignore_key,
                f"folder skipped, its {IGNORE_FILE} is unusable: {_reason(error)}",
                incomplete=True,
            )
            return []
    subfolders = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        rel = _join(folder.rel, entry.name)
        try:
            subfolder = _entry(entry, rel, folder, ignores, walk)
        except OSError as error:
            walk.fail(rel, f"cannot read: {_reason(error)}", incomplete=True)
            continue
        if subfolder is not None:
            subfolders.append(subfolder)
    return subfolders


def _entry(
    entry: os.DirEntry[str],
    rel: str,
    folder: _Folder,
    ignores: tuple[_Ignore, ...],
    walk: _Walk,
) -> _Folder | None:
    """Record one entry; return it as a folder to walk if it is one."""
    if entry.is_symlink():
        try:
            info = entry.stat()
        except FileNotFoundError:
            if _wanted(rel, ignores, walk.rules):
                dangling = Path(entry.path).readlink()
                walk.fail(rel, f"dangling symlink: points to {dangling}, which does not exist")
            return None
        except OSError as error:
            if error.errno == errno.ELOOP:  # links that point at each other
                walk.fail(rel, f"symlink loop: {_reason(error)}")
                return None
            raise
        target = os.path.realpath(entry.path)
        if not Path(target).is_relative_to(walk.inside):
            _linked_out(rel, target, info, ignores, walk)
            return None
    else:
        info = entry.stat(follow_symlinks=False)
    if stat.S_ISDIR(info.st_mode):
        if _ignored(rel, ignores, walk.rules, folder=True, prunes=walk.prunes):
            return None
        identity = (info.st_dev, info.st_ino)
        if identity in folder.ancestors:
            target = str(Path(entry.path).readlink()) if entry.is_symlink() else rel
            inside = folder.ancestors[identity] or "the source root"
            walk.fail(
                rel,
                f"symlink loop: points to {target} ({inside}), which contains it; "
                "remove the link or exclude it",
            )
            return None
        return _Folder(rel, entry.path, {**folder.ancestors, identity: rel}, ignores)
    if stat.S_ISREG(info.st_mode) and _wanted(rel, ignores, walk.rules):
        walk.stubs.append(Stub(rel, f"{info.st_size}:{info.st_mtime_ns}"))
    return None


def _linked_out(
    rel: str, target: str, info: os.stat_result, ignores: tuple[_Ignore, ...], walk: _Walk
) -> None:
    """Record a symlink whose target is outside the source folder, without following it.

    A ``passwd.md -> /etc/passwd`` was once published whole. The file link stays listed
    (as ``LINKED_OUT``): reading then refuses it as ``Excluded``, which deletes a page it
    had. A listing failure would keep that page, and an unlisted key would say nothing.
    """
    if stat.S_ISDIR(info.st_mode):
        if not _ignored(rel, ignores, walk.rules, folder=True, prunes=walk.prunes):
            walk.fail(rel, outside_reason(target, folder=True))
    elif stat.S_ISREG(info.st_mode) and _wanted(rel, ignores, walk.rules):
        walk.stubs.append(Stub(rel, LINKED_OUT))


def _wanted(rel: str, ignores: tuple[_Ignore, ...], rules: Rules) -> bool:
    return rules.include.match_file(rel) and not _ignored(rel, ignores, rules, folder=False)


def _ignored(
    rel: str, ignores: tuple[_Ignore, ...], rules: Rules, *, folder: bool, prunes: bool = True
) -> bool:
    """Excluded by settings or by the nearest ``.syncignore`` with an opinion.

    A folder is only pruned when no pattern could re-include something inside it
    (``!keep.md``); otherwise its files are checked one by one.
    """
    path = rel + "/" if folder else rel
    excludes = len(rules.exclude) > 0 and (prunes or not folder)
    if excludes and rules.exclude.match_file(path):
        return True
    for ignore in reversed(ignores):
        if folder and not ignore.prunes:
            return False
        inner = path[len(ignore.folder) + 1 :] if ignore.folder else path
        result = ignore.spec.check_file(inner)
        if result.include is not None:
            return bool(result.include)
    return False


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)
