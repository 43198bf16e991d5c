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
yes          yes          not fetched    --                  unchanged
in Fin       yes          Excluded       --                  delete, remember the draft
not in Fin   yes          Excluded       --                  exclude (remember version)
yes          yes          Failure        --                  failed (keep the record)
in Fin       no           --             --                  delete, if listing complete
not in Fin   no           --             --                  forget, if listing complete
any          no           --             --                  keep, if listing incomplete
===========  ===========  =============  ==================  =========================

A page that moved to a new key but kept its ``external_id`` (a rename with front matter
``external_id``) is an update of the same page, not a delete plus a create. The
mass-delete guard holds every deletion back when a plan would delete more than
``max_delete_fraction`` of a source's pages, or all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from syncer.hashing import hashed
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
    Stub,
)


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
) -> Plan:
    """Decide, for one source, every document's fate (see the module's table)."""
    # A key the listing saw but could not describe (a dangling symlink) is still there:
    # it fails this run, it is not deleted.
    listed = {stub.key for stub in listing.stubs} | {f.key for f in listing.failures}
    results = {item.key: item for item in fetched}
    create: list[Hashed] = []
    update: list[Hashed] = []
    delete: list[Record] = []
    refresh: list[Hashed] = []
    exclude: list[Excluded] = []
    forget: list[Record] = []
    retire: list[Record] = []
    failed: list[Failure] = list(listing.failures)
    unchanged: list[str] = []

    # external_id -> key of the document that claims it in this run.
    claimed: dict[str, str] = {}
    for failure in listing.failures:
        record = records.get(failure.key)
        if record is not None and record.in_fin:
            claimed.setdefault(record.external_id, failure.key)
    for stub in listing.stubs:
        result = results.get(stub.key)
        if result is None:
            record = records.get(stub.key)
            if record is not None:
                unchanged.append(stub.key)
                if record.in_fin:
                    claimed.setdefault(record.external_id, stub.key)
            continue
        if isinstance(result, Failure):
            failed.append(result)
            record = records.get(stub.key)
            if record is not None and record.in_fin:
                claimed.setdefault(record.external_id, stub.key)
            continue
        if isinstance(result, Excluded):
            record = records.get(stub.key)
            if record is not None and record.in_fin:
                delete.append(record)
            exclude.append(result)
            continue
        owner = claimed.setdefault(result.external_id, stub.key)
        if owner != stub.key:
            failed.append(
                Failure(
                    stub.key, f"external_id {result.external_id!r} is already used by {owner!r}"
                )
            )
            continue
        _decide(
            records.get(stub.key),
            hashed(result, availability),
            full,
            create,
            update,
            refresh,
            retire,
        )

    if listing.complete:
        for key, record in records.items():
            if key in listed:
                continue
            if record.in_fin and record.external_id not in claimed:
                delete.append(record)
            else:
                # A draft that vanished, or a page that now lives under another key.
                forget.append(record)

    create, update, forget = _moves(create, update, forget, records)
    known = sum(1 for record in records.values() if record.in_fin)
    guard = None
    too_many = len(delete) >= known or len(delete) > max_delete_fraction * known
    if delete and too_many and not allow_mass_delete:
        guard = GuardTrip(deletes=len(delete), known=known, max_fraction=max_delete_fraction)
    return Plan(
        create=tuple(create),
        update=tuple(update),
        delete=tuple(delete),
        unchanged=tuple(unchanged),
        refresh=tuple(refresh),
        exclude=tuple(exclude),
        forget=tuple(forget),
        retire=tuple(retire),
        failed=tuple(failed),
        guard=guard,
        listing_complete=listing.complete,
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
