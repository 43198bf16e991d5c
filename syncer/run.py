"""One sync pass: for each source lock, list, check Intercom, fetch, plan, apply, record.

This is the only module that sequences I/O; the decisions are ``syncer.plan`` 's (and
``syncer.identity`` 's for which Content Import Source is the source's own). The CLI's
``sync`` and ``reconcile`` and the daemon all call ``sync_source``, so every path that
deletes goes through the same planner rules: complete listings only, and the guard.

A run that writes holds its source's lock (``syncer.store.locks``) from before it reads
the store until its run row is closed; a run row still ``running`` when the lock is taken
belonged to a process that died, and is closed as abandoned. Per-document problems are
recorded and the run goes on; a source that fails as a whole stops only itself (a store
lost mid-run included); the mass-delete guard holds a source's deletions back and marks
its run ``blocked``; a stop (Ctrl-C, SIGTERM, a lost lock) lets the calls in flight
finish, records their answers and marks the run ``interrupted``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import structlog

from syncer import identity, registry
from syncer.config.settings import Settings, SourceDefaults, SourceSettings
from syncer.connector import Connector, ConnectorType, Context
from syncer.errors import (
    FatalIntercomError,
    FencedError,
    IntercomError,
    RetryableError,
    SourceError,
    StoreError,
    SyncerError,
)
from syncer.fencing import SEND_GUARD
from syncer.model import (
    BrokenLink,
    Counts,
    Failure,
    Fetched,
    Hashed,
    ImportSource,
    Listing,
    Page,
    PageDiff,
    Plan,
    Record,
    Stub,
)
from syncer.plan import ADOPTED_HASH, Adoption, Decision, Planner, adopt
from syncer.remote import PageView, view
from syncer.store import Store
from syncer.store.locks import SourceLock, process_holder
from syncer.store.runs import RunDocument

Clock = Callable[[], datetime]
Lookup = Callable[[str], ConnectorType[Any]]
MAX_ERRORS = 20
# How often a run waiting for its source's lock asks again.
LOCK_POLL_S = 0.5
ABANDONED = "interrupted: abandoned, the process running it stopped without finishing"
# Documents decided together: their intents go to the store in one commit before their
# creates are sent, and the first is sent within ``BATCH_S`` of being read.
BATCH = 64
BATCH_S = 0.05
# Calls a worker may have unanswered before the main thread waits for answers: enough
# to keep every worker busy, few enough that pages in memory stay a small window.
IN_FLIGHT_PER_WORKER = 2
# Answers are recorded at least this often, and never more than this many at a time.
RECORD_S = 0.1
RECORD_EVERY = 256
_T = TypeVar("_T")


class Publisher(PageView, Protocol):
    """Where plans are applied: Intercom in production, a memory fake in tests.

    ``upsert`` and ``delete`` are called from up to ``concurrency`` threads at once.
    """

    concurrency: int

    def import_sources(self, *, fresh: bool = False) -> list[ImportSource]:
        """The workspace's Content Import Sources (listed once, or again if ``fresh``)."""
        ...

    def create_source(self, url: str, audience_ids: Sequence[int]) -> ImportSource: ...

    def update_source(self, source: ImportSource, url: str, audience_ids: Sequence[int]) -> None:
        """Give ``source`` the config's url and audiences, if they differ."""
        ...

    def delete_source(self, import_source_id: str) -> None: ...

    def upsert(self, import_source_id: str, page: Page) -> str:
        """Create or update ``page`` by external_id, as it is; return Intercom's page id."""
        ...

    def delete(self, page_id: str) -> None:
        """Delete one page; a page that is already gone counts as deleted."""
        ...


class Progress(Protocol):
    """A progress display; the CLI passes a rich bar on a TTY and nothing otherwise."""

    def phase(self, source: str, what: str, total: int) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class Diffs(Protocol):
    """A dry run's ``--diff`` (``syncer.diff.Differ``): what an update would change in
    the text Fin reads of a page, read from Intercom; ``calls`` counts those reads."""

    calls: int

    def diff(self, item: Hashed, page_id: str | None) -> PageDiff: ...


