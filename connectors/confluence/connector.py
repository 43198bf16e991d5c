"""The Confluence connector: list spaces by version, fetch and convert only what changed.

``list`` resolves the space keys, then lists each space's pages (and blog posts) with
their version number and no body: REST v2 on Cloud, v1 on Data Center, CQL search when
labels or a filter narrow the scope. A stub's version is ``"<number>@<space key>@<render
stamp>"``, so an edit, a move between two synced spaces, or a new converter (or page
URL template) fetches the page again; the content hash then decides whether it is sent.

A space whose listing fails part-way (an error, a 403, a listing cut short) is marked
with a ``Failure`` and deletes nothing: its pages missing from this listing are listed
as they were when the last successful run saw them (the cursor keeps that, per space),
while complete spaces still sweep their deletions. Without that knowledge the whole
listing is incomplete.

``fetch`` reads bodies in bulk (250 per request on Cloud), checks read restrictions
(their own and their ancestors', one CQL search per batch) unless
``include_restricted``, looks up mentioned users once per run, and converts. A
restricted page is ``Excluded`` (so it leaves Fin if it was there); a page that cannot
be read is a ``Failure`` (kept as it was). A 401 stops the whole source.

With ``attachments``, each PDF, DOCX or PPTX attached to a page in scope is a document
of its own (key: the attachment id), listed with its version and no content (Cloud: v2
``/attachments`` by media type, once for the site; Data Center: one CQL search per
space), so an unchanged attachment is never downloaded. Its version is ``"<attachment
version>@<space key>@<stamp>@<page id>:<page title digest>"``: a new version, a move to
another page or a renamed page fetches it again. It is downloaded, converted by
``syncer.convert.documents``, titled by its file name and opens with the page it is
attached to; an attachment of a restricted page is excluded like the page. One that is
deleted, or moved out of scope, is no longer listed and leaves Fin like a page; a
listing of attachments that fails marks the spaces incomplete, so nothing is deleted.

A split run's batch jobs (``syncer.engine.batches``) do not list the spaces again: the
listing's pages and attachments travel with the run (``fetch_state``, one JSON
document) and each batch's connector starts from them (``resume``).
"""

from __future__ import annotations

import builtins
import html
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import structlog

from syncer.connector import Connector, Context
from syncer.connectors.confluence.api import (
    Attachment,
    Body,
    CloudApi,
    ConfluenceApi,
    DataCenterApi,
    IncompleteListingError,
    Kind,
    Listed,
    Restriction,
    Space,
    chunks,
    scope_cql,
)
from syncer.connectors.confluence.convert import CONVERTER_VERSION, PageRef, UserRef, convert_page
from syncer.connectors.confluence.http import (
    AuthError,
    ConfluenceError,
    ConfluenceHttp,
    basic_auth,
    bearer_auth,
)
from syncer.connectors.confluence.resolve import FoundPage, SiteResolver, title_key
from syncer.connectors.confluence.settings import ConfluenceSettings
from syncer.convert import CONVERTER_VERSION as FILES_CONVERTER_VERSION
from syncer.convert.documents.files import convert_document, each
from syncer.convert.stamp import render_stamp
from syncer.errors import SourceError
from syncer.model import Document, Excluded, Failure, Fetched, Listing, Stub

CURSOR_FORMAT = 1
# The shape of ``fetch_state``: a split run's batches resume from it (``resume``).
STATE_FORMAT = 1
FETCH_BATCH = 250
RESTRICTED = "read-restricted pages skipped"
_USER = re.compile(r"<ri:user\b([^>]*)>")
_USER_ATTRIBUTE = re.compile(r'ri:(account-id|userkey|username)\s*=\s*"([^"]*)"')


def make_http(settings: ConfluenceSettings) -> ConfluenceHttp:
    """The HTTP client for a source: Basic auth on Cloud, a bearer PAT on Data Center."""
    token = settings.token.get_secret_value()
    if settings.deployment == "cloud":
        authorization = basic_auth(settings.email or "", token)
    else:
        authorization = bearer_auth(token)
    return ConfluenceHttp(
        settings.base_url,
        authorization=authorization,
        deployment=settings.deployment,
        timeout=settings.timeout,
    )


