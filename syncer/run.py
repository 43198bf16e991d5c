"""One sync pass: for each source list, fetch what changed, plan, apply, record.

This is the only module that sequences I/O; the decisions are ``syncer.plan`` 's. The CLI
and the daemon both call ``sync``. Per-document problems are recorded and the run goes
on; a source that fails as a whole stops only itself; the mass-delete guard holds a
source's deletions back and marks its run ``blocked``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import structlog

from connectors import registry
from connectors.protocol import Connector, ConnectorType, Context
from syncer.config.settings import Settings, SourceSettings
from syncer.errors import FatalIntercomError, IntercomError, SyncerError
from syncer.model import Counts, Failure, Fetched, Hashed, Plan
from syncer.plan import plan, to_fetch
from syncer.store import Store

Clock = Callable[[], datetime]
Lookup = Callable[[str], ConnectorType[Any]]
MAX_ERRORS = 20
_T = TypeVar("_T")


class Publisher(Protocol):
    """Where plans are applied: Intercom in production, a memory fake in tests.

    ``upsert`` and ``delete`` are called from up to ``concurrency`` threads at once.
    """

    concurrency: int

    def ensure_source(self, source: SourceSettings, import_source_id: str | None) -> str:
        """The Content Import Source id for ``source``, created if ``None`` or gone."""
        ...

    def upsert(self, import_source_id: str, item: Hashed, source: SourceSettings) -> str:
        """Create or update one page by external_id; return Intercom's page id."""
        ...

    def delete(self, page_id: str) -> None:
        """Delete one page; a page that is already gone counts as deleted."""
        ...


