"""The local mirror of one git source: a bare repository under the source's cache folder.

Nothing is checked out. ``fetch`` brings one commit (shallow: depth 1 where the server
allows it) into ``refs/syncer/fetched``. Refs keep what matters reachable, so gc never
takes it: ``refs/syncer/current`` the commit being listed, ``refs/syncer/cursor`` the
one the last successful run listed (the next diff starts there). The remote is never
configured: its URL is given to each ``ls-remote`` / ``fetch``, and the folder records
only which repository it mirrors (``syncer-origin``), so a changed ``repo`` starts a
fresh mirror.

Failures of local commands mean a broken mirror (``CorruptMirrorError``): the caller
deletes it and clones again. Failures that talk to the remote keep git's reason
(``GitError.kind``). A process lock per folder keeps two syncs of one source (a daemon
and a manual run) from updating the mirror at once.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from syncer.connectors.git.command import Git, GitError

FETCHED = "refs/syncer/fetched"
CURRENT = "refs/syncer/current"  # the commit this run lists
CURSOR = "refs/syncer/cursor"  # the commit the last successful run listed
ORIGIN_FILE = "syncer-origin"
# Left by a reader that met a bad object: the next ``prepare`` clones afresh.
BROKEN_FILE = "syncer-broken"
SYMLINK_MODE = "120000"
SUBMODULE_MODE = "160000"


class CorruptMirrorError(Exception):
    """The mirror cannot be used as it is; delete it and clone again.

    ``cause`` is the fetch failure that suggested it, when it was one: if a fresh clone
    fails the same way, that failure is the remote's, and is reported as such.
    """

    def __init__(self, message: str, cause: GitError | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class UnknownRefError(Exception):
    """The remote has no branch or tag by that name; ``known`` lists some that it has."""

    def __init__(self, ref: str, known: Sequence[str]) -> None:
        super().__init__(ref)
        self.ref = ref
        self.known = tuple(known)


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One line of ``git ls-tree -r -l``."""

    path: str
    mode: str
    kind: str  # blob | commit (a submodule) | tree
    sha: str
    size: int


@dataclass(frozen=True, slots=True)
class Followed:
    """Where a symlink in the tree leads: a blob (``sha``, ``size``) or a reason not to."""

    sha: str | None = None
    size: int = 0
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Changes:
    """What ``git diff-tree -M --name-status`` says changed between two commits."""

    since: str
    until: str
    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()

    @property
    def count(self) -> int:
        return len(self.added) + len(self.modified) + len(self.deleted) + len(self.renamed)