class NoProgress:
    def phase(self, source: str, what: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Options:
    """What a pass may do.

    ``verify`` lists Intercom's pages whatever the drift check's count says; ``send``
    false keeps pages from being created or updated and ``delete`` false keeps them from
    being deleted, while the store still learns what Intercom holds (``syncer
    reconcile``: both false unless ``--delete-orphans``).
    """

    dry_run: bool = False
    full: bool = False
    allow_mass_delete: bool = False
    verify: bool = False
    send: bool = True
    delete: bool = True


@dataclass(frozen=True, slots=True)
class Drift:
    """What the run learned from Intercom about its source before planning.

    ``listed``: Intercom's pages were read (the count disagreed, intents were left, or
    a check was asked for). ``adopted``: pages found that the store did not know, of
    which ``identical`` already held what would be sent; ``missing``: records whose page
    Intercom no longer has.
    """

    # Calls made to read what Intercom holds (a dry run's --diff reads each page it diffs).
    calls: int = 0
    # Why the check could not be made this run (Intercom kept refusing it), if so.
    skipped: str | None = None
    listed: bool = False
    complete: bool = True
    adopted: int = 0
    identical: int = 0
    restored: int = 0
    missing: int = 0


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What happened to one source in one pass."""

    source: str
    type: str
    # planned (dry run) | succeeded | failed | blocked | interrupted | skipped (locked)
    status: str
    counts: Counts
    plan: Plan | None = None
    errors: tuple[str, ...] = ()
    duration: float = 0.0
    # Intercom refused the token: no other source will fare better, so the pass stops.
    fatal: bool = False
    # Counts a connector reports beside its documents (macros it dropped, pages it
    # skipped), sorted by name; see ``_notes``.
    notes: tuple[tuple[str, int], ...] = ()
    import_source_id: str | None = None
    drift: Drift = field(default_factory=Drift)
    # The source is in the store but no longer in the config: its run deletes its pages.
    removed: bool = False
    # A dry run's --diff: each page to update whose text would change, or that could not
    # be compared (``PageDiff.note``).
    diffs: tuple[PageDiff, ...] = ()
    # When each document this run created or updated in Intercom last changed in the
    # source (``Stub.changed_at``), for those whose listing said: freshness is measured
    # from them.
    changes: tuple[datetime, ...] = ()
    # A write found the source lock lost (its connection cut: the server restarted, or
    # gave up on a holder it heard nothing from): no write of the run left after that.
    lock_lost: bool = False

    @property
    def exit_code(self) -> int:
        return status_exit_code(self.status, failed=bool(self.counts.failed))

    @property
    def broken_links(self) -> tuple[tuple[str, BrokenLink], ...]:
        """``(key, link)`` for each link, image or anchor of a document this run read that
        points at nothing in the source, by key. Read from the plan: its creates,
        updates, refreshes and adoptions hold every document fetched and decided."""
        the_plan = self.plan
        if the_plan is None:
            return ()
        read = [*the_plan.create, *the_plan.update, *the_plan.refresh]
        read += [item for item, _ in the_plan.adopt]
        return tuple(
            (item.document.key, link)
            for item in sorted(read, key=lambda item: item.document.key)
            for link in item.document.broken_links
        )


@dataclass
class Tally:
    """Counts and first errors gathered while a plan is applied."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    # The stop event was set (or the lock lost): the calls in flight were recorded.
    interrupted: bool = False
    # Intents whose page certainly was not made: never sent, or refused.
    unmade: list[str] = field(default_factory=list)
    # What the run did with each document it touched, for the store's run_documents.
    documents: list[RunDocument] = field(default_factory=list)

    def error(self, message: str, *, key: str | None = None, title: str = "") -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)
        if key is not None:
            self.did("failed", key, title, message.removeprefix(f"{key}: "))

    def did(self, action: str, key: str, title: str = "", reason: str = "") -> None:
        self.documents.append(RunDocument(action, key, title, reason))


def status_exit_code(status: str, *, failed: bool = False) -> int:
    """A run's exit code: 3 blocked by a guard, 130 stopped, 1 failed, skipped or with
    failed documents, else 0."""
    if status == "blocked":
        return 3
    if status == "interrupted":
        return 130
    return 1 if failed or status in ("failed", "skipped") else 0


def worst(codes: Iterable[int]) -> int:
    """A pass's exit code from its runs': 130 if stopped, else 3, else 1, else 0."""
    found = set(codes)
    return next((code for code in (130, 3, 1) if code in found), 0)


def exit_code(reports: Iterable[SourceReport]) -> int:
    """The pass's exit code (``worst`` of its reports')."""
    return worst(report.exit_code for report in reports)


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
    stop: threading.Event | None = None,
    lock_wait: float = 0.0,
    holder: str | None = None,
    diffs: Diffs | None = None,
) -> list[SourceReport]:
    """Sync the named sources (all when empty); one report per source, in config order.

    A pass over every source also runs each source the store knows that the config no
    longer has: its pages are deleted, under the guard (``removed`` in its report).
    ``diffs`` (dry runs only) diffs each page an update would change.
    """
    chosen = [s for s in settings.sources if not sources or s.name in sources]
    names = [s.name for s in settings.sources]
    holder = holder or process_holder("sync")

    def runs() -> Iterator[tuple[SourceSettings, Lookup, list[str], bool]]:
        for source in chosen:
            yield source, lookup, [n for n in names if n != source.name], False
        if sources:
            return
        try:
            # Asked only now: the configured sources' runs have taken over renamed ones.
            known = store.sources()
        except StoreError as exc:
            # The pass already reported what the lost store cost each source.
            structlog.get_logger("syncer.run").error("removed_sources_unchecked", error=str(exc))
            return
        for state in known:
            if state.name not in names:
                gone = removed_source(state.name, state.type, settings.defaults)
                yield gone, lambda _type: GONE, names, True

    reports = []
    for source, kind, siblings, removed in runs():
        report = sync_source(
            source,
            store,
            publisher,
            options,
            cache_dir=cache_dir / source.name,
            clock=clock,
            progress=progress or NoProgress(),
            lookup=kind,
            stop=stop,
            holder=holder,
            lock_wait=lock_wait,
            siblings=siblings,
            removed=removed,
            diffs=diffs,
        )
        reports.append(report)
        if report.fatal or report.status == "interrupted":
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
    holder: str | None = None,
    lock_wait: float = 0.0,
    siblings: Collection[str] = (),
    removed: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    diffs: Diffs | None = None,
    split: Split | None = None,
) -> SourceReport:
    """One source, start to finish; never raises for a problem of the source itself.

    ``stop`` (Ctrl-C, SIGTERM, the daemon's shutdown) is checked between documents:
    once it is set, the documents already sent to Intercom are recorded, nothing more is
    sent, and the run is recorded as ``interrupted``; so it is when a write finds the
    source lock lost (``SourceReport.lock_lost``). ``siblings`` are the other configured
    sources (a store source of another name holding this source's Content Import Source
    is a rename only if it is not one of them). ``lock_wait`` is how long to wait for a
    lock another run holds. ``diffs``: a dry run's ``--diff``. ``split``: see
    ``SourceRun.execute``.
    """
    log = structlog.get_logger("syncer.run").bind(source=source.name)
    started = time.monotonic()
    if publisher is None and not options.dry_run:
        raise ValueError("a run that writes needs a publisher")
    if options.dry_run or publisher is None:
        return _dry_run(
            source, store, options, cache_dir, progress, log, lookup, started, removed, diffs
        )
    try:
        lock = _lock(
            store, source.name, holder or process_holder("sync"), lock_wait, stop, sleep, log
        )
    except StoreError as exc:
        return _report_failure(source, str(exc), started, removed=removed)
    if lock is None:
        holder_now = _holder(store, source.name)
        message = f"another run holds source {source.name} ({holder_now}); it was not synced"
        log.warning("source_locked", holder=holder_now)
        return _report_without_run(source, "skipped", message, started, removed=removed)
    try:
        run = SourceRun(source, store, publisher, options, clock, progress, log, stop, lock)
        return run.execute(cache_dir, lookup, started, siblings, removed, split)
    finally:
        lock.release()


