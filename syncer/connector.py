"""The contract between syncer and every connector: ``Connector``, ``ConnectorType``.

A connector reads one configured source. It lists cheap stubs (``Listing``: keys and
versions, and whether the listing is complete), fetches documents for the stubs that
changed (each a ``Document``, ``Excluded`` or ``Failure``: a failure is a value, never an
exception), says what to remember for the next run (``cursor``), what it counted beside
its documents (``notes``), and lets go of what it holds (``close``). The suite every
connector passes is ``tests/contract.py``.

A ``ConnectorType`` is what a ``type:`` names: its settings model, its factory, and
the commands it adds to the command line (``syncer <type> <command>``). The built-in
types and third-party ones are found by ``syncer.registry``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TextIO, TypeVar, runtime_checkable

from syncer.config.settings import SourceSettings
from syncer.model import Fetched, Listing, Stub

if TYPE_CHECKING:
    from syncer.config.settings import Settings


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

        Any subset of the listing's stubs, in any order. A failure of one document is a
        value, never an exception: the run goes on.
        """
        ...

    def cursor(self) -> str | None:
        """What to remember for the next run after this one succeeds (or ``None``)."""
        ...

    def notes(self) -> Mapping[str, int]:
        """What the connector counted beside its documents (macros dropped, pages
        skipped, requests made), by name; the run report shows them as they are."""
        ...

    def close(self) -> None:
        """Let go of connections and files; the run calls it once it is done."""
        ...


@runtime_checkable
class QuickCheck(Protocol):
    """A connector that can tell cheaply, without listing, that its source changed
    (the daemon asks between scheduled runs: ``quick_check:``)."""

    def changed_since(self, since: datetime, now: datetime) -> str | None:
        """What changed since ``since``, in a few words; ``None`` when nothing did."""
        ...


@runtime_checkable
class Resumable(Protocol):
    """A connector whose fetch can go on elsewhere from what its listing kept.

    A split run (``syncer.engine.batches``) keeps ``fetch_state`` with its listing; each
    of its batch jobs, perhaps on another machine, builds a fresh connector, ``resume`` s
    it from that state instead of listing the source again, and fetches its share of
    the stubs as the listing connector would have. A connector without it lists again
    in every batch.
    """

    def fetch_state(self) -> str:
        """After ``list``: what a fetch needs of this listing, as text (JSON, a commit)."""
        ...

    def resume(self, state: str) -> None:
        """Instead of ``list``: be ready to fetch the stubs of the listing that said
        ``state``. May raise as ``list`` does (``SourceError``) if it cannot."""
        ...


@dataclass(frozen=True, slots=True)
class Command:
    """A command a connector type adds to the command line: ``syncer <type> <name>``.

    ``arguments`` adds the command's own arguments to its parser; ``run`` gets them,
    the loaded settings and the output streams, and returns the exit code.
    """

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Settings, TextIO, TextIO], int]


S = TypeVar("S", bound=SourceSettings)


@dataclass(frozen=True, slots=True)
class ConnectorType(Generic[S]):
    """A ``type:`` value's settings model, the factory that builds its connector, and the
    commands it adds to the command line."""

    name: str
    settings: type[S]
    create: Callable[[S, Context], Connector]
    commands: Sequence[Command] = ()
