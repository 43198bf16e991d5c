"""The planner's decision table, case by case (pure: no store, no files)."""

from __future__ import annotations

from syncer.hashing import content_hash, document_digest
from syncer.model import (
    Availability,
    Document,
    Excluded,
    Failure,
    Listing,
    Record,
    Remote,
    RemotePage,
    Stub,
)
from syncer.plan import adopt, plan, to_fetch

FLAGS = Availability()


def doc(key: str, version: str = "1", body: str = "x", external_id: str | None = None) -> Document:
    return Document(
        key=key,
        version=version,
        external_id=external_id or key,
        title=key,
        html=f"<p>{body}</p>",
        url=None,
        converter_version="t",
    )


def record(key: str, version: str = "1", body: str = "x", **kw: object) -> Record:
    d = doc(key, version, body, external_id=kw.get("external_id"))  # type: ignore[arg-type]
    return Record(
        key=key,
        external_id=d.external_id,
        version=version,
        content_hash=None if kw.get("draft") else content_hash(d, FLAGS),
        page_id=None if kw.get("draft") else f"p-{key}",
        title=key,
    )


def listing(*stubs: tuple[str, str], complete: bool = True) -> Listing:
    return Listing(stubs=tuple(Stub(k, v) for k, v in stubs), complete=complete)


def test_fetch_only_new_and_moved_versions() -> None:
    records = {"a": record("a", "1"), "b": record("b", "1")}
    got = to_fetch(records, listing(("a", "1"), ("b", "2"), ("c", "1")))
    assert [s.key for s in got] == ["b", "c"]
    assert len(to_fetch(records, listing(("a", "1"), ("b", "1")), full=True)) == 2


def test_create_update_refresh_unchanged_delete() -> None:
    records = {
        "same": record("same"),
        "edited": record("edited", body="old"),
        "touched": record("touched", "1"),
        "gone": record("gone"),
    }
    for n in range(10):  # enough pages that one delete stays under the guard
        records[f"x{n}"] = record(f"x{n}")
    stubs = [("same", "1"), ("edited", "2"), ("touched", "2"), ("new", "1")]
    stubs += [(f"x{n}", "1") for n in range(10)]
    fetched = [doc("edited", "2", "new"), doc("touched", "2"), doc("new")]
    result = plan(records, listing(*stubs), fetched, FLAGS)
    assert [h.document.key for h in result.create] == ["new"]
    assert [h.document.key for h in result.update] == ["edited"]
    assert [h.document.key for h in result.refresh] == ["touched"]
    assert [r.key for r in result.delete] == ["gone"]
    assert "same" in result.unchanged
    assert result.guard is None
    assert result.writes == 3


def test_full_run_updates_even_when_hash_is_the_same() -> None:
    records = {"a": record("a")}
    result = plan(records, listing(("a", "1")), [doc("a")], FLAGS, full=True)
    assert [h.document.key for h in result.update] == ["a"]


def test_availability_change_moves_the_hash() -> None:
    records = {"a": record("a")}
    result = plan(records, listing(("a", "1")), [doc("a")], Availability(ai_copilot=False))
    assert [h.document.key for h in result.update] == ["a"]


def test_incomplete_listing_deletes_nothing() -> None:
    records = {k: record(k) for k in "abcd"}
    result = plan(records, listing(("a", "1"), complete=False), [], FLAGS)
    assert result.delete == ()
    assert result.forget == ()
    assert result.guard is None


def test_failure_keeps_the_record_and_is_reported() -> None:
    records = {"a": record("a")}
    result = plan(records, listing(("a", "2")), [Failure("a", "binary")], FLAGS)
    assert result.delete == ()
    assert [f.key for f in result.failed] == ["a"]


def test_draft_of_a_published_page_is_deleted_and_remembered() -> None:
    records = {k: record(k) for k in "abcde"}
    result = plan(
        records,
        listing(*[(k, "1") for k in "abcd"], ("e", "2")),
        [Excluded("e", "2", "draft")],
        FLAGS,
    )
    assert [r.key for r in result.delete] == ["e"]
    assert [e.key for e in result.exclude] == ["e"]


def test_vanished_draft_is_forgotten_without_an_intercom_call() -> None:
    records = {"a": record("a"), "d": record("d", draft=True)}
    result = plan(records, listing(("a", "1")), [], FLAGS)
    assert result.delete == ()
    assert [r.key for r in result.forget] == ["d"]
    assert result.writes == 0


def test_rename_with_front_matter_id_updates_the_same_page() -> None:
    records = {"old.md": record("old.md", external_id="guide"), "b": record("b")}
    result = plan(
        records,
        listing(("new.md", "1"), ("b", "1")),
        [doc("new.md", external_id="guide")],
        FLAGS,
    )
    assert result.create == ()
    assert [h.document.key for h in result.update] == ["new.md"]
    assert result.delete == ()
    assert [r.key for r in result.forget] == ["old.md"]


def test_changed_external_id_retires_the_old_page() -> None:
    records = {"a.md": record("a.md")}
    result = plan(records, listing(("a.md", "2")), [doc("a.md", "2", external_id="new")], FLAGS)
    assert [h.document.external_id for h in result.create] == ["new"]
    assert [r.external_id for r in result.retire] == ["a.md"]
    assert result.guard is None