@dataclass(frozen=True, slots=True)
class Prepared:
    """A run that has its identity, listing, drift check and planner, nothing sent
    yet: what ``SourceRun.execute`` hands a split (``syncer.engine.batches``)."""

    run: SourceRun
    planner: Planner
    connector: Connector
    import_source_id: str
    adoption: Adoption | None
    started: float


# Takes a prepared run over (returns its report) or leaves it to run whole (None).
Split = Callable[[Prepared], "SourceReport | None"]


def clean(the_plan: Plan, tally: Tally) -> bool:
    """Whether a run saw and sent everything: only then does the cursor move."""
    return (
        the_plan.listing_complete
        and not the_plan.failed
        and not tally.failed
        and not tally.interrupted
    )


def _lock(
    store: Store,
    name: str,
    holder: str,
    wait_s: float,
    stop: threading.Event | None,
    sleep: Callable[[float], None],
    log: structlog.typing.FilteringBoundLogger,
) -> SourceLock | None:
    deadline = time.monotonic() + wait_s
    said = False
    while True:
        lock = store.try_lock(name, holder)
        if lock is not None or time.monotonic() >= deadline or (stop is not None and stop.is_set()):
            return lock
        if not said:
            log.info("source_lock_waiting", holder=_holder(store, name), wait_s=wait_s)
            said = True
        sleep(LOCK_POLL_S)


def _holder(store: Store, name: str) -> str:
    try:
        return store.lock_holder(name) or "a process that just let go"
    except StoreError:
        return "unknown holder"


