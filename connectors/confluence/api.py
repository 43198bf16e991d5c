"""What the connector reads from Confluence, in the two dialects: Cloud and Data Center.

Both answer the same questions (``ConfluenceApi``): resolve space keys, list a space's
pages (id, title, version; no bodies), fetch bodies for some ids, tell which of them
carry read restrictions (their own or an ancestor's), find a page by title, and name
users. Cloud uses REST v2 for listings and bodies (cursor paging) and v1 CQL search
where v2 has nothing (label scopes, restrictions, titles); Data Center uses REST v1
throughout, with offset paging.

Paging never truncates silently: a listing that ends early, repeats a ``next`` link or
whose totals change under it raises ``IncompleteListingError``, so the space deletes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from syncer.connectors.confluence.convert import UserRef
from syncer.connectors.confluence.http import (
    AuthError,
    ConfluenceError,
    ConfluenceHttp,
    NotFoundError,
    Reply,
)

Kind = Literal["page", "blogpost"]
V2_LIMIT = 250  # the most v2 list endpoints return per page (and ids per bulk request)
V1_LIMIT = 200  # asked of v1 listings; servers cap lower, and the paging copes
IDS_PER_SEARCH = 100  # ids per "id in (...)" CQL query
RESTRICTIONS = "restrictions.read.restrictions.user,restrictions.read.restrictions.group"


class IncompleteListingError(Exception):
    """A listing could not be read to its end; what was read is still good."""


@dataclass(frozen=True, slots=True)
class Space:
    id: str
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class Listed:
    """One page or blog post as a listing shows it: no body."""

    id: str
    kind: Kind
    space_key: str
    title: str
    version: int
    parent_id: str | None = None
    # When that version was saved (v2 ``version.createdAt``, v1 ``version.when``).
    changed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Body:
    """A page's storage body at some version."""

    id: str
    kind: Kind
    space_key: str | None
    title: str
    version: int
    storage: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment as a listing shows it: no content. ``download`` is its link under
    the site (``/download/attachments/<page>/<file>?version=...``)."""

    id: str
    container_id: str
    title: str
    media_type: str
    version: int
    size: int | None
    download: str


@dataclass(frozen=True, slots=True)
class Restriction:
    """Read restrictions of one content item: its own, and its ancestors' ids."""

    own: bool
    ancestors: tuple[tuple[str, str], ...] = ()  # (id, title), root first


class ConfluenceApi(Protocol):
    http: ConfluenceHttp

    def spaces(self, keys: Sequence[str]) -> dict[str, Space]: ...

    def listing(self, space: Space, kinds: Sequence[Kind], cql: str | None) -> Iterator[Listed]:
        """Every page (and blog post) of ``space`` in scope; ``cql`` narrows it."""
        ...

    def bodies(self, ids: Sequence[str], kind: Kind) -> dict[str, Body]: ...

    def restrictions(self, ids: Sequence[str]) -> dict[str, Restriction]: ...

    def find_page(self, space_key: str, title: str) -> tuple[Body, Restriction] | None: ...

    def content(self, content_id: str) -> Body | None: ...

    def users(self, refs: list[UserRef]) -> dict[UserRef, str]: ...

    def attachments(self, space: Space, media_types: Sequence[str]) -> Iterator[Attachment]:
        """The current attachments of ``space``'s content of ``media_types`` (Cloud lists
        the whole site's once, whatever ``space``: filter by container)."""
        ...

    def download(self, attachment: Attachment) -> bytes:
        """The file's bytes, at the version listed."""
        ...

    def newest(self, space_key: str, kinds: Sequence[Kind], minutes: int) -> Listed | None:
        """The page (or blog post) of ``space_key`` saved last, if in the last
        ``minutes``: one request."""
        ...


