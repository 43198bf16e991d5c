"""Fetch one listed file: containment and size guards, read, convert; every problem
becomes a ``Failure``.

Only a file whose resolved path lies inside the source folder is read. That is checked
here, when reading, and again once the file is open: a listing can be stale (a file
swapped for a symlink since), so it is never trusted for it. A file that leads out is
``Excluded``, so a page it published before leaves Fin. A PDF, DOCX or PPTX (by its
bytes) is converted by ``syncer.convert.documents`` and may become several documents.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from syncer.connectors.filesystem.listing import LINKED_OUT, outside_reason
from syncer.convert import CONVERTER_VERSION
from syncer.convert.documents.files import Converted, convert_document, read_cap
from syncer.convert.documents.settings import DocumentSettings
from syncer.convert.site import Site
from syncer.convert.source_file import Skipped, convert_file
from syncer.convert.stamp import versioned
from syncer.model import Document, Excluded, Failure, Stub


def read_document(
    root: Path,
    stub: Stub,
    *,
    max_bytes: int,
    url_of: Callable[[str], str | None],
    notes: Counter[str] | None = None,
    site: Site | None = None,
    stamp: str = "",
    documents: DocumentSettings | None = None,
    real_root: str | None = None,
) -> Converted:
    """The ``Document`` (or ``Excluded`` / ``Failure``) for a stub of ``list_folder``.

    ``notes`` (when given) counts the conversion's caveats, as ``convert_bytes`` does;
    ``site`` renders Markdown in the source's flavour; ``stamp`` is what the listing
    appends to every version (``versioned``). ``documents`` (the source's caps) makes PDF,
    DOCX and PPTX files documents; ``max_bytes`` is then the cap of text files only.
    ``real_root``: ``root`` with its links resolved, when the caller resolved it once for
    every file it reads (else it is resolved here).
    """
    max_bytes, setting = read_cap(stub.key, max_bytes, documents)
    if stub.key.startswith("/") or ".." in stub.key.split("/"):
        return Failure(stub.key, "not a path inside the source folder")
    path = root / stub.key
    try:
        real_root = real_root or os.path.realpath(root)
        target, inside = _resolved(real_root, path)
        if not inside:
            return _linked_out(stub.key, target)
        # O_NOFOLLOW: the resolved path has no link left, unless one was swapped in since.
        # O_NONBLOCK: a FIFO swapped in would hold the open forever (it is refused below).
        descriptor = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as file:
            # The version is the stat of what is read, taken before reading: if the file
            # changes meanwhile, the store holds an older version and the next run
            # fetches again, never the other way round.
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                return Failure(stub.key, "not a regular file")
            # Checked before reading: an oversized file is never read, not even in part.
            if info.st_size > max_bytes:
                return Failure(stub.key, too_big(info.st_size, max_bytes, setting))
            # What was opened must still be what the key leads to inside the folder: a
            # folder on the way swapped for a link between the check and the open fails.
            again, inside = _resolved(real_root, path)
            if not inside:
                return _linked_out(stub.key, again)
            if not os.path.samestat(info, again.stat()):
                return Failure(stub.key, "file was replaced while it was read; read next run")
            data = file.read(max_bytes + 1)
    except FileNotFoundError:
        return Failure(stub.key, "file disappeared after it was listed")
    except OSError as error:
        return Failure(stub.key, f"cannot read file: {error.strerror or error}")
    if len(data) > max_bytes:
        return Failure(stub.key, too_big(len(data), max_bytes, setting))
    version = versioned(f"{info.st_size}:{info.st_mtime_ns}", stamp)
    return convert_bytes(
        stub.key, version, data, url_of=url_of, notes=notes, site=site, documents=documents
    )


def _resolved(real_root: str, path: Path) -> tuple[Path, bool]:
    """``path`` with every symlink resolved, and whether that lies inside ``real_root``
    (a folder with its own links resolved).

    Raises ``OSError`` when ``path`` cannot be resolved (gone, a loop).
    """
    target = Path(os.path.realpath(path, strict=True))
    return target, target.is_relative_to(real_root)


def _linked_out(key: str, target: Path) -> Excluded:
    # Always LINKED_OUT, whatever the listing saw: a size and mtime remembered for a file
    # that was not read would make its return look unchanged.
    return Excluded(key, LINKED_OUT, outside_reason(str(target), folder=False))


def convert_bytes(
    key: str,
    version: str,
    data: bytes,
    *,
    url_of: Callable[[str], str | None],
    image_resolver: Callable[[str], str | None] | None = None,
    notes: Counter[str] | None = None,
    site: Site | None = None,
    raw_url_of: Callable[[str], str | None] | None = None,
    documents: DocumentSettings | None = None,
    document_url_of: Callable[[str], str | None] | None = None,
) -> Converted:
    """The ``Document`` (or ``Excluded`` / ``Failure``) for the file ``key`` holding ``data``.

    Shared by every connector that reads files (a folder, a git tree): ``version`` is
    whatever its listing said; ``url_of``, ``image_resolver``, ``site`` and ``raw_url_of``
    go to ``convert_file``.
    Each caveat of the conversion (``Page.notes``: nesting flattened) is counted in
    ``notes`` under ``"<key>: <note>"``, for the run report (a connector's ``notes()``).
    With ``documents``, a PDF, DOCX or PPTX goes to ``convert_document`` first, its URL
    from ``document_url_of`` (default ``url_of``), and may become a lead and its sections.
    """
    if documents is not None:
        url = (document_url_of or url_of)(key)
        found = convert_document(key, version, data, url=url, settings=documents, notes=notes)
        if found is not None:
            return found
    try:
        page = convert_file(
            key,
            data,
            url_of=url_of,
            image_resolver=image_resolver,
            site=site,
            raw_url_of=raw_url_of,
        )
    except ValueError as error:
        return Failure(key, str(error))
    if isinstance(page, Skipped):
        return Excluded(key, version, page.reason)
    if notes is not None:
        notes.update(f"{key}: {note}" for note in page.notes)
    return Document(
        key=key,
        version=version,
        external_id=page.external_id or key,
        title=page.title,
        html=page.html,
        url=page.url,
        converter_version=CONVERTER_VERSION,
        broken_links=page.broken_links,
    )


def too_big(size: int, max_bytes: int, setting: str = "max_file_bytes") -> str:
    """Why a file of ``size`` bytes is not read, with the fix, in one line."""
    return (
        f"file is {_size(size)}, over {setting} {_size(max_bytes)}; raise {setting} or exclude it"
    )


def _size(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f} MB"
    if count >= 1_000:
        return f"{count / 1_000:.1f} kB"
    return f"{count} bytes"