class SourceRun:
    """One locked run of one source: the state its steps share.

    ``execute`` runs every phase in one process. Its phases are also methods of their
    own, so that ``syncer.engine.batches`` runs them apart, each in a job of its own:
    ``execute`` with a ``split`` (identity, listing, drift check, the planner's inputs;
    the split takes over from there), ``send`` (fetch, decide, send and record a list of
    stubs), ``settle`` (the plan's deletes under the guard, excluded records, intents)
    and ``conclude`` (counts, status, the run row).
    """

    def __init__(
        self,
        source: SourceSettings,
        store: Store,
        publisher: Publisher,
        options: Options,
        clock: Clock,
        progress: Progress,
        log: structlog.typing.FilteringBoundLogger,
        stop: threading.Event | None,
        lock: SourceLock,
    ) -> None:
        self.source = source
        self.store = store
        self.publisher = publisher
        self.options = options
        self.clock = clock
        self.progress = progress
        self.log = log
        self.stop = stop
        self.lock = lock
        self.run_id: int | None = None
        self.lock_lost = threading.Event()

    def may_write(self) -> bool:
        """Asked before every Intercom write: not stopped, still the lock's holder."""
        if self.stop is not None and self.stop.is_set():
            return False
        if self.lock.check():
            return True
        if not self.lock_lost.is_set():
            self.lock_lost.set()
            self.log.error("source_lock_lost")
        return False

    def execute(
        self,
        cache_dir: Path,
        lookup: Lookup,
        started: float,
        siblings: Collection[str],
        removed: bool,
        split: Split | None = None,
    ) -> SourceReport:
        """Every phase of the run; with ``split``, the phases after planning are the
        split's when it returns a report (``syncer.engine.batches``: jobs of batches)."""
        source, store, log = self.source, self.store, self.log
        import_source_id: str | None = None
        connector: Connector | None = None
        try:
            if split is None and store.batches.hold(source.name, self.clock()):
                return self._split_elsewhere(started, removed)
            store.ensure_source(source.name, source.type)
            abandoned = store.runs.interrupt_abandoned(source.name, self.clock(), ABANDONED)
            if abandoned:
                log.warning("abandoned_runs_interrupted", count=abandoned)
            self.run_id = store.runs.start(source.name, self.clock(), full=self.options.full)
            # First, so a refused token stops the source before any listing work.
            import_source_id = self._import_source(siblings, removed)
            if import_source_id is None:  # a removed source whose pages left with it
                return self._forget_removed(started)
            state = store.source_state(source.name)
            connector = lookup(source.type).create(
                source, Context(cache_dir=cache_dir, cursor=state.cursor if state else None)
            )
            listing = connector.list()
            records, drift, adoption = self._check_intercom(import_source_id)
            planner = Planner(
                records,
                listing,
                source.availability,
                full=self.options.full,
                max_delete_fraction=source.max_delete_fraction,
                allow_mass_delete=self.options.allow_mass_delete,
                unfinished=set(store.intents(source.name)),
                keep_bodies=False,
            )
            if split is not None:
                handed = split(
                    Prepared(self, planner, connector, import_source_id, adoption, started)
                )
                if handed is not None:
                    return handed
            the_plan, tally = self._stream(planner, connector, import_source_id, adoption)
            drift = _drift_counts(drift, adoption, the_plan)
            if clean(the_plan, tally) and self.options.send:
                store.set_cursor(source.name, connector.cursor())
            notes = _notes(connector)
        except Exception as exc:
            return self.failure(exc, started, import_source_id, removed)
        finally:
            if connector is not None:
                connector.close()
        return self.conclude(
            the_plan, tally, started, import_source_id, notes, drift, removed, listing
        )

    def _split_elsewhere(self, started: float, removed: bool) -> SourceReport:
        """Workers are running a split run of the source (``syncer.engine.batches``): this
        run would list and sweep it beside them, so it does not run."""
        name = self.source.name
        self.log.warning("source_split_under_way")
        message = f"a run of source {name} is under way on the workers; it was not synced"
        return _report_without_run(self.source, "skipped", message, started, removed=removed)

    def failure(
        self, exc: Exception, started: float, import_source_id: str | None, removed: bool
    ) -> SourceReport:
        """The run's end when a phase raised ``exc`` (called while it is handled)."""
        if isinstance(exc, FatalIntercomError):
            return self._failed(str(exc), started, import_source_id, removed, fatal=True)
        if isinstance(exc, StoreError):
            return self._failed(
                f"the store failed mid-run: {exc}", started, import_source_id, removed
            )
        if isinstance(exc, SyncerError):
            return self._failed(str(exc), started, import_source_id, removed)
        # A bug or an unforeseen I/O error: stop this source only.
        self.log.exception("source_crashed")
        return self._failed(f"{type(exc).__name__}: {exc}", started, import_source_id, removed)

    def conclude(
        self,
        the_plan: Plan,
        tally: Tally,
        started: float,
        import_source_id: str | None,
        notes: tuple[tuple[str, int], ...],
        drift: Drift,
        removed: bool,
        listing: Listing,
        *,
        settled: int = 0,
    ) -> SourceReport:
        """The run's counts and status, into its run row and its report (``settled``:
        documents decided unchanged by planners other than ``the_plan`` 's)."""
        source, store = self.source, self.store
        counts = Counts(
            created=tally.created,
            updated=tally.updated,
            deleted=tally.deleted,
            unchanged=the_plan.unchanged_count + settled,
            excluded=the_plan.excluded_count,
            failed=tally.failed,
        )
        if the_plan.guard and self.options.delete:
            status = "blocked"
            tally.errors.insert(0, str(the_plan.guard))
            if removed:
                tally.errors.insert(0, _removed_message(source.name, the_plan.guard.known))
        elif tally.interrupted:
            status = "interrupted"
        else:
            status = "failed" if tally.failed else "succeeded"
        report = self._close(
            counts,
            status,
            tally.errors,
            started,
            import_source_id,
            the_plan,
            notes,
            drift,
            removed,
            documents=tally.documents,
            changes=_changes(listing, tally.documents),
        )
        if removed and status == "succeeded" and not store.records(source.name):
            self._drop_removed(import_source_id)
        return report

    # -- identity ------------------------------------------------------------------------

    def _import_source(self, siblings: Collection[str], removed: bool) -> str | None:
        """The source's Content Import Source id, adopted, created or kept (``identity``).

        If the id the store knew is gone (someone deleted the source in Intercom, and its
        pages with it), every record of the source is stale: they are forgotten, so this
        run sends every document again.
        """
        source, store, publisher, log = self.source, self.store, self.publisher, self.log
        state = store.source_state(source.name)
        known = state.import_source_id if state else None
        url = None if removed else identity.source_url(source)

        def decide(fresh: bool) -> identity.Choice:
            return identity.choose(
                url,
                configured_id=source.import_source_id,
                known_id=known,
                existing=publisher.import_sources(fresh=fresh),
            )

        choice = decide(fresh=False)
        if identity.needs_fresh_listing(choice, known) or (
            known is not None and not isinstance(choice, identity.Use)
        ):
            choice = decide(fresh=True)
        if removed and not isinstance(choice, identity.Use):
            return None
        if isinstance(choice, identity.Refuse):
            if url is None:
                identity.required_url(source)
            raise SourceError(f"source {source.name}: {choice.reason}", source=source.name)
        if isinstance(choice, identity.Create):
            chosen = self._create(identity.required_url(source))
        else:
            chosen = choice.source
            if url is not None:
                publisher.update_source(chosen, url, source.audience_ids)
        if chosen.id != known:
            if known is not None:
                log.warning("import_source_replaced", old=known, new=chosen.id)
                store.forget(source.name, list(store.records(source.name)))
            elif isinstance(choice, identity.Use):
                log.info("import_source_adopted", import_source_id=chosen.id, url=chosen.url)
            self._take_over(chosen.id, siblings)
            store.set_import_source_id(source.name, chosen.id)
        return chosen.id

    def _create(self, url: str) -> ImportSource:
        try:
            return self.publisher.create_source(url, self.source.audience_ids)
        except FatalIntercomError:
            raise
        except IntercomError:
            # The reply may be what was lost, after Intercom made the source: look again
            # before anything creates a second one.
            again = identity.choose(
                url,
                configured_id=None,
                known_id=None,
                existing=self.publisher.import_sources(fresh=True),
            )
            if isinstance(again, identity.Use):
                self.log.warning(
                    "import_source_found_after_failed_create", import_source_id=again.source.id
                )
                return again.source
            raise

    def _take_over(self, import_source_id: str, siblings: Collection[str]) -> None:
        """A store source of another name holding this Content Import Source was renamed."""
        name = self.source.name
        for other in self.store.sources():
            if other.name == name or other.import_source_id != import_source_id:
                continue
            if other.name in siblings:
                raise SourceError(
                    f"source {name}: its Content Import Source {import_source_id} belongs to "
                    f"source {other.name} (same url); give each source its own url",
                    source=name,
                )
            self.log.warning("source_renamed", old=other.name, new=name)
            self.store.rename_source(other.name, name)

    # -- Intercom's view and the plan ----------------------------------------------------

    def _check_intercom(
        self, import_source_id: str
    ) -> tuple[dict[str, Record], Drift, Adoption | None]:
        records = self.store.records(self.source.name)
        try:
            remote, calls = view(
                self.publisher,
                self.store,
                self.source.name,
                import_source_id,
                force=self.options.verify,
                log=self.log,
            )
        except RetryableError as exc:
            if self.options.verify:
                raise
            # The check is a safety net, not the job: skipped, it loses nothing (intents
            # stay for the next run, upserts are idempotent), so Intercom throttling it
            # now must not fail the sync.
            self.log.warning("intercom_check_skipped", error=str(exc))
            return records, Drift(skipped=str(exc)), None
        if remote is None:
            return records, Drift(calls=calls), None
        intents = self.store.intents(self.source.name)
        adoption = adopt(records, remote, intents)
        drift = Drift(
            calls=calls,
            listed=True,
            complete=remote.complete,
            adopted=len(adoption.adopted),
            missing=len(adoption.missing),
        )
        if adoption.adopted or adoption.missing:
            self.log.warning(
                "intercom_drift_found",
                adopted=len(adoption.adopted),
                missing=len(adoption.missing),
                complete=remote.complete,
            )
        return adoption.records, drift, adoption

    # -- streaming: fetch, decide, send, record --------------------------------------------

    def _stream(
        self,
        planner: Planner,
        connector: Connector,
        import_source_id: str,
        adoption: Adoption | None,
    ) -> tuple[Plan, Tally]:
        """Fetch what changed and send each document as soon as it is decided.

        The main thread fetches and converts; workers talk to Intercom, at most
        ``IN_FLIGHT_PER_WORKER`` calls a worker ahead of their answers, so memory holds a
        bounded window of pages, never the corpus. The store learns of each answer as it
        arrives (those that arrived together in one commit), and of each batch's intents
        before its creates are sent. Deletes wait for the end: until every document was
        decided, the listing's claims are not known, and writes go before deletes, so a
        run cut short never leaves Fin with less than the source has.
        """
        stubs = planner.to_fetch()
        _listed(self.log, planner, stubs)
        tally = Tally()
        adopted = adoption.adopted if adoption else frozenset()
        with self.pool() as pool:
            try:
                decided = self.send(
                    pool, planner, connector, stubs, import_source_id, tally, adopted
                )
                the_plan = self.settle(pool, planner.finish(), tally, decided, adoption)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return the_plan, tally

    def pool(self) -> ThreadPoolExecutor:
        """The threads that talk to Intercom, one per call in flight."""
        return ThreadPoolExecutor(max_workers=max(1, self.publisher.concurrency))

    def send(
        self,
        pool: ThreadPoolExecutor,
        planner: Planner,
        connector: Connector,
        stubs: Sequence[Stub],
        import_source_id: str,
        tally: Tally,
        adopted: frozenset[str] = frozenset(),
    ) -> bool:
        """Fetch ``stubs``, decide each and send its writes, every answer recorded before
        returning; False if stopped before every document was decided."""
        self.progress.phase(self.source.name, "syncing", len(stubs))
        uploads = _Uploads(self, pool, import_source_id, tally)
        decided = self._decide_all(planner, connector, stubs, uploads, adopted, tally)
        uploads.finish()
        return decided

    def settle(
        self,
        pool: ThreadPoolExecutor,
        the_plan: Plan,
        tally: Tally,
        decided: bool,
        adoption: Adoption | None,
    ) -> Plan:
        """Once every document was decided (``decided``): the plan's failures and skips
        counted, its deletes (under the guard) and retired pages, excluded records, the
        intents it settled."""
        store, options, name = self.store, self.options, self.source.name
        adopted = adoption.adopted if adoption else frozenset()
        for failure in the_plan.failed:
            tally.error(f"{failure.key}: {failure.message}", key=failure.key)
        for skipped in the_plan.exclude:
            tally.did("skipped", skipped.key, reason=skipped.reason)
        if not decided:
            # Stopped before every document was decided: which pages the source
            # still claims is not known, so nothing may be deleted or forgotten.
            return replace(the_plan, delete=(), forget=(), retire=())
        if the_plan.guard and options.delete:
            self.log.warning("mass_delete_guard", reason=str(the_plan.guard))
        kept = self._delete(pool, the_plan, tally, adopted)
        if not options.send:
            self._remember_adopted(the_plan, adoption, self.clock())
        else:
            excluded = [e for e in the_plan.exclude if e.key not in kept]
            store.record_excluded(name, excluded, self.clock())
        # An intent is settled once its page is recorded, deleted or certainly absent; one
        # whose page's delete was held back stays, so the guard keeps leaving it out.
        held = {r.external_id for r in the_plan.delete if r.key in kept}
        resolved = [e for e in adoption.resolved if e not in held] if adoption else []
        store.clear_intents(name, resolved + tally.unmade)
        return the_plan

    def _decide_all(
        self,
        planner: Planner,
        connector: Connector,
        stubs: Sequence[Stub],
        uploads: _Uploads,
        adopted: frozenset[str],
        tally: Tally,
    ) -> bool:
        """Every fetched document decided and its writes on their way; False if stopped."""
        batch: list[Decision] = []
        started = time.monotonic()
        for item in connector.fetch(stubs):
            if self.stop is not None and self.stop.is_set():
                # The batch not yet sent is dropped whole: the next run decides it again.
                tally.interrupted = True
                return False
            self.progress.advance()
            if isinstance(item, Failure):
                self.log.warning("document_skipped", key=item.key, reason=item.message)
            batch.append(planner.decide(item))
            if len(batch) >= BATCH or time.monotonic() - started >= BATCH_S:
                self._send(batch, uploads, adopted)
                batch, started = [], time.monotonic()
            uploads.collect()
        self._send(batch, uploads, adopted)
        return True

    def _send(self, batch: list[Decision], uploads: _Uploads, adopted: frozenset[str]) -> None:
        """One batch: its store-only rows and its creates' intents in the store, then its
        writes to the workers."""
        store, name, now = self.store, self.source.name, self.clock()
        refresh = [d.item for d in batch if d.action == "refresh" and d.item is not None]
        store.record_versions(name, [i for i in refresh if i.document.key not in adopted], now)
        store.record_pushed_many(
            name, [(d.item, d.page_id) for d in batch if d.action == "adopt" and d.item], now
        )
        if not self.options.send:
            return
        writes = [d for d in batch if d.writes and d.item is not None]
        store.record_intents(
            name,
            [
                (d.key, d.item.document.external_id)
                for d in writes
                if d.action == "create" and d.item
            ],
            now,
        )
        for decision in writes:
            assert decision.item is not None
            uploads.submit(decision.item, is_new=decision.action == "create")

    def _delete(
        self, pool: ThreadPoolExecutor, the_plan: Plan, tally: Tally, adopted: frozenset[str]
    ) -> set[str]:
        """The plan's deletes (unless held) and retired pages; the keys that keep a page."""
        store, name, options = self.store, self.source.name, self.options
        may_delete = options.delete and not the_plan.guard
        deletes = the_plan.delete if may_delete else ()
        retires = the_plan.retire if options.send else ()
        # A page whose delete was held back or failed keeps its record (and page id), so a
        # later run can retry; a draft is remembered as excluded only once its page is gone.
        kept = {r.key for r in the_plan.delete} if not may_delete else set()
        if the_plan.guard and options.delete:
            for held in the_plan.delete:
                tally.did("held", held.key, held.title, "the mass-delete guard held it back")
        retired = {r.key for r in retires}
        removals = [r for r in [*retires, *deletes] if r.page_id is not None]
        done = [r for r in [*retires, *deletes] if r.page_id is None]
        self.progress.phase(name, "deleting", len(removals))
        deletions = {
            pool.submit(self._guarded, self.publisher.delete, record.page_id or ""): record
            for record in removals
        }
        for gone in as_completed(deletions):
            record = deletions[gone]
            self.progress.advance()
            try:
                gone.result()
            except FencedError:
                # The record keeps its page id, so the next run deletes the page.
                tally.interrupted = True
                kept.add(record.key)
                continue
            except FatalIntercomError:
                raise
            except IntercomError as exc:
                tally.error(
                    f"{record.key}: delete failed: {exc}", key=record.key, title=record.title
                )
                kept.add(record.key)
                continue
            done.append(record)
        tally.deleted = len(done)
        for record in done:
            why = "its external_id changed: a new page replaced it" if record.key in retired else ""
            tally.did("deleted", record.key, record.title, why)
        store.forget(name, [r.key for r in done if r.key not in retired and r.key not in adopted])
        store.forget(name, [r.key for r in the_plan.forget if r.key not in adopted])
        return kept

    def _guarded(self, call: Callable[..., _T], *args: Any) -> _T:
        if not self.may_write():
            raise FencedError("not sent: the run may not write")
        # Asked again by the transport right before each attempt leaves (SEND_GUARD).
        token = SEND_GUARD.set(self.may_write)
        try:
            return call(*args)
        finally:
            SEND_GUARD.reset(token)

    def _remember_adopted(self, the_plan: Plan, adoption: Adoption | None, now: datetime) -> None:
        """Reconcile: keep what Intercom told, without sending anything.

        An adopted document whose page needs an update gets a record with the page's id
        and a hash no document has, so the next sync updates that page rather than
        creating another; a record whose page is missing is forgotten, so the next sync
        creates it.
        """
        if adoption is None:
            return
        moved = {r.external_id: r for r in the_plan.forget if r.key in adoption.adopted}
        pairs: list[tuple[Hashed, str | None]] = []
        for item in the_plan.update:
            key = item.document.key
            record = adoption.records.get(key) if key in adoption.adopted else None
            record = record or moved.get(item.document.external_id)
            if record is not None and record.page_id is not None:
                pending = Hashed(replace(item.document, version=""), ADOPTED_HASH)
                pairs.append((pending, record.page_id))
        self.store.record_pushed_many(self.source.name, pairs, now)
        self.store.forget(self.source.name, [r.key for r in adoption.missing])

    # -- closing the run -------------------------------------------------------------------

    def _close(
        self,
        counts: Counts,
        status: str,
        errors: list[str],
        started: float,
        import_source_id: str | None,
        the_plan: Plan | None = None,
        notes: tuple[tuple[str, int], ...] = (),
        drift: Drift | None = None,
        removed: bool = False,
        documents: Sequence[RunDocument] = (),
        changes: tuple[datetime, ...] = (),
    ) -> SourceReport:
        shown = list(errors[:MAX_ERRORS])
        if self.run_id is not None:
            try:
                self.store.runs.finish(self.run_id, status, counts, shown, self.clock(), documents)
            except StoreError as exc:
                status = "failed"
                shown = [
                    f"the store failed; this run stays 'running' in it until the next run: {exc}",
                    *shown,
                ][:MAX_ERRORS]
        self.log.info("source_synced", status=status, **counts.as_dict())
        return SourceReport(
            self.source.name,
            self.source.type,
            status,
            counts,
            the_plan,
            tuple(shown),
            time.monotonic() - started,
            notes=notes,
            import_source_id=import_source_id,
            drift=drift or Drift(),
            removed=removed,
            changes=changes,
            lock_lost=self.lock_lost.is_set(),
        )

    def _failed(
        self,
        message: str,
        started: float,
        import_source_id: str | None,
        removed: bool,
        *,
        fatal: bool = False,
    ) -> SourceReport:
        self.log.error("source_failed", error=message)
        report = self._close(
            Counts(), "failed", [message], started, import_source_id, removed=removed
        )
        return replace(report, fatal=fatal)

    def _forget_removed(self, started: float) -> SourceReport:
        """A removed source whose Content Import Source is gone: nothing is left in Fin."""
        report = self._close(Counts(), "succeeded", [], started, None, removed=True)
        self.store.delete_source(self.source.name)
        self.log.info("removed_source_forgotten")
        return report

    def _drop_removed(self, import_source_id: str | None) -> None:
        if import_source_id is not None:
            self.publisher.delete_source(import_source_id)
        self.store.delete_source(self.source.name)
        self.log.info("removed_source_deleted", import_source_id=import_source_id)