class ConfluenceConnector:
    """Reads one ``type: confluence`` source for one run; not shared between threads."""

    def __init__(
        self,
        settings: ConfluenceSettings,
        context: Context | None = None,
        *,
        http: ConfluenceHttp | None = None,
    ) -> None:
        from syncer.connectors.confluence.site import Site

        self.settings = settings
        # In every version listed: when the converter or what else shapes a page's
        # output moves, every page is read again once (only changed output is sent).
        self.stamp = render_stamp(
            CONVERTER_VERSION, settings.base_url, settings.page_url, settings.include_restricted
        )
        # Attachments have a stamp of their own: a new document converter or cap reads them
        # again, not every page.
        self.attachment_stamp = render_stamp(
            FILES_CONVERTER_VERSION, settings.base_url, settings.documents.model_dump()
        )
        self.site = Site(settings.base_url, settings.deployment, settings.page_url)
        self.http = http or make_http(settings)
        self.api: ConfluenceApi = (
            CloudApi(self.http) if settings.deployment == "cloud" else DataCenterApi(self.http)
        )
        self.previous = read_cursor(context.cursor if context else None)
        self.listed: dict[str, Listed] = {}
        self.attachments: dict[str, Attachment] = {}
        self.known: dict[str, dict[str, str]] | None = None
        self.counts: Counter[str] = Counter()
        self.resolver = SiteResolver(
            self.site,
            find_page=self._find_page,
            find_users=self._find_users,
            include_restricted=settings.include_restricted,
        )
        self._own_restriction: dict[str, bool] = {}
        self._log = structlog.get_logger("syncer.confluence").bind(source=settings.name)

    def close(self) -> None:
        """Close the HTTP connections (the run calls it when it is done)."""
        self.http.close()

    # ---- quick check ---------------------------------------------------------------

    def changed_since(self, since: datetime, now: datetime) -> str | None:
        """A page or blog post saved since ``since`` at a version the last complete
        listing (the cursor) did not hold, said in a few words; ``None`` when there is
        none. One CQL search a space, the newest page first, until one is found.

        Only saves: a deleted page is found by the next full listing (``list``).
        """
        kinds: list[Kind] = ["page", "blogpost"] if self.settings.include_blogposts else ["page"]
        # CQL's now() counts in minutes: round the window up, never down.
        minutes = max(1, math.ceil((now - since).total_seconds() / 60))
        for key in self.settings.spaces:
            newest = self.api.newest(key, kinds, minutes)
            if newest is None:
                continue
            known = self.previous.get(key, {}).get(newest.id)
            if known is not None and known.split("@")[0] == str(newest.version):
                continue  # the last run listed it at this version: nothing newer here
            return f"{newest.kind} {newest.id} v{newest.version} in {key}"
        return None

    # ---- listing -------------------------------------------------------------------

    def list(self) -> Listing:
        settings = self.settings
        kinds: list[Kind] = ["page", "blogpost"] if settings.include_blogposts else ["page"]
        filtered = bool(settings.labels or settings.exclude_labels or settings.cql)
        spaces = self.api.spaces(settings.spaces)  # a 401 here fails the source, clearly
        stubs: dict[str, Stub] = {}
        failures: list[Failure] = []
        incomplete: list[str] = []
        for key in settings.spaces:
            space = spaces.get(key)
            if space is None:
                failures.append(
                    Failure(
                        f"space:{key}",
                        f"space {key} was not found or this account cannot see it; "
                        "its pages in Fin are kept",
                    )
                )
                incomplete.append(key)
                continue
            cql = (
                scope_cql(
                    key,
                    kinds,
                    labels=settings.labels,
                    exclude_labels=settings.exclude_labels,
                    extra=settings.cql,
                )
                if filtered
                else None
            )
            problem = self._list_space(space, kinds, cql, stubs)
            if problem is not None:
                failures.append(Failure(f"space:{key}", problem))
                incomplete.append(key)
        if settings.attachment_types:
            found = [spaces[key] for key in settings.spaces if key in spaces]
            problem = self._list_attachments(found, stubs)
            if problem is not None:
                failures.append(Failure("attachments", problem))
                incomplete.extend(k for k in settings.spaces if k in spaces and k not in incomplete)
        complete = True
        for key in incomplete:
            kept = self.previous.get(key)
            if kept is None:
                complete = False  # nothing known of it: the whole listing deletes nothing
                continue
            for page_id, version in kept.items():
                stubs.setdefault(page_id, Stub(page_id, version))
        self.known = {}
        for stub in stubs.values():
            listed = self.listed.get(stub.key)
            space_key = listed.space_key if listed else _space_of(stub.version)
            self.known.setdefault(space_key, {})[stub.key] = stub.version
        self._index_titles()
        self._log.info(
            "confluence_listed",
            spaces=len(settings.spaces),
            listed=len(self.listed),
            incomplete_spaces=incomplete,
            requests=self.http.stats.requests,
        )
        ordered = sorted(stubs.values(), key=lambda stub: (len(stub.key), stub.key))
        return Listing(tuple(ordered), complete, tuple(failures))

    def _index_titles(self) -> None:
        """Links by title (``ri:content-title``) find the listed pages without a lookup."""
        self.resolver.titles = {
            title_key(item.space_key, item.title): item.id
            for item in self.listed.values()
            if item.kind == "page"
        }

    def fetch_state(self) -> str:
        """What a fetch needs of the listing: each page's kind, space and title (its links
        by title), each attachment and its page; one JSON document."""
        pages = [
            [item.id, item.kind, item.space_key, item.title, item.version, item.parent_id]
            for item in self.listed.values()
        ]
        attachments = [
            [a.id, a.container_id, a.title, a.media_type, a.version, a.size, a.download]
            for a in self.attachments.values()
        ]
        state = {"format": STATE_FORMAT, "pages": pages, "attachments": attachments}
        return json.dumps(state, separators=(",", ":"))

    def resume(self, state: str) -> None:
        """The listing's pages and attachments from ``fetch_state``: no Confluence call."""
        try:
            kept = json.loads(state)
            shown = kept.get("format") if isinstance(kept, dict) else type(kept).__name__
            if shown != STATE_FORMAT:
                raise ValueError(f"format {shown!r}, not {STATE_FORMAT}")
            self.listed = {
                page[0]: Listed(page[0], page[1], page[2], page[3], page[4], page[5])
                for page in kept["pages"]
            }
            self.attachments = {a[0]: Attachment(*a) for a in kept["attachments"]}
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise SourceError(
                f"source {self.settings.name}: the split run's listing cannot be read "
                f"({exc}); the next run lists the source again",
                source=self.settings.name,
            ) from None
        self._index_titles()

    def _list_space(
        self, space: Space, kinds: Sequence[Kind], cql: str | None, stubs: dict[str, Stub]
    ) -> str | None:
        """List one space into ``stubs``; why it is incomplete, or ``None``."""
        count = 0
        try:
            for item in self.api.listing(space, kinds, cql):
                if item.id in stubs:
                    continue  # listed twice (moved while listing, or offsets shifted)
                self.listed[item.id] = item
                version = stub_version(item.version, item.space_key, self.stamp)
                stubs[item.id] = Stub(item.id, version, item.changed_at)
                count += 1
        except AuthError:
            raise
        except (ConfluenceError, IncompleteListingError) as exc:
            self._log.warning("confluence_space_incomplete", space=space.key, error=str(exc))
            return (
                f"listing of space {space.key} stopped after {count} pages ({exc}); "
                "nothing in this space is deleted this run"
            )
        return None

    def _list_attachments(self, spaces: Sequence[Space], stubs: dict[str, Stub]) -> str | None:
        """The attachments of the listed pages into ``stubs``; why incomplete, or ``None``."""
        types = self.settings.attachment_types
        count = 0
        try:
            for space in spaces if self.settings.deployment == "datacenter" else spaces[:1]:
                for attachment in self.api.attachments(space, types):
                    container = self.listed.get(attachment.container_id)
                    if container is None or attachment.id in stubs:
                        continue  # a page out of scope, or listed twice
                    self.attachments[attachment.id] = attachment
                    stubs[attachment.id] = Stub(
                        attachment.id, self._attachment_version(attachment, container)
                    )
                    count += 1
        except AuthError:
            raise
        except (ConfluenceError, IncompleteListingError) as exc:
            self._log.warning("confluence_attachments_incomplete", error=str(exc))
            return (
                f"listing of attachments stopped after {count} ({exc}); nothing in these "
                "spaces is deleted this run"
            )
        return None

    def _attachment_version(self, attachment: Attachment, container: Listed) -> str:
        page = f"{container.id}:{zlib.crc32(container.title.encode()):08x}"
        stamped = stub_version(attachment.version, container.space_key, self.attachment_stamp)
        return f"{stamped}@{page}"

    def cursor(self) -> str | None:
        """Per space, every page id and version listed: the fallback of a failed listing."""
        if self.known is None:
            return None
        return json.dumps(
            {"format": CURSOR_FORMAT, "spaces": self.known}, separators=(",", ":"), sort_keys=True
        )

    # ---- fetching ------------------------------------------------------------------

    def fetch(self, stubs: Sequence[Stub]) -> Iterator[Fetched]:
        groups: dict[Kind, list[Stub]] = {"page": [], "blogpost": []}
        attached: list[Stub] = []
        for stub in stubs:
            if stub.key in self.attachments:
                attached.append(stub)
                continue
            listed = self.listed.get(stub.key)
            groups[listed.kind if listed else "page"].append(stub)
        for kind, group in groups.items():
            for batch in chunks_of(group, FETCH_BATCH):
                yield from self._fetch_batch(kind, batch)
        for batch in chunks_of(attached, FETCH_BATCH):
            yield from self._fetch_attachments(batch)

    def _fetch_attachments(self, batch: Sequence[Stub]) -> Iterator[Fetched]:
        """Download and convert attachments, after their pages' restrictions are checked."""
        pages = sorted({self.attachments[stub.key].container_id for stub in batch})
        try:
            reasons, unknown = (
                ({}, set()) if self.settings.include_restricted else self.restrictions(pages)
            )
        except AuthError:
            raise
        except (ConfluenceError, IncompleteListingError) as exc:
            for stub in batch:
                yield Failure(stub.key, f"could not be read: {exc}")
            return
        for stub in batch:
            attachment = self.attachments[stub.key]
            page = attachment.container_id
            if page in unknown:
                yield Failure(stub.key, "its page's read restrictions could not be checked")
            elif reasons.get(page):
                self.counts[RESTRICTED] += 1
                yield Excluded(
                    stub.key,
                    stub.version,
                    f"attached to a page that is {reasons[page]}; set include_restricted: "
                    "true to sync such pages",
                )
            else:
                yield from each(self._attachment(stub, attachment))

    def _attachment(self, stub: Stub, attachment: Attachment) -> Fetched | tuple[Document, ...]:
        documents = self.settings.documents
        if attachment.size is not None and attachment.size > documents.max_bytes:
            return Failure(
                stub.key,
                f"{attachment.title} is {attachment.size:,} bytes, over documents.max_bytes "
                f"{documents.max_bytes:,}; raise it to sync it",
            )
        try:
            data = self.api.download(attachment)
        except AuthError:
            raise
        except ConfluenceError as exc:
            return Failure(stub.key, f"{attachment.title} could not be downloaded: {exc}")
        self.counts["attachments downloaded"] += 1
        container = self.listed[attachment.container_id]
        page_url = self.site.document_url(container.id, container.space_key, container.title)
        lead = (
            f'<p>Attached to the Confluence page <a href="{html.escape(page_url, quote=True)}">'
            f"{html.escape(container.title, quote=False)}</a>.</p>"
        )
        converted = convert_document(
            stub.key,
            stub.version,
            data,
            url=self.http.site(attachment.download.split("?", 1)[0]),
            settings=documents,
            notes=self.counts,
            title=attachment.title,
            lead=lead,
            name=attachment.title,
        )
        if converted is None:
            return Excluded(
                stub.key,
                stub.version,
                f"{attachment.title} is listed as {attachment.media_type} but is not a PDF, "
                "DOCX or PPTX file",
            )
        return converted

    def _fetch_batch(self, kind: Kind, batch: Sequence[Stub]) -> Iterator[Fetched]:
        ids = [stub.key for stub in batch]
        try:
            bodies = self.api.bodies(ids, kind)
            reasons, unknown = (
                ({}, set())
                if self.settings.include_restricted
                else (self.restrictions(list(bodies)))
            )
        except AuthError:
            raise
        except (ConfluenceError, IncompleteListingError) as exc:
            for stub in batch:
                yield Failure(stub.key, f"could not be read: {exc}")
            return
        self._prefetch_users(body.storage for body in bodies.values())
        for stub in batch:
            body = bodies.get(stub.key)
            if body is None:
                yield Failure(
                    stub.key,
                    "not found when fetched (deleted, moved or hidden since it was listed); "
                    "kept until a listing no longer shows it",
                )
            elif stub.key in unknown:
                yield Failure(
                    stub.key, "its read restrictions could not be checked; kept as it was"
                )
            else:
                yield self.document(stub.key, body, reasons.get(stub.key))

    def document(self, key: str, body: Body, restricted: str | None) -> Fetched:
        """The ``Document`` for a fetched body (or why it is excluded or failed)."""
        listed = self.listed.get(key)
        space_key = (listed.space_key if listed else None) or body.space_key or ""
        version = stub_version(body.version, space_key, self.stamp)
        if restricted:
            self.counts[RESTRICTED] += 1
            return Excluded(
                key, version, f"{restricted}; set include_restricted: true to sync such pages"
            )
        title = body.title or (listed.title if listed else key)
        url = self.site.document_url(body.id, space_key, title)
        try:
            converted = convert_page(
                body.storage, PageRef(body.id, space_key, title, url), self.resolver
            )
        except AuthError:
            raise
        except Exception as exc:  # a converter bug must cost one page, not the run
            self._log.exception("confluence_convert_failed", key=key)
            return Failure(key, f"could not be converted: {type(exc).__name__}: {exc}")
        self.counts.update(converted.notes)
        if not converted.html.strip():
            return Excluded(key, version, "nothing left after conversion (only dropped macros)")
        return Document(
            key=key,
            version=version,
            external_id=key,
            title=title,
            html=converted.html,
            url=url,
            converter_version=CONVERTER_VERSION,
        )

    def restrictions(self, ids: Sequence[str]) -> tuple[dict[str, str], set[str]]:
        """Why each of ``ids`` must not reach Fin (restricted), and ids that could not be
        checked; ancestors are looked up once per run."""
        found = self.api.restrictions(ids)
        for content_id, restriction in found.items():
            self._own_restriction[content_id] = restriction.own
        ancestors = {a for r in found.values() for a, _ in r.ancestors}
        missing = [a for a in ancestors if a not in self._own_restriction]
        if missing:
            for content_id, restriction in self.api.restrictions(missing).items():
                self._own_restriction[content_id] = restriction.own
        reasons: dict[str, str] = {}
        unknown: set[str] = set()
        for content_id in ids:
            checked = found.get(content_id)
            if checked is None:
                unknown.add(content_id)
                continue
            reason = self._reason(checked)
            if reason:
                reasons[content_id] = reason
        return reasons, unknown

    def _reason(self, restriction: Restriction) -> str | None:
        if restriction.own:
            return "read-restricted"
        for ancestor_id, title in restriction.ancestors:
            # An ancestor that could not be checked counts as restricted: fail closed.
            if self._own_restriction.get(ancestor_id, True):
                return f"inherits read restrictions from {title!r} ({ancestor_id})"
        return None

    # ---- the resolver's lookups ----------------------------------------------------

    def _find_page(self, space_key: str, title: str) -> FoundPage | None:
        try:
            found = self.api.find_page(space_key, title)
        except AuthError:
            raise
        except (ConfluenceError, IncompleteListingError) as exc:
            self.counts["page lookups failed"] += 1
            self._log.warning(
                "confluence_lookup_failed", space=space_key, title=title, error=str(exc)
            )
            return None
        if found is None:
            return None
        body, restriction = found
        reason = None
        if not self.settings.include_restricted:
            self._own_restriction[body.id] = restriction.own
            missing = [a for a, _ in restriction.ancestors if a not in self._own_restriction]
            if missing:
                try:
                    for content_id, r in self.api.restrictions(missing).items():
                        self._own_restriction[content_id] = r.own
                except (ConfluenceError, IncompleteListingError):
                    pass  # unchecked ancestors count as restricted
            reason = self._reason(restriction)
        return FoundPage(body.id, body.space_key or space_key, body.title, body.storage, reason)

    def _find_users(self, refs: builtins.list[UserRef]) -> dict[UserRef, str]:
        try:
            return self.api.users(refs)
        except AuthError:
            raise
        except ConfluenceError as exc:
            self.counts["user lookups failed"] += 1
            self._log.warning("confluence_user_lookup_failed", error=str(exc))
            return {}

    def _prefetch_users(self, storages: Iterable[str]) -> None:
        refs: list[UserRef] = []
        for storage in storages:
            for match in _USER.finditer(storage):
                found = dict(_USER_ATTRIBUTE.findall(match.group(1)))
                refs.append(
                    UserRef(
                        account_id=found.get("account-id", "").strip() or None,
                        userkey=found.get("userkey", "").strip() or None,
                        username=found.get("username", "").strip() or None,
                    )
                )
        if refs:
            self.resolver.prefetch_users(refs)

    # ---- the run report ------------------------------------------------------------

    def notes(self) -> dict[str, int]:
        """Counts for the run report: dropped macros, skipped pages, Confluence traffic."""
        notes = Counter(self.counts)
        notes.update(self.resolver.notes)
        stats = self.http.stats
        notes["Confluence requests"] = stats.requests
        if stats.throttled or stats.paced:
            notes["Confluence rate-limit waits"] = stats.throttled + stats.paced
        if stats.retries:
            notes["Confluence retries"] = stats.retries
        return dict(notes)


