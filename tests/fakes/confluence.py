"""A stateful fake Confluence for tests: real HTTP on 127.0.0.1, Cloud or Data Center.

`FakeConfluence(deployment="cloud")` serves what the connector uses of Confluence Cloud
under ``/wiki``: REST v2 (spaces, pages and blog posts per space with cursor paging, by
id in bulk, users in bulk, attachments of the site by media type and of a page) and REST
v1 CQL search (cursor paging, ``expand``); attachments download from
``/download/attachments/<page>/<file>``, on both deployments, and on Cloud from REST v1's
``/rest/api/content/<page>/child/attachment/<id>/download`` too, which answers 302 to a
signed URL on a media host of its own (another origin, as ``api.media.atlassian.com``
is), which serves the file without credentials and records any it is sent as a
violation. ``cloud_downloads="media"`` is Cloud since its CHANGE-3007: the
``/download/attachments`` servlet then refuses API tokens (401), so only the REST
endpoint and its redirect deliver a file. Every
Cloud request is checked against Atlassian's published OpenAPI documents
(`tests/fakes/openapi.py`); one that breaks them is recorded in ``.violations`` and
answered 400, and leaving the ``with`` block raises if any were recorded.

`FakeConfluence(deployment="datacenter")` serves REST v1 under an optional context
path: spaces, ``/rest/api/content`` (and a page's ``child/attachment``) and CQL search (pages,
blog posts, attachments: ``type = attachment``) with offset paging (``start`` /
``limit``, ``totalSize``), with the server-side caps Data Center applies to ``limit``.
No OpenAPI document exists for Data Center; the fake checks its own few rules.

State is a small Confluence: spaces, pages and blog posts with versions, parents,
labels, read restrictions, statuses (current, archived, trashed; purged is gone),
attachments and users. A tiny CQL evaluator answers the queries the connector writes
(``space``, ``type``, ``label``, ``id``, ``title``, ``ancestor``; ``AND``/``OR``/``NOT``,
``IN``/``NOT IN``). Faults (`Faults`, shared with the fake Intercom) inject 5xx, 429
storms with ``Retry-After``, dropped connections and latency; Confluence-specific ones
truncate listing pages, throttle with a 403 as old servers did, and revoke the token.
Every request is counted, and so is every page body served.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from .intercom import Faults
from .openapi import OpenAPI, load_openapi
from .server import Handler, Running

__all__ = ["Call", "Content", "FakeConfluence", "Space", "User"]

SPECS = Path(__file__).resolve().parents[3] / "shared" / "confluence-openapi"
V2_SPEC = SPECS / "confluence-cloud-rest-v2.openapi.json"
V1_SPEC = SPECS / "confluence-cloud-rest-v1.openapi.json"
DEFAULT_EMAIL = "bot@acme.test"
DEFAULT_TOKEN = "confluence-token-1234"

Deployment = Literal["cloud", "datacenter"]
Json = Any
T = TypeVar("T")


# ---- state --------------------------------------------------------------------------


@dataclass
class Space:
    id: int
    key: str
    name: str


@dataclass
class Content:
    """A page or blog post. ``version`` moves on every edit, as in Confluence."""

    id: int
    type: str  # page | blogpost
    space_key: str
    title: str
    body: str
    version: int = 1
    status: str = "current"  # current | archived | trashed
    parent_id: int | None = None
    labels: set[str] = field(default_factory=set)
    read_users: list[str] = field(default_factory=list)
    read_groups: list[str] = field(default_factory=list)
    created: str = "2024-01-01T00:00:00.000Z"
    # When the current version was saved (``add_page`` and ``edit`` set it from the
    # fake's clock).
    modified: str | None = None

    @property
    def version_time(self) -> str:
        return self.modified or self.created


@dataclass
class Attachment:
    """A file attached to a page. ``version`` moves when a new file is uploaded over it."""

    id: int
    content_id: int
    filename: str
    data: bytes
    media_type: str = "application/octet-stream"
    version: int = 1

    @property
    def api_id(self) -> str:
        return f"att{self.id}"

    def download_link(self) -> str:
        """The link the APIs give, under the site (as Confluence writes it)."""
        return (
            f"/download/attachments/{self.content_id}/{quote(self.filename)}"
            f"?version={self.version}&modificationDate=1704067200000&api=v2"
        )


@dataclass
class User:
    display_name: str
    account_id: str | None = None
    userkey: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class Call:
    """One request as the fake saw it."""

    method: str
    path: str
    query: str
    status: int | None
    outcome: str  # ok, violation, unauthorized, rate_limited, throttled, fault, dropped
    bodies: int  # page or blog post bodies in the reply


class CqlError(ValueError):
    """The CQL could not be parsed (Confluence answers 400)."""


# ---- the server ---------------------------------------------------------------------


class FakeConfluence:
    """A fake Confluence on 127.0.0.1 (see the module docstring).

    Args:
        deployment: ``cloud`` (Basic auth with ``email``:``token``, under ``/wiki``) or
            ``datacenter`` (Bearer ``token``, under ``context``).
        page_cap: the most items one listing page returns, whatever ``limit`` asks
            (Cloud v2 honours up to 250; Data Center caps lower).
        search_cap / body_search_cap: the same for CQL search, without and with bodies.
        retry_after: seconds in the ``Retry-After`` of 429s and injected 503s.
        rate_limit: Data Center's token bucket (capacity, refill per second), or None.
        restricted_visible: whether the bot account can see read-restricted content.
        cloud_downloads: ``servlet`` (``/download/attachments`` serves files to API
            tokens, as Cloud did before CHANGE-3007) or ``media`` (it answers 401 to them,
            as Cloud does since: files come through the REST endpoint's redirect only).
    """

    def __init__(
        self,
        deployment: Deployment = "cloud",
        *,
        email: str = DEFAULT_EMAIL,
        token: str = DEFAULT_TOKEN,
        context: str | None = None,
        page_cap: int | None = None,
        search_cap: int | None = None,
        body_search_cap: int | None = None,
        retry_after: int = 1,
        rate_limit: tuple[int, float] | None = None,
        restricted_visible: bool = True,
        strict: bool = True,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        cloud_downloads: Literal["servlet", "media"] = "servlet",
    ) -> None:
        self.deployment = deployment
        self.cloud_downloads = cloud_downloads
        self.email = email
        self.token = token
        self.context = ("/wiki" if deployment == "cloud" else "") if context is None else context
        cloud = deployment == "cloud"
        self.page_cap = page_cap or (250 if cloud else 100)
        self.search_cap = search_cap or (100 if cloud else 50)
        self.body_search_cap = body_search_cap or (50 if cloud else 25)
        self.retry_after = retry_after
        self.restricted_visible = restricted_visible
        self.strict = strict
        self.clock = clock
        self.faults = Faults(seed)
        self.throttle_status = 429  # 403: throttle like an old server behind a proxy
        self._bucket = _Bucket(*rate_limit, clock=clock) if rate_limit else None
        self._v2: OpenAPI | None = load_openapi(V2_SPEC, "/wiki/api/v2") if cloud else None
        self._v1: OpenAPI | None = load_openapi(V1_SPEC, "") if cloud else None
        self._lock = threading.RLock()
        self._running: Running | None = None
        self._stopping = threading.Event()
        self.spaces: dict[str, Space] = {}
        self.contents: dict[int, Content] = {}
        self.attachments: dict[int, Attachment] = {}
        self.users: list[User] = []
        self._space_ids = itertools.count(98_000)
        self._content_ids = itertools.count(1_000_001)
        self._calls: list[Call] = []
        self._violations: list[str] = []
        # A space of N pages is listed in N/250 requests, and a split run lists it once
        # per batch: what a v2 listing shows (its content, oldest first) and each item's
        # fields are kept until the state changes (`_changed`), so a listing page costs
        # time in its own size, not the space's.
        self._listed: dict[tuple[Any, ...], list[Content]] = {}
        self._items: dict[int, dict[str, Any]] = {}
        self._titles: dict[str, list[Content]] | None = None  # casefolded title -> content
        self._truncations: list[tuple[str, int]] = []  # (path prefix, remaining)
        self._revoked = False
        self._media: Running | None = None
        self._media_served: list[str] = []  # the files the media host sent, by servlet path
        self._media_secret = f"media-{seed}"

    # ---- lifecycle --------------------------------------------------------------

    def start(self) -> FakeConfluence:
        if self._running is not None:
            return self
        self._stopping.clear()
        self._running = Running(("127.0.0.1", 0), self, "fake-confluence")
        if self.deployment == "cloud":
            self._media = Running(("127.0.0.1", 0), _MediaHost(self), "fake-confluence-media")
        return self

    def stop(self) -> None:
        running, self._running = self._running, None
        if running is None:
            return
        self._stopping.set()
        running.stop()
        media, self._media = self._media, None
        if media is not None:
            media.stop()

    def __enter__(self) -> FakeConfluence:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self.strict and exc_type is None:
            self.assert_no_violations()

    @property
    def port(self) -> int:
        if self._running is None:
            raise RuntimeError("FakeConfluence is not running")
        return self._running.port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What an admin writes as ``base_url``: the site with its context path."""
        return self.origin + self.context

    # ---- observability ----------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def requests(self) -> int:
        """Every request received, whatever its outcome."""
        with self._lock:
            return len(self._calls)

    @property
    def bodies_served(self) -> int:
        """Page and blog post bodies sent, over all replies."""
        with self._lock:
            return sum(call.bodies for call in self._calls)

    @property
    def violations(self) -> list[str]:
        with self._lock:
            return list(self._violations)

    def assert_no_violations(self) -> None:
        found = self.violations
        if found:
            listing = "\n  ".join(found)
            raise AssertionError(f"Requests broke the Confluence spec ({len(found)}):\n  {listing}")

    # ---- state, seeded directly -------------------------------------------------

    def add_space(self, key: str, name: str | None = None) -> Space:
        with self._lock:
            space = Space(next(self._space_ids), key, name or f"Space {key}")
            self.spaces[key] = space
            self._changed()
            return space

    def add_page(
        self,
        space_key: str,
        title: str,
        body: str = "",
        *,
        parent: int | None = None,
        labels: tuple[str, ...] = (),
        kind: str = "page",
        status: str = "current",
    ) -> Content:
        with self._lock:
            if space_key not in self.spaces:
                self.add_space(space_key)
            content = Content(
                id=next(self._content_ids),
                type=kind,
                space_key=space_key,
                title=title,
                body=body or f"<p>{title}</p>",
                parent_id=parent,
                labels=set(labels),
                status=status,
                modified=_iso(self.clock()),
            )
            self.contents[content.id] = content
            self._changed()
            return content

    def edit(self, content_id: int, *, body: str | None = None, title: str | None = None) -> None:
        """A new version: what an author saving the page does."""
        with self._lock:
            content = self.contents[content_id]
            content.body = body if body is not None else content.body + "<p>edited</p>"
            content.title = title if title is not None else content.title
            content.version += 1
            content.modified = _iso(self.clock())
            self._changed()

    def move(self, content_id: int, space_key: str, parent: int | None = None) -> None:
        """Move to another space; Confluence keeps the version number."""
        with self._lock:
            if space_key not in self.spaces:
                self.add_space(space_key)
            content = self.contents[content_id]
            content.space_key, content.parent_id = space_key, parent
            self._changed()

    def set_status(self, content_id: int, status: str) -> None:
        """``trashed`` (in the space's trash), ``archived``, or back to ``current``."""
        with self._lock:
            self.contents[content_id].status = status
            self._changed()

    def purge(self, content_id: int) -> None:
        """Deleted for good (emptied from the trash)."""
        with self._lock:
            del self.contents[content_id]
            self._changed()

    def restrict(
        self, content_id: int, users: tuple[str, ...] = ("admin",), groups: tuple[str, ...] = ()
    ) -> None:
        """Read restrictions on the content (and so on its descendants)."""
        with self._lock:
            content = self.contents[content_id]
            content.read_users, content.read_groups = list(users), list(groups)
            self._changed()

    def label(self, content_id: int, *labels: str, remove: bool = False) -> None:
        with self._lock:
            content = self.contents[content_id]
            if remove:
                content.labels -= set(labels)
            else:
                content.labels |= set(labels)
            self._changed()

    def _changed(self) -> None:
        """Forget the kept listings, items and titles: a space or its content changed."""
        self._listed.clear()
        self._items.clear()
        self._titles = None

    def add_attachment(
        self,
        content_id: int,
        filename: str,
        data: bytes = b"data",
        media_type: str | None = None,
    ) -> Attachment:
        """A file attached to a page; the media type is guessed from its name, as
        Confluence does, unless given."""
        with self._lock:
            guessed = media_type or _MEDIA_TYPES.get(
                filename.rpartition(".")[2].lower(), "application/octet-stream"
            )
            attachment = Attachment(next(self._content_ids), content_id, filename, data, guessed)
            self.attachments[attachment.id] = attachment
            return attachment

    def upload(self, attachment_id: int, data: bytes) -> None:
        """A new version of the file, uploaded over the old one."""
        with self._lock:
            attachment = self.attachments[attachment_id]
            attachment.data = data
            attachment.version += 1

    def move_attachment(self, attachment_id: int, content_id: int) -> None:
        """The file moved to another page (its version stays)."""
        with self._lock:
            self.attachments[attachment_id].content_id = content_id

    def delete_attachment(self, attachment_id: int) -> None:
        with self._lock:
            del self.attachments[attachment_id]

    @property
    def downloads(self) -> list[str]:
        """The attachment files served, by their ``/download/attachments`` path, over all
        replies: the servlet's, and the media host's after a redirect."""
        with self._lock:
            return [
                call.path
                for call in self._calls
                if call.status == 200 and call.path.startswith(self.context + "/download/")
            ] + list(self._media_served)

    @property
    def media_origin(self) -> str:
        """Where Cloud's download redirects point: another origin than the site's."""
        if self._media is None:
            raise RuntimeError("FakeConfluence is not running on Cloud")
        return f"http://127.0.0.1:{self._media.port}"

    def add_user(self, display_name: str, **ids: str) -> User:
        with self._lock:
            user = User(display_name, **ids)
            self.users.append(user)
            return user

    # ---- faults -----------------------------------------------------------------

    def revoke_token(self) -> None:
        """Every request from now on gets 401, as after the token was revoked."""
        self._revoked = True

    def truncate(self, times: int, path_prefix: str = "") -> None:
        """The next ``times`` listing pages under ``path_prefix`` come back cut short.

        Cloud: half the items, with a ``next`` link that continues after them. Data
        Center: half the items and no ``next`` link, while ``totalSize`` says more.
        ``times=-1``: the next listing page is empty while the totals say more.
        """
        with self._lock:
            self._truncations.append((path_prefix, times))

    def _take_truncation(self, path: str) -> int:
        """0: no truncation; 1: halve; -1: empty page."""
        with self._lock:
            for i, (prefix, remaining) in enumerate(self._truncations):
                if remaining != 0 and path.startswith(prefix):
                    if remaining == -1:
                        self._truncations[i] = (prefix, 0)
                        return -1
                    self._truncations[i] = (prefix, remaining - 1)
                    return 1
        return 0

    # ---- visibility and paths ---------------------------------------------------

    def ancestors(self, content: Content) -> list[Content]:
        """Root first, as Confluence lists them."""
        chain: list[Content] = []
        seen = {content.id}
        parent = content.parent_id
        while parent is not None and parent in self.contents and parent not in seen:
            seen.add(parent)
            chain.append(self.contents[parent])
            parent = self.contents[parent].parent_id
        return list(reversed(chain))

    def is_restricted(self, content: Content) -> bool:
        return any(c.read_users or c.read_groups for c in [content, *self.ancestors(content)])

    def _visible(self, content: Content) -> bool:
        return self.restricted_visible or not self.is_restricted(content)

    def webui(self, content: Content) -> str:
        if self.deployment == "cloud":
            kind = "pages" if content.type == "page" else "blog"
            return f"/spaces/{content.space_key}/{kind}/{content.id}/{quote(content.title)}"
        return f"/pages/viewpage.action?pageId={content.id}"

    # ---- request pipeline -------------------------------------------------------

    def _serve(self, handler: Handler) -> None:
        split = urlsplit(handler.path)
        path, query = unquote(split.path), split.query
        method = handler.command
        body = handler.read_body()
        delay = self.faults.latency(method, path)
        if delay:
            self._stopping.wait(delay)
        if self.faults.take_drop(method, path):
            self._log(method, path, query, None, "dropped", 0)
            handler.drop()
            return
        reply, outcome = self._decide(method, path, query, handler, body)
        self._log(method, path, query, reply.status, outcome, reply.bodies)
        self._send(handler, reply)

    def _decide(
        self, method: str, path: str, query: str, handler: Handler, body: bytes
    ) -> tuple[_Reply, str]:
        if self._revoked or not self._authorised(handler.headers.get("Authorization", "")):
            return self._error(401, "Unauthorized: the credentials are wrong or revoked"), (
                "unauthorized"
            )
        quota = self._bucket.take() if self._bucket else None
        if quota is not None and quota.over:
            return self._throttled(quota.headers()), "rate_limited"
        if self.faults.take_storm(method, path):
            return self._throttled({}), "throttled" if self.throttle_status == 403 else (
                "rate_limited"
            )
        status = self.faults.take_error(method, path)
        if status is not None:
            headers = {"Retry-After": str(self.retry_after)} if status == 503 else {}
            return self._error(status, "Injected fault", headers), "fault"
        problems = self._check(method, path, query, handler, body)
        if problems:
            with self._lock:
                self._violations.extend(problems)
            return self._error(400, "; ".join(problems)), "violation"
        try:
            reply = self._route(method, path, parse_qs(query, keep_blank_values=True), body)
        except CqlError as exc:
            reply = self._error(400, f"Could not parse cql : {exc}")
        if quota is not None:
            reply = _Reply(
                reply.status, reply.body, {**reply.headers, **quota.headers()}, reply.bodies
            )
        return reply, "ok" if reply.status < 400 else "error"

    def _authorised(self, header: str) -> bool:
        if self.deployment == "datacenter":
            return header == f"Bearer {self.token}"
        expected = base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
        return header == f"Basic {expected}"

    def _throttled(self, headers: Mapping[str, str]) -> _Reply:
        reset = datetime.fromtimestamp(self.clock() + self.retry_after, UTC)
        merged = {
            "Retry-After": str(self.retry_after),
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
            **headers,
        }
        if self.throttle_status == 403:
            return _Reply(403, {"message": "Rate limit exceeded. Try again later."}, merged)
        return _Reply(429, {"message": "Too many requests"}, merged)

    def _check(
        self, method: str, path: str, query: str, handler: Handler, body: bytes
    ) -> list[str]:
        if self.deployment != "cloud":
            return self._check_datacenter(method, path, query)
        if path.startswith("/wiki/download/"):
            return []
        spec = self._v2 if path.startswith("/wiki/api/v2/") else self._v1
        assert spec is not None
        check = spec.check_request(
            method,
            path,
            query=query,
            headers=dict(handler.headers.items()),
            body=body,
            content_type=handler.headers.get("Content-Type"),
        )
        return list(check.violations)

    def _check_datacenter(self, method: str, path: str, query: str) -> list[str]:
        params = parse_qs(query, keep_blank_values=True)
        problems = []
        for name in ("start", "limit"):
            for value in params.get(name, []):
                if not value.isdigit():
                    problems.append(f"{method} {path}: query.{name}: {value!r} is not a number")
        if path.endswith("/rest/api/content/search") and not params.get("cql"):
            problems.append(f"{method} {path}: query.cql: required parameter is missing")
        return problems

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> _Reply:
        if not path.startswith(self.context + "/") and self.context:
            return self._error(404, f"No such path {path}")
        local = path[len(self.context) :]
        with self._lock:
            if self.deployment == "cloud":
                return self._route_cloud(method, local, path, query, body)
            return self._route_datacenter(method, local, path, query)

    def _route_cloud(
        self, method: str, local: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> _Reply:
        if method == "POST" and local == "/api/v2/users-bulk":
            return self._users_bulk(json.loads(body or b"{}"))
        if method != "GET":
            return self._error(405, f"{method} is not served by the fake")
        if local == "/api/v2/spaces":
            return self._v2_spaces(path, query)
        if match := re.fullmatch(r"/api/v2/spaces/(\d+)/(pages|blogposts)", local):
            space = next((s for s in self.spaces.values() if s.id == int(match[1])), None)
            if space is None:
                return self._error(404, "Space not found")
            kind = "page" if match[2] == "pages" else "blogpost"
            return self._v2_contents(path, query, kind, space_key=space.key)
        if local in ("/api/v2/pages", "/api/v2/blogposts"):
            kind = "page" if local.endswith("pages") else "blogpost"
            return self._v2_contents(path, query, kind, space_key=None)
        if match := re.fullmatch(r"/api/v2/(pages|blogposts)/(\d+)", local):
            return self._v2_content(int(match[2]), query)
        if local == "/api/v2/attachments":
            return self._v2_attachments(path, query, None)
        if match := re.fullmatch(r"/api/v2/(?:pages|blogposts)/(\d+)/attachments", local):
            return self._v2_attachments(path, query, int(match[1]))
        if local == "/rest/api/content/search":
            return self._search(path, query)
        if local == "/rest/api/user":
            return self._user(query)
        if match := re.fullmatch(
            r"/rest/api/content/(\d+)/child/attachment/([^/]+)/download", local
        ):
            return self._redirect_to_media(int(match[1]), match[2])
        if match := re.fullmatch(r"/download/attachments/(\d+)/(.+)", local):
            if self.cloud_downloads == "media":
                # CHANGE-3007: the servlet no longer takes API tokens; the REST one does.
                return self._error(401, "Unauthorized: this URL does not accept API tokens")
            return self._download(int(match[1]), match[2])
        return self._error(404, f"No such path {path}")

    def _route_datacenter(
        self, method: str, local: str, path: str, query: dict[str, list[str]]
    ) -> _Reply:
        if method != "GET":
            return self._error(405, f"{method} is not served by the fake")
        if local == "/rest/api/space":
            keys = query.get("spaceKey", [])
            spaces = [s for s in self.spaces.values() if not keys or s.key in keys]
            return self._offset_page(path, query, spaces, self._v1_space, self.page_cap)
        if match := re.fullmatch(r"/rest/api/space/([^/]+)", local):
            space = self.spaces.get(match[1])
            return _Reply(200, self._v1_space(space)) if space else self._error(404, "No space")
        if local == "/rest/api/content":
            return self._dc_content_list(path, query)
        if match := re.fullmatch(r"/rest/api/content/(\d+)/child/attachment", local):
            expand = _expand(query)
            files = [a for a in self._current_attachments() if a.content_id == int(match[1])]
            return self._offset_page(
                path, query, files, lambda a: self._v1_attachment(a, expand), self.page_cap
            )
        if match := re.fullmatch(r"/rest/api/content/(\d+)", local):
            content = self.contents.get(int(match[1]))
            if content is None or not self._visible(content) or content.status != "current":
                return self._error(404, "No content found with id")
            expand = _expand(query)
            item = self._v1_content(content, expand)
            return _Reply(200, item, bodies=int("body.storage" in expand))
        if local == "/rest/api/content/search":
            return self._search(path, query)
        if local == "/rest/api/user":
            return self._user(query)
        if match := re.fullmatch(r"/download/attachments/(\d+)/(.+)", local):
            return self._download(int(match[1]), match[2])
        return self._error(404, f"No such path {path}")

    # ---- Cloud v2 ---------------------------------------------------------------

    def _v2_spaces(self, path: str, query: dict[str, list[str]]) -> _Reply:
        keys = set(query.get("keys", []))
        spaces = [s for s in self.spaces.values() if not keys or s.key in keys]
        return self._cursor_page(path, query, sorted(spaces, key=lambda s: s.id), self._v2_space)

    def _v2_space(self, space: Space) -> dict[str, Any]:
        return {
            "id": str(space.id),
            "key": space.key,
            "name": space.name,
            "type": "global",
            "status": "current",
            "_links": {"webui": f"/spaces/{space.key}"},
        }

    def _v2_contents(
        self, path: str, query: dict[str, list[str]], kind: str, space_key: str | None
    ) -> _Reply:
        default = ["current", "archived"] if kind == "page" else ["current"]
        statuses = frozenset(query.get("status") or default)
        ids = frozenset(int(i) for i in query.get("id", []))
        space_ids = frozenset(int(i) for i in query.get("space-id", []))
        key = (kind, statuses, space_key, ids, space_ids)
        found = self._listed.get(key)
        if found is None:
            # Content asked for by id is looked up, not found by a scan of the site.
            candidates = (
                [self.contents[i] for i in sorted(ids) if i in self.contents]
                if ids
                else sorted(self.contents.values(), key=lambda c: c.id)
            )
            found = [
                c
                for c in candidates
                if c.type == kind
                and c.status in statuses
                and self._visible(c)
                and (space_key is None or c.space_key == space_key)
                and (not space_ids or self.spaces[c.space_key].id in space_ids)
            ]
            if not ids:  # a bulk read by id is asked once; a listing, page by page
                self._listed[key] = found
        with_body = query.get("body-format", [""])[-1] == "storage"
        reply = self._cursor_page(path, query, found, lambda c: self._v2_item(c, with_body))
        if with_body:
            reply = _Reply(reply.status, reply.body, reply.headers, len(reply.body["results"]))
        return reply

    def _v2_content(self, content_id: int, query: dict[str, list[str]]) -> _Reply:
        content = self.contents.get(content_id)
        if content is None or not self._visible(content) or content.status == "trashed":
            return self._error(404, "Content not found")
        with_body = query.get("body-format", [""])[-1] == "storage"
        return _Reply(200, self._v2_item(content, with_body), bodies=int(with_body))

    def _v2_item(self, content: Content, with_body: bool) -> dict[str, Any]:
        item = self._items.get(content.id)
        if item is None:
            item = self._items[content.id] = self._v2_fields(content)
        if with_body:
            body = {"storage": {"representation": "storage", "value": content.body}}
            return {**item, "body": body}
        return item

    def _v2_fields(self, content: Content) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": str(content.id),
            "status": content.status,
            "title": content.title,
            "spaceId": str(self.spaces[content.space_key].id),
            "authorId": "557058:author",
            "createdAt": content.created,
            "version": {
                "number": content.version,
                "createdAt": content.version_time,
                "message": "",
                "minorEdit": False,
                "authorId": "557058:author",
            },
            "_links": {"webui": self.webui(content), "tinyui": f"/x/{content.id}"},
        }
        if content.parent_id is not None and content.type == "page":
            item["parentId"] = str(content.parent_id)
            item["parentType"] = "page"
        return item

    def _current_attachments(self) -> list[Attachment]:
        """Attachments of current content the bot may see, oldest first."""
        return [
            a
            for a in sorted(self.attachments.values(), key=lambda a: a.id)
            if (page := self.contents.get(a.content_id)) is not None
            and page.status == "current"
            and self._visible(page)
        ]

    def _v2_attachments(
        self, path: str, query: dict[str, list[str]], content_id: int | None
    ) -> _Reply:
        media_type = query.get("mediaType", [None])[-1]
        statuses = set(query.get("status") or ["current"])
        found = [
            a
            for a in self._current_attachments()
            if "current" in statuses
            and (media_type is None or a.media_type == media_type)
            and (content_id is None or a.content_id == content_id)
        ]
        return self._cursor_page(path, query, found, self._v2_attachment)

    def _v2_attachment(self, attachment: Attachment) -> dict[str, Any]:
        page = self.contents[attachment.content_id]
        link = attachment.download_link()
        item: dict[str, Any] = {
            "id": attachment.api_id,
            "status": "current",
            "title": attachment.filename,
            "createdAt": page.created,
            "mediaType": attachment.media_type,
            "mediaTypeDescription": "",
            "comment": "",
            "fileId": f"file-{attachment.id}",
            "fileSize": len(attachment.data),
            "webuiLink": f"/pages/viewpageattachments.action?pageId={page.id}",
            "downloadLink": link,
            "version": {
                "number": attachment.version,
                "createdAt": page.created,
                "message": "",
                "minorEdit": False,
                "authorId": "557058:author",
            },
            "_links": {
                "download": link,
                "webui": f"/pages/viewpageattachments.action?pageId={page.id}",
            },
        }
        item["pageId" if page.type == "page" else "blogPostId"] = str(page.id)
        return item

    def _v1_attachment(self, attachment: Attachment, expand: set[str]) -> dict[str, Any]:
        page = self.contents[attachment.content_id]
        item: dict[str, Any] = {
            "id": attachment.api_id,
            "type": "attachment",
            "status": "current",
            "title": attachment.filename,
            "metadata": {"mediaType": attachment.media_type},
            "extensions": {
                "mediaType": attachment.media_type,
                "fileSize": len(attachment.data),
                "comment": "",
            },
            "_links": {
                "webui": f"/pages/viewpageattachments.action?pageId={page.id}",
                "download": attachment.download_link(),
            },
            "_expandable": {},
        }
        if "version" in expand:
            item["version"] = {"number": attachment.version, "when": page.created}
        if "container" in expand:
            item["container"] = {
                "id": str(page.id),
                "type": page.type,
                "status": page.status,
                "title": page.title,
            }
        return item

    def _users_bulk(self, body: Mapping[str, Any]) -> _Reply:
        wanted = set(body.get("accountIds") or [])
        found = [
            {"accountId": u.account_id, "displayName": u.display_name, "accountType": "atlassian"}
            for u in self.users
            if u.account_id in wanted
        ]
        return _Reply(200, {"results": found, "_links": {"base": self.base_url}})

    def _cursor_page(
        self,
        path: str,
        query: dict[str, list[str]],
        found: Sequence[T],
        show: Callable[[T], dict[str, Any]],
    ) -> _Reply:
        """One page of a Cloud cursor listing of ``found``, each shown by ``show`` (only
        the page's own): ``_links.next`` and a ``Link`` header."""
        limit = int(query.get("limit", ["25"])[-1])
        offset = _decode_cursor(query.get("cursor", [""])[-1])
        size = min(limit, self.page_cap)
        chunk = found[offset : offset + size]
        if self._take_truncation(path) and len(chunk) > 1:
            chunk = chunk[: len(chunk) // 2]
        body: dict[str, Any] = {
            "results": [show(x) for x in chunk],
            "_links": {"base": self.base_url},
        }
        headers: dict[str, str] = {}
        end = offset + len(chunk)
        if end < len(found):
            rest = {k: v for k, v in query.items() if k != "cursor"}
            rest["cursor"] = [_encode_cursor(end)]
            following = f"{path}?{urlencode(rest, doseq=True)}"
            body["_links"]["next"] = following
            headers["Link"] = f'<{following}>; rel="next", <{self.base_url}>; rel="base"'
        return _Reply(200, body, headers)

    # ---- v1 (Cloud search, Data Center) -----------------------------------------

    def _search(self, path: str, query: dict[str, list[str]]) -> _Reply:
        cql = query.get("cql", [""])[-1]
        predicate, order = parse_cql(cql)
        expand = _expand(query)
        files = {
            a.id: Content(a.id, "attachment", self.contents[a.content_id].space_key, a.filename, "")
            for a in self._current_attachments()
        }
        for file_id, content in files.items():
            content.parent_id = self.attachments[file_id].content_id
        found = [
            c
            for c in self._searched(cql, files)
            if c.status == "current" and self._visible(c) and predicate(_Facts(self, c))
        ]
        found.sort(key=order)
        cap = self.body_search_cap if "body.storage" in expand else self.search_cap

        def show(c: Content) -> dict[str, Any]:
            if c.type == "attachment":
                return self._v1_attachment(self.attachments[c.id], expand)
            return self._v1_content(c, expand)

        reply = self._offset_page(path, query, found, show, cap, totals=True)
        bodies = len(reply.body["results"]) if "body.storage" in expand else 0
        return _Reply(reply.status, reply.body, reply.headers, bodies)

    def _searched(self, cql: str, files: Mapping[int, Content]) -> list[Content]:
        """What a search may find: the content and ``files`` of the ids or titles the
        query is narrowed to (`_narrowing`), looked up, else the whole site. The connector
        asks by ids for restrictions and by title for included pages, a few queries per
        batch it fetches: those do not scan the site. The predicate still decides."""
        narrowed = _narrowing(cql)
        if narrowed is None:
            return [*self.contents.values(), *files.values()]
        name, values = narrowed
        if name == "id":
            ids = {int(v) for v in values if v.isdigit()}
            return [c for i in ids for c in (self.contents.get(i), files.get(i)) if c]
        if self._titles is None:
            self._titles = {}
            for content in self.contents.values():
                self._titles.setdefault(content.title.casefold(), []).append(content)
        found = [c for v in values for c in self._titles.get(v, [])]
        return found + [f for f in files.values() if f.title.casefold() in values]

    def _dc_content_list(self, path: str, query: dict[str, list[str]]) -> _Reply:
        space_key = query.get("spaceKey", [""])[-1]
        kind = query.get("type", ["page"])[-1]
        status = query.get("status", ["current"])[-1]
        expand = _expand(query)
        found = [
            c
            for c in sorted(self.contents.values(), key=lambda c: c.id)
            if c.type == kind
            and c.status == status
            and self._visible(c)
            and (not space_key or c.space_key == space_key)
        ]
        return self._offset_page(
            path, query, found, lambda c: self._v1_content(c, expand), self.page_cap
        )

    def _offset_page(
        self,
        path: str,
        query: dict[str, list[str]],
        found: Sequence[T],
        show: Callable[[T], dict[str, Any]],
        cap: int,
        *,
        totals: bool = False,
    ) -> _Reply:
        """One page of a v1 listing of ``found``, each shown by ``show`` (only the page's
        own): Cloud search pages by cursor, Data Center by offset."""
        limit = min(int(query.get("limit", ["25"])[-1]), cap)
        cursor = self.deployment == "cloud"
        start = _decode_cursor(query.get("cursor", [""])[-1]) if cursor else 0
        if not cursor:
            start = int(query.get("start", ["0"])[-1])
        chunk = found[start : start + limit]
        truncation = self._take_truncation(path)
        if truncation == -1:
            chunk = found[:0]
        elif truncation and len(chunk) > 1:
            chunk = chunk[: len(chunk) // 2]
        end = start + len(chunk)
        links: dict[str, Any] = {"base": self.base_url, "context": self.context}
        if end < len(found) and not (truncation and not cursor):
            rest = {k: v for k, v in query.items() if k not in ("cursor", "start")}
            if cursor:
                rest["cursor"] = [_encode_cursor(end)]
            else:
                rest["start"] = [str(end)]
            rest["limit"] = [str(limit)]
            local = path[len(self.context) :]
            links["next"] = f"{local}?{urlencode(rest, doseq=True)}"
        body: dict[str, Any] = {
            "results": [show(x) for x in chunk],
            "start": start,
            "limit": limit,
            "size": len(chunk),
            "_links": links,
        }
        if totals:
            body["totalSize"] = len(found)
        return _Reply(200, body)

    def _v1_space(self, space: Space) -> dict[str, Any]:
        return {
            "id": space.id,
            "key": space.key,
            "name": space.name,
            "type": "global",
            "status": "current",
            "_expandable": {},
            "_links": {"webui": f"/display/{space.key}"},
        }

    def _v1_content(self, content: Content, expand: set[str]) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": str(content.id),
            "type": content.type,
            "status": content.status,
            "title": content.title,
            "_links": {"webui": self.webui(content)},
            "_expandable": {},
        }
        if "space" in expand:
            item["space"] = self._v1_space(self.spaces[content.space_key])
        if "version" in expand:
            item["version"] = {
                "number": content.version,
                "when": content.version_time,
                "minorEdit": False,
            }
        if "ancestors" in expand:
            item["ancestors"] = [
                {"id": str(a.id), "type": a.type, "status": a.status, "title": a.title}
                for a in self.ancestors(content)
            ]
        if "body.storage" in expand:
            item["body"] = {"storage": {"value": content.body, "representation": "storage"}}
        if any(e.startswith("restrictions.read") for e in expand):
            users = [self._restriction_user(name) for name in content.read_users]
            groups = [{"type": "group", "name": name} for name in content.read_groups]
            item["restrictions"] = {
                "read": {
                    "operation": "read",
                    "restrictions": {
                        "user": {"results": users, "size": len(users), "start": 0, "limit": 200},
                        "group": {"results": groups, "size": len(groups), "start": 0, "limit": 200},
                    },
                    "_expandable": {},
                    "_links": {},
                }
            }
        return item

    def _restriction_user(self, name: str) -> dict[str, Any]:
        if self.deployment == "cloud":
            return {"type": "known", "accountId": name, "displayName": name}
        return {"type": "known", "username": name, "userKey": name, "displayName": name}

    def _user(self, query: dict[str, list[str]]) -> _Reply:
        account = query.get("accountId", [None])[-1]
        key = query.get("key", [None])[-1]
        username = query.get("username", [None])[-1]
        for user in self.users:
            if (
                (account and user.account_id == account)
                or (key and user.userkey == key)
                or (username and user.username == username)
            ):
                body = {
                    "type": "known",
                    "displayName": user.display_name,
                    "accountId": user.account_id,
                    "userKey": user.userkey,
                    "username": user.username,
                }
                return _Reply(200, {k: v for k, v in body.items() if v is not None})
        return self._error(404, "No user found")

    def _redirect_to_media(self, content_id: int, attachment_id: str) -> _Reply:
        found = next(
            (
                a
                for a in self._current_attachments()
                if a.api_id == attachment_id and a.content_id == content_id
            ),
            None,
        )
        if found is None:
            return self._error(404, "No attachment")
        token = self._media_token(found)
        signed = {"token": token, "client": "fake", "dl": "true", "name": found.filename}
        location = f"{self.media_origin}/file/file-{found.id}/binary?{urlencode(signed)}"
        return _Reply(302, None, {"Location": location})

    def _media_token(self, attachment: Attachment) -> str:
        """The signature of one version of one file: it is the media host's only key."""
        raw = f"{self._media_secret}:{attachment.id}:{attachment.version}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _serve_media(self, handler: Handler) -> None:
        split = urlsplit(handler.path)
        query = parse_qs(split.query)
        reply = self._error(404, "No such file")
        with self._lock:
            if handler.headers.get("Authorization"):
                self._violations.append(
                    f"GET {split.path}: the site's credentials were sent to the media host"
                )
                reply = self._error(400, "Credentials of another host")
            elif match := re.fullmatch(r"/file/file-(\d+)/binary", split.path):
                found = self.attachments.get(int(match[1]))
                if found is not None and query.get("token") == [self._media_token(found)]:
                    reply = _Reply(200, found.data, {"Content-Type": found.media_type})
                    self._media_served.append(
                        f"{self.context}/download/attachments/{found.content_id}/{found.filename}"
                    )
                elif found is not None:
                    reply = self._error(401, "The token is expired or not for this file")
        self._send(handler, reply)

    def _download(self, content_id: int, filename: str) -> _Reply:
        for attachment in self.attachments.values():
            if attachment.content_id == content_id and attachment.filename == filename:
                return _Reply(200, attachment.data, {"Content-Type": attachment.media_type})
        return self._error(404, "No attachment")

    # ---- plumbing ---------------------------------------------------------------

    def _error(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> _Reply:
        if self.deployment == "cloud":
            body = {"errors": [{"status": status, "code": _reason(status), "title": message}]}
        else:
            body = {"statusCode": status, "message": message, "reason": _reason(status)}
        return _Reply(status, body, dict(headers or {}))

    def _log(
        self, method: str, path: str, query: str, status: int | None, outcome: str, bodies: int
    ) -> None:
        with self._lock:
            self._calls.append(Call(method, path, query, status, outcome, bodies))

    def _send(self, handler: Handler, reply: _Reply) -> None:
        data = reply.encode()
        handler.send_response(reply.status)
        headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
        headers["Content-Length"] = str(len(data))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)


class _MediaHost:
    """The media host Cloud's downloads redirect to: a server of its own (another
    origin), answering from the fake's state."""

    def __init__(self, fake: FakeConfluence) -> None:
        self.fake = fake

    def _serve(self, handler: Handler) -> None:
        self.fake._serve_media(handler)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Json = None
    headers: Mapping[str, str] = field(default_factory=dict)
    bodies: int = 0

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


@dataclass(frozen=True)
class _Quota:
    limit: int
    remaining: int
    interval: float
    fill: float
    wait: float
    over: bool

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Interval-Seconds": f"{self.interval:g}",
            "X-RateLimit-FillRate": f"{self.fill:g}",
            "Retry-After": str(math.ceil(self.wait)),
        }


class _Bucket:
    """Data Center's token bucket: ``capacity`` tokens, ``per_second`` back each second."""

    def __init__(self, capacity: int, per_second: float, *, clock: Callable[[], float]) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self._clock = clock
        self._tokens = float(capacity)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> _Quota:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.per_second)
            self._at = now
            over = self._tokens < 1
            if not over:
                self._tokens -= 1
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.per_second
            return _Quota(self.capacity, int(self._tokens), 1.0, self.per_second, wait, over)


_MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "png": "image/png",
}


def _reason(status: int) -> str:
    return {
        400: "BAD_REQUEST",
        401: "UNAUTHORIZED",
        403: "FORBIDDEN",
        404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED",
        429: "TOO_MANY_REQUESTS",
    }.get(status, "SERVER_ERROR" if status >= 500 else "ERROR")


def _expand(query: Mapping[str, list[str]]) -> set[str]:
    return {part.strip() for value in query.get("expand", []) for part in value.split(",")}


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    if not cursor:
        return 0
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        return int(base64.urlsafe_b64decode(padded).decode().removeprefix("offset:"))
    except ValueError:
        return 0


# ---- a tiny CQL ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    """What CQL fields mean for one content item."""

    fake: FakeConfluence
    content: Content

    def values(self, name: str) -> list[str]:
        c = self.content
        if name in ("space", "space.key"):
            return [c.space_key]
        if name == "type":
            return [c.type]
        if name in ("label", "labeltext"):
            return sorted(c.labels)
        if name in ("id", "content"):
            return [str(c.id)]
        if name == "title":
            return [c.title]
        if name == "ancestor":
            return [str(a.id) for a in self.fake.ancestors(c)]
        if name == "parent":
            return [str(c.parent_id)] if c.parent_id else []
        if name in ("text", "sitesearch"):
            return [c.title + " " + c.body]
        raise CqlError(f"unsupported field {name!r}")

    def moment(self, name: str) -> float:
        """A date field's value, as a Unix time: ``lastmodified`` is the current
        version's time, ``created`` the first's."""
        c = self.content
        if name == "lastmodified":
            return datetime.fromisoformat(c.version_time).timestamp()
        if name == "created":
            return datetime.fromisoformat(c.created).timestamp()
        raise CqlError(f"{name!r} is not a date field")