class _Uploads:
    """A run's upserts in flight: bounded, answered through a queue, recorded in commits.

    ``submit`` blocks (taking answers meanwhile) while ``IN_FLIGHT_PER_WORKER`` calls a
    worker are unanswered. Each answer arrives on a queue, so taking one costs the same
    whatever the number in flight (waiting on a set of every future scanned them all,
    each time: quadratic in the corpus). Answers are recorded together, at least every
    ``RECORD_S`` or ``RECORD_EVERY`` answers, and always before the run goes on to
    anything else.
    """

    def __init__(
        self, run: SourceRun, pool: ThreadPoolExecutor, import_source_id: str, tally: Tally
    ) -> None:
        self.run = run
        self.pool = pool
        self.import_source_id = import_source_id
        self.tally = tally
        self.limit = max(1, run.publisher.concurrency) * IN_FLIGHT_PER_WORKER
        self.pending: dict[Future[str], tuple[Hashed, bool]] = {}
        self.answers: queue.SimpleQueue[Future[str]] = queue.SimpleQueue()
        self.answered: list[tuple[Hashed, str | None]] = []
        self.recorded_at = time.monotonic()

    def submit(self, item: Hashed, *, is_new: bool) -> None:
        while len(self.pending) >= self.limit:
            self.collect(wait=True)
        future = self.pool.submit(
            self.run._guarded, self.run.publisher.upsert, self.import_source_id, item.page
        )
        self.pending[future] = (item, is_new)
        future.add_done_callback(self.answers.put)

    def collect(self, *, wait: bool = False) -> None:
        """Take the answers that arrived (at least one if ``wait``) and record them when due."""
        futures = []
        if wait and self.pending:
            futures.append(self.answers.get())
        while True:
            try:
                futures.append(self.answers.get_nowait())
            except queue.Empty:
                break
        fatal: FatalIntercomError | None = None
        for future in futures:
            item, is_new = self.pending.pop(future)
            fatal = self._take(future, item, is_new) or fatal
        due = len(self.answered) >= RECORD_EVERY or time.monotonic() - self.recorded_at >= RECORD_S
        if fatal is not None or due:
            self.record()
        if fatal is not None:
            raise fatal

    def _take(self, future: Future[str], item: Hashed, is_new: bool) -> FatalIntercomError | None:
        tally, external_id = self.tally, item.document.external_id
        try:
            page_id = future.result()
        except FencedError as exc:
            tally.interrupted = True
            # Unmade only if no attempt left: a retry refused after a lost reply may
            # follow a page Intercom did make (its intent stays).
            if is_new and not exc.context.get("attempts"):
                tally.unmade.append(external_id)
            return None
        except FatalIntercomError as exc:
            if is_new:
                tally.unmade.append(external_id)
            return exc
        except IntercomError as exc:
            tally.error(
                f"{item.document.key}: {exc}", key=item.document.key, title=item.document.title
            )
            self.run.log.warning("page_failed", key=item.document.key, error=str(exc))
            if is_new and exc.status is not None and 400 <= exc.status < 500:
                tally.unmade.append(external_id)
            return None
        self.answered.append((item, page_id))
        tally.did("created" if is_new else "updated", item.document.key, item.document.title)
        if is_new:
            tally.created += 1
        else:
            tally.updated += 1
        return None

    def record(self) -> None:
        """Every answer taken so far into the store, in one commit."""
        answered, self.answered = self.answered, []
        self.run.store.record_pushed_many(self.run.source.name, answered, self.run.clock())
        self.recorded_at = time.monotonic()

    def finish(self) -> None:
        """Wait for every answer, and record them all."""
        while self.pending:
            self.collect(wait=True)
        self.record()