def cql_string(value: str) -> str:
    """``value`` as a quoted CQL string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scope_cql(
    space_key: str,
    kinds: Sequence[Kind],
    *,
    labels: Sequence[str] = (),
    exclude_labels: Sequence[str] = (),
    extra: str | None = None,
) -> str:
    """The CQL for one space's content in scope (labels, excluded labels, a filter)."""
    types = "type = page" if list(kinds) == ["page"] else f"type in ({', '.join(kinds)})"
    parts = [f"space = {cql_string(space_key)}", types]
    if labels:
        parts.append(f"label in ({', '.join(cql_string(label) for label in labels)})")
    if exclude_labels:
        parts.append(f"label not in ({', '.join(cql_string(label) for label in exclude_labels)})")
    if extra:
        parts.append(f"({extra})")
    return " and ".join(parts)


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _kind(value: Any) -> Kind:
    return "blogpost" if value == "blogpost" else "page"


def _restriction(item: Mapping[str, Any]) -> bool:
    """True when a v1 content item carries read restrictions of its own."""
    read = (item.get("restrictions") or {}).get("read") or {}
    found = read.get("restrictions") or {}
    for kind in ("user", "group"):
        block = found.get(kind) or {}
        if block.get("results") or _int(block.get("size")):
            return True
    return False


def _storage(item: Mapping[str, Any]) -> str:
    body = item.get("body") or {}
    storage = body.get("storage") or {}
    value = storage.get("value")
    return value if isinstance(value, str) else ""


