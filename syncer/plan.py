"""The planner: what to create, update, delete and leave alone. Pure functions, no I/O.

Two decisions, one per phase of a run:

``to_fetch(records, listing)`` reads only the listing: a document is fetched when it is
new, when its cheap version moved, or on a ``--full`` run. ``plan(...)`` then compares
what was fetched with what the store remembers:

===========  ===========  =============  ==================  =========================
known?       listed?      fetched as     hash moved?         decision
===========  ===========  =============  ==================  =========================
no           yes          Document       --                  create
in Fin       yes          Document       yes (or --full)     update
in Fin       yes          Document       external_id moved   create, retire old page
in Fin       yes          Document       no, version moved   refresh (store only)
adopted      yes          Document       body as Intercom's  adopt (store only)
adopted      yes          Document       body differs        update
in Fin       yes          not fetched    --                  unchanged
not in Fin   yes          not fetched    --                  excluded (before, still)
part         its file     not fetched    --                  unchanged
part         its file     file read      part not in it      delete, if listing complete
in Fin       yes          Excluded       --                  delete, remember the draft
not in Fin   yes          Excluded       --                  exclude (remember version)
yes          yes          Failure        --                  failed (keep the record)
in Fin       no           --             --                  delete, if listing complete
not in Fin   no           --             --                  forget, if listing complete
any          no           --             --                  keep, if listing incomplete
===========  ===========  =============  ==================  =========================

A document cut into parts (``syncer.parts``: a lead under the file's key, a part per
section under ``"<key>//<section>"``) is listed as its file: a part counts as listed
while its file is, is unchanged while its file is not read, and goes when its file is
read without it (or, like any document, when its file is gone). Its file is read again
when the lead's recorded count of parts does not match the parts recorded at its
version (one whose upsert failed), not only when the file moved.

A page that moved to a new key but kept its ``external_id`` (a rename with front matter
``external_id``) is an update of the same page, not a delete plus a create. Two
documents that claim one ``external_id`` never share a page: the one whose record
already holds it keeps it, else the one whose key it is, else the first by key; the
others fail with an error naming the owner. The mass-delete guard holds every deletion
back when a plan would delete more than ``max_delete_fraction`` of a source's pages, or
all of them (pages a stopped run made without recording them excepted: undoing them
loses nothing).

``adopt(records, remote, intents)`` runs first when Intercom was asked what it holds
(``syncer.remote``): a record whose page Intercom no longer has becomes unknown again
(so it is fetched and created), and a page under the source that no record knows (the
store was lost, or a run died between a create and its record) becomes an *adopted*
record, deleted like any other page when no document claims it. Every deletion, of a
document gone or of a page nobody knew, so passes the same rules: complete listings
only, and the guard.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace

from syncer.hashing import document_digest, hashed
from syncer.model import (
    Availability,
    Excluded,
    Failure,
    Fetched,
    GuardTrip,
    Hashed,
    Listing,
    Plan,
    Record,
    Remote,
    Stub,
)
from syncer.parts import parent_of, split_version

# Not a SHA-256: the content hash of a record made from a page found in Intercom. It
# equals no real hash, so the document is compared by ``remote_digest`` instead.
ADOPTED_HASH = "intercom"


@dataclass(frozen=True, slots=True)
class Adoption:
    """The records to plan from once Intercom's view of the source is folded in.

    ``adopted``: keys of records made (or corrected) from pages found in Intercom.
    ``missing``: records whose page Intercom does not have (they will be created).
    ``resolved``: intents (external ids) the view settles, found or certainly absent.
    """

    records: dict[str, Record]
    adopted: frozenset[str] = frozenset()
    missing: tuple[Record, ...] = ()
    resolved: tuple[str, ...] = ()


def adopt(records: Mapping[str, Record], remote: Remote, intents: Iterable[str] = ()) -> Adoption:
    """Fold what Intercom holds under the source into the store's records."""
    pages = {page.external_id: page for page in remote.pages}
    out = dict(records)
    adopted: set[str] = set()
    missing: list[Record] = []
    known: set[str] = set()
    for key, record in records.items():
        if not record.in_fin:
            continue
        page = pages.get(record.external_id)
        if page is None:
            if remote.complete or record.external_id in remote.looked_up:
                missing.append(record)
                out[key] = replace(record, version="", content_hash=None, page_id=None)
            continue
        known.add(record.external_id)
        if page.page_id != record.page_id:
            # The same document, on a page Intercom recreated: learn its id, and its body.
            out[key] = _adopted(key, page.external_id, page.page_id, page.title, page.digest)
            adopted.add(key)
    for page in remote.pages:
        if page.external_id in known:
            continue
        key = page.external_id
        if key in out:
            key = f"{page.external_id}\0intercom"  # a key no listing can produce
        out[key] = _adopted(key, page.external_id, page.page_id, page.title, page.digest)
        adopted.add(key)
    settled = set(pages) | set(remote.looked_up)
    resolved = tuple(e for e in intents if remote.complete or e in settled)
    return Adoption(out, frozenset(adopted), tuple(missing), resolved)


