"""Which Content Import Source is a configured source's own: decided from Intercom itself.

A Content Import Source has no name, only a ``url``. syncer gives each configured
source its own URL (``syncer validate`` refuses two sources with one URL), so the URL
is the identity Intercom can be asked about; the id the store remembers is a cache of
it, right until the store is lost, copied, or shared by two runs. One pure decision:

=====================  ===================  =============================================
config import_source_id  store knows an id  decision
=====================  ===================  =============================================
set                    --                   use it if Intercom has it, else refuse
--                     yes, in Intercom     use it (its url follows the config)
--                     no, or gone          adopt the one source whose url is ours;
                                            several: refuse and name them; none: create
=====================  ===================  =============================================

The caller lists Intercom's sources once per pass, and once more, fresh, before it
concludes that an id is gone or that no source has its URL: another process may have
created one since the first listing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from syncer.errors import SourceError
from syncer.model import ImportSource

if TYPE_CHECKING:
    from syncer.config.settings import SourceSettings


def source_url(source: SourceSettings) -> str | None:
    """The source's identity in Intercom: ``url:``, else the origin of ``page_url``."""
    if source.url:
        return source.url
    template = getattr(source, "page_url", None)
    if isinstance(template, str):
        parts = urlsplit(template)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}/"
    return None


def required_url(source: SourceSettings) -> str:
    """``source_url``, or the ``SourceError`` that says to set ``url:``."""
    url = source_url(source)
    if url is None:
        raise SourceError(
            f"source {source.name} has no url: set `url:` to the address Intercom should "
            "show for this Content Import Source",
            source=source.name,
        )
    return url


@dataclass(frozen=True, slots=True)
class Use:
    """Write to ``source``; ``adopted`` when found by URL rather than by a known id."""

    source: ImportSource
    adopted: bool = False


@dataclass(frozen=True, slots=True)
class Create:
    """No Content Import Source is ours yet: create one with our URL."""


@dataclass(frozen=True, slots=True)
class Refuse:
    """Nothing may be written until a person decides; ``reason`` says what to do."""

    reason: str


Choice = Use | Create | Refuse


def choose(
    url: str | None,
    *,
    configured_id: str | None,
    known_id: str | None,
    existing: Sequence[ImportSource],
) -> Choice:
    """The Content Import Source for a source with ``url`` (see the module's table)."""
    by_id = {source.id: source for source in existing}
    if configured_id is not None:
        found = by_id.get(configured_id)
        if found is None:
            return Refuse(
                f"Content Import Source {configured_id} (import_source_id in the config) "
                "does not exist in this workspace"
            )
        return Use(found)
    if known_id is not None and known_id in by_id:
        return Use(by_id[known_id])
    if url is None:
        return Refuse("it has no url, and no Content Import Source is known for it")
    matches = sorted(
        (s for s in existing if s.url == url), key=lambda s: int(s.id) if s.id.isdigit() else 0
    )
    if len(matches) > 1:
        ids = ", ".join(s.id for s in matches)
        return Refuse(
            f"several Content Import Sources have its url {url} ({ids}); set "
            "import_source_id on the source to the one that is its own"
        )
    if matches:
        return Use(matches[0], adopted=True)
    return Create()


def needs_fresh_listing(choice: Choice, known_id: str | None) -> bool:
    """Whether ``choice`` rests on an absence that a newer listing might disprove."""
    return isinstance(choice, Create) or (
        isinstance(choice, Use) and choice.adopted and known_id is not None
    )