def planned(
    source: SourceSettings,
    connector: Connector,
    records: Mapping[str, Record],
    listing: Listing,
    options: Options,
    progress: Progress,
    log: structlog.typing.FilteringBoundLogger,
    on_update: Callable[[Hashed, str | None], None] | None = None,
) -> Plan:
    """A dry run's plan: every changed document fetched and decided, nothing sent.

    ``on_update`` gets each update as it is decided, with its body and the id of the
    page it would update (``--diff``); the plan keeps no bodies.
    """
    planner = Planner(
        records,
        listing,
        source.availability,
        full=options.full,
        max_delete_fraction=source.max_delete_fraction,
        allow_mass_delete=options.allow_mass_delete,
        keep_bodies=False,
    )
    stubs = planner.to_fetch()
    _listed(log, planner, stubs)
    progress.phase(source.name, "reading", len(stubs))
    for item in connector.fetch(stubs):
        progress.advance()
        if isinstance(item, Failure):
            log.warning("document_skipped", key=item.key, reason=item.message)
        decision = planner.decide(item)
        if on_update is not None and decision.action == "update" and decision.item is not None:
            document = decision.item.document
            record = records.get(document.key) or planner.moved_from.get(document.external_id)
            on_update(decision.item, record.page_id if record else None)
    return planner.finish()