def _adopted(key: str, external_id: str, page_id: str, title: str, digest: str) -> Record:
    return Record(key, external_id, "", ADOPTED_HASH, page_id, title, remote_digest=digest)


def to_fetch(records: Mapping[str, Record], listing: Listing, *, full: bool = False) -> list[Stub]:
    """The stubs whose content must be read: new, version moved, a part of it missing
    or behind (``syncer.parts``), or all on a full run."""
    if full:
        return list(listing.stubs)
    parts: dict[str, list[Record]] = {}
    for key, part in records.items():
        parent = parent_of(key)
        if parent is not None:
            parts.setdefault(parent, []).append(part)
    out = []
    for stub in listing.stubs:
        record = records.get(stub.key)
        if record is None:
            out.append(stub)
            continue
        version, count = split_version(record.version)
        if version != stub.version:
            out.append(stub)
        elif count is not None:
            current = [p for p in parts.get(stub.key, []) if p.version == stub.version and p.in_fin]
            if len(current) != count:
                out.append(stub)
    return out


@dataclass(frozen=True, slots=True)
class Decision:
    """One document's row of the table, decided as soon as it is fetched.

    ``action``: create, update, refresh (store only), adopt (store only: Intercom holds
    it already, as ``page_id``), exclude or failed. ``retire``: a create's old page (its
    external_id moved), deleted at the end.
    """

    action: str
    key: str
    item: Hashed | None = None
    excluded: Excluded | None = None
    failure: Failure | None = None
    page_id: str | None = None
    retire: Record | None = None

    @property
    def writes(self) -> bool:
        """True when the decision is an Intercom call now (a create or an update)."""
        return self.action in ("create", "update")


@dataclass(frozen=True, slots=True)
class Decided:
    """What a planner learnt from the documents it decided, as plain data: what
    ``finish`` needs of them, so that batches of one listing decided by planners apart
    (``syncer.engine.batches``) are finished by one (``Planner.absorb``).

    ``fetch_failed``: keys whose fetch failed (their parts stay); ``failed``: every
    failure decided (fetches and clashes, not the listing's own); ``settled``: documents
    refreshed or adopted, which count as unchanged.
    """

    fetched: tuple[str, ...] = ()
    claimed: tuple[str, ...] = ()
    fetch_failed: tuple[str, ...] = ()
    failed: tuple[Failure, ...] = ()
    exclude: tuple[Excluded, ...] = ()
    excluded_deletes: tuple[Record, ...] = ()
    retire: tuple[Record, ...] = ()
    settled: int = 0


