"""Jobs by size: a source's run split into a listing job, batch jobs and a finishing job.

A run that has more documents to read than ``daemon.batch_size`` does not run whole in
one job. Its parts are the sequencer's own phases (``syncer.run.SourceRun``), run apart:

1. **The listing job** (``sync_source``, lock ``source:<name>``, the source lock in the
   store as every run): identity, listing, drift check, the planner's inputs, as
   ``SourceRun.execute`` does them; then, instead of streaming, ``Batches.splitter``
   keeps the listing (``run_listings``) and the stubs to read cut in batches
   (``run_batches``), and defers one ``sync_batch`` job per batch in the same commit. The
   run row stays ``running``. A run whose drift check folded Intercom's pages into its
   records (an adoption: a store lost, intents left) or with at most one batch to read
   is not split: it runs whole, as ever, so adoption stays in one planner.
2. **Batch jobs** (``sync_batch``, lock ``batch:<name>:<run>:<n>``: any worker, in
   parallel, one batch never twice at once): the batch's stubs fetched, decided by a
   planner of the run's listing over the records the store has *now*, sent and
   recorded by ``SourceRun.send`` (intents before creates, answers as they come). No
   source lock: a batch never deletes. Each document's external id is first claimed
   for the run (``run_claims``): a second document claiming it, in another batch, fails
   naming the first, as in one planner, rather than overwrite its page. The batch is
   then marked done once (``UPDATE .. WHERE NOT done``) with what the finish needs (the
   planner's ``Decided``, counts, errors, document rows); the batch that leaves none
   undone defers the finish, in that commit.
3. **The finishing job** (``finish_run``, lock ``source:<name>`` and the source lock):
   a planner of the listing, over the records now, absorbs every batch's ``Decided``
   and finishes: deletes only from a complete listing, under the mass-delete guard,
   excluded records, the cursor only if the whole run was clean (``SourceRun.settle``,
   ``conclude``: the in-process code). The run row is finished once, counts summed over
   the batches, and the trigger bookkeeping recorded once (``record_served``).

A worker killed mid-batch: its job is retried by another once its heartbeat is old
(``syncer.engine.worker``). The retry decides its stubs again over the records: what the
dead worker recorded is unchanged now (a refresh, no call), what it sent without
recording (an intent) is sent again, an upsert by external id that reaches the same
page; nothing is created twice. A stopping worker hands its batch back (answers in
flight recorded). A batch that fails outright (a bug, the token refused) is done with
the failure: the run then deletes nothing and keeps its cursor. A batch whose jobs are
gone for good (the store unreachable through every retry) leaves the run unfinished:
the next listing job of the source closes it ``interrupted`` and lists afresh. While a
split run is unfinished, a listing job of its source lists nothing (it defers the finish
if every batch is done); a trigger it carried is served by a run the finish defers.

A batch does not list its source again: a connector fetches only what its listing saw,
and the listing job keeps what a fetch needs of it with the run (``Resumable``: nothing
for the filesystem, the commit for git, the pages' kinds, spaces and titles for
Confluence), from which each batch's connector resumes: git reads the listed commit
(fetched by SHA on a machine whose mirror lacks it), however the ref moved since. A
connector that cannot resume (a plugin's) lists again in each batch. Each batch loads
the source's records and the run's listing (a document moved to another external id is
found among records the batch does not read), so its cost has a part in the size of
the source beside the part in its own: batches of a few hundred keep it small.

What a killed batch cannot hand on: a document whose external id moved (front matter)
and was recorded under its new id before the kill leaves its old page to the next
run's drift check (the page count then disagrees, Intercom is listed, the orphan is
deleted under the guard), as after a killed whole run.

Batches hold no source lock, so a run outside the engine (a one-shot ``syncer sync``,
the in-process daemon) asks the store first (``BatchTable.hold``) and skips a source
whose split run still has a job to come: its planner would see records the batches
wrote for a listing it never saw, and its finish could sweep pages the run still sends.
A split run left with no job is closed by the run that finds it.
"""

from __future__ import annotations

