"""List a folder fast: one ``os.scandir`` walk, ``stat`` only, no file contents read.

The only files opened are ``.syncignore`` files (gitignore semantics; each applies to its
own folder and below, the deepest deciding). Hidden entries (``.git``, ``.DS_Store``,
editor lock files) are skipped. A folder in which nothing could be listed is not entered
(`Rules.skips`): one that no ``include`` pattern reaches (``src/`` for ``docs/**``), one
whose every path the settings exclude, one the nearest ``.syncignore`` ignores; what is
wrong inside it (an unreadable folder, a link) is then never seen, so it neither fails
nor holds back deletes. Symlinks are followed while their resolved target stays
inside the source folder; a folder already on the path being walked (by device and
inode) is a loop, reported and not entered. A symlink that leads out is never followed:
a folder link is reported, a file link is listed with the version ``LINKED_OUT`` so that
reading refuses it and a page it published before leaves Fin. A folder that cannot be
read makes the listing incomplete, so nothing gets deleted because of it.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path

from syncer.connectors.filesystem.patterns import FolderPatterns, Patterns, read_ignore_file
from syncer.model import Failure, Listing, Stub

IGNORE_FILE = ".syncignore"
# The version of a file symlink that leads out of the source folder: never a size and
# mtime, so a file that becomes such a link (or stops being one) is always read again.
LINKED_OUT = "symlink-out-of-source"


def outside_reason(target: str, *, folder: bool) -> str:
    """Why a symlink to ``target`` (resolved, outside the source folder) is not read."""
    if folder:
        return (
            f"symlink to {target}, outside the source folder: not followed; add that folder "
            "as a source of its own, or exclude the link"
        )
    return (
        f"symlink to {target}, outside the source folder: not read; move the file into "
        "the folder, or exclude the link"
    )


@dataclass(frozen=True, slots=True)
class Rules:
    """Which files a walk lists: the settings' include and exclude patterns."""

    include: Patterns
    exclude: Patterns

    def skips(self, folder: str) -> bool:
        """Whether no file below ``folder`` can pass the settings' patterns: no include
        pattern reaches it, or the exclude patterns match the folder and there is no
        ``!pattern`` to take a path in it back (with one, only when none reaches below the
        folder and the rest match every path in it: `Patterns.covers_all_under`)."""
        if not self.include.may_match_under(folder):
            return True
        if not len(self.exclude):
            return False
        if self.exclude.negates:
            return self.exclude.covers_all_under(folder)
        return self.exclude.match_file(folder + "/")


@dataclass(frozen=True, slots=True)
class _Ignore:
    """One ``.syncignore``: the folder it sits in (relative, '' for the root), its spec."""

    folder: str
    spec: Patterns
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
    version_suffix: str
    # The source folder with every symlink resolved: what "inside" means.
    inside: Path
    stubs: list[Stub] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    complete: bool = True
    left_out: int = 0  # files the include patterns want and the exclude patterns drop

    def fail(self, key: str, message: str, *, incomplete: bool = False) -> None:
        self.failures.append(Failure(key, message))
        self.complete = self.complete and not incomplete