def _listed(
    log: structlog.typing.FilteringBoundLogger, planner: Planner, stubs: Sequence[Stub]
) -> None:
    log.info(
        "source_listed",
        listed=len(planner.listing.stubs),
        complete=planner.listing.complete,
        to_fetch=len(stubs),
        known=len(planner.records),
    )


def _drift_counts(drift: Drift, adoption: Adoption | None, the_plan: Plan) -> Drift:
    if adoption is None:
        return drift
    adopted = adoption.adopted
    moved = {r.external_id for r in the_plan.forget if r.key in adopted}
    matched = sum(
        1 for i in the_plan.update if i.document.key in adopted or i.document.external_id in moved
    )
    return Drift(
        calls=drift.calls,
        listed=drift.listed,
        complete=drift.complete,
        adopted=drift.adopted,
        identical=len(the_plan.adopt),
        restored=len(the_plan.adopt) + matched,
        missing=drift.missing,
    )


def _notes(connector: Connector) -> tuple[tuple[str, int], ...]:
    """What the connector counted beside its documents, sorted by name, zeros left out."""
    return tuple(sorted((str(name), int(n)) for name, n in connector.notes().items() if n))


def _dry_run(
    source: SourceSettings,
    store: Store,
    options: Options,
    cache_dir: Path,
    progress: Progress,
    log: structlog.typing.FilteringBoundLogger,
    lookup: Lookup,
    started: float,
    removed: bool,
    diffs: Diffs | None = None,
) -> SourceReport:
    """The plan alone, from the store and the source: no lock, no writes, and no
    Intercom but, with ``diffs``, a read of each page to update."""
    connector: Connector | None = None
    found: list[PageDiff] = []
    calls = diffs.calls if diffs else 0

    def on_update(item: Hashed, page_id: str | None) -> None:
        assert diffs is not None
        change = diffs.diff(item, page_id)
        if change.lines or change.note:
            found.append(change)

    try:
        state = store.source_state(source.name)
        connector = lookup(source.type).create(
            source, Context(cache_dir=cache_dir, cursor=state.cursor if state else None)
        )
        records = store.records(source.name)
        listing = connector.list()
        the_plan = planned(
            source,
            connector,
            records,
            listing,
            options,
            progress,
            log,
            on_update if diffs is not None else None,
        )
        notes = _notes(connector)
    except SyncerError as exc:
        return _report_failure(source, str(exc), started, removed=removed)
    except Exception as exc:  # a bug or an unforeseen I/O error: this source only
        log.exception("source_crashed")
        return _report_failure(source, f"{type(exc).__name__}: {exc}", started, removed=removed)
    finally:
        if connector is not None:
            connector.close()
    counts = the_plan.counts()
    status = "blocked" if the_plan.guard else "planned"
    errors = [f.key + ": " + f.message for f in the_plan.failed[:MAX_ERRORS]]
    if removed and the_plan.guard:
        errors.insert(0, _removed_message(source.name, the_plan.guard.known))
    log.info("source_planned", **counts.as_dict(), guard=str(the_plan.guard or ""))
    return SourceReport(
        source.name,
        source.type,
        status,
        counts,
        the_plan,
        tuple(errors),
        time.monotonic() - started,
        notes=notes,
        drift=Drift(calls=(diffs.calls - calls) if diffs else 0),
        removed=removed,
        diffs=tuple(found),
    )