@dataclass
class Mirror:
    """One source's bare repository, updated and read through ``git``."""

    folder: Path
    git: Git
    lock_timeout: float = 600.0
    git_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.git_dir = self.folder / "mirror.git"

    # -- the mirror itself ------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, *, shared: bool = False) -> Iterator[None]:
        """Hold the folder's lock: exclusive to change the mirror, shared to read it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / "lock").open("a") as handle:
            mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"another syncer process has held {self.folder} for over "
                            f"{self.lock_timeout:g} s"
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def problem(self) -> str | None:
        """Why the existing mirror cannot be used as it is, or ``None`` (also when absent)."""
        if not self.git_dir.exists():
            return None
        if (self.git_dir / BROKEN_FILE).exists():
            return (self.git_dir / BROKEN_FILE).read_text(errors="replace").strip() or "broken"
        origin = self.git_dir / ORIGIN_FILE
        if not origin.exists() or origin.read_text(errors="replace") != self.git.repo:
            return "it mirrors another repository"
        try:
            bare = self._local(["rev-parse", "--is-bare-repository"]).strip()
        except CorruptMirrorError as error:
            return str(error)
        return None if bare == b"true" else "it is not a bare repository"

    def create(self) -> None:
        """An empty bare repository that knows which remote it mirrors."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._local(["init", "--bare", "--quiet", str(self.git_dir)], bare=False)
        for key, value in (
            ("core.logAllRefUpdates", "false"),
            ("gc.autoDetach", "false"),  # no background gc left running after a sync
            ("fetch.recurseSubmodules", "false"),
        ):
            self._local(["config", key, value])
        (self.git_dir / ORIGIN_FILE).write_text(self.git.repo)

    def delete(self) -> None:
        """Remove the mirror (a corrupt one, or a partial first clone on a full disk)."""
        shutil.rmtree(self.git_dir, ignore_errors=True)

    def mark_broken(self, reason: str) -> None:
        """Have the next run clone afresh (a reader found a bad object)."""
        with contextlib.suppress(OSError):
            (self.git_dir / BROKEN_FILE).write_text(reason)

    # -- the remote ---------------------------------------------------------------------

    def resolve(self, ref: str) -> tuple[str, str]:
        """``(remote ref name, commit)`` of ``ref`` on the remote, by ``git ls-remote``.

        A branch wins over a tag of the same name, as in git; an annotated tag gives the
        commit it points to.
        """
        try:
            out = self.git.run(
                # "v1^{}" too: ls-remote lists an annotated tag's commit under that name.
                ["ls-remote", "--exit-code", self.git.repo, ref, f"{ref}^{{}}"],
                cwd=self.folder,
                remote=True,
            )
        except GitError as error:
            if error.kind == "other" and error.message == "exit status 2":  # no such ref
                raise UnknownRefError(ref, self._branches()) from None
            raise
        refs: dict[str, str] = {}
        for line in out.decode("utf-8", "replace").splitlines():
            sha, _, name = line.partition("\t")
            refs[name] = sha
        for name in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
            if name in refs:
                return name, refs.get(f"{name}^{{}}", refs[name])
        raise UnknownRefError(ref, self._branches())

    def _branches(self) -> list[str]:
        try:
            out = self.git.run(
                ["ls-remote", "--heads", self.git.repo], cwd=self.folder, remote=True
            )
        except GitError:
            return []
        names = [
            line.partition("\trefs/heads/")[2] for line in out.decode(errors="replace").splitlines()
        ]
        return [name for name in names if name]

    def fetch(self, source: str, *, shallow: bool = True) -> str:
        """Fetch ``source`` (a remote ref name or a commit SHA); the commit now held.

        Shallow first; a server that cannot do shallow fetches (dumb HTTP) gets a full one.
        """
        depth = ["--depth=1"] if shallow else []
        args = [
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-recurse-submodules",
            "--no-write-fetch-head",
            *depth,
            self.git.repo,
            f"+{source}:{FETCHED}",
        ]
        try:
            self.git.run(args, git_dir=self.git_dir, cwd=self.folder, remote=True)
        except GitError as error:
            if (
                shallow
                and "shallow" in error.message.lower()
                and "support" in error.message.lower()
            ):
                return self.fetch(source, shallow=False)
            raise
        return self.commit_of(FETCHED)

    # -- reading the mirror ---------------------------------------------------------------

    def local_commit(self, rev: str) -> str | None:
        """The commit ``rev`` (a SHA, a tag object) names in the mirror, or ``None``."""
        try:
            out = self.git.run(
                ["rev-parse", "--verify", "-q", f"{rev}^{{commit}}"], git_dir=self.git_dir
            )
        except GitError as error:
            if error.kind in ("disk_full", "missing_git", "timeout"):
                raise
            return None
        return out.decode("ascii").strip() or None

    def commit_of(self, rev: str) -> str:
        """The commit ``rev`` names; the mirror is broken if it has none."""
        commit = self.local_commit(rev)
        if commit is None:
            raise CorruptMirrorError(f"{rev} is not a commit in the mirror after fetching it")
        return commit

    def committed_at(self, commit: str) -> datetime:
        """When ``commit`` was committed (its committer time): one process a listing."""
        out = self._local(["show", "-s", "--format=%ct", commit])
        return datetime.fromtimestamp(int(out.strip() or b"0"), UTC)

    def is_folder(self, commit: str, path: str) -> bool:
        """True when ``path`` is a folder (tree) at ``commit``."""
        try:
            kind = self.git.run(["cat-file", "-t", f"{commit}:{path}"], git_dir=self.git_dir)
        except GitError:
            return False
        return kind.strip() == b"tree"

    def keep(self, refs: Mapping[str, str]) -> None:
        """Point each ref at its commit, in one transaction, so gc keeps them."""
        request = "".join(f"update {ref} {sha}\n" for ref, sha in refs.items())
        self._local(["update-ref", "--no-deref", "--stdin"], stdin=request.encode("ascii"))

    def tree(self, commit: str, subpath: str) -> list[TreeEntry]:
        """Every file under ``subpath`` at ``commit``, with blob SHAs and sizes."""
        args = ["ls-tree", "-r", "-z", "-l", "--full-tree", commit]
        return _tree_entries(self._local([*args, "--", subpath] if subpath else args))

    def entries(self, commit: str, paths: Sequence[str]) -> dict[str, TreeEntry]:
        """The entry of each of ``paths`` that exists at ``commit`` (one ``ls-tree``; a
        folder's own entry, not its files)."""
        if not paths:
            return {}
        out = self._local(["ls-tree", "-z", "-l", "--full-tree", commit, "--", *paths])
        return {entry.path: entry for entry in _tree_entries(out)}

    def follow(self, commit: str, paths: Sequence[str]) -> dict[str, Followed]:
        """Where each symlink at ``paths`` leads inside ``commit``'s tree."""
        if not paths:
            return {}
        request = "".join(f"{commit}:{path}\n" for path in paths).encode()
        out = self._local(["cat-file", "--batch-check", "--follow-symlinks"], stdin=request)
        lines = iter(out.decode("utf-8", "replace").split("\n"))
        result: dict[str, Followed] = {}
        for path in paths:
            words = next(lines, "").split()
            kind = words[0] if words else "missing"
            if len(words) == 3 and words[1] == "blob":
                result[path] = Followed(sha=words[0], size=int(words[2]))
            elif len(words) == 3 and words[1] == "tree":
                result[path] = Followed(
                    problem="symlink to a folder: not followed; include the folder's files instead"
                )
            elif kind in ("dangling", "loop", "notdir", "symlink"):
                target = next(lines, "")
                result[path] = Followed(problem=_LINK_PROBLEMS[kind].format(target=target))
            else:
                result[path] = Followed(problem="symlink could not be resolved")
        return result

    def diff(self, since: str, until: str, subpath: str) -> Changes:
        """Added, modified, deleted and renamed files under ``subpath`` between two commits."""
        args = ["diff-tree", "-r", "-z", "-M", "--name-status", "--no-commit-id", since, until]
        out = self._local([*args, "--", subpath] if subpath else args)
        fields = iter(out.decode("utf-8", "replace").split("\0"))
        added: list[str] = []
        modified: list[str] = []
        deleted: list[str] = []
        renamed: list[tuple[str, str]] = []
        for status in fields:
            if not status:
                continue
            path = next(fields, "")
            letter = status[0]
            if letter in ("R", "C"):
                new = next(fields, "")
                if letter == "R":
                    renamed.append((path, new))
                else:
                    added.append(new)
            elif letter == "A":
                added.append(path)
            elif letter == "D":
                deleted.append(path)
            else:  # M, T (type change)
                modified.append(path)
        return Changes(since, until, tuple(added), tuple(modified), tuple(deleted), tuple(renamed))

    @contextlib.contextmanager
    def blobs(self, shas: Sequence[str]) -> Iterator[Iterator[bytes | GitError]]:
        """The content of each blob in ``shas``, in order (a ``GitError`` for one that
        cannot be read), from one ``git cat-file --batch`` process.

        Requests are written by a thread while responses are read, so git never waits
        for a round trip per blob.
        """
        with tempfile.TemporaryFile() as errors:
            process = self.git.popen(
                ["cat-file", "--batch", "--buffer"], git_dir=self.git_dir, stderr=errors
            )
            writer = threading.Thread(target=_request, args=(process, shas), daemon=True)
            writer.start()
            try:
                yield _responses(process, shas, errors, self.git)
            finally:
                if process.poll() is None:
                    process.kill()
                process.wait()
                writer.join(timeout=10)
                if process.stdout is not None:
                    process.stdout.close()

    def _local(
        self,
        args: Sequence[str],
        *,
        stdin: bytes | None = None,
        bare: bool = True,
    ) -> bytes:
        """A command on the mirror alone; its failure means the mirror is unusable."""
        try:
            return self.git.run(args, git_dir=self.git_dir if bare else None, stdin=stdin)
        except GitError as error:
            if error.kind in ("disk_full", "missing_git"):
                raise
            raise CorruptMirrorError(error.message) from None


