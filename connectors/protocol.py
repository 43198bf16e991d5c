"""The contract between syncer and every connector: ``Connector`` and ``ConnectorType``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar, runtime_checkable

from syncer.config.settings import SourceSettings
from syncer.model import Fetched, Listing, Stub


@dataclass(frozen=True, slots=True)
class Context:
    """What a connector may need beyond its settings.

    ``cache_dir`` is a folder of the connector's own (a git mirror); ``cursor`` is what
    the connector asked the store to keep after the last successful run (a commit, a
    watermark), ``None`` on a first run.
    """

    cache_dir: Path
    cursor: str | None = None


@runtime_checkable
class Connector(Protocol):
    """Reads one configured source."""

    def list(self) -> Listing:
        """Every document of the source as a cheap stub, reading no content if it can."""
        ...

    def fetch(self, stubs: Sequence[Stub]) -> Iterator[Fetched]:
        """One ``Document``, ``Excluded`` or ``Failure`` per stub, in any order.

        A failure of one document is a value, never an exception: the run goes on.
        """
        ...

    def cursor(self) -> str | None:
        """What to remember for the next run after this one succeeds (or ``None``)."""
        ...


S = TypeVar("S", bound=SourceSettings)


@dataclass(frozen=True, slots=True)
class ConnectorType(Generic[S]):
    """A ``type:`` value's settings model and the factory that builds its connector."""

    name: str
    settings: type[S]
    create: Callable[[S, Context], Connector]