def list_folder(root: Path, rules: Rules, *, version_suffix: str = "") -> Listing:
    """Every file under ``root`` that ``rules`` and ``.syncignore`` files let through,
    each versioned by its size and mtime with ``version_suffix`` after them (not
    ``LINKED_OUT``)."""
    walk = _Walk(rules, version_suffix, inside=Path(os.path.realpath(root)))
    try:
        root_stat = root.stat()
    except OSError as error:
        walk.fail(".", f"cannot read the source folder {root}: {_reason(error)}", incomplete=True)
        return Listing(stubs=(), complete=False, failures=tuple(walk.failures))
    stack = [_Folder("", str(root), {(root_stat.st_dev, root_stat.st_ino): ""}, ())]
    while stack:
        stack.extend(_scan(stack.pop(), walk))
    return Listing(
        stubs=tuple(sorted(walk.stubs, key=attrgetter("key"))),
        complete=walk.complete,
        failures=tuple(sorted(walk.failures, key=lambda failure: failure.key)),
        left_out=walk.left_out,
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
            ignores = (*ignores, _Ignore(folder.rel, spec, prunes=not spec.negates))
        except (OSError, ValueError) as error:
            # Without its rules this folder might publish what it meant to hide.
            walk.fail(
                ignore_key,
                f"folder skipped, its {IGNORE_FILE} is unusable: {_reason(error)}",
                incomplete=True,
            )
            return []
    wanted = Wanted.here(folder.rel, ignores, walk.rules)
    # The usual folder, asked inline: the include patterns decide by the name's ending
    # (for a name without a newline: `FolderPatterns.endings`).
    endings = wanted.endings
    prefix = folder.rel + "/" if folder.rel else ""
    stubs, suffix = walk.stubs, walk.version_suffix
    subfolders = []
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                if endings is not None and "\n" not in name:
                    listed = name.endswith(endings)
                else:
                    listed = wanted(name)
                # A file the patterns leave out is not even stat-ed.
                if listed:
                    info = entry.stat(follow_symlinks=False)
                    stubs.append(_stub(prefix + name, info, suffix))
                elif wanted.exclude is not None and wanted.dropped(name):
                    walk.left_out += 1
            elif entry.is_symlink() or entry.is_dir(follow_symlinks=False):
                subfolder = _entry(entry, prefix + name, folder, ignores, wanted, walk)
                if subfolder is not None:
                    subfolders.append(subfolder)
        except OSError as error:
            walk.fail(prefix + name, f"cannot read: {_reason(error)}", incomplete=True)
    return subfolders


def _entry(
    entry: os.DirEntry[str],
    rel: str,
    folder: _Folder,
    ignores: tuple[_Ignore, ...],
    wanted: Wanted,
    walk: _Walk,
) -> _Folder | None:
    """Record a symlink or a folder; return it as a folder to walk if it is one."""
    if entry.is_symlink():
        try:
            info = entry.stat()
        except FileNotFoundError:
            if wanted(entry.name):
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
            _linked_out(rel, target, info, ignores, wanted, walk)
            return None
    else:
        info = entry.stat(follow_symlinks=False)
    if stat.S_ISDIR(info.st_mode):
        if _skipped(rel, ignores, walk.rules):
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
    if stat.S_ISREG(info.st_mode) and wanted(entry.name):
        walk.stubs.append(_stub(rel, info, walk.version_suffix))
    return None


def _stub(rel: str, info: os.stat_result, suffix: str) -> Stub:
    """A listed file: versioned by size and mtime; changed when its mtime says."""
    changed = datetime.fromtimestamp(info.st_mtime, UTC)
    return Stub(rel, f"{info.st_size}:{info.st_mtime_ns}{suffix}", changed_at=changed)


def _linked_out(
    rel: str,
    target: str,
    info: os.stat_result,
    ignores: tuple[_Ignore, ...],
    wanted: Wanted,
    walk: _Walk,
) -> None:
    """Record a symlink whose target is outside the source folder, without following it.

    A ``passwd.md -> /etc/passwd`` was once published whole. The file link stays listed
    (as ``LINKED_OUT``): reading then refuses it as ``Excluded``, which deletes a page it
    had. A listing failure would keep that page, and an unlisted key would say nothing.
    """
    if stat.S_ISDIR(info.st_mode):
        if not _skipped(rel, ignores, walk.rules):
            walk.fail(rel, outside_reason(target, folder=True))
    elif stat.S_ISREG(info.st_mode) and wanted(rel.rpartition("/")[2]):
        walk.stubs.append(Stub(rel, LINKED_OUT))


@dataclass(frozen=True, slots=True)
class Wanted:
    """Which files directly in one folder are listed, by name: those the settings
    include and neither they nor the nearest ``.syncignore`` with an opinion exclude.
    Each pattern list is asked once for the folder (`Patterns.in_folder`), and one that
    has nothing to say about any file here is left out."""

    include: FolderPatterns
    exclude: FolderPatterns | None
    ignores: tuple[FolderPatterns, ...]  # the nearest .syncignore first

    @classmethod
    def here(cls, rel: str, ignores: tuple[_Ignore, ...], rules: Rules) -> Wanted:
        exclude = rules.exclude.in_folder(rel) if len(rules.exclude) else None
        files = (
            ignore.spec.in_folder(rel[len(ignore.folder) + 1 :] if ignore.folder else rel)
            for ignore in reversed(ignores)
        )
        return cls(
            rules.include.in_folder(rel),
            None if exclude is None or exclude.silent else exclude,
            tuple(file for file in files if not file.silent),
        )

    @property
    def endings(self) -> tuple[str, ...] | None:
        """The name endings that decide alone, when the include patterns are all that
        has a say here and they decide by ending (`FolderPatterns.endings`)."""
        return None if self.exclude or self.ignores else self.include.endings

    def dropped(self, name: str) -> bool:
        """Whether the include patterns want ``name`` and the exclude patterns drop it."""
        if self.exclude is None or not self.include.check(name):
            return False
        return bool(self.exclude.check(name))

    def __call__(self, name: str) -> bool:
        if not self.include.check(name):
            return False
        if self.exclude is not None and self.exclude.check(name):
            return False
        for ignore in self.ignores:
            ignored = ignore.check(name)
            if ignored is not None:
                return not ignored
        return True


def _skipped(rel: str, ignores: tuple[_Ignore, ...], rules: Rules) -> bool:
    """Whether the folder ``rel`` is not entered: the settings leave nothing in it
    (`Rules.skips`), or the nearest ``.syncignore`` with an opinion ignores it.

    A ``.syncignore`` ignores a folder whole only when it has no ``!pattern``, which could
    take back something inside it (``!keep.md``); the ``.syncignore`` files inside a
    folder ignored whole are not read (git reads no ``.gitignore`` in an ignored folder
    either).
    """
    if rules.skips(rel):
        return True
    for ignore in reversed(ignores):
        if not ignore.prunes:
            return False
        inner = rel[len(ignore.folder) + 1 :] if ignore.folder else rel
        ignored = ignore.spec.check(inner + "/")
        if ignored is not None:
            return ignored
    return False


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)