_LINK_PROBLEMS = {
    "dangling": "dangling symlink: points to {target}, which does not exist",
    "loop": "symlink loop at {target}",
    "notdir": "symlink through a file that is not a folder: {target}",
    "symlink": "symlink to {target}, outside the repository: not followed",
}


def _request(process: subprocess.Popen[bytes], shas: Sequence[str]) -> None:
    stdin = process.stdin
    assert stdin is not None
    try:
        for sha in shas:
            stdin.write(sha.encode("ascii") + b"\n")
        stdin.close()
    except (BrokenPipeError, ValueError, OSError):
        pass  # the reader stopped early, or git died: the reader reports it


def _responses(
    process: subprocess.Popen[bytes], shas: Sequence[str], errors: IO[bytes], git: Git
) -> Iterator[bytes | GitError]:
    stdout = process.stdout
    assert stdout is not None
    died: GitError | None = None
    for sha in shas:
        if died is not None:
            yield died
            continue
        header = stdout.readline()
        words = header.split()
        if len(words) == 3:
            size = int(words[2])
            data = stdout.read(size)
            stdout.read(1)  # the newline after each object
            if len(data) == size:
                yield data
                continue
        elif len(words) == 2 and words[1] == b"missing":
            yield GitError("cat-file", "other", f"object {sha} is missing from the mirror")
            continue
        process.wait()
        errors.seek(0)
        died = git.error("cat-file", errors.read(), process.returncode)
        yield died


def did_you_mean(ref: str, known: Sequence[str]) -> str:
    """A hint for an unknown ref: the closest branch, or some of the branches."""
    close = difflib.get_close_matches(ref, known, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    if known:
        shown = ", ".join(sorted(known)[:8]) + (", ..." if len(known) > 8 else "")
        return f"; its branches: {shown}"
    return "; it has no branches (is it empty?)"


def _tree_entries(out: bytes) -> list[TreeEntry]:
    """The entries of ``git ls-tree -z -l`` output."""
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, kind, sha, size = meta.decode("ascii").split()
        entries.append(
            TreeEntry(
                path=raw_path.decode("utf-8", "replace"),
                mode=mode,
                kind=kind,
                sha=sha,
                size=int(size) if size.isdigit() else 0,
            )
        )
    return entries