import builtins
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from syncer import registry
from syncer.config.settings import SourceSettings
from syncer.connector import Connector, Context, Resumable
from syncer.daemon.runs import record_served
from syncer.engine import app as engine_app
from syncer.engine.jobs import SPLIT, HandedBackError, SourceBusyError
from syncer.errors import StoreError
from syncer.intercom.publisher import IntercomPublisher
from syncer.model import Counts, Document, Excluded, Failure, Fetched, Listing, Record, Stub
from syncer.plan import Decided, Planner
from syncer.run import (
    Drift,
    NoProgress,
    Options,
    Prepared,
    SourceReport,
    SourceRun,
    Split,
    Tally,
    clean,
)
from syncer.store.batches import BatchRow, SplitRun
from syncer.store.runs import RunDocument
from syncer.store.triggers import Begun

if TYPE_CHECKING:
    from procrastinate import App

    from syncer.engine.jobs import SourceJobs

# Documents whose external ids are claimed for the run together (one statement).
CLAIM_EVERY = 64
ABANDONED = "interrupted: its batch jobs ended without finishing it; the next run lists again"


class _Unlocked:
    """A batch holds no source lock (it never deletes): every write may go."""

    def __init__(self, source: str) -> None:
        self.source = source

    def check(self) -> bool:
        return True

    def release(self) -> None:
        pass


