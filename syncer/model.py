"""The plain data that flows between connectors, the planner, the store and Intercom.

Everything here is a frozen dataclass: values, not objects with behaviour. A connector
produces ``Listing`` (cheap ``Stub`` s) and then ``Document`` s (or ``Failure`` /
``Excluded``); the store hands back ``Record`` s of what was sent before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal


@dataclass(frozen=True, slots=True)
class Stub:
    """One document as a listing sees it: its key plus a cheap version token.

    ``key`` is the document's identity within its source as the listing knows it (a
    POSIX path relative to the source root, a Confluence page id). It is also the
    ``external_id`` sent to Intercom unless the document overrides that (front matter).
    ``version`` is whatever the connector can get without reading content (size and
    mtime, a git blob SHA, a Confluence version number). A moved version means "fetch";
    it never means "send": the content hash decides that.

    ``changed_at`` is when the source says the document last changed, if the listing
    knows it for free (a Confluence page version's time, a git source's commit time): a
    run measures freshness from it (issue 17). Not part of a stub's identity.
    """

    key: str
    version: str
    changed_at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Failure:
    """A document that could not be listed or fetched: recorded, skipped, never deleted."""

    key: str
    message: str


@dataclass(frozen=True, slots=True)
class Listing:
    """What a connector listed.

    ``complete`` is a promise: every document of the source is in ``stubs``. Only a
    complete listing may cause deletions; one cut short by an error sweeps nothing.
    ``failures`` are entries the listing saw but could not describe (a symlink loop, an
    unreadable folder); they make no deletion on their own. ``left_out`` counts the
    files the source's own rules kept out of ``stubs`` (its ``include`` matched them, its
    ``exclude`` dropped them): a number for the report, so that "excluded" says so.
    """

    stubs: tuple[Stub, ...]
    complete: bool
    failures: tuple[Failure, ...] = ()
    left_out: int = 0


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """A link or image of a document that points at nothing in its source.

    ``target`` is the ``href`` or ``src`` as the document writes it; ``reason`` says what
    is missing: ``no such file in the source``, ``outside the source``, ``no such page in
    the source`` (a Docusaurus route or doc id), ``no such anchor`` (the page is there,
    the ``#fragment`` is not). A path to nothing is not sent as a URL that would answer
    404: the link keeps only its text (an image its alt text). A missing anchor's link
    still lands on its page. A site path the tree lacks (a Docusaurus route, a static
    ``/img/x.png``) stays a URL on the site, which may serve it. A link out of the source
    (another site, a Confluence space not synced) is not one.
    """

    kind: Literal["link", "image"]
    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class Document:
    """A normalised document, exactly what would be sent to Intercom (bar the flags).

    ``broken_links`` are for the run report only: not sent, not hashed (``Page`` is).
    """

    key: str
    version: str
    external_id: str
    title: str
    html: str
    url: str | None
    # Which converter made the HTML (for logs and reports). It does not decide a write:
    # the content hash is of what is sent, so a page re-converted to the same HTML by a
    # newer converter is not re-sent.
    converter_version: str
    locale: str = "en"
    broken_links: tuple[BrokenLink, ...] = ()


@dataclass(frozen=True, slots=True)
class Excluded:
    """A listed document that must not reach Fin (front matter ``draft: true``, ``fin: false``)."""

    key: str
    version: str
    reason: str


Fetched = Document | Excluded | Failure


@dataclass(frozen=True, slots=True)
class Availability:
    """Who in Intercom may use a source's pages; part of every upsert and of the hash."""

    ai_agent: bool = True
    ai_copilot: bool = True
    ai_sales_agent: bool = False


@dataclass(frozen=True, slots=True)
class Record:
    """What the store remembers of one document: enough to decide, never the body.

    ``content_hash`` is ``None`` for a document that was listed but deliberately not sent
    (a draft): it is remembered so an unchanged draft is not read again. ``remote_digest``
    is set only on a record made from a page found in Intercom that the store did not
    know (``plan.adopt``): the digest of the body Intercom holds, so that a document
    that would send exactly that body costs no call.
    """

    key: str
    external_id: str
    version: str
    content_hash: str | None
    page_id: str | None
    title: str = ""
    remote_digest: str | None = None

    @property
    def in_fin(self) -> bool:
        """True when this document was sent to Intercom and not yet deleted."""
        return self.content_hash is not None


@dataclass(frozen=True, slots=True)
class ImportSource:
    """A Content Import Source as Intercom lists it: its id, and the ``url`` that says whose.

    Content Import Sources have no name. syncer knows its own by the ``url`` it gives
    each (unique per configured source, checked by ``syncer validate``).
    """

    id: str
    url: str
    audience_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class RemotePage:
    """One External Page as Intercom lists it, without its body.

    ``digest`` is ``hashing.page_digest`` of what Intercom holds (title, HTML, URL,
    locale, availability flags), so a document can be compared with it cheaply.
    """

    page_id: str
    external_id: str
    title: str
    digest: str


@dataclass(frozen=True, slots=True)
class Remote:
    """The pages Intercom holds under one Content Import Source.

    ``complete`` is a promise like ``Listing.complete``: every page of the source is in
    ``pages``. Intercom's listing stops at 10,000 results for the whole workspace, so a
    bigger workspace gives an incomplete view: a page it does not show is not missing,
    only unseen. ``looked_up`` holds external ids asked for one by one (intents left by
    a crash), each found in ``pages`` or certainly absent.
    """

    pages: tuple[RemotePage, ...]
    complete: bool
    looked_up: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class WorkspacePages:
    """Every External Page Intercom listed for the workspace, by Content Import Source id.

    ``complete``: the listing reached its end and saw as many distinct pages as Intercom
    counted (a workspace past 10,000 pages, or pages written while it was read, leave it
    incomplete). ``total`` is Intercom's ``total_count``; ``calls`` what the listing cost.
    """

    by_source: Mapping[str, tuple[RemotePage, ...]]
    complete: bool
    total: int
    calls: int


@dataclass(frozen=True, slots=True)
class Page:
    """The exact body of an External Page upsert, but for its source: what is sent and
    what is hashed (``syncer.hashing``), one value for both.

    Every field goes every time: Intercom defaults the availability flags to false on a
    create and leaves them alone on an update, so leaving one out is never what we mean.
    """

    external_id: str
    title: str
    html: str
    url: str | None
    locale: str
    ai_agent_availability: bool
    ai_copilot_availability: bool
    ai_sales_agent_availability: bool

    @classmethod
    def of(cls, document: Document, availability: Availability) -> Page:
        return cls(
            external_id=document.external_id,
            title=document.title,
            html=document.html,
            url=document.url,
            locale=document.locale,
            ai_agent_availability=availability.ai_agent,
            ai_copilot_availability=availability.ai_copilot,
            ai_sales_agent_availability=availability.ai_sales_agent,
        )

    def body(self, source_id: int) -> dict[str, object]:
        """The JSON of ``POST /ai/external_pages`` for this page under ``source_id``."""
        body: dict[str, object] = {
            "title": self.title,
            "html": self.html,
            "locale": self.locale,
            "source_id": source_id,
            "external_id": self.external_id,
            "ai_agent_availability": self.ai_agent_availability,
            "ai_copilot_availability": self.ai_copilot_availability,
            "ai_sales_agent_availability": self.ai_sales_agent_availability,
        }
        if self.url:
            body["url"] = self.url
        return body


@dataclass(frozen=True, slots=True)
class Hashed:
    """A document, the ``Page`` it becomes, and the content hash of that page."""

    document: Document
    content_hash: str
    availability: Availability = Availability()

    @property
    def page(self) -> Page:
        """What the upsert sends (the strings are the document's own, not copies)."""
        return Page.of(self.document, self.availability)

    def without_body(self) -> Hashed:
        """What a report keeps of a planned page: all but its HTML (the corpus's bulk)."""
        return Hashed(replace(self.document, html=""), self.content_hash, self.availability)


@dataclass(frozen=True, slots=True)
class Counts:
    """How many documents a run created, updated, deleted, left alone or failed on."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    excluded: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "excluded": self.excluded,
            "failed": self.failed,
        }


@dataclass(frozen=True, slots=True)
class PageDiff:
    """What an update would change in the text Fin reads of one page (``syncer.diff``).

    ``lines`` is a unified diff of the page as Intercom holds it against the page the
    run would send, both as Markdown; empty when they read the same. ``note`` says why
    there was nothing to compare with (no page id, the page gone), if so.
    """

    key: str
    title: str
    page_id: str | None
    lines: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class GuardTrip:
    """Why the mass-delete guard held a plan's deletions back."""

    deletes: int
    known: int
    max_fraction: float

    def __str__(self) -> str:
        if self.deletes >= self.known:
            what = f"all {self.known} pages"
        else:
            what = f"{self.deletes} of {self.known} pages ({self.deletes / self.known:.0%})"
        return (
            f"would delete {what}, more than max_delete_fraction {self.max_fraction:g} allows; "
            "nothing was deleted. If the source really lost them, run again with "
            "--allow-mass-delete"
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """The decision for one source: what to create, update, delete, and what stays.

    ``refresh`` holds documents whose listing version moved but whose content hash did
    not (a ``touch``): only the store learns the new version, Intercom hears nothing.
    ``adopt`` holds documents whose page Intercom already holds exactly, with that page's
    id: found in Intercom, unknown to the store (a lost store); only the store learns.
    ``forget`` holds store records that need no Intercom call to drop (a draft that
    disappeared). ``retire`` holds old pages of documents whose ``external_id`` changed:
    their page is deleted but their key lives on. ``guard`` is set when the mass-delete
    guard held ``delete`` back: ``held_back`` then holds them, and ``deletes`` is empty.

    What is excluded: ``exclude``, the documents read this run that must not reach Fin
    (a draft, ``fin: false``, a scanned PDF), with their reasons; ``excluded_before``,
    those excluded by an earlier run and not changed since (not read again); and
    ``left_out`` files that the source's ``exclude:`` patterns kept out of its listing.
    None of them is "unchanged", which means a page in Fin that stays as it is.
    """

    create: tuple[Hashed, ...] = ()
    update: tuple[Hashed, ...] = ()
    delete: tuple[Record, ...] = ()
    unchanged: tuple[str, ...] = ()
    refresh: tuple[Hashed, ...] = ()
    adopt: tuple[tuple[Hashed, str], ...] = ()
    exclude: tuple[Excluded, ...] = ()
    forget: tuple[Record, ...] = ()
    retire: tuple[Record, ...] = ()
    failed: tuple[Failure, ...] = ()
    guard: GuardTrip | None = None
    listing_complete: bool = True
    excluded_before: tuple[str, ...] = ()
    left_out: int = 0

    @property
    def deletes(self) -> tuple[Record, ...]:
        """The deletions this plan makes: none while the guard holds them back."""
        return () if self.guard else self.delete

    @property
    def held_back(self) -> tuple[Record, ...]:
        """The deletions the guard held back (none unless it tripped)."""
        return self.delete if self.guard else ()

    @property
    def writes(self) -> int:
        """Intercom calls this plan would make (deletes held by the guard excluded)."""
        return len(self.create) + len(self.update) + len(self.deletes) + len(self.retire)

    @property
    def unchanged_count(self) -> int:
        """Pages in Fin that stay as they are (a touched file's, an adopted page's too)."""
        return len(self.unchanged) + len(self.refresh) + len(self.adopt)

    @property
    def excluded_count(self) -> int:
        """Documents kept out of Fin: read and excluded, excluded before, left out."""
        return len(self.exclude) + len(self.excluded_before) + self.left_out

    def counts(self) -> Counts:
        return Counts(
            created=len(self.create),
            updated=len(self.update),
            deleted=len(self.deletes) + len(self.retire),
            unchanged=self.unchanged_count,
            excluded=self.excluded_count,
            failed=len(self.failed),
        )
