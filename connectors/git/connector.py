"""The git connector: ``list`` fetches and lists the tree, ``fetch`` reads changed blobs.

``list`` brings the mirror to the ref's current commit and lists every file under
``subpath`` with ``git ls-tree -r``: blob SHAs are the versions, so the planner fetches
exactly the files whose content moved since the store last saw them, and no file is read
to list it. With the last synced commit (the cursor) still in the mirror, ``git diff-tree
-M`` also names what changed (``changes``, logged as ``git_changes``); after a force-push
or with a fresh mirror there is no diff, and the blob SHAs against the store give the
same answer. ``fetch`` reads blobs by SHA through one ``git cat-file --batch`` process
and converts them with the shared file converters, in the source's Markdown flavour
(``markdown:``; a ``Site`` over the whole commit, ``CommitFiles``, so ``mkdocs.yml`` and
snippets at the repository's root are read from the same commit).

Versions are blob SHAs followed by the render stamp (``render_stamp``: the converter
version, ``markdown:``, URL templates and patterns, and the blob SHAs of the site config
files, from one ``git ls-tree``): a converter upgrade or an edited ``mkdocs.yml`` reads
every file once more, and only pages whose output changed are re-sent. Every stub's
``changed_at`` is the listed commit's committer time (the mirror is shallow, so which
commit last touched a file is not known; the head is the newest it can be).

Keys (and the default ``external_id``) are paths in the repository. A renamed file is a
new key: it keeps its Intercom page when its front matter sets ``external_id``,
otherwise the old page is deleted and a new one created. Submodules are skipped;
symlinks to files inside the repository are read as their target.

Every problem with the repository as a whole (unreachable, refused credentials, unknown
ref, full disk) raises ``SourceError``; a corrupt mirror is deleted and cloned again.
"""

from __future__ import annotations

import errno
import posixpath
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import structlog

from syncer.connector import Connector, Context
from syncer.connectors.filesystem.listing import Rules, Wanted
from syncer.connectors.filesystem.page_url import fill_template
from syncer.connectors.filesystem.patterns import compile_patterns
from syncer.connectors.filesystem.reading import convert_bytes, too_big
from syncer.connectors.git.command import Credentials, Git, GitError
from syncer.connectors.git.mirror import (
    CURRENT,
    CURSOR,
    SUBMODULE_MODE,
    SYMLINK_MODE,
    Changes,
    CorruptMirrorError,
    Mirror,
    TreeEntry,
    UnknownRefError,
    did_you_mean,
)
from syncer.connectors.git.settings import GitSettings
from syncer.connectors.git.site_files import CommitFiles
from syncer.convert.documents import kind_of_name
from syncer.convert.documents.files import Converted, each, read_cap
from syncer.convert.links import document_links
from syncer.convert.site import Site
from syncer.convert.stamp import config_candidates, render_stamp, versioned
from syncer.errors import SourceError
from syncer.model import Failure, Fetched, Listing, Stub

T = TypeVar("T")
LFS_POINTER = b"version https://git-lfs.github.com/spec/"
SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
ABBREVIATED_SHA = re.compile(r"^[0-9a-f]{4,39}$")


@dataclass(frozen=True, slots=True)
class Blob:
    """A listed file's content address and size (``git ls-tree -l``)."""

    sha: str
    size: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What ``list`` saw: the commit, every listed file's blob, the diff if any."""

    commit: str
    files: dict[str, Blob]
    listing: Listing
    changes: Changes | None
    stamp: str = ""  # the render stamp every version ends with
    # Every entry under subpath at the commit, listed or not (what links may name).
    tree: Sequence[TreeEntry] = ()
    # Each site config the stamp could name, and its entry at the commit (None: absent).
    configs: Mapping[str, TreeEntry | None] = field(default_factory=dict)