class Batches:
    """One worker's part in split runs: the listing's split, batches, finishes."""

    def __init__(self, jobs: SourceJobs, *, clock: Callable[[], datetime]) -> None:
        self.jobs = jobs
        self.store = jobs.store
        self.size = jobs.settings.daemon.batch_size
        self._clock = clock
        self._app: App | None = None
        self._log = structlog.get_logger("syncer.worker").bind(worker=jobs.holder)

    # -- the listing job ----------------------------------------------------------------

    def may_list(self, name: str) -> bool:
        """Whether a listing job of ``name`` may list now: not while a split run of it is
        unfinished (whose finish it defers once every batch is done)."""
        for run_id in self.store.batches.unfinished(name):
            log = self._log.bind(source=name, run_id=run_id)
            if self.store.batches.jobs_alive(run_id):  # a batch or the finish to come
                log.info("split_run_under_way")
                return False
            rows = self.store.batches.batches(run_id)
            if all(row.done for row in rows):  # its finish job was lost: again
                log.info("split_run_finish_deferred")
                self.store.batches.in_transaction(self._finish_deferral(name, run_id))
                return False
            log.warning("split_run_abandoned", left=sum(not row.done for row in rows))
            self.store.runs.finish(run_id, "interrupted", Counts(), [ABANDONED], self._clock())
            self.store.batches.close(run_id, self._clock())
        return True

    def splitter(self, source: SourceSettings, begun: Begun, since: datetime | None) -> Split:
        """The split ``syncer.run.sync_source`` offers the run once it is planned."""

        def split(prepared: Prepared) -> SourceReport | None:
            stubs = prepared.planner.to_fetch()
            if prepared.adoption is not None or len(stubs) <= self.size:
                return None  # whole, in this job
            run = prepared.run
            assert run.run_id is not None
            run_id = run.run_id
            cut = [stubs[i : i + self.size] for i in range(0, len(stubs), self.size)]
            self.store.batches.open_run(
                run_id,
                source.name,
                prepared.planner.listing,
                cursor=prepared.connector.cursor(),
                connector_state=(
                    prepared.connector.fetch_state()
                    if isinstance(prepared.connector, Resumable)
                    else None
                ),
                import_source_id=prepared.import_source_id,
                batches=cut,
                known=prepared.planner.known_pages(),
                trigger=(begun.serial, begun.previous),
                since=since,
                at=self._clock(),
                defer=self._batch_deferral(source.name, run_id, len(cut)),
            )
            run.log.info(
                "run_split",
                run_id=run_id,
                listed=len(prepared.planner.listing.stubs),
                to_fetch=len(stubs),
                batches=len(cut),
            )
            return SourceReport(
                source.name,
                source.type,
                SPLIT,
                Counts(),
                duration=time.monotonic() - prepared.started,
                import_source_id=prepared.import_source_id,
            )

        return split

    # -- a batch job ----------------------------------------------------------------------

    def run_batch(self, name: str, run_id: int, number: int, *, job_id: int | None) -> None:
        """Fetch, decide, send and record batch ``number`` of run ``run_id``, once."""
        log = self._log.bind(source=name, run_id=run_id, batch=number, job_id=job_id)
        source = self._source(name)
        split = self.store.batches.run(run_id)
        if source is None or split is None or split.finished_at is not None:
            log.warning("batch_dropped", detail="its run is unknown here or finished")
            return
        if self.jobs.stop.is_set():
            raise HandedBackError(name)
        stubs = self.store.batches.take(run_id, number, self.jobs.holder, self._clock())
        if stubs is None:
            log.info("batch_done_already")
            return
        log.info("batch_started", documents=len(stubs))
        run = self._sequencer(source, log)
        tally = Tally()
        planner = self._planner(source, self.store.records(name), split.listing)
        notes: Mapping[str, int] = {}
        connector: Connector | None = None
        try:
            state = self.store.source_state(name)
            connector = registry.get(source.type).create(
                source,
                Context(
                    cache_dir=self.jobs.settings.cache_dir / name,
                    cursor=state.cursor if state else None,
                ),
            )
            # What the listing saw, from the run (every built-in connector), or listed
            # again (one that cannot resume): a connector fetches only what it listed.
            if split.connector_state is not None and isinstance(connector, Resumable):
                connector.resume(split.connector_state)
            else:
                connector.list()
            claiming = _Claiming(connector, planner, self.store, run_id)
            with run.pool() as pool:
                decided = run.send(pool, planner, claiming, stubs, split.import_source_id, tally)
            self.store.clear_intents(name, tally.unmade)
            notes = connector.notes()
        except StoreError:
            raise  # retried a few times (syncer.engine.jobs.retry_in)
        except Exception as exc:  # a bug, the token refused: the run fails, deletes nothing
            log.exception("batch_failed", error=str(exc))
            tally.error(f"batch {number} failed: {type(exc).__name__}: {exc}")
            decided = True
            tally.interrupted = False
        finally:
            if connector is not None:
                connector.close()
        if not decided or tally.interrupted:
            log.info("batch_handed_back", detail="the worker is stopping; another sends the rest")
            raise HandedBackError(name)
        outcome = _outcome(planner.decided(), tally, notes)
        last = self.store.batches.complete(
            run_id, number, outcome, self._clock(), self._finish_deferral(name, run_id)
        )
        log.info(
            "batch_finished",
            created=tally.created,
            updated=tally.updated,
            failed=tally.failed,
            last=last,
        )

    # -- the finishing job --------------------------------------------------------------

    def finish(self, name: str, run_id: int, *, job_id: int | None) -> None:
        """Run ``run_id`` 's deletes, cursor and run row, once every batch is done."""
        log = self._log.bind(source=name, run_id=run_id, job_id=job_id)
        source = self._source(name)
        split = self.store.batches.run(run_id)
        if source is None or split is None or split.finished_at is not None:
            log.info("finish_dropped", detail="its run is unknown here or finished")
            return
        rows = self.store.batches.batches(run_id)
        if not all(row.done for row in rows):
            log.warning("finish_early", left=sum(not row.done for row in rows))
            return  # the last batch defers it again
        started = time.monotonic()
        lock = self.store.try_lock(name, self.jobs.holder)
        if lock is None:  # a one-shot run holds the source: again in a few seconds
            raise SourceBusyError(name)
        run = self._sequencer(source, log, lock=lock)
        run.run_id = run_id
        try:
            report = self._finish(run, split, rows)
        except Exception as exc:
            report = run.failure(exc, started, split.import_source_id, False)
        finally:
            lock.release()
        if not self.store.batches.close(run_id, self._clock()):
            return
        begun = Begun(split.trigger_serial, split.trigger_previous)
        served = record_served(self.store, name, begun, report, split.since, now=self._clock())
        self.jobs.reported(report)  # the run-outcome alerts, once a run
        counts = report.counts
        log.info(
            "job_finished",
            status=report.status,
            batches=len(rows),
            created=counts.created,
            updated=counts.updated,
            deleted=counts.deleted,
            failed=counts.failed,
            **({"freshness_s": round(served.fresh, 3)} if served.fresh is not None else {}),
        )
        trigger = self.store.triggers.get(name)
        if trigger is not None and trigger.serial > begun.serial:
            # A trigger came while the run was split: its listing job listed nothing.
            log.info("trigger_follow_up", serial=trigger.serial)
            self.store.batches.in_transaction(self._listing_deferral(name))

    def _finish(self, run: SourceRun, split: SplitRun, rows: Sequence[BatchRow]) -> SourceReport:
        name = run.source.name
        started = time.monotonic()
        listing = split.listing
        # The records now (the batches wrote theirs); the guard's count as listed.
        planner = self._planner(
            run.source, self.store.records(name), listing, set(self.store.intents(name))
        )
        planner.known = split.known
        tally = Tally()
        settled = 0
        notes: Counter[str] = Counter()
        for row in rows:
            decided, batch_settled = _absorb(row.outcome, tally, notes)
            planner.absorb(decided)
            settled += batch_settled
        the_plan = planner.finish()
        with run.pool() as pool:
            the_plan = run.settle(pool, the_plan, tally, True, None)
        if clean(the_plan, tally):
            self.store.set_cursor(name, split.cursor)
        shown = tuple(sorted((k, n) for k, n in notes.items() if n))
        return run.conclude(
            the_plan,
            tally,
            started,
            split.import_source_id,
            shown,
            Drift(),
            False,
            listing,
            settled=settled,
        )

    # -- parts ----------------------------------------------------------------------------

    def _source(self, name: str) -> SourceSettings | None:
        source = next((s for s in self.jobs.settings.sources if s.name == name), None)
        if source is None:
            self._log.error("job_source_unknown", source=name, detail="not in this config")
        return source

    def _sequencer(
        self,
        source: SourceSettings,
        log: structlog.typing.FilteringBoundLogger,
        *,
        lock: Any = None,
    ) -> SourceRun:
        jobs = self.jobs
        publisher = IntercomPublisher(jobs.client, concurrency=jobs.settings.intercom.concurrency)
        return SourceRun(
            source,
            self.store,
            publisher,
            Options(),
            self._clock,
            NoProgress(),
            log,
            jobs.stop,
            lock if lock is not None else _Unlocked(source.name),
        )

    def _planner(
        self,
        source: SourceSettings,
        records: Mapping[str, Record],
        listing: Listing,
        unfinished: set[str] | None = None,
    ) -> Planner:
        return Planner(
            records,
            listing,
            source.availability,
            max_delete_fraction=source.max_delete_fraction,
            unfinished=unfinished or set(),
            keep_bodies=False,
        )

    def _deferrer(self) -> App:
        if self._app is None:
            url = self.jobs.settings.store.url
            self._app = engine_app.build_sync(url, application_name=self.jobs.holder)
        return self._app

    def _batch_deferral(self, name: str, run_id: int, count: int) -> Callable[[Any], None]:
        def defer(connection: Any) -> None:
            app = self._deferrer()
            made = [
                app.configure_task(
                    engine_app.BATCH_TASK,
                    lock=engine_app.batch_key(name, run_id, number),
                    task_kwargs={"source": name, "run_id": run_id, "number": number},
                ).job
                for number in range(count)
            ]
            app.job_manager.batch_defer_jobs(jobs=made, connection=connection)

        return defer

    def _finish_deferral(self, name: str, run_id: int) -> Callable[[Any], None]:
        def defer(connection: Any) -> None:
            app = self._deferrer()
            job = app.configure_task(
                engine_app.FINISH_TASK,
                lock=engine_app.key(name),
                task_kwargs={"source": name, "run_id": run_id},
            ).job
            app.job_manager.defer_job(job=job, connection=connection)

        return defer

    def _listing_deferral(self, name: str) -> Callable[[Any], None]:
        def defer(connection: Any) -> None:
            from procrastinate import exceptions

            app = self._deferrer()
            lock = engine_app.key(name)
            job = app.configure_task(
                engine_app.TASK, lock=lock, queueing_lock=lock, task_kwargs={"source": name}
            ).job
            # A savepoint: a refused insert must not abort the transaction around it.
            with contextlib.suppress(exceptions.AlreadyEnqueued), connection.transaction():
                app.job_manager.defer_job(job=job, connection=connection)
            # (AlreadyEnqueued: one waits already, and it serves the trigger.)

        return defer


