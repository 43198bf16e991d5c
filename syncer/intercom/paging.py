"""Walk Intercom list replies page by page, lazily, stopping on a repeated cursor.

Intercom pages its lists in five ways; ``Pager`` hides which behind one iterator:

=================  ===================================================================
mechanism          the next page is asked for with
=================  ===================================================================
``page``           ``pages.next`` (a URL to follow) or, where a reply has no ``pages``
                   object, ``page`` + 1 while it is below ``total_pages``
``starting_after`` ``starting_after`` in the query, from ``pages.next.starting_after``
``search``         ``pagination.starting_after`` in the POST body, from the same place
``scroll``         ``scroll_param`` from the last reply, until a page comes back empty
``cursor``         ``cursor`` from ``next_cursor`` while ``has_more`` is true
=================  ===================================================================

A ``next`` that is a URL is followed whatever the mechanism (Intercom's own links).
Nothing is fetched until the pager is iterated, and each page only when the previous
one is used up. A request that was already sent is never sent again: a server that
hands back a cursor it gave before ends the walk (``repeated_cursor`` tells), so a
buggy cursor can cost one extra call, never an endless loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from syncer.errors import IntercomError
from syncer.intercom.operation import Mechanism, Request
from syncer.intercom.transport import Transport

PageT = TypeVar("PageT")
ItemT = TypeVar("ItemT")


class Pager(Generic[PageT, ItemT]):
    """Every item of a paginated operation, fetched lazily page by page.

    ``for item in pager`` walks the items; ``pager.pages()`` the typed page replies.
    After a walk, ``complete`` says whether it reached the list's end (rather than
    stopping on a repeated cursor) and ``pages_fetched`` how many calls it made.
    """

    def __init__(
        self,
        fetch: Callable[[Request], Any],
        first: Request,
        mechanism: Mechanism,
        items_field: str,
        parse: Callable[[Any], PageT],
        items: Callable[[PageT], Sequence[ItemT] | None],
    ) -> None:
        self._fetch = fetch
        self._first = first
        self._mechanism = mechanism
        self._items_field = items_field
        self._parse = parse
        self._items = items
        self.complete = False
        self.repeated_cursor = False
        self.pages_fetched = 0

    def __iter__(self) -> Iterator[ItemT]:
        for page in self.pages():
            yield from self._items(page) or ()

    def pages(self) -> Iterator[PageT]:
        """The page replies, typed, one request each, as they are asked for."""
        self.complete = self.repeated_cursor = False
        self.pages_fetched = 0
        sent: set[str] = set()
        request: Request | None = self._first
        previous: Mapping[str, Any] | None = None
        while request is not None:
            # A scroll sends the same scroll_param on purpose; it is stuck only when a
            # page comes back the same as the one before.
            key = _key(request)
            if self._mechanism != "scroll" and key in sent:
                self._repeated(request)
                return
            sent.add(key)
            reply = self._fetch(request)
            self.pages_fetched += 1
            if not isinstance(reply, Mapping):
                raise IntercomError(
                    f"{request.path}: expected a list object, got {type(reply).__name__}"
                )
            stuck = previous is not None and _same_page(previous, reply, self._items_field)
            if self._mechanism == "scroll" and stuck:
                self._repeated(request)
                return
            yield self._parse(reply)
            request = next_request(self._mechanism, request, reply, self._items_field)
            previous = reply
        self.complete = True

    def _repeated(self, request: Request) -> None:
        self.repeated_cursor = True
        import structlog

        structlog.get_logger("syncer.intercom").warning(
            "pagination_cursor_repeated", path=request.path, pages=self.pages_fetched
        )

    def first_page(self) -> PageT:
        """Just the first page (one request)."""
        return next(iter(self.pages()))


def next_request(
    mechanism: Mechanism,
    request: Request,
    reply: Mapping[str, Any],
    items_field: str,
) -> Request | None:
    """The request for the page after ``reply``, or None at the end of the list."""
    items = reply.get(items_field)
    pages = reply.get("pages")
    nxt = pages.get("next") if isinstance(pages, Mapping) else None
    if isinstance(nxt, str) and nxt:
        return Request(nxt, {}, request.body)  # Intercom's link carries the query
    if mechanism == "scroll":
        scroll = reply.get("scroll_param")
        if not items or not isinstance(scroll, str) or not scroll:
            return None
        return Request(request.path, {**request.query, "scroll_param": scroll}, request.body)
    if mechanism == "cursor":
        cursor = reply.get("next_cursor")
        if not reply.get("has_more") or not isinstance(cursor, str) or not cursor:
            return None
        return Request(request.path, {**request.query, "cursor": cursor}, request.body)
    cursor = nxt.get("starting_after") if isinstance(nxt, Mapping) else None
    if isinstance(cursor, str) and cursor:
        if mechanism == "search":
            body = dict(request.body or {})
            body["pagination"] = {**(body.get("pagination") or {}), "starting_after": cursor}
            return Request(request.path, request.query, body)
        return Request(request.path, {**request.query, "starting_after": cursor}, request.body)
    if mechanism == "page" and not isinstance(pages, Mapping) and items:
        # Audiences and content snippets: page counters at the top, no `pages` object.
        page, total = reply.get("page"), reply.get("total_pages")
        if isinstance(page, int) and isinstance(total, int) and page < total:
            return Request(request.path, {**request.query, "page": page + 1}, request.body)
    return None


def follow_next(
    transport: Transport, path: str, params: Mapping[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Items of ``data`` across pages linked by ``pages.next`` (a URL or a cursor object)."""
    pager: Pager[Mapping[str, Any], dict[str, Any]] = Pager(
        lambda request: transport.request("GET", request.path, params=request.query or None),
        Request(path, dict(params or {})),
        "starting_after",
        "data",
        lambda reply: reply,
        lambda reply: reply.get("data") or [],
    )
    return iter(pager)


def _key(request: Request) -> str:
    return json.dumps([request.path, request.query, request.body], sort_keys=True, default=str)


def _same_page(a: Mapping[str, Any], b: Mapping[str, Any], items_field: str) -> bool:
    return bool(
        a.get("scroll_param") == b.get("scroll_param")
        and json.dumps(a.get(items_field), sort_keys=True, default=str)
        == json.dumps(b.get(items_field), sort_keys=True, default=str)
    )