class Planner:
    """The decision table, one document at a time as fetches arrive; pure, no I/O.

    Built from the records and the listing (both known before anything is fetched),
    ``decide`` gives each fetched document its row at once, so a run can send it before
    the next is read; ``finish`` then decides what only the whole run can: deletes (from
    a complete listing), what is forgotten, and the guard over the deletes. ``plan``
    folds the same over a list.

    Ownership of an ``external_id`` is settled as documents arrive, the way the table
    says: a record that already holds it in Fin keeps it, else the file whose path it is,
    else the first document to claim it; another claimant fails naming the owner.
    """

    def __init__(
        self,
        records: Mapping[str, Record],
        listing: Listing,
        availability: Availability,
        *,
        full: bool = False,
        max_delete_fraction: float = 0.25,
        allow_mass_delete: bool = False,
        unfinished: Collection[str] = (),
        keep_bodies: bool = True,
        known: int | None = None,
    ) -> None:
        self.records = records
        # The guard's count of pages, when the records are newer than the listing (a
        # split run's finish reads them after its batches wrote theirs): the count as the
        # run began, so pages the run itself made do not dilute its deletes.
        self.known = known
        self.listing = listing
        self.availability = availability
        self.full = full
        self.max_delete_fraction = max_delete_fraction
        self.allow_mass_delete = allow_mass_delete
        self.unfinished = unfinished
        # The plan's lists are for reports: a streaming run keeps them without bodies.
        self.keep_bodies = keep_bodies
        # A key the listing saw but could not describe (a dangling symlink) is still
        # there: it fails this run, it is not deleted.
        self.listed = {stub.key for stub in listing.stubs} | {f.key for f in listing.failures}
        self.stubs = {stub.key for stub in listing.stubs}
        # Parts of listed files (``syncer.parts``): listed as long as their file is.
        self.parts = {
            key for key in records if (parent := parent_of(key)) and parent in self.listed
        }
        self.owners: dict[str, str] = {}
        for key in sorted(self.listed | self.parts):
            record = records.get(key)
            if record is not None and record.in_fin and record.remote_digest is None:
                self.owners.setdefault(record.external_id, key)
        self.claimed: set[str] = set(self.owners)
        # Pages of keys the listing no longer has: a create of the same external_id
        # reaches the same page (a rename with front matter external_id).
        self.moved_from = {
            r.external_id: r
            for key, r in records.items()
            if key not in self.listed and key not in self.parts and r.in_fin and listing.complete
        }
        self.fetched: set[str] = set()
        self._create: list[Hashed] = []
        self._update: list[Hashed] = []
        self._refresh: list[Hashed] = []
        self._adopt: list[tuple[Hashed, str]] = []
        self._exclude: list[Excluded] = []
        self._excluded_deletes: list[Record] = []
        self._retire: list[Record] = []
        self._failed: list[Failure] = list(listing.failures)
        self._failed_keys: set[str] = set()

    def to_fetch(self) -> list[Stub]:
        return to_fetch(self.records, self.listing, full=self.full)

    def decided(self) -> Decided:
        """What ``decide`` has learnt so far, as data for another planner's ``absorb``."""
        listed = len(self.listing.failures)
        return Decided(
            fetched=tuple(sorted(self.fetched)),
            claimed=tuple(sorted(self.claimed)),
            fetch_failed=tuple(sorted(self._failed_keys)),
            failed=tuple(self._failed[listed:]),
            exclude=tuple(self._exclude),
            excluded_deletes=tuple(self._excluded_deletes),
            retire=tuple(self._retire),
            settled=len(self._refresh) + len(self._adopt),
        )

    def absorb(self, decided: Decided) -> None:
        """Take in what another planner of the same listing decided (a batch of it), so
        that ``finish`` decides over every document as if this planner had decided them."""
        self.fetched.update(decided.fetched)
        self.claimed.update(decided.claimed)
        self._failed_keys.update(decided.fetch_failed)
        self._failed.extend(decided.failed)
        self._exclude.extend(decided.exclude)
        self._excluded_deletes.extend(decided.excluded_deletes)
        self._retire.extend(decided.retire)

    def decide(self, result: Fetched) -> Decision:
        """The row of the table for one fetched document (see the module's table)."""
        key = result.key
        self.fetched.add(key)
        record = self.records.get(key)
        if isinstance(result, Failure):
            self._failed.append(result)
            self._failed_keys.add(key)
            return Decision("failed", key, failure=result)
        if isinstance(result, Excluded):
            if record is not None and record.in_fin:
                self._excluded_deletes.append(record)
            self._exclude.append(result)
            return Decision("exclude", key, excluded=result)
        external_id = result.external_id
        self.claimed.add(external_id)
        owner = self.owners.get(external_id) or (external_id if external_id in self.stubs else key)
        self.owners.setdefault(external_id, owner)
        if owner != key:
            failure = Failure(key, clash(external_id, key, owner))
            self._failed.append(failure)
            return Decision("failed", key, failure=failure)
        item = hashed(result, self.availability)
        decision = _decide(record, item, self.full, self.availability, self.moved_from)
        self._keep(decision)
        return decision

    def _keep(self, decision: Decision) -> None:
        assert decision.item is not None
        kept = decision.item if self.keep_bodies else decision.item.without_body()
        if decision.action == "create":
            self._create.append(kept)
        elif decision.action == "update":
            self._update.append(kept)
        elif decision.action == "refresh":
            self._refresh.append(kept)
        else:
            assert decision.page_id is not None
            self._adopt.append((kept, decision.page_id))
        if decision.retire is not None:
            self._retire.append(decision.retire)

    def finish(self) -> Plan:
        """The plan, once every fetch was decided: deletes, what is forgotten, the guard."""
        unread = [
            stub.key
            for stub in self.listing.stubs
            if stub.key not in self.fetched and stub.key in self.records
        ]
        # An unread record that is not in Fin was excluded by an earlier run (a draft):
        # it is still excluded, not an unchanged page.
        unchanged = [key for key in unread if self.records[key].in_fin]
        excluded_before = [key for key in unread if not self.records[key].in_fin]
        unchanged += sorted(
            key for key in self.parts if self._part_stays(key) and key not in self.fetched
        )
        delete = list(self._excluded_deletes)
        forget: list[Record] = []
        if self.listing.complete:
            for key, record in self.records.items():
                if key in self.listed or (key in self.parts and self._part_stays(key)):
                    continue
                # A part its file no longer has holds its external_id to the end (another
                # document claiming it failed), so that claim is not a move elsewhere.
                vanished = key in self.parts
                if record.in_fin and (vanished or record.external_id not in self.claimed):
                    delete.append(record)
                else:
                    # A draft that vanished, or a page that now lives under another key.
                    forget.append(record)
        return Plan(
            create=tuple(self._create),
            update=tuple(self._update),
            delete=tuple(delete),
            unchanged=tuple(unchanged),
            refresh=tuple(self._refresh),
            adopt=tuple(self._adopt),
            exclude=tuple(self._exclude),
            forget=tuple(forget),
            retire=tuple(self._retire),
            failed=tuple(self._failed),
            guard=self._guard(delete),
            listing_complete=self.listing.complete,
            excluded_before=tuple(excluded_before),
            left_out=self.listing.left_out,
        )

    def _part_stays(self, key: str) -> bool:
        """A part of a listed file stays unless its file was read and did not give it."""
        parent = parent_of(key)
        assert parent is not None
        read = parent in self.fetched and parent not in self._failed_keys
        return not read or key in self.fetched

    def known_pages(self) -> int:
        """The pages the guard weighs deletes against: the records' pages in Fin, but for
        those a stopped run made (see ``_guard``)."""
        return sum(
            1
            for r in self.records.values()
            if r.in_fin and not (r.remote_digest is not None and r.external_id in self.unfinished)
        )

    def _guard(self, delete: list[Record]) -> GuardTrip | None:
        # A page made by a run that died before recording it (an intent, adopted back)
        # is that run's unfinished work: undoing it loses nothing, so the guard leaves it.
        def unfinished(record: Record) -> bool:
            return record.remote_digest is not None and record.external_id in self.unfinished

        guarded = [r for r in delete if not unfinished(r)]
        known = self.known if self.known is not None else self.known_pages()
        fraction = self.max_delete_fraction
        too_many = len(guarded) >= known or len(guarded) > fraction * known
        if guarded and too_many and not self.allow_mass_delete:
            return GuardTrip(deletes=len(guarded), known=known, max_fraction=fraction)
        return None