def _changes(listing: Listing, documents: Sequence[RunDocument]) -> tuple[datetime, ...]:
    """The change time of each document written to Intercom whose stub had one."""
    written = {d.key for d in documents if d.action in ("created", "updated")}
    return tuple(
        stub.changed_at
        for stub in listing.stubs
        if stub.changed_at is not None and stub.key in written
    )


def _report_failure(
    source: SourceSettings, message: str, started: float, *, removed: bool
) -> SourceReport:
    structlog.get_logger("syncer.run").error("source_failed", source=source.name, error=message)
    return _report_without_run(source, "failed", message, started, removed=removed)


def _report_without_run(
    source: SourceSettings, status: str, message: str, started: float, *, removed: bool
) -> SourceReport:
    """The report of a source that did nothing but say why (``message``): no counts, no
    import source."""
    return SourceReport(
        source.name,
        source.type,
        status,
        Counts(),
        None,
        (message,),
        time.monotonic() - started,
        removed=removed,
    )


# -- sources the config no longer has -------------------------------------------------------


def _removed_message(name: str, pages: int) -> str:
    return (
        f"source {name} is no longer in the config; its {pages} pages stay in Fin until "
        "`syncer sync --allow-mass-delete` deletes them. Put the source back to keep them "
        "(a renamed source keeps its pages when its url stays the same)"
    )


def removed_source(name: str, type_: str, defaults: SourceDefaults) -> SourceSettings:
    """Settings for a source known to the store only: the config's defaults, its name."""
    return SourceSettings.model_validate({**defaults.model_dump(), "name": name, "type": type_})


class _Gone:
    """The connector of a removed source: a complete listing of nothing."""

    def list(self) -> Listing:
        return Listing(stubs=(), complete=True)

    def fetch(self, stubs: Sequence[Stub]) -> Iterator[Fetched]:
        return iter(())

    def cursor(self) -> str | None:
        return None

    def notes(self) -> dict[str, int]:
        return {}

    def close(self) -> None:
        pass


GONE: ConnectorType[SourceSettings] = ConnectorType(
    "removed", SourceSettings, lambda _s, _c: _Gone()
)