_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')|(?P<op>!=|!~|>=|<=|=|~|>|<|\(|\)|,)'
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*|-?\d+))"
)
Predicate = Callable[[_Facts], bool]
_NARROWING = {"id": "id", "content": "id", "title": "title"}  # CQL field -> what it names


def parse_cql(cql: str) -> tuple[Predicate, Callable[[Content], Any]]:
    """A predicate over content and a sort key, for the CQL the connector writes."""
    tokens = _tokens(cql)
    parser = _Cql(tokens)
    predicate = parser.expression()
    order = parser.order()
    if parser.peek() is not None:
        raise CqlError(f"unexpected {parser.peek()!r}")
    return predicate, order


def _narrowing(cql: str) -> tuple[str, frozenset[str]] | None:
    """(``id`` or ``title``, casefolded values) when ``cql`` joins its clauses by AND
    alone and one of them is ``id``/``content``/``title`` ``=`` a value or ``IN`` a list:
    whatever it matches has one of those values. None: it narrows nothing."""
    tokens = _tokens(cql)
    if any(kind == "word" and value.upper() in ("OR", "NOT") for kind, value in tokens):
        return None
    for at, (kind, value) in enumerate(tokens[:-2]):
        name = _NARROWING.get(value.lower()) if kind == "word" else None
        if name is None:
            continue
        op = tokens[at + 1]
        if op == ("op", "="):
            return name, frozenset({tokens[at + 2][1].casefold()})
        if op[0] == "word" and op[1].upper() == "IN" and tokens[at + 2] == ("op", "("):
            listed = itertools.takewhile(lambda t: t != ("op", ")"), tokens[at + 3 :])
            return name, frozenset(v.casefold() for k, v in listed if (k, v) != ("op", ","))
    return None


