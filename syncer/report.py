"""Render sync reports for people (text) and for machines (``--json``).

Nothing here reads settings: reports hold titles, keys and counts, never a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from syncer.model import Hashed, Plan, Record
from syncer.run import SourceReport, exit_code

SHOWN_PER_SECTION = 25
BROKEN_LINKS_SHOWN = 10


def to_json(reports: Sequence[SourceReport], *, dry_run: bool) -> dict[str, Any]:
    """One machine-readable report of a pass; every planned document is listed."""
    return {
        "dry_run": dry_run,
        "exit_code": exit_code(reports),
        "sources": [_source_json(report) for report in reports],
    }


def _source_json(report: SourceReport) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": report.source,
        "type": report.type,
        "status": report.status,
        "counts": report.counts.as_dict(),
        "errors": list(report.errors),
        "duration_s": round(report.duration, 3),
        "notes": dict(report.notes),
        "broken_links": [
            {"key": key, "kind": link.kind, "target": link.target, "reason": link.reason}
            for key, link in report.broken_links
        ],
        "removed": report.removed,
        "import_source_id": report.import_source_id,
        "intercom_check": {
            "calls": report.drift.calls,
            "skipped": report.drift.skipped,
            "listed": report.drift.listed,
            "complete": report.drift.complete,
            "adopted": report.drift.adopted,
            "identical": report.drift.identical,
            "missing": report.drift.missing,
        },
    }
    if report.diffs:
        out["diffs"] = [
            {
                "key": change.key,
                "title": change.title,
                "page_id": change.page_id,
                "note": change.note or None,
                "diff": list(change.lines),
            }
            for change in report.diffs
        ]
    the_plan = report.plan
    if the_plan is not None:
        out["listing_complete"] = the_plan.listing_complete
        out["guard"] = str(the_plan.guard) if the_plan.guard else None
        out["create"] = [_hashed_json(item) for item in the_plan.create]
        out["update"] = [_hashed_json(item) for item in the_plan.update]
        out["delete"] = [_record_json(record) for record in the_plan.deletes]
        out["held_back"] = [_record_json(record) for record in the_plan.held_back]
        out["retire"] = [_record_json(record) for record in the_plan.retire]
        out["excluded"] = [{"key": e.key, "reason": e.reason} for e in the_plan.exclude]
        out["excluded_before"] = list(the_plan.excluded_before)
        out["left_out"] = the_plan.left_out
        out["failed"] = [{"key": f.key, "message": f.message} for f in the_plan.failed]
    return out


def _hashed_json(item: Hashed) -> dict[str, Any]:
    doc = item.document
    return {
        "key": doc.key,
        "external_id": doc.external_id,
        "title": doc.title,
        "url": doc.url,
        "content_hash": item.content_hash,
    }


def _record_json(record: Record) -> dict[str, Any]:
    return {
        "key": record.key,
        "external_id": record.external_id,
        "title": record.title,
        "page_id": record.page_id,
    }


def to_text(reports: Sequence[SourceReport], *, dry_run: bool) -> str:
    """The plan or outcome per source: counts, then titles (the first few of each kind)."""
    lines: list[str] = []
    for report in reports:
        c = report.counts
        verb = "would " if dry_run else ""
        gone = ", no longer in the config" if report.removed else ""
        lines.append(
            f"{report.source} ({report.type}{gone}): {report.status}: {verb}create {c.created}, "
            f"{verb}update {c.updated}, {verb}delete {c.deleted}, unchanged {c.unchanged}, "
            f"excluded {c.excluded}, failed {c.failed}"
        )
        if report.notes:
            lines.append("  notes: " + ", ".join(f"{name} {n}" for name, n in report.notes))
        lines.extend(_broken_lines(report))
        drift = report.drift
        if drift.adopted or drift.missing:
            lines.append(
                f"  Intercom differed from the store: {drift.missing} pages missing there, "
                f"{drift.adopted} unknown to the store ({drift.identical} already up to date)"
            )
        if report.removed and report.errors and report.plan is not None:
            lines.append(f"  ! {report.errors[0]}")
        if report.plan is not None:
            lines.extend(_plan_lines(report.plan))
        elif report.errors:
            lines.extend(f"  ! {error}" for error in report.errors)
        lines.extend(_diff_lines(report))
    if dry_run:
        lines.append("Dry run: nothing was written.")
    return "\n".join(lines)


def _diff_lines(report: SourceReport) -> list[str]:
    """A dry run's --diff: each page whose text Fin reads would change, as a diff."""
    if report.status not in ("planned", "blocked") or not report.drift.calls:
        return []
    n, changed = report.drift.calls, sum(1 for d in report.diffs if d.lines)
    lines = [
        f"  diff: {n} page{'' if n == 1 else 's'} read from Intercom ({n} "
        f"call{'' if n == 1 else 's'}); {changed} would read differently"
    ]
    for change in report.diffs:
        where = f", page {change.page_id}" if change.page_id else ""
        lines.append(f"  {change.title}  ({change.key}){where}, as Fin would read it:")
        if change.note:
            lines.append(f"    ! {change.note}")
        lines.extend(f"    {line}".rstrip() for line in change.lines)
    return lines


def _broken_lines(report: SourceReport) -> list[str]:
    broken = report.broken_links
    if not broken:
        return []
    lines = [f"  broken links: {len(broken)}"]
    lines += [
        f"    {key}: {link.kind} to {link.target!r} ({link.reason})"
        for key, link in broken[:BROKEN_LINKS_SHOWN]
    ]
    if len(broken) > BROKEN_LINKS_SHOWN:
        lines.append(f"    ... and {len(broken) - BROKEN_LINKS_SHOWN} more (--json lists all)")
    return lines


def _kept_out(the_plan: Plan) -> list[str]:
    """The excluded documents not read this run, a line for each kind (--json lists them)."""
    lines = []
    if before := len(the_plan.excluded_before):
        lines.append(
            f"{before} excluded before and unchanged since (drafts, fin: false, files "
            "that cannot be read as they are)"
        )
    if n := the_plan.left_out:
        lines.append(f"{n} file{'' if n == 1 else 's'} left out by the source's exclude: patterns")
    return lines


def _plan_lines(the_plan: Plan) -> list[str]:
    lines: list[str] = []
    if not the_plan.listing_complete:
        lines.append("  listing incomplete: nothing will be deleted")
    if the_plan.guard:
        lines.append(f"  ! mass-delete guard: {the_plan.guard}")
    sections: list[tuple[str, list[str]]] = [
        ("+", [f"{i.document.title}  ({i.document.key})" for i in the_plan.create]),
        ("~", [f"{i.document.title}  ({i.document.key})" for i in the_plan.update]),
        ("-", [f"{r.title or r.external_id}  ({r.key})" for r in the_plan.deletes]),
        ("! held back:", [f"{r.title or r.external_id}  ({r.key})" for r in the_plan.held_back]),
        ("-", [f"{r.title or r.external_id}  ({r.key}, old page)" for r in the_plan.retire]),
        ("x", [f"{e.key}: {e.reason}" for e in the_plan.exclude]),
        ("x", _kept_out(the_plan)),
        ("!", [f"{f.key}: {f.message}" for f in the_plan.failed]),
    ]
    for mark, items in sections:
        lines.extend(f"  {mark} {item}" for item in items[:SHOWN_PER_SECTION])
        if len(items) > SHOWN_PER_SECTION:
            lines.append(
                f"  {mark} ... and {len(items) - SHOWN_PER_SECTION} more (--json lists all)"
            )
    return lines
