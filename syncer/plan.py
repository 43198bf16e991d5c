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
yes          yes          not fetched    --                  unchanged
in Fin       yes          Excluded       --                  delete, remember the draft
not in Fin   yes          Excluded       --                  exclude (remember version)
yes          yes          Failure        --                  failed (keep the record)
in Fin       no           --             --                  delete, if listing complete
not in Fin   no           --             --                  forget, if listing complete
any          no           --             --                  keep, if listing incomplete
===========  ===========  =============  ==================  =========================

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
    Document,
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
    """The stubs whose content must be read: new, version moved, or all on a full run."""
    if full:
        return list(listing.stubs)
    out = []
    for stub in listing.stubs:
        record = records.get(stub.key)
        if record is None or record.version != stub.version:
            out.append(stub)
    return out


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
    """Decide, for one source, every document's fate (see the module's table).

    ``unfinished``: external ids of intents a stopped run left (pages it may have made
    without recording them); adopted back, they do not count for the guard.
    """
    # A key the listing saw but could not describe (a dangling symlink) is still there:
    # it fails this run, it is not deleted.
    listed = {stub.key for stub in listing.stubs} | {f.key for f in listing.failures}
    results = {item.key: item for item in fetched}
    create: list[Hashed] = []
    update: list[Hashed] = []
    delete: list[Record] = []
    refresh: list[Hashed] = []
    adopted: list[tuple[Hashed, str]] = []
    exclude: list[Excluded] = []
    forget: list[Record] = []
    retire: list[Record] = []
    failed: list[Failure] = list(listing.failures)
    unchanged: list[str] = []

    owners = _owners(records, listing, results)
    for stub in listing.stubs:
        result = results.get(stub.key)
        record = records.get(stub.key)
        if result is None:
            if record is not None:
                unchanged.append(stub.key)
            continue
        if isinstance(result, Failure):
            failed.append(result)
            continue
        if isinstance(result, Excluded):
            if record is not None and record.in_fin:
                delete.append(record)
            exclude.append(result)
            continue
        owner = owners.get(result.external_id)
        if owner != stub.key:
            failed.append(Failure(stub.key, _clash(result.external_id, stub.key, owner)))
            continue
        item = hashed(result, availability)
        if record is not None and record.remote_digest is not None and not full:
            if document_digest(result, availability) == record.remote_digest:
                assert record.page_id is not None
                adopted.append((item, record.page_id))
            else:
                update.append(item)
            continue
        _decide(record, item, full, create, update, refresh, retire)

    if listing.complete:
        for key, record in records.items():
            if key in listed:
                continue
            if record.in_fin and record.external_id not in owners:
                delete.append(record)
            else:
                # A draft that vanished, or a page that now lives under another key.
                forget.append(record)

    create, update, forget = _moves(create, update, forget, records)
    # A page made by a run that died before recording it (an intent, adopted back) is
    # that run's unfinished work: undoing it loses nothing, so the guard leaves it out.
    guarded = [
        r for r in delete if not (r.remote_digest is not None and r.external_id in unfinished)
    ]
    known = sum(
        1
        for record in records.values()
        if record.in_fin
        and not (record.remote_digest is not None and record.external_id in unfinished)
    )
    guard = None
    too_many = len(guarded) >= known or len(guarded) > max_delete_fraction * known
    if guarded and too_many and not allow_mass_delete:
        guard = GuardTrip(deletes=len(guarded), known=known, max_fraction=max_delete_fraction)
    return Plan(
        create=tuple(create),
        update=tuple(update),
        delete=tuple(delete),
        unchanged=tuple(unchanged),
        refresh=tuple(refresh),
        adopt=tuple(adopted),
        exclude=tuple(exclude),
        forget=tuple(forget),
        retire=tuple(retire),
        failed=tuple(failed),
        guard=guard,
        listing_complete=listing.complete,
    )


def _owners(
    records: Mapping[str, Record], listing: Listing, results: Mapping[str, Fetched]
) -> dict[str, str | None]:
    """Which listed key owns each external_id claimed in this run (None: nobody may).

    A document claims the external_id it was fetched with; one not fetched (unchanged)
    or failing claims the one its record holds in Fin, so its page is neither taken nor
    deleted. Of several claimants the owner is the one whose record already holds the id
    in Fin, else the one whose key it is, else the first by key.
    """
    claims: dict[str, list[str]] = {}
    for failure in listing.failures:
        record = records.get(failure.key)
        if record is not None and record.in_fin:
            claims.setdefault(record.external_id, []).append(failure.key)
    for stub in listing.stubs:
        result = results.get(stub.key)
        if isinstance(result, Document):
            claims.setdefault(result.external_id, []).append(stub.key)
            continue
        record = records.get(stub.key)
        if isinstance(result, Excluded) or record is None or not record.in_fin:
            continue
        claims.setdefault(record.external_id, []).append(stub.key)
    owners: dict[str, str | None] = {}
    for external_id, keys in claims.items():
        holders = [
            k
            for k in keys
            if (r := records.get(k)) is not None
            and r.in_fin
            and r.external_id == external_id
            and r.remote_digest is None
        ]
        owners[external_id] = (holders or [k for k in keys if k == external_id] or sorted(keys))[0]
    return owners


def _clash(external_id: str, key: str, owner: str | None) -> str:
    return (
        f"external_id {external_id!r} is already used by {owner!r}; give {key!r} an "
        "external_id of its own (front matter external_id:), or remove it from one of them"
    )


def _decide(
    record: Record | None,
    item: Hashed,
    full: bool,
    create: list[Hashed],
    update: list[Hashed],
    refresh: list[Hashed],
    retire: list[Record],
) -> None:
    if record is None or not record.in_fin:
        create.append(item)
    elif record.external_id != item.document.external_id:
        # Its front matter gave the document a new external_id: that is a new page, and
        # the old one must go, though the key (and its store row) lives on.
        create.append(item)
        retire.append(record)
    elif full or record.content_hash != item.content_hash:
        update.append(item)
    else:
        refresh.append(item)


def _moves(
    create: list[Hashed],
    update: list[Hashed],
    forget: list[Record],
    records: Mapping[str, Record],
) -> tuple[list[Hashed], list[Hashed], list[Record]]:
    """A create whose external_id an unlisted record already holds in Fin is an update.

    The upsert reaches the same page by external_id; the old key is only forgotten.
    """
    moved_from = {r.external_id: r for r in forget if r.in_fin}
    if not moved_from:
        return create, update, forget
    still_create = []
    for item in create:
        if item.document.external_id in moved_from:
            update.append(item)
        else:
            still_create.append(item)
    return still_create, update, forget