class _Claiming:
    """The connector's fetch, each document's external id claimed for the run before it
    is decided: one another batch claimed first becomes that document's owner in the
    planner, which then fails this one as a clash."""

    def __init__(self, connector: Connector, planner: Planner, store: Any, run_id: int) -> None:
        self.connector = connector
        self.planner = planner
        self.store = store
        self.run_id = run_id

    def list(self) -> Listing:
        return self.connector.list()

    def fetch(self, stubs: Sequence[Stub]) -> Iterator[Fetched]:
        pending: builtins.list[Fetched] = []
        for item in self.connector.fetch(stubs):
            pending.append(item)
            if len(pending) >= CLAIM_EVERY:
                yield from self._claimed(pending)
                pending = []
        yield from self._claimed(pending)

    def cursor(self) -> str | None:
        return self.connector.cursor()

    def notes(self) -> Mapping[str, int]:
        return self.connector.notes()

    def close(self) -> None:
        self.connector.close()

    def _claimed(self, items: builtins.list[Fetched]) -> builtins.list[Fetched]:
        planner = self.planner
        wanted: dict[str, str] = {}
        for item in items:
            if not isinstance(item, Document):
                continue
            external_id, key = item.external_id, item.key
            # Who the planner would give it to (a record holding it, the file of that
            # path): only a document that owns it by those rules claims it.
            owner = planner.owners.get(external_id) or (
                external_id if external_id in planner.stubs else key
            )
            if owner == key:
                wanted.setdefault(external_id, key)
        held = self.store.batches.claim(self.run_id, list(wanted.items()))
        for external_id, key in wanted.items():
            holder = held.get(external_id)
            if holder is not None and holder != key:
                planner.owners[external_id] = holder
        return items


