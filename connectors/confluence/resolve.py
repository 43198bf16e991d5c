"""Answers the converter's questions about the site, each looked up at most once per run.

``SiteResolver`` implements ``convert.Resolver``: page links come from this run's
listing (title -> id) or Confluence's by-title URL; attachments from their page's id;
user names and included pages from lookups the connector plugs in (HTTP), cached, so a
user mentioned on a thousand pages costs one request, and a page included everywhere is
fetched once. Tests and ``preview`` plug in dictionaries or nothing.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from syncer.connectors.confluence.convert import Included, PageRef, UserRef
from syncer.connectors.confluence.site import Site


@dataclass(frozen=True, slots=True)
class FoundPage:
    """A page found by title: enough to link to it, include it, or refuse to."""

    id: str
    space_key: str
    title: str
    storage: str | None = None
    # Why the page must not reach Fin (its own or an ancestor's read restriction).
    restricted: str | None = None


FindPage = Callable[[str, str], FoundPage | None]
FindUsers = Callable[[list[UserRef]], Mapping[UserRef, str]]


def title_key(space_key: str, title: str) -> tuple[str, str]:
    """Page titles are unique per space, ignoring case."""
    return space_key.casefold(), title.strip().casefold()


class SiteResolver:
    """Thread-safe; one per run, so its caches live exactly as long as the run."""

    def __init__(
        self,
        site: Site,
        *,
        titles: Mapping[tuple[str, str], str] | None = None,
        find_page: FindPage | None = None,
        find_users: FindUsers | None = None,
        include_restricted: bool = False,
    ) -> None:
        self.site = site
        self.titles = dict(titles or {})
        self._find_page = find_page
        self._find_users = find_users
        self.include_restricted = include_restricted
        self.notes: Counter[str] = Counter()
        self._pages: dict[tuple[str, str], FoundPage | None] = {}
        self._users: dict[UserRef, str | None] = {}
        self._lock = threading.RLock()

    # ---- links ---------------------------------------------------------------------

    def page_link(self, space_key: str, title: str) -> str | None:
        page_id = self.titles.get(title_key(space_key, title))
        if page_id is not None:
            return self.site.document_url(page_id, space_key, title)
        return self.site.page_by_title(space_key, title)

    def blogpost_link(self, space_key: str, title: str, posting_day: str | None) -> str | None:
        return self.site.blogpost_by_title(space_key, title, posting_day)

    def space_link(self, space_key: str) -> str | None:
        return self.site.space_url(space_key)

    def content_link(self, content_id: str) -> str | None:
        return self.site.content_url(content_id)

    def site_link(self, href: str) -> str | None:
        return self.site.resolve_site_path(href)

    def attachment(
        self, owner: PageRef | None, space_key: str, title: str | None, filename: str
    ) -> str | None:
        if owner is not None and owner.id:
            return self.site.attachment_url(owner.id, filename)
        if title is None:
            return None
        page_id = self.titles.get(title_key(space_key, title))
        if page_id is None:
            found = self.find(space_key, title)
            page_id = found.id if found else None
        return self.site.attachment_url(page_id, filename) if page_id else None

    # ---- lookups -------------------------------------------------------------------

    def find(self, space_key: str, title: str) -> FoundPage | None:
        """The page ``title`` in ``space_key``, looked up once per run."""
        key = title_key(space_key, title)
        with self._lock:
            if key in self._pages:
                return self._pages[key]
        found = self._find_page(space_key, title) if self._find_page else None
        with self._lock:
            self._pages.setdefault(key, found)
            return self._pages[key]

    def page_body(self, space_key: str, title: str) -> Included | None:
        found = self.find(space_key, title)
        if found is None or found.storage is None:
            return None
        if found.restricted and not self.include_restricted:
            with self._lock:
                self.notes["include of a read-restricted page skipped"] += 1
            return None
        page = PageRef(
            id=found.id,
            space_key=found.space_key,
            title=found.title,
            url=self.site.document_url(found.id, found.space_key, found.title),
        )
        return Included(page, found.storage)

    def user(self, ref: UserRef) -> str | None:
        with self._lock:
            if ref in self._users:
                return self._users[ref]
        self.prefetch_users([ref])
        with self._lock:
            return self._users.get(ref)

    def prefetch_users(self, refs: Iterable[UserRef]) -> None:
        """Look up every user not yet known in one go (one request for many on Cloud)."""
        with self._lock:
            missing = list(dict.fromkeys(r for r in refs if r not in self._users))
        if not missing:
            return
        names = self._find_users(missing) if self._find_users else {}
        with self._lock:
            for ref in missing:
                self._users[ref] = names.get(ref)