def plan(
    records: Mapping[str, Record],
    listing: Listing,
    fetched: Iterable[Fetched],
    availability: Availability,
    *,
    full: bool = False,
    max_delete_fraction: float = 0.25,
    allow_mass_delete: bool = False,
    unfinished: Collection[str] = (),
) -> Plan:
    """Decide, for one source, every document's fate: ``Planner`` folded over ``fetched``.

    ``unfinished``: external ids of intents a stopped run left (pages it may have made
    without recording them); adopted back, they do not count for the guard.
    """
    planner = Planner(
        records,
        listing,
        availability,
        full=full,
        max_delete_fraction=max_delete_fraction,
        allow_mass_delete=allow_mass_delete,
        unfinished=unfinished,
    )
    results: dict[str, dict[str, Fetched]] = {}  # by the key of the file, a part after it
    for item in fetched:
        results.setdefault(parent_of(item.key) or item.key, {})[item.key] = item
    for stub in listing.stubs:  # in listing order: the first claimant by key wins a clash
        for result in results.get(stub.key, {}).values():
            planner.decide(result)
    return planner.finish()


def clash(external_id: str, key: str, owner: str | None) -> str:
    """The failure of ``key``, a document that claims ``owner`` 's ``external_id``."""
    return (
        f"external_id {external_id!r} is already used by {owner!r}; give {key!r} an "
        "external_id of its own (front matter external_id:), or remove it from one of them"
    )


def _decide(
    record: Record | None,
    item: Hashed,
    full: bool,
    availability: Availability,
    moved_from: Mapping[str, Record],
) -> Decision:
    """A fetched document's row, once it owns its external_id."""
    key = item.document.key
    if record is not None and record.remote_digest is not None and not full:
        # Adopted from Intercom: it already holds that page; the same body costs nothing.
        if document_digest(item.document, availability) == record.remote_digest:
            return Decision("adopt", key, item, page_id=record.page_id)
        return Decision("update", key, item)
    if record is None or not record.in_fin:
        # A page that an unlisted record holds under this external_id is this one moved.
        action = "update" if item.document.external_id in moved_from else "create"
        return Decision(action, key, item)
    if record.external_id != item.document.external_id:
        # Its front matter gave the document a new external_id: that is a new page, and
        # the old one must go, though the key (and its store row) lives on.
        return Decision("create", key, item, retire=record)
    if full or record.content_hash != item.content_hash:
        return Decision("update", key, item)
    return Decision("refresh", key, item)