class Progress(Protocol):
    """A progress display; the CLI passes a rich bar on a TTY and nothing otherwise."""

    def phase(self, source: str, what: str, total: int) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class NoProgress:
    def phase(self, source: str, what: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Options:
    dry_run: bool = False
    full: bool = False
    allow_mass_delete: bool = False


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What happened to one source in one pass."""

    source: str
    type: str
    status: str  # planned (dry run) | succeeded | failed | blocked | interrupted
    counts: Counts
    plan: Plan | None = None
    errors: tuple[str, ...] = ()
    duration: float = 0.0
    # Intercom refused the token: no other source will fare better, so the pass stops.
    fatal: bool = False
    # Counts a connector reports beside its documents (macros it dropped, pages it
    # skipped), sorted by name; see ``_notes``.
    notes: tuple[tuple[str, int], ...] = ()

    @property
    def exit_code(self) -> int:
        if self.status == "blocked":
            return 3
        if self.status == "failed" or self.counts.failed:
            return 1
        return 0


@dataclass
class _Tally:
    """Counts and first errors gathered while a plan is applied."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    # The stop event was set: the documents in flight were recorded, the rest left.
    interrupted: bool = False

    def error(self, message: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)


def exit_code(reports: Iterable[SourceReport]) -> int:
    """3 if a guard held deletions back, else 1 if anything failed, else 0."""
    codes = {report.exit_code for report in reports}
    return 3 if 3 in codes else (1 if 1 in codes else 0)


def sync(
    settings: Settings,
    store: Store,
    publisher: Publisher | None,
    options: Options,
    *,
    sources: Sequence[str] = (),
    cache_dir: Path,
    clock: Clock = lambda: datetime.now(UTC),
    progress: Progress | None = None,
    lookup: Lookup = registry.get,
) -> list[SourceReport]:
    """Sync the named sources (all when empty); one report per source, in config order."""
    chosen = [s for s in settings.sources if not sources or s.name in sources]
    reports = []
    for source in chosen:
        report = sync_source(
            source,
            store,
            publisher,
            options,
            cache_dir=cache_dir / source.name,
            clock=clock,
            progress=progress or NoProgress(),
            lookup=lookup,
        )
        reports.append(report)
        if report.fatal:
            break
    return reports


def sync_source(
    source: SourceSettings,
    store: Store,
    publisher: Publisher | None,
    options: Options,
    *,
    cache_dir: Path,
    clock: Clock,
    progress: Progress,
    lookup: Lookup = registry.get,
    stop: threading.Event | None = None,
) -> SourceReport:
    """One source, start to finish; never raises for a problem of the source itself.

    ``stop`` (the daemon's shutdown) is checked between documents: once it is set, the
    documents already sent to Intercom are recorded, nothing more is sent, and the run is
    recorded as ``interrupted``.
    """
    log = structlog.get_logger("syncer.run").bind(source=source.name)
    started = time.monotonic()
    if publisher is None and not options.dry_run:
        raise ValueError("a run that writes needs a publisher")
    run_id = None
    if not options.dry_run:
        store.ensure_source(source.name, source.type)
        run_id = store.start_run(source.name, clock(), full=options.full)
    try:
        import_source_id = None
        if publisher is not None and not options.dry_run:
            # First, so a refused token stops the source before any listing work.
            import_source_id = _import_source(source, store, publisher, log)
        the_plan, connector = _plan_source(source, store, options, cache_dir, progress, log, lookup)
        if import_source_id is None or publisher is None:
            counts = the_plan.counts()
            status = "blocked" if the_plan.guard else "planned"
            report = SourceReport(
                source.name,
                source.type,
                status,
                counts,
                the_plan,
                tuple(f.key + ": " + f.message for f in the_plan.failed[:MAX_ERRORS]),
                time.monotonic() - started,
                notes=_notes(connector),
            )
            log.info("source_planned", **counts.as_dict(), guard=str(the_plan.guard or ""))
            return report
        tally = _apply(
            source, the_plan, store, publisher, import_source_id, clock, progress, log, stop
        )
        if (
            the_plan.listing_complete
            and not the_plan.failed
            and not tally.failed
            and not tally.interrupted
        ):
            store.set_cursor(source.name, connector.cursor())
    except FatalIntercomError as exc:
        return _failed(source, store, run_id, str(exc), started, clock, log, fatal=True)
    except SyncerError as exc:
        return _failed(source, store, run_id, str(exc), started, clock, log)
    except Exception as exc:  # a bug or an unforeseen I/O error: stop this source only
        log.exception("source_crashed")
        return _failed(source, store, run_id, f"{type(exc).__name__}: {exc}", started, clock, log)

    counts = Counts(
        created=tally.created,
        updated=tally.updated,
        deleted=tally.deleted,
        unchanged=len(the_plan.unchanged) + len(the_plan.refresh),
        excluded=len(the_plan.exclude),
        failed=tally.failed,
    )
    if the_plan.guard:
        status = "blocked"
        tally.errors.insert(0, str(the_plan.guard))
    elif tally.interrupted:
        status = "interrupted"
    else:
        status = "failed" if tally.failed else "succeeded"
    assert run_id is not None
    store.finish_run(run_id, status, counts, tally.errors[:MAX_ERRORS], clock())
    log.info("source_synced", status=status, **counts.as_dict())
    return SourceReport(
        source.name,
        source.type,
        status,
        counts,
        the_plan,
        tuple(tally.errors[:MAX_ERRORS]),
        time.monotonic() - started,
        notes=_notes(connector),
    )


def _notes(connector: Connector) -> tuple[tuple[str, int], ...]:
    """What the connector counted beside its documents, if it counts anything.

    A connector may offer ``notes() -> Mapping[str, int]`` (Confluence: macros dropped
    by name, restricted pages skipped, requests made); the report shows them as they are.
    """
    notes = getattr(connector, "notes", None)
    if not callable(notes):
        return ()
    return tuple(sorted((str(name), int(count)) for name, count in notes().items() if count))


def _plan_source(
    source: SourceSettings,
    store: Store,
    options: Options,
    cache_dir: Path,
    progress: Progress,
    log: structlog.typing.FilteringBoundLogger,
    lookup: Lookup,
) -> tuple[Plan, Connector]:
    state = store.source_state(source.name)
    connector = lookup(source.type).create(
        source, Context(cache_dir=cache_dir, cursor=state.cursor if state else None)
    )
    records = store.records(source.name)
    listing = connector.list()
    stubs = to_fetch(records, listing, full=options.full)
    log.info(
        "source_listed",
        listed=len(listing.stubs),
        complete=listing.complete,
        to_fetch=len(stubs),
        known=len(records),
    )
    progress.phase(source.name, "reading", len(stubs))
    fetched: list[Fetched] = []
    for item in connector.fetch(stubs):
        fetched.append(item)
        progress.advance()
        if isinstance(item, Failure):
            log.warning("document_skipped", key=item.key, reason=item.message)
    the_plan = plan(
        records,
        listing,
        fetched,
        source.availability,
        full=options.full,
        max_delete_fraction=source.max_delete_fraction,
        allow_mass_delete=options.allow_mass_delete,
    )
    if the_plan.guard:
        log.warning("mass_delete_guard", reason=str(the_plan.guard))
    return the_plan, connector


def _import_source(
    source: SourceSettings,
    store: Store,
    publisher: Publisher,
    log: structlog.typing.FilteringBoundLogger,
) -> str:
    """The source's Content Import Source id, created or adopted as needed.

    If the id the store knew is gone (someone deleted the source in Intercom, and its
    pages with it), every record of the source is stale: forget them, so this run
    sends every document again.
    """
    state = store.source_state(source.name)
    known = state.import_source_id if state else None
    import_source_id = publisher.ensure_source(source, known)
    if import_source_id != known:
        if known is not None:
            log.warning("import_source_replaced", old=known, new=import_source_id)
            store.forget(source.name, list(store.records(source.name)))
        store.set_import_source_id(source.name, import_source_id)
    return import_source_id


def _apply(
    source: SourceSettings,
    the_plan: Plan,
    store: Store,
    publisher: Publisher,
    import_source_id: str,
    clock: Clock,
    progress: Progress,
    log: structlog.typing.FilteringBoundLogger,
    stop: threading.Event | None = None,
) -> _Tally:
    """Apply ``the_plan``; the store learns of each page as soon as Intercom answers.

    Writes go before deletes, so a run cut short never leaves Fin with less than the
    source has. A killed run leaves the store consistent with what Intercom holds for
    every document already answered; the next run redoes the rest (upserts are
    idempotent by external_id, deletes of a gone page count as done).

    ``stop`` is checked before each document's call: once it is set, the calls in flight
    finish and are recorded, no other is sent, and the tally comes back ``interrupted``.
    """
    tally = _Tally()
    for failure in the_plan.failed:
        tally.error(f"{failure.key}: {failure.message}")
    now = clock()
    store.record_versions(source.name, the_plan.refresh, now)
    deletes = () if the_plan.guard else the_plan.delete
    progress.phase(source.name, "writing", the_plan.writes)
    writes = [(item, True) for item in the_plan.create]
    writes += [(item, False) for item in the_plan.update]
    # A page whose delete was held back or failed keeps its record (and page id), so a
    # later run can retry; a draft is remembered as excluded only once its page is gone.
    kept = {r.key for r in the_plan.delete} if the_plan.guard else set()
    retired = {r.key for r in the_plan.retire}
    removals = [r for r in [*the_plan.retire, *deletes] if r.page_id is not None]
    removals_done = [r for r in [*the_plan.retire, *deletes] if r.page_id is None]
    # Workers only talk to Intercom; this thread alone writes the store, as answers
    # arrive (all those that arrived together in one commit).
    with ThreadPoolExecutor(max_workers=max(1, publisher.concurrency)) as pool:
        try:
            upserts = {
                pool.submit(
                    _unless_stopped, stop, publisher.upsert, import_source_id, item, source
                ): (item, is_new)
                for item, is_new in writes
            }
            pending = set(upserts)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                answered: list[tuple[Hashed, str]] = []
                fatal: FatalIntercomError | None = None
                for future in done:
                    item, is_new = upserts[future]
                    progress.advance()
                    try:
                        page_id = future.result()
                    except _StoppedError:
                        tally.interrupted = True
                        continue
                    except FatalIntercomError as exc:
                        fatal = exc
                        continue
                    except IntercomError as exc:
                        tally.error(f"{item.document.key}: {exc}")
                        log.warning("page_failed", key=item.document.key, error=str(exc))
                        continue
                    answered.append((item, page_id))
                    if is_new:
                        tally.created += 1
                    else:
                        tally.updated += 1
                # Every answer that has arrived is recorded before anything else happens,
                # in one commit: a crash can only lose answers still in flight.
                store.record_pushed_many(source.name, answered, clock())
                if fatal is not None:
                    raise fatal
            deletions = {
                pool.submit(_unless_stopped, stop, publisher.delete, record.page_id or ""): record
                for record in removals
            }
            for gone in as_completed(deletions):
                record = deletions[gone]
                progress.advance()
                try:
                    gone.result()
                except _StoppedError:
                    # The record keeps its page id, so the next run deletes the page.
                    tally.interrupted = True
                    kept.add(record.key)
                    continue
                except FatalIntercomError:
                    raise
                except IntercomError as exc:
                    tally.error(f"{record.key}: delete failed: {exc}")
                    kept.add(record.key)
                    continue
                removals_done.append(record)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    tally.deleted = len(removals_done)
    store.forget(source.name, [r.key for r in removals_done if r.key not in retired])
    store.forget(source.name, [record.key for record in the_plan.forget])
    store.record_excluded(source.name, [e for e in the_plan.exclude if e.key not in kept], clock())
    if the_plan.listing_complete:
        store.mark_seen(source.name, clock())
    return tally


class _StoppedError(Exception):
    """A document's call was not made: the run was told to stop before it."""


def _unless_stopped(stop: threading.Event | None, call: Callable[..., _T], *args: Any) -> _T:
    if stop is not None and stop.is_set():
        raise _StoppedError
    return call(*args)


def _failed(
    source: SourceSettings,
    store: Store,
    run_id: int | None,
    message: str,
    started: float,
    clock: Clock,
    log: structlog.typing.FilteringBoundLogger,
    *,
    fatal: bool = False,
) -> SourceReport:
    log.error("source_failed", error=message)
    if run_id is not None:
        store.finish_run(run_id, "failed", Counts(), [message], clock())
    elapsed = time.monotonic() - started
    return SourceReport(
        source.name, source.type, "failed", Counts(), None, (message,), elapsed, fatal=fatal
    )