class GitConnector:
    """Reads one ``type: git`` source through a mirror under ``folder``."""

    def __init__(self, settings: GitSettings, folder: Path, cursor: str | None = None) -> None:
        self.settings = settings
        self.cursor_before = cursor
        credentials = None
        if settings.token is not None:
            credentials = Credentials(settings.username, settings.token.get_secret_value())
        self.git = Git(settings.repo, credentials=credentials, timeout=settings.timeout)
        self.mirror = Mirror(folder, self.git, lock_timeout=settings.timeout)
        self.rules = Rules(compile_patterns(settings.include), compile_patterns(settings.exclude))
        self.raw_template = settings.raw_template()
        self.log = structlog.get_logger("connectors.git").bind(source=settings.name)
        self.snapshot: Snapshot | None = None
        # Blobs read by ``fetch`` over this connector's life: what a test counts.
        self.blobs_read = 0
        # Caveats of conversion ("<key>: nesting flattened from line 40"), for the report.
        self.counts: Counter[str] = Counter()
        self._site: Site | None = None

    # -- the Connector protocol -----------------------------------------------------------

    def list(self) -> Listing:
        return self._take_snapshot(None).listing

    def fetch_state(self) -> str:
        """The commit listed: a batch of a split run reads its files at that commit."""
        if self.snapshot is None:
            raise RuntimeError("GitConnector.fetch_state called before list")
        return self.snapshot.commit

    def resume(self, state: str) -> None:
        """The files of commit ``state`` (fetched by SHA if this mirror lacks it), as the
        listing that said it saw them, without asking the remote where the ref is."""
        if not SHA.match(state):
            raise self._error(f"a split run's commit {state!r} is not a full SHA")
        self._take_snapshot(state)

    def _take_snapshot(self, listed: str | None) -> Snapshot:
        try:
            with self.mirror.locked():
                self.snapshot = self._with_fresh_mirror_on_corruption(
                    lambda: self._snapshot(listed)
                )
        except TimeoutError as error:
            raise self._error(str(error)) from None
        except OSError as error:  # the cache folder itself: permissions, a full disk
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise self._error(
                    f"the disk is full: cannot write the mirror in {self.mirror.folder}; "
                    "free space, or set cache_dir to a larger disk"
                ) from None
            raise self._error(
                f"cannot use the cache folder {self.mirror.folder}: {error.strerror or error}; "
                "make it writable, or set cache_dir"
            ) from None
        return self.snapshot

    def fetch(self, stubs: Sequence[Stub]) -> Iterator[Fetched]:
        snapshot = self.snapshot
        if snapshot is None:
            raise RuntimeError("GitConnector.fetch called before list")
        if not stubs:
            return
        blobs = {stub.key: snapshot.files.get(stub.key) for stub in stubs}
        wanted = [
            blob.sha
            for key, blob in blobs.items()
            if blob is not None and blob.size <= self._cap(key)
        ]
        with self.mirror.locked(shared=True), self.mirror.blobs(wanted) as contents:
            for stub in stubs:
                yield from each(self._fetch_one(stub, snapshot, blobs[stub.key], contents))

    def notes(self) -> dict[str, int]:
        """What conversion had to change, by document, and what the site's config could
        not have followed (the run report shows them)."""
        site = self._site.notes() if self._site is not None else {}
        return {**self.counts, **site}

    def site(self, commit: str) -> Site:
        """The source's Markdown flavour over the tree of ``commit``, made on first use."""
        files = self._site.files if self._site is not None else None
        if not isinstance(files, CommitFiles) or files.commit != commit:
            snapshot = self.snapshot
            listed = snapshot if snapshot is not None and snapshot.commit == commit else None
            files = CommitFiles(
                self.mirror,
                commit,
                max_bytes=self.settings.max_file_bytes,
                folder=self.settings.subpath,
                listed=listed.tree if listed is not None else None,
                known=listed.configs if listed is not None else None,
            )
            self._site = Site(files, base=self.settings.subpath, setting=self.settings.markdown)
        assert self._site is not None
        return self._site

    def close(self) -> None:
        """Nothing to let go of: each git process and file is closed when it is done."""

    def cursor(self) -> str | None:
        return self.snapshot.commit if self.snapshot else self.cursor_before

    @property
    def changes(self) -> Changes | None:
        """What changed since the last synced commit, or ``None`` (first run, no diff)."""
        return self.snapshot.changes if self.snapshot else None

    # -- listing -------------------------------------------------------------------------

    def _with_fresh_mirror_on_corruption(self, step: Callable[[], T]) -> T:
        """``step()``; once more on a fresh clone if the mirror turns out to be broken."""
        problem = self.mirror.problem()
        if problem is not None:
            self.log.warning("git_mirror_reset", reason=problem)
            self.mirror.delete()
        try:
            return step()
        except CorruptMirrorError as error:
            self.log.warning("git_mirror_reset", reason=str(error))
            self.mirror.delete()
        try:
            return step()
        except CorruptMirrorError as error:
            if error.cause is not None:
                raise self._git_error(error.cause) from None
            raise self._error(
                f"the local mirror at {self.mirror.git_dir} is unusable even after cloning "
                f"again: {error}"
            ) from None

    def _snapshot(self, listed: str | None = None) -> Snapshot:
        """The files of the ref's current commit (fetched if need be), or of ``listed``:
        a split run's commit, fetched by SHA into a mirror that does not hold it yet."""
        started = time.monotonic()
        created = not self.mirror.git_dir.exists()
        cursor: str | None = None
        try:
            if created:
                self.mirror.create()
            if listed is None:
                # Checked before fetching: until refs move, the last listed commit
                # (normally the cursor) is still what refs/syncer/current holds, safe
                # from gc.
                cursor = self._cursor_in_mirror()
                commit = self._current_commit()
                self.mirror.keep({CURRENT: commit, **({CURSOR: cursor} if cursor else {})})
            else:
                commit = self.mirror.local_commit(listed) or self._fetch_listed(listed)
                self.mirror.keep({CURRENT: commit})
            entries = self.mirror.tree(commit, self.settings.subpath)
            if (
                self.settings.subpath
                and not entries
                and not self.mirror.is_folder(commit, self.settings.subpath)
            ):
                # Not "no documents": a wrong subpath (or a moved folder) must not look
                # like a source whose every page should be deleted.
                raise self._error(
                    f"subpath {self.settings.subpath!r} is not a folder at commit "
                    f"{commit[:12]} of {self.settings.ref!r}; correct subpath"
                )
        except GitError as error:
            if created:
                self.mirror.delete()  # a partial first clone only takes space
            if error.kind == "other" and error.command == "fetch":
                # Perhaps the mirror's objects, perhaps the remote: one fresh clone tells.
                raise CorruptMirrorError(error.message, cause=error) from None
            raise self._git_error(error) from None
        except UnknownRefError as error:
            raise self._error(
                f"{self._shown_repo()} has no branch or tag {error.ref!r}"
                f"{did_you_mean(error.ref, error.known)}"
                + (
                    "; for a commit, give its full 40-character SHA"
                    if ABBREVIATED_SHA.match(error.ref)
                    else ""
                )
            ) from None
        files: dict[str, Blob] = {}
        failures: list[Failure] = []
        links: list[str] = []
        skipped_submodules = 0
        left_out = 0
        # The patterns are asked once for each folder, then by file name (`Wanted`).
        folders: dict[str, Wanted] = {}
        for entry in entries:
            if entry.mode == SUBMODULE_MODE or entry.kind == "commit":
                skipped_submodules += 1  # another repository's commit: not ours to read
                continue
            rel = self._relative(entry.path)
            # Hidden files and folders (.github/, .gitmodules) are never documents, as
            # in the filesystem connector.
            if rel is None or _hidden(rel):
                continue
            folder, _, name = rel.rpartition("/")
            wanted = folders.get(folder)
            if wanted is None:
                wanted = folders[folder] = Wanted.here(folder, (), self.rules)
            if not wanted(name):
                left_out += wanted.dropped(name)
                continue
            if entry.mode == SYMLINK_MODE:
                links.append(entry.path)
            elif entry.kind == "blob":
                files[entry.path] = Blob(entry.sha, entry.size)
        for path, followed in self.mirror.follow(commit, links).items():
            if followed.sha is None:
                failures.append(Failure(path, followed.problem or "unreadable symlink"))
            else:
                files[path] = Blob(followed.sha, followed.size)
        changes = self._changes(commit, cursor) if listed is None else None
        configs = self._configs(commit)
        stamp = self._stamp(configs)
        # The mirror is shallow: the head commit is the newest a changed file can be from.
        changed_at = self.mirror.committed_at(commit)
        stubs = tuple(
            Stub(path, versioned(files[path].sha, stamp), changed_at) for path in sorted(files)
        )
        self.log.info(
            "git_listed",
            commit=commit,
            ref=self.settings.ref,
            files=len(stubs),
            submodules_skipped=skipped_submodules,
            seconds=round(time.monotonic() - started, 3),
        )
        return Snapshot(
            commit=commit,
            files=files,
            listing=Listing(
                stubs=stubs, complete=True, failures=tuple(failures), left_out=left_out
            ),
            changes=changes,
            stamp=stamp,
            tree=entries,
            configs=configs,
        )

    def _cap(self, path: str) -> int:
        """The most bytes read of the blob at ``path`` (a document's cap, or the text one)."""
        return read_cap(path, self.settings.max_file_bytes, self.settings.documents)[0]

    def _configs(self, commit: str) -> dict[str, TreeEntry | None]:
        """Each path a site config could have at ``commit``, and its entry there."""
        candidates = config_candidates(self.settings.subpath)
        found = self.mirror.entries(commit, candidates)
        return {path: found.get(path) for path in candidates}

    def _stamp(self, configs: Mapping[str, TreeEntry | None]) -> str:
        """The render stamp: the site configs by blob SHA (no blob read), and the
        settings that decide what a page becomes."""
        settings = self.settings
        return render_stamp(
            settings.markdown,
            settings.page_url,
            self.raw_template,
            settings.subpath,
            settings.include,
            settings.exclude,
            {
                path: entry.sha
                for path, entry in configs.items()
                if entry is not None and entry.kind == "blob"
            },
            settings.documents.model_dump(),
        )

    def _current_commit(self) -> str:
        """The commit ``ref`` names now, fetched into the mirror if it is not there yet."""
        settings = self.settings
        if settings.is_commit:
            known = self.mirror.local_commit(settings.ref)
            if known is not None:
                return known  # a commit never moves: no need to ask the remote
            try:
                commit = self.mirror.fetch(settings.ref)
            except GitError as error:
                if error.kind != "other":
                    raise
                raise self._error(
                    f"{self._shown_repo()} did not serve commit {settings.ref} ({error.message}); "
                    "check the SHA, or name a branch or tag that contains it"
                ) from None
            self.log.info("git_fetched", commit=commit)
            return commit
        name, sha = self.mirror.resolve(settings.ref)
        known = self.mirror.local_commit(sha)
        if known is not None:
            self.log.info("git_up_to_date", commit=known, remote_ref=name)
            return known
        started = time.monotonic()
        # What was fetched wins over what ls-remote said: the branch may have moved.
        commit = self.mirror.fetch(name)
        self.log.info(
            "git_fetched",
            commit=commit,
            remote_ref=name,
            seconds=round(time.monotonic() - started, 3),
        )
        return commit

    def _fetch_listed(self, commit: str) -> str:
        """A split run's commit, into a mirror (another machine's) that lacks it."""
        try:
            fetched = self.mirror.fetch(commit)
        except GitError as error:
            if error.kind != "other":
                raise
            raise self._error(
                f"{self._shown_repo()} no longer serves commit {commit[:12]}, which this "
                f"run listed ({error.message}); the next run lists the ref again"
            ) from None
        self.log.info("git_fetched", commit=fetched, listed=True)
        return fetched

    def _cursor_in_mirror(self) -> str | None:
        """The last synced commit, if the mirror still holds it."""
        cursor = self.cursor_before
        if cursor and SHA.match(cursor) and self.mirror.local_commit(cursor):
            return cursor
        return None

    def _changes(self, commit: str, since: str | None) -> Changes | None:
        """What changed between ``since`` (the cursor, if the mirror has it) and ``commit``."""
        if self.cursor_before is None:
            return None
        if since is None:
            # A force-push, or a mirror cloned afresh: the blob SHAs in the listing,
            # compared with the store, decide what to read.
            self.log.info(
                "git_no_diff",
                since=self.cursor_before,
                reason="the last synced commit is not in the mirror",
            )
            return None
        changes = self.mirror.diff(since, commit, self.settings.subpath)
        self.log.info(
            "git_changes",
            since=since,
            until=commit,
            added=len(changes.added),
            modified=len(changes.modified),
            deleted=len(changes.deleted),
            renamed=len(changes.renamed),
        )
        return changes

    def _relative(self, path: str) -> str | None:
        """``path`` relative to ``subpath``, or ``None`` when it lies outside."""
        subpath = self.settings.subpath
        if not subpath:
            return path
        prefix = subpath + "/"
        return path[len(prefix) :] if path.startswith(prefix) else None

    def _wanted(self, rel: str) -> bool:
        """Whether the file at ``rel`` (relative to ``subpath``) is a document."""
        rules = self.rules
        if _hidden(rel):
            return False
        return rules.include.match_file(rel) and not rules.exclude.match_file(rel)

    # -- reading -----------------------------------------------------------------------

    def _fetch_one(
        self,
        stub: Stub,
        snapshot: Snapshot,
        blob: Blob | None,
        contents: Iterator[bytes | GitError],
    ) -> Converted:
        """One stub's document; ``contents`` yields the blobs under the size limit, in order."""
        commit = snapshot.commit
        if blob is None:
            return Failure(stub.key, f"not in the tree of commit {commit[:12]}")
        if blob.size > self._cap(stub.key):
            cap, setting = read_cap(stub.key, self.settings.max_file_bytes, self.settings.documents)
            return Failure(stub.key, too_big(blob.size, cap, setting))
        data = next(contents)
        if isinstance(data, GitError):
            self.mirror.mark_broken(f"blob {blob.sha} of {stub.key} was unreadable")
            return Failure(
                stub.key,
                f"cannot read blob {blob.sha[:12]} from the mirror ({data.message}); "
                "the mirror will be cloned again on the next run",
            )
        self.blobs_read += 1
        if data.startswith(LFS_POINTER):
            return Failure(
                stub.key,
                "a Git LFS pointer: the content lives in LFS, which syncer does not fetch; "
                "exclude the file or commit it to git",
            )
        image_resolver = None
        if self.raw_template is not None:
            image_resolver = document_links(stub.key, self.raw_url_of)
        return convert_bytes(
            stub.key,
            versioned(blob.sha, snapshot.stamp),
            data,
            url_of=self.url_of,
            image_resolver=image_resolver,
            notes=self.counts,
            site=self.site(commit),
            raw_url_of=self.raw_url_of if self.raw_template is not None else None,
            documents=self.settings.documents,
            document_url_of=self.document_url_of,
        )

    # -- URLs ----------------------------------------------------------------------------

    def url_of(self, path: str) -> str | None:
        """The page URL of the document at ``path`` (in the repository), if it is one.

        Decided by ``subpath`` and the patterns alone, like the filesystem connector's.
        """
        template = self.settings.page_url
        if template is None:
            return None
        rel = self._relative(path)
        if rel is None or not self._wanted(rel):
            return None
        if kind_of_name(path) is not None:  # a document's URL is the file's: it keeps its suffix
            template = template.replace("{path_stem}", "{path}").replace(
                "{rel_path_stem}", "{rel_path}"
            )
        return self._fill(template, path)

    def document_url_of(self, path: str) -> str | None:
        """A PDF, DOCX or PPTX file's own URL: the raw file pinned to the commit it was
        read at, else its ``page_url``."""
        return self.raw_url_of(path) or self.url_of(path)

    def raw_url_of(self, path: str) -> str | None:
        """The raw-file URL of any file of the repository (images), if there is a template."""
        return self._fill(self.raw_template, path) if self.raw_template else None

    def _fill(self, template: str, path: str) -> str:
        rel = self._relative(path) or path
        commit = self.snapshot.commit if self.snapshot else self.settings.ref
        return fill_template(
            template,
            path,
            rel_path=rel,
            rel_path_stem=posixpath.splitext(rel)[0],
            ref=self.settings.ref,
            commit=commit,
        )

    # -- errors --------------------------------------------------------------------------

    def _shown_repo(self) -> str:
        return self.git.redact(self.settings.repo)

    def _error(self, message: str) -> SourceError:
        return SourceError(message, source=self.settings.name)

    def _git_error(self, error: GitError) -> SourceError:
        repo = self._shown_repo()
        detail = error.message
        if error.kind == "auth":
            if self.settings.token is not None:
                hint = "check that token is valid and can read this repository"
            elif "://" in repo and repo.startswith(("https://", "http://")):
                hint = "a private repository needs token: (for example ${GITHUB_TOKEN})"
            else:
                hint = "check the SSH key this user offers (ssh-agent, ~/.ssh) and known_hosts"
            return self._error(f"{repo}: the credentials were refused ({detail}); {hint}")
        if error.kind == "not_found":
            return self._error(
                f"{repo}: no repository there ({detail}); check repo, and that the token "
                "(if any) can see a private repository"
            )
        if error.kind == "unreachable":
            return self._error(f"cannot reach {repo} ({detail}); check the URL and the network")
        if error.kind == "disk_full":
            return self._error(
                f"the disk is full: {repo} does not fit in {self.mirror.folder} ({detail}); "
                "free space, or set cache_dir to a larger disk"
            )
        if error.kind == "timeout":
            return self._error(f"{repo}: git {error.command} {detail}; raise timeout if it is slow")
        return self._error(f"{repo}: git {error.command} failed: {detail}")


def create(settings: GitSettings, context: Context) -> Connector:
    """The ``ConnectorType`` factory: the mirror lives in the source's cache folder."""
    folder = context.cache_dir
    if settings.cache_dir is not None:
        folder = settings.cache_dir / settings.name
    return GitConnector(settings, folder, context.cursor)


def _hidden(rel: str) -> bool:
    """Whether a part of the relative path ``rel`` starts with a dot."""
    return rel.startswith(".") or "/." in rel
