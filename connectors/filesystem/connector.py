"""The filesystem connector: ``list`` walks the folder, ``fetch`` reads and converts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

from syncer.connector import Connector, Context
from syncer.connectors.filesystem.listing import Rules, list_folder
from syncer.connectors.filesystem.page_url import fill_template
from syncer.connectors.filesystem.patterns import compile_patterns
from syncer.connectors.filesystem.reading import read_document
from syncer.connectors.filesystem.settings import FilesystemSettings, folder_problem
from syncer.errors import SourceError
from syncer.model import Fetched, Listing, Stub


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

    def list(self) -> Listing:
        problem = folder_problem(self.settings.path)
        if problem is not None:
            raise SourceError(f"source {self.settings.name}: {problem}", source=self.settings.name)
        return list_folder(self.settings.path, self.rules)

    def fetch(self, stubs: Sequence[Stub]) -> Iterator[Fetched]:
        for stub in stubs:
            yield read_document(
                self.settings.path,
                stub,
                max_bytes=self.settings.max_file_bytes,
                url_of=self.url_of,
                notes=self.counts,
            )

    def cursor(self) -> str | None:
        return None

    def notes(self) -> dict[str, int]:
        """What conversion had to change, by document (the run report shows it)."""
        return dict(self.counts)

    def close(self) -> None:
        """Nothing to let go of: every file is closed as soon as it is read."""

    def url_of(self, path: str) -> str | None:
        """The page URL of the document at ``path``, if it is one and ``page_url`` is set.

        Decided by the patterns alone (no disk access): a link to a file the settings
        include is a link to its page.
        """
        template = self.settings.page_url
        if template is None:
            return None
        if not self.rules.include.match_file(path) or self.rules.exclude.match_file(path):
            return None
        return fill_template(template, path)


def create(settings: FilesystemSettings, context: Context) -> Connector:
    """The ``ConnectorType`` factory; the filesystem connector needs no cache or cursor."""
    return FilesystemConnector(settings)