def _tokens(cql: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    text = cql.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise CqlError(f"cannot read {text[position : position + 20]!r}")
        position = match.end()
        kind = match.lastgroup
        assert kind is not None
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
    return tokens


class _Cql:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def keyword(self, word: str) -> bool:
        found = self.tokens[self.at] if self.at < len(self.tokens) else ("", "")
        if found[0] == "word" and found[1].upper() == word:
            self.at += 1
            return True
        return False

    def take(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise CqlError("unexpected end of query")
        self.at += 1
        return self.tokens[self.at - 1]

    def expect(self, value: str) -> None:
        _, found = self.take()
        if found != value:
            raise CqlError(f"expected {value!r}, found {found!r}")

    def expression(self) -> Predicate:
        terms = [self.conjunction()]
        while self.keyword("OR"):
            terms.append(self.conjunction())
        return lambda facts: any(term(facts) for term in terms)

    def conjunction(self) -> Predicate:
        terms = [self.negation()]
        while self.keyword("AND"):
            terms.append(self.negation())
        return lambda facts: all(term(facts) for term in terms)

    def negation(self) -> Predicate:
        if self.keyword("NOT"):
            inner = self.negation()
            return lambda facts: not inner(facts)
        if self.peek() == "(":
            self.take()
            inner = self.expression()
            self.expect(")")
            return inner
        return self.clause()

    def clause(self) -> Predicate:
        kind, name = self.take()
        if kind != "word":
            raise CqlError(f"expected a field, found {name!r}")
        field_name = name.lower()
        negated = self.keyword("NOT")
        if self.keyword("IN"):
            values = self.values()
            wanted = {v.casefold() for v in values}

            def among(facts: _Facts) -> bool:
                found = {v.casefold() for v in facts.values(field_name)}
                return bool(found & wanted) != negated

            return among
        if negated:
            raise CqlError("NOT must be followed by IN here")
        _, op = self.take()
        if op in _COMPARISONS:
            return self.comparison(field_name, op)
        _, value = self.take()
        target = value.casefold()
        if op == "=":
            return lambda facts: target in {v.casefold() for v in facts.values(field_name)}
        if op == "!=":
            return lambda facts: target not in {v.casefold() for v in facts.values(field_name)}
        if op == "~":
            return lambda facts: any(target in v.casefold() for v in facts.values(field_name))
        if op == "!~":
            return lambda facts: not any(target in v.casefold() for v in facts.values(field_name))
        raise CqlError(f"unsupported operator {op!r}")

    def comparison(self, field_name: str, op: str) -> Predicate:
        """``lastmodified > now("-5m")`` or ``created >= "2024-01-31 13:05"``.

        As in Confluence, ``now("-Nu")`` counts back from the server's clock (u: y, M,
        w, d, h, m), and a date string is a date and time (to the minute) or a date;
        it is read here in UTC, the bot account's time zone.
        """
        if field_name not in ("lastmodified", "created"):
            raise CqlError(f"{field_name!r} cannot be compared with {op!r}")
        kind, value = self.take()
        if kind == "word" and value.lower() == "now":
            self.expect("(")
            offset = 0.0
            if self.peek() != ")":
                kind, text = self.take()
                match = _NOW_OFFSET.fullmatch(text) if kind == "string" else None
                if match is None:
                    raise CqlError(f'now() takes an offset like "-5m", not {text!r}')
                offset = int(match[1]) * _OFFSET_SECONDS[match[2]]
            self.expect(")")

            def threshold(facts: _Facts) -> float:
                return facts.fake.clock() + offset

        elif kind == "string":
            fixed = _cql_date(value)

            def threshold(facts: _Facts) -> float:
                return fixed

        else:
            raise CqlError(f"expected a date or now(), found {value!r}")
        compare = _COMPARISONS[op]
        return lambda facts: compare(facts.moment(field_name), threshold(facts))

    def values(self) -> list[str]:
        self.expect("(")
        values = [self.take()[1]]
        while self.peek() == ",":
            self.take()
            values.append(self.take()[1])
        self.expect(")")
        return values

    def order(self) -> Callable[[Content], Any]:
        if not self.keyword("ORDER"):
            return lambda c: c.id
        if not self.keyword("BY"):
            raise CqlError("expected BY after ORDER")
        _, name = self.take()
        descending = self.keyword("DESC")
        self.keyword("ASC")
        keys: dict[str, Callable[[Content], Any]] = {
            "id": lambda c: c.id,
            "created": lambda c: (c.created, c.id),
            "title": lambda c: (c.title.casefold(), c.id),
            "lastmodified": lambda c: (c.version, c.id),
        }
        key = keys.get(name.lower())
        if key is None:
            raise CqlError(f"cannot order by {name!r}")
        if descending:
            return lambda c: _Reverse(key(c))
        return key


_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}
_NOW_OFFSET = re.compile(r"([+-]?\d+)([yMwdhm])")
_OFFSET_SECONDS = {
    "y": 365 * 86400,
    "M": 30 * 86400,
    "w": 7 * 86400,
    "d": 86400,
    "h": 3600,
    "m": 60,
}


def _cql_date(text: str) -> float:
    """A CQL date: yyyy/MM/dd HH:mm, yyyy-MM-dd HH:mm, yyyy/MM/dd or yyyy-MM-dd."""
    for form in ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, form).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise CqlError(f"{text!r} is not a date CQL reads")