class _V1:
    """CQL search and v1 content, shared by both dialects (paths differ by a prefix)."""

    http: ConfluenceHttp
    rest: str  # "/rest/api" under the site
    offsets: bool  # Data Center pages by start/limit; Cloud search by cursor

    def search(self, cql: str, expand: str, *, limit: int = V1_LIMIT) -> Iterator[dict[str, Any]]:
        """Every result of a CQL search, page by page, checking the totals."""
        params = (
            {"cql": cql, "expand": expand, "limit": limit}
            if expand
            else {"cql": cql, "limit": limit}
        )
        yield from self._pages(f"{self.rest}/content/search", params)

    def newest(self, space_key: str, kinds: Sequence[Kind], minutes: int) -> Listed | None:
        # now("-Nm") counts on the server's clock, not in the account's time zone as a
        # date string would (https://developer.atlassian.com/cloud/confluence/cql-functions/).
        cql = (
            f"space = {cql_string(space_key)} and type in ({', '.join(kinds)}) "
            f'and lastmodified >= now("-{minutes}m") order by lastmodified desc'
        )
        reply = self.http.get(
            self.http.site(f"{self.rest}/content/search"),
            {"cql": cql, "expand": "version", "limit": 1},
        )
        results = (reply.body or {}).get("results") or []
        if not results:
            return None
        item = results[0]
        return Listed(
            id=str(item.get("id")),
            kind=_kind(item.get("type")),
            space_key=space_key,
            title=str(item.get("title") or ""),
            version=_int((item.get("version") or {}).get("number")),
            changed_at=_when(item, "when"),
        )

    def _pages(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """A v1 listing to its end: ``next`` links, then totals, then an empty page.

        A page without a ``next`` link ends the listing only when the totals agree or
        (where there are no totals) the following offset comes back empty: a server that
        caps ``limit`` or cuts a page short must not end a listing early.
        """
        query: dict[str, Any] | None = dict(params)
        if self.offsets:
            assert query is not None
            query["start"] = 0
        url = self.http.site(path)
        seen = 0
        total: int | None = None
        links: set[str] = set()
        ids: set[str] = set()
        while True:
            body = self.http.get(url, query).body or {}
            results = body.get("results") or []
            fresh = {str(item.get("id")) for item in results} - ids
            if results and not fresh:
                raise IncompleteListingError(f"the server repeated results at offset {seen}")
            ids |= fresh
            yield from results
            seen += len(results)
            size = body.get("totalSize")
            if isinstance(size, int):
                if total is not None and size != total:
                    raise IncompleteListingError(
                        f"the number of results changed while paging ({total}, then {size})"
                    )
                total = size
            following = (body.get("_links") or {}).get("next")
            if isinstance(following, str) and following:
                if following in links:
                    raise IncompleteListingError(f"the server repeated a next link: {following}")
                links.add(following)
                url, query = self.http.site(following), None
                continue
            if total is not None and seen >= total:
                return
            if total is not None and not results:
                raise IncompleteListingError(f"the server stopped after {seen} of {total} results")
            if not self.offsets:
                if total is not None:
                    raise IncompleteListingError(f"no next link after {seen} of {total} results")
                return
            if not results:
                return  # an empty page past the end: the listing is really over
            url, query = self.http.site(path), {**params, "start": seen}

    def _body(self, item: Mapping[str, Any], space_key: str | None = None) -> Body:
        space = item.get("space") or {}
        return Body(
            id=str(item.get("id")),
            kind=_kind(item.get("type")),
            space_key=space.get("key") or space_key,
            title=str(item.get("title") or ""),
            version=_int((item.get("version") or {}).get("number")),
            storage=_storage(item),
        )

    def restrictions(self, ids: Sequence[str]) -> dict[str, Restriction]:
        """Own read restrictions and ancestors of ``ids``, then of their ancestors."""
        found: dict[str, Restriction] = {}
        for chunk in chunks(list(dict.fromkeys(ids)), IDS_PER_SEARCH):
            cql = f"id in ({', '.join(chunk)})"
            for item in self.search(cql, f"ancestors,{RESTRICTIONS}", limit=len(chunk)):
                ancestors = tuple(
                    (str(a.get("id")), str(a.get("title") or ""))
                    for a in item.get("ancestors") or []
                )
                found[str(item.get("id"))] = Restriction(_restriction(item), ancestors)
        return found

    def find_page(self, space_key: str, title: str) -> tuple[Body, Restriction] | None:
        cql = f"space = {cql_string(space_key)} and type = page and title = {cql_string(title)}"
        expand = f"body.storage,version,space,ancestors,{RESTRICTIONS}"
        for item in self.search(cql, expand, limit=5):
            if str(item.get("title") or "").casefold() == title.strip().casefold():
                ancestors = tuple(
                    (str(a.get("id")), str(a.get("title") or ""))
                    for a in item.get("ancestors") or []
                )
                return self._body(item, space_key), Restriction(_restriction(item), ancestors)
        return None


class CloudApi(_V1):
    """Confluence Cloud: REST v2, and v1 CQL search where v2 has no equivalent."""

    offsets = False

    def __init__(self, http: ConfluenceHttp) -> None:
        self.http = http
        self.rest = "/rest/api"
        self._space_keys: dict[str, str] = {}  # space id -> key

    def spaces(self, keys: Sequence[str]) -> dict[str, Space]:
        found: dict[str, Space] = {}
        for chunk in chunks(list(keys), V2_LIMIT):
            for item in self._v2_pages("/api/v2/spaces", {"keys": list(chunk), "limit": V2_LIMIT}):
                space = Space(str(item["id"]), str(item["key"]), str(item.get("name") or ""))
                found[space.key] = space
                self._space_keys[space.id] = space.key
        return found

    def listing(self, space: Space, kinds: Sequence[Kind], cql: str | None) -> Iterator[Listed]:
        if cql is not None:
            for item in self.search(cql, "version"):
                yield Listed(
                    id=str(item.get("id")),
                    kind=_kind(item.get("type")),
                    space_key=space.key,
                    title=str(item.get("title") or ""),
                    version=_int((item.get("version") or {}).get("number")),
                    changed_at=_when(item, "when"),
                )
            return
        for kind in kinds:
            plural = "pages" if kind == "page" else "blogposts"
            params = {"status": "current", "limit": V2_LIMIT}
            for item in self._v2_pages(f"/api/v2/spaces/{space.id}/{plural}", params):
                yield Listed(
                    id=str(item.get("id")),
                    kind=kind,
                    space_key=space.key,
                    title=str(item.get("title") or ""),
                    version=_int((item.get("version") or {}).get("number")),
                    parent_id=str(item["parentId"]) if item.get("parentId") else None,
                    changed_at=_when(item, "createdAt"),
                )

    def bodies(self, ids: Sequence[str], kind: Kind) -> dict[str, Body]:
        plural = "pages" if kind == "page" else "blogposts"
        found: dict[str, Body] = {}
        for chunk in chunks(list(ids), V2_LIMIT):
            params = {"id": list(chunk), "body-format": "storage", "limit": V2_LIMIT}
            for item in self._v2_pages(f"/api/v2/{plural}", params):
                found[str(item.get("id"))] = self._v2_body(item, kind)
        return found

    def content(self, content_id: str) -> Body | None:
        for kind, plural in (("page", "pages"), ("blogpost", "blogposts")):
            try:
                reply = self.http.get(
                    self.http.site(f"/api/v2/{plural}/{content_id}"), {"body-format": "storage"}
                )
            except NotFoundError:
                continue
            return self._v2_body(reply.body or {}, "page" if kind == "page" else "blogpost")
        return None

    def users(self, refs: list[UserRef]) -> dict[UserRef, str]:
        by_account = {ref.account_id: ref for ref in refs if ref.account_id}
        names: dict[UserRef, str] = {}
        for chunk in chunks(list(by_account), V2_LIMIT):
            reply = self.http.post(
                self.http.site("/api/v2/users-bulk"), {"accountIds": list(chunk)}
            )
            for user in (reply.body or {}).get("results") or []:
                ref = by_account.get(user.get("accountId"))
                name = user.get("displayName") or user.get("publicName")
                if ref is not None and name:
                    names[ref] = str(name)
        return names

    def attachments(self, space: Space, media_types: Sequence[str]) -> Iterator[Attachment]:
        # v2 lists attachments per page (one call each) or for the whole site by media
        # type; the site's documents cost far fewer calls than a space's pages.
        for media_type in media_types:
            params = {"mediaType": media_type, "status": "current", "limit": V2_LIMIT}
            for item in self._v2_pages("/api/v2/attachments", params):
                container = item.get("pageId") or item.get("blogPostId")
                link = item.get("downloadLink") or (item.get("_links") or {}).get("download")
                if not container or not link:
                    continue
                yield Attachment(
                    id=str(item.get("id")),
                    container_id=str(container),
                    title=str(item.get("title") or ""),
                    media_type=str(item.get("mediaType") or ""),
                    version=_int((item.get("version") or {}).get("number")),
                    size=_int(item["fileSize"]) if item.get("fileSize") is not None else None,
                    download=str(link),
                )

    def download(self, attachment: Attachment) -> bytes:
        # Not the /download/attachments link the listing gives: Cloud refuses API tokens
        # there since CHANGE-3007 (401). REST v1's endpoint redirects to the media host.
        path = (
            f"/rest/api/content/{attachment.container_id}/child/attachment/{attachment.id}/download"
        )
        return self.http.download(self.http.site(path))

    def _v2_body(self, item: Mapping[str, Any], kind: Kind) -> Body:
        return Body(
            id=str(item.get("id")),
            kind=kind,
            space_key=self._space_keys.get(str(item.get("spaceId"))),
            title=str(item.get("title") or ""),
            version=_int((item.get("version") or {}).get("number")),
            storage=_storage(item),
        )

    def _v2_pages(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """A v2 cursor listing to its end, by ``_links.next`` or the ``Link`` header."""
        url = self.http.site(path)
        query: Mapping[str, Any] | None = params
        links: set[str] = set()
        while True:
            reply = self.http.get(url, query)
            body = reply.body or {}
            yield from body.get("results") or []
            following = (body.get("_links") or {}).get("next") or _link_next(reply)
            if not following:
                return
            if following in links:
                raise IncompleteListingError(f"the server repeated a next link: {following}")
            links.add(following)
            url, query = self.http.host(following), None


class DataCenterApi(_V1):
    """Confluence Data Center and Server: REST v1 with offset paging."""

    offsets = True

    def __init__(self, http: ConfluenceHttp) -> None:
        self.http = http
        self.rest = "/rest/api"

    def spaces(self, keys: Sequence[str]) -> dict[str, Space]:
        found: dict[str, Space] = {}
        params = {"spaceKey": list(keys), "limit": max(len(keys), 1)}
        for item in self._pages(f"{self.rest}/space", params):
            found[str(item["key"])] = Space(
                str(item.get("id")), str(item["key"]), str(item.get("name") or "")
            )
        return found

    def listing(self, space: Space, kinds: Sequence[Kind], cql: str | None) -> Iterator[Listed]:
        if cql is not None:
            items: Iterable[dict[str, Any]] = self.search(f"{cql} order by created", "version")
            for item in items:
                yield self._listed(item, space.key)
            return
        for kind in kinds:
            params = {
                "spaceKey": space.key,
                "type": kind,
                "status": "current",
                "expand": "version",
                "limit": V1_LIMIT,
            }
            for item in self._pages(f"{self.rest}/content", params):
                yield self._listed(item, space.key)

    def bodies(self, ids: Sequence[str], kind: Kind) -> dict[str, Body]:
        found: dict[str, Body] = {}
        for chunk in chunks(list(ids), IDS_PER_SEARCH):
            cql = f"id in ({', '.join(chunk)})"
            for item in self.search(cql, "body.storage,version,space", limit=len(chunk)):
                found[str(item.get("id"))] = self._body(item)
        # Search reads an index that may lag behind a page saved a moment ago: ask for
        # what it missed one by one.
        for content_id in [i for i in ids if i not in found]:
            body = self.content(content_id)
            if body is not None:
                found[content_id] = body
        return found

    def content(self, content_id: str) -> Body | None:
        try:
            reply = self.http.get(
                self.http.site(f"{self.rest}/content/{content_id}"),
                {"expand": "body.storage,version,space"},
            )
        except NotFoundError:
            return None
        return self._body(reply.body or {})

    def users(self, refs: list[UserRef]) -> dict[UserRef, str]:
        names: dict[UserRef, str] = {}
        for ref in refs:
            if ref.userkey:
                params = {"key": ref.userkey}
            elif ref.username:
                params = {"username": ref.username}
            else:
                continue
            try:
                reply = self.http.get(self.http.site(f"{self.rest}/user"), params)
            except AuthError:
                raise
            except ConfluenceError:
                continue  # a deleted or hidden user: the mention keeps a placeholder
            name = (reply.body or {}).get("displayName")
            if name:
                names[ref] = str(name)
        return names

    def attachments(self, space: Space, media_types: Sequence[str]) -> Iterator[Attachment]:
        # One CQL search per space, not one child/attachment call per page.
        cql = f"space = {cql_string(space.key)} and type = attachment order by created"
        wanted = set(media_types)
        for item in self.search(cql, "version,container"):
            extensions = item.get("extensions") or {}
            media_type = str(
                extensions.get("mediaType") or (item.get("metadata") or {}).get("mediaType") or ""
            )
            container = (item.get("container") or {}).get("id")
            link = (item.get("_links") or {}).get("download")
            if media_type not in wanted or not container or not link:
                continue
            size = extensions.get("fileSize")
            yield Attachment(
                id=str(item.get("id")),
                container_id=str(container),
                title=str(item.get("title") or ""),
                media_type=media_type,
                version=_int((item.get("version") or {}).get("number")),
                size=_int(size) if size is not None else None,
                download=str(link),
            )

    def download(self, attachment: Attachment) -> bytes:
        return self.http.download(self.http.site(attachment.download))

    def _listed(self, item: Mapping[str, Any], space_key: str) -> Listed:
        return Listed(
            id=str(item.get("id")),
            kind=_kind(item.get("type")),
            space_key=space_key,
            title=str(item.get("title") or ""),
            version=_int((item.get("version") or {}).get("number")),
            changed_at=_when(item, "when"),
        )


def _when(item: Mapping[str, Any], name: str) -> datetime | None:
    """The time of ``item``'s version (``version.<name>``, ISO 8601), if it is readable."""
    text = (item.get("version") or {}).get(name)
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _link_next(reply: Reply) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header, if any."""
    header = reply.headers.get("link") or ""
    match = re.search(r'<([^>]*)>\s*;\s*rel="?next"?', header)
    return match.group(1) if match else None
