"""``syncer validate --online``: what the config points at, asked whether it answers.

Offline validation knows the file is right; these checks know the world agrees: the
Intercom token is accepted (one call, the listing of Content Import Sources a sync
makes first), the store opens at this release's schema (read-only: nothing is created
or migrated), and each source lists (the cheap first step of a sync; a git source
brings its mirror up to date, as ``syncer preview`` does). Every check runs, whatever
the one before it said, and each says what failed and what to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from syncer import registry
from syncer.config import database_url
from syncer.config.settings import Settings, SourceSettings
from syncer.connector import Context
from syncer.errors import FatalIntercomError, IntercomError, RetryableError, SyncerError

# A check is a question, not a sync: a few quick retries, not a sync's patience.
ATTEMPTS = 2


@dataclass(frozen=True, slots=True)
class Check:
    """One thing asked: ``what`` (``intercom``, ``store``, ``source docs``), its answer."""

    what: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.what}: {'ok' if self.ok else 'FAILED'}: {self.detail}"


def checks(settings: Settings) -> Iterator[Check]:
    """Every check, in order: Intercom, the store, then each source."""
    yield _intercom(settings)
    yield _store(settings.store.url)
    for source in settings.sources:
        yield _source(source, settings.cache_dir / source.name)


def _intercom(settings: Settings) -> Check:
    from syncer.http.backoff import Backoff
    from syncer.intercom.client import IntercomClient
    from syncer.intercom.publisher import IntercomPublisher

    try:
        backoff = Backoff(attempts=ATTEMPTS, rate_limit_attempts=ATTEMPTS)
        with IntercomClient.from_settings(settings.intercom, backoff=backoff) as client:
            found = IntercomPublisher(client).import_sources()
    except FatalIntercomError as exc:
        return Check(
            "intercom",
            False,
            f"Intercom refused the token ({exc}); check intercom.token: an access token of "
            "the workspace's app, with the right region (intercom.region)",
        )
    except RetryableError as exc:
        return Check(
            "intercom",
            False,
            f"Intercom did not answer ({exc}); check the network, intercom.region and "
            "intercom.base_url",
        )
    except SyncerError as exc:
        return Check("intercom", False, str(exc))
    noun = "source" if len(found) == 1 else "sources"
    return Check(
        "intercom", True, f"the token is accepted ({len(found)} Content Import {noun} listed)"
    )


def _store(url: str) -> Check:
    from syncer.store import Store

    parsed = database_url.parse(url)
    file = parsed.database if parsed.backend == "sqlite" and parsed.database != ":memory:" else None
    if file and not Path(file).exists():
        return Check("store", True, f"{file} does not exist yet; the first sync creates it")
    try:
        Store.open_read_only(url).close()
    except (SyncerError, OSError) as exc:
        return Check("store", False, str(exc))
    return Check("store", True, f"{parsed.backend}, at this release's schema")


def _source(source: SourceSettings, cache_dir: Path) -> Check:
    what = f"source {source.name}"
    connector = None
    try:
        connector = registry.get(source.type).create(source, Context(cache_dir=cache_dir))
        listing = connector.list()
    except (SyncerError, IntercomError, OSError) as exc:
        return Check(what, False, str(exc))
    except Exception as exc:  # a connector's bug must not hide the other checks
        return Check(what, False, f"{type(exc).__name__}: {exc}")
    finally:
        if connector is not None:
            connector.close()
    n = len(listing.stubs)
    detail = f"{n} document{'' if n == 1 else 's'} listed"
    if listing.failures:
        detail += f", {len(listing.failures)} could not be listed ({listing.failures[0].key}: "
        detail += f"{listing.failures[0].message})"
    if not listing.complete:
        detail += "; the listing is incomplete, so a sync would delete nothing"
    return Check(what, True, detail)