# -- a batch's outcome, as JSON ----------------------------------------------------------


def _record(record: Record) -> list[Any]:
    return [
        record.key,
        record.external_id,
        record.version,
        record.content_hash,
        record.page_id,
        record.title,
        record.remote_digest,
    ]


def _outcome(decided: Decided, tally: Tally, notes: Mapping[str, int]) -> dict[str, Any]:
    return {
        "fetched": list(decided.fetched),
        "claimed": list(decided.claimed),
        "fetch_failed": list(decided.fetch_failed),
        "failed": [[f.key, f.message] for f in decided.failed],
        "exclude": [[e.key, e.version, e.reason] for e in decided.exclude],
        "excluded_deletes": [_record(r) for r in decided.excluded_deletes],
        "retire": [_record(r) for r in decided.retire],
        "settled": decided.settled,
        "created": tally.created,
        "updated": tally.updated,
        "failures": tally.failed,
        "errors": tally.errors,
        "documents": [[d.action, d.key, d.title, d.reason] for d in tally.documents],
        "notes": dict(notes),
    }


def _absorb(
    outcome: dict[str, Any] | None, tally: Tally, notes: Counter[str]
) -> tuple[Decided, int]:
    """A batch's outcome added to the finish's tally and notes; its planner's ``Decided``
    and how many documents it left unchanged."""
    assert outcome is not None  # only done batches are absorbed
    tally.created += int(outcome["created"])
    tally.updated += int(outcome["updated"])
    tally.failed += int(outcome["failures"])
    tally.errors.extend(outcome["errors"][: max(0, 20 - len(tally.errors))])
    tally.documents.extend(RunDocument(*row) for row in outcome["documents"])
    notes.update({str(k): int(n) for k, n in outcome["notes"].items()})
    decided = Decided(
        fetched=tuple(outcome["fetched"]),
        claimed=tuple(outcome["claimed"]),
        fetch_failed=tuple(outcome["fetch_failed"]),
        failed=tuple(Failure(key, message) for key, message in outcome["failed"]),
        exclude=tuple(Excluded(*row) for row in outcome["exclude"]),
        excluded_deletes=tuple(Record(*row) for row in outcome["excluded_deletes"]),
        retire=tuple(Record(*row) for row in outcome["retire"]),
    )
    return decided, int(outcome["settled"])