@dataclass(frozen=True)
class _Reverse:
    value: Any

    def __lt__(self, other: _Reverse) -> bool:
        return bool(self.value > other.value)


def _iso(at: float) -> str:
    """Confluence's timestamp format: ISO 8601 in UTC, with milliseconds."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---- HTTP plumbing ------------------------------------------------------------------


def seed_space(
    fake: FakeConfluence, key: str, pages: int, body: Callable[[int], str] | None = None
) -> list[Content]:
    """``pages`` pages in space ``key`` with small, varied bodies; returns them in order."""
    made = []
    for n in range(pages):
        text = body(n) if body else _body(key, n)
        made.append(fake.add_page(key, f"{key} page {n:05d}", text))
    return made


def _body(key: str, n: int) -> str:
    return (
        f"<h2>Topic {n}</h2><p>How to handle case {n} in {key}.</p>"
        '<ac:structured-macro ac:name="info"><ac:rich-text-body>'
        f"<p>Note for case {n}.</p></ac:rich-text-body></ac:structured-macro>"
        f'<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash'
        f"</ac:parameter><ac:plain-text-body><![CDATA[run --case {n}]]></ac:plain-text-body>"
        "</ac:structured-macro>"
        f'<p>See <ac:link><ri:page ri:content-title="{key} page {(n + 1):05d}"/></ac:link>.</p>'
    )


def iter_pages(fake: FakeConfluence, space_key: str) -> Iterator[Content]:
    """The current pages of a space, oldest first."""
    for content in sorted(fake.contents.values(), key=lambda c: c.id):
        if content.space_key == space_key and content.status == "current":
            yield copy.copy(content)
