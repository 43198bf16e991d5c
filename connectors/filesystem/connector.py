"""The filesystem connector: ``list`` walks the folder, ``fetch`` reads and converts.

Every version the listing gives ends with the source's render stamp (``render_stamp``:
the converter version, ``markdown:``, the page URL template and patterns, and the stat
of the site config files the flavour would read), so a converter upgrade or an edited
``mkdocs.yml`` makes every file read once more; what is then sent is decided by the
content hash alone, so only pages whose output changed are re-sent.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from syncer.connector import Connector, Context
from syncer.connectors.filesystem.listing import Rules, list_folder
from syncer.connectors.filesystem.page_url import fill_template
from syncer.connectors.filesystem.patterns import compile_patterns
from syncer.connectors.filesystem.settings import FilesystemSettings, folder_problem
from syncer.convert.documents import kind_of_name
from syncer.convert.stamp import PARENT_CONFIG, config_candidates, render_stamp, versioned
from syncer.errors import SourceError
from syncer.model import Fetched, Listing, Stub

if TYPE_CHECKING:
    from syncer.convert.site import Site


class FilesystemConnector:
    """Reads one ``type: filesystem`` source; keeps no state between calls."""

    def __init__(self, settings: FilesystemSettings) -> None:
        self.settings = settings
        # Caveats of conversion ("<key>: nesting flattened from line 40"), for the report.
        self.counts: Counter[str] = Counter()
        self.rules = Rules(
            include=compile_patterns(settings.include),
            exclude=compile_patterns(settings.exclude),
        )
        self._site: Site | None = None
        self._stamp: str | None = None

    def list(self) -> Listing:
        problem = folder_problem(self.settings.path)
        if problem is not None:
            raise SourceError(f"source {self.settings.name}: {problem}", source=self.settings.name)
        # Each version ends as `versioned` ends one; LINKED_OUT is left as it is.
        return list_folder(
            self.settings.path, self.rules, version_suffix=versioned("", self.stamp())
        )

    def fetch(self, stubs: Sequence[Stub]) -> Iterator[Fetched]:
        if not stubs:
            return
        # Here, not above: the converters are most of this module's imports, and a sync
        # with nothing to read (or `syncer validate`) needs none of them.
        from syncer.connectors.filesystem.reading import read_document
        from syncer.convert.documents.files import each

        # Resolved once a fetch: every file read must lie inside it (the folder itself
        # may be reached through a link).
        real_root = os.path.realpath(self.settings.path)
        for stub in stubs:
            yield from each(
                read_document(
                    self.settings.path,
                    stub,
                    real_root=real_root,
                    max_bytes=self.settings.max_file_bytes,
                    url_of=self.url_of,
                    notes=self.counts,
                    site=self.site(),
                    stamp=self.stamp(),
                    documents=self.settings.documents,
                )
            )

    def site(self) -> Site:
        """The source's Markdown flavour and files, made when the first file is read."""
        if self._site is None:
            # Here, not above: a listing renders nothing (the flavours, the site's files).
            from syncer.connectors.filesystem.site_files import FolderFiles, parent_config
            from syncer.convert.site import Site

            files = FolderFiles(self.settings.path, max_bytes=self.settings.max_file_bytes)
            outside = (
                parent_config(self.settings.path)
                if self.settings.markdown in ("auto", "mkdocs")
                else {}
            )
            self._site = Site(files, setting=self.settings.markdown, outside=outside)
        return self._site

    def stamp(self) -> str:
        """What every version ends with: the render stamp, from stats alone (no read)."""
        if self._stamp is None:
            configs: dict[str, str] = {}
            for path in (*config_candidates(""), PARENT_CONFIG):
                try:
                    info = (self.settings.path / path).stat()
                except OSError:
                    continue
                configs[path] = f"{info.st_size}:{info.st_mtime_ns}"
            settings = self.settings
            self._stamp = render_stamp(
                settings.markdown,
                settings.page_url,
                settings.include,
                settings.exclude,
                configs,
                settings.documents.model_dump(),
            )
        return self._stamp

    def cursor(self) -> str | None:
        return None

    def fetch_state(self) -> str:
        """Nothing: each stub is read by its path (``syncer.connector.Resumable``)."""
        return ""

    def resume(self, state: str) -> None:
        """A batch of a split run fetches without listing the folder again."""

    def notes(self) -> dict[str, int]:
        """What conversion had to change, by document, and what the site's config could
        not have followed (the run report shows them)."""
        site = self._site.notes() if self._site is not None else {}
        return {**self.counts, **site}

    def close(self) -> None:
        """Nothing to let go of: every file is closed as soon as it is read."""

    def url_of(self, path: str) -> str | None:
        """The page URL of the document at ``path``, if it is one and ``page_url`` is set.

        Decided by the patterns alone (no disk access): a link to a file the settings
        include is a link to its page. A PDF, DOCX or PPTX is its own page: its URL keeps
        the extension (``{path_stem}`` is its whole path), as a site serves the file.
        """
        template = self.settings.page_url
        if template is None:
            return None
        if not self.rules.include.match_file(path) or self.rules.exclude.match_file(path):
            return None
        if kind_of_name(path) is not None:
            template = template.replace("{path_stem}", "{path}")
        return fill_template(template, path)


def create(settings: FilesystemSettings, context: Context) -> Connector:
    """The ``ConnectorType`` factory; the filesystem connector needs no cache or cursor."""
    return FilesystemConnector(settings)