def test_duplicate_external_id_fails_the_second_document() -> None:
    result = plan(
        {},
        listing(("a", "1"), ("b", "1")),
        [doc("a", external_id="same"), doc("b", external_id="same")],
        FLAGS,
    )
    assert len(result.create) == 1
    assert [f.key for f in result.failed] == ["b"]


def test_guard_trips_on_fraction_and_on_everything() -> None:
    records = {str(n): record(str(n)) for n in range(8)}
    keep_six = listing(*[(str(n), "1") for n in range(6)])
    over = plan(records, keep_six, [], FLAGS, max_delete_fraction=0.2)
    assert over.guard is not None
    assert over.guard.deletes == 2
    assert over.counts().deleted == 0
    assert over.writes == 0
    under = plan(records, keep_six, [], FLAGS, max_delete_fraction=0.25)
    assert under.guard is None
    everything = plan(records, listing(), [], FLAGS, max_delete_fraction=1.0)
    assert everything.guard is not None
    assert "all 8 pages" in str(everything.guard)
    allowed = plan(records, listing(), [], FLAGS, allow_mass_delete=True)
    assert allowed.guard is None
    assert len(allowed.delete) == 8


def test_a_document_that_fails_in_the_listing_is_not_deleted() -> None:
    records = {"a": record("a"), "b": record("b")}
    broken = Listing(stubs=(Stub("a", "1"),), complete=True, failures=(Failure("b", "loop"),))
    result = plan(records, broken, [], FLAGS)
    assert result.delete == ()
    assert result.forget == ()
    assert [f.key for f in result.failed] == ["b"]


# ---- Intercom's view folded in (plan.adopt) ----------------------------------------------


def remote_page(external_id: str, body: str = "x", page_id: str | None = None) -> RemotePage:
    d = doc(external_id, body=body)
    return RemotePage(
        page_id or f"p-{external_id}", external_id, external_id, document_digest(d, FLAGS)
    )


def test_a_lost_store_adopts_every_page_and_sends_only_what_differs() -> None:
    remote = Remote((remote_page("a"), remote_page("b", body="old"), remote_page("gone")), True)
    adoption = adopt({}, remote)
    assert adoption.adopted == {"a", "b", "gone"}
    fetched = [doc("a"), doc("b", body="new")]
    result = plan(
        adoption.records, listing(("a", "1"), ("b", "1")), fetched, FLAGS, max_delete_fraction=0.5
    )
    assert [(h.document.key, page) for h, page in result.adopt] == [("a", "p-a")]
    assert [h.document.key for h in result.update] == ["b"]
    assert result.create == ()
    assert [r.external_id for r in result.delete] == ["gone"]
    assert result.writes == 2


def test_only_a_complete_view_or_a_lookup_makes_a_page_missing() -> None:
    records = {"a": record("a"), "b": record("b")}
    complete = adopt(records, Remote((remote_page("a"),), True))
    assert [r.key for r in complete.missing] == ["b"]
    assert not complete.records["b"].in_fin
    assert complete.records["b"].version == ""
    partial = adopt(records, Remote((remote_page("a"),), False))
    assert partial.missing == ()
    assert partial.records == records
    looked_up = adopt(records, Remote((remote_page("a"),), False, frozenset({"b"})))
    assert [r.key for r in looked_up.missing] == ["b"]


def test_a_page_recreated_under_a_new_id_is_learnt_and_a_colliding_key_kept_apart() -> None:
    records = {"a": record("a"), "x.md": record("x.md", external_id="other")}
    own = remote_page("other", page_id="p-x.md")  # x.md's page, by its external_id
    remote = Remote((remote_page("a", page_id="new-id"), own, remote_page("x.md")), True)
    adoption = adopt(records, remote)
    assert adoption.records["a"].page_id == "new-id"
    assert adoption.records["x.md"] == records["x.md"]  # its own page, unchanged
    (stray,) = [k for k in adoption.records if k.startswith("x.md\0")]
    assert adoption.records[stray].external_id == "x.md"


def test_intents_are_settled_by_a_complete_view_or_one_that_shows_them() -> None:
    partial = Remote((remote_page("made"),), False, frozenset({"looked"}))
    assert adopt({}, partial, ["made", "looked", "unseen"]).resolved == ("made", "looked")
    assert adopt({}, Remote((), True), ["unseen"]).resolved == ("unseen",)


def test_pages_a_stopped_run_left_do_not_count_for_the_guard() -> None:
    records = {str(n): record(str(n)) for n in range(4)}
    adoption = adopt(records, Remote(tuple(remote_page(e) for e in [*records, "x", "y"]), True))
    keep_all = listing(*[(str(n), "1") for n in range(4)])
    fetched = [doc(str(n)) for n in range(4)]
    guarded = plan(adoption.records, keep_all, fetched, FLAGS)
    assert guarded.guard is not None  # two unknown pages of six: over the 0.25 guard
    unfinished = plan(adoption.records, keep_all, fetched, FLAGS, unfinished={"x", "y"})
    assert unfinished.guard is None
    assert sorted(r.external_id for r in unfinished.delete) == ["x", "y"]