def stub_version(number: int, space_key: str, stamp: str) -> str:
    """``<page version>@<space key>@<render stamp>``."""
    return f"{number}@{space_key}@{stamp}"


def _space_of(version: str) -> str:
    # Versions kept in a cursor from before the render stamp are "<number>@<space key>".
    return version.split("@")[1] if "@" in version else ""


def chunks_of(stubs: Sequence[Stub], size: int) -> Iterator[Sequence[Stub]]:
    for start in range(0, len(stubs), size):
        yield stubs[start : start + size]


def read_cursor(cursor: str | None) -> dict[str, dict[str, str]]:
    """Space key -> {page id: version} from a cursor; empty when there is none or it is
    from another format (the first listing then decides alone)."""
    if not cursor:
        return {}
    try:
        data: Any = json.loads(cursor)
    except ValueError:
        return {}
    if not isinstance(data, dict) or data.get("format") != CURSOR_FORMAT:
        return {}
    spaces = data.get("spaces")
    if not isinstance(spaces, dict):
        return {}
    return {
        str(key): {str(k): str(v) for k, v in pages.items()}
        for key, pages in spaces.items()
        if isinstance(pages, dict)
    }


def create(settings: ConfluenceSettings, context: Context) -> Connector:
    """The ``ConnectorType`` factory."""
    return ConfluenceConnector(settings, context)


__all__ = ["ConfluenceConnector", "chunks", "create", "make_http"]
