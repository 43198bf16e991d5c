"""A stateful fake Intercom for tests: real HTTP on 127.0.0.1, checked against the spec.

`FakeIntercom` serves the Preview (formerly Unstable) REST API from a background
thread. Every request is checked against the vendored OpenAPI description
(`tests/fakes/openapi.py`); a request that breaks it is recorded in `.violations` and
answered with a 400 ``error.list``, and leaving the ``with`` block raises if any were
recorded, so a client bug fails the test that caused it.

It keeps state like Intercom for AI content: Content Import Sources and External Pages,
with ``POST /ai/external_pages`` upserting by (source_id, external_id) and source
deletion cascading to its pages. Every other operation is answered from the spec (its
example when valid, else a synthesised body), unless a test asked for a real listing:
`serve_list` pages a list of items by the operation's own mechanism (page links, page
counters, ``starting_after`` cursors, search bodies, a scroll, ``cursor``/``has_more``),
and `add_contacts` keeps contacts that list, search, show and update like Intercom's.
Each reply carries the ``X-RateLimit-*`` headers of a per-10-second window, and
`Faults` injects what real networks and real Intercom do: 5xx, 429 storms, latency,
dropped connections, replies lost after the write was applied, per-document
rejections, error replies that echo the request's ``Authorization`` header (in each
error's message and in ``X-Request-Id``), and a given ``X-RateLimit-Reset`` value. All
randomness is seeded and the clock is injectable.

Standalone, for end-to-end CLI tests (prints the base URL once ready)::

    python -m tests.fakes.intercom --port 0 --token secret
"""

from __future__ import annotations

import argparse
import base64
import copy
import itertools
import json
import math
import random
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import field as dataclass_field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .openapi import OpenAPI, RequestCheck, load_openapi
from .server import Handler, Running

__all__ = [
    "SPEC_PATH",
    "Call",
    "FakeIntercom",
    "Faults",
    "Listing",
    "PageWrite",
    "Quota",
    "RateLimiter",
    "Rejection",
    "Scope",
    "main",
    "run_forever",
]

SPEC_PATH = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "intercom-openapi"
    / "unstable-preview.api.intercom.io.yaml"
)
WINDOW_SECONDS = 10.0
DEFAULT_LIMIT = 1666  # Intercom's 10,000 calls per minute, spread over 10 s windows
DEFAULT_TOKEN = "test-token"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 150
# The spec's list operations page by `pages.next` links; the fake's links carry these.
PAGED = {"listExternalPages", "listContentImportSources"}
PAGING_QUERY = frozenset({"page", "per_page"})
# Intercom's current reference (ahead of the bundled spec) documents these on
# GET /ai/external_pages: `source_id` and `external_id`, sent together, narrow the list
# to that one page; `page` stops at 5,001 and `page * per_page` at 10,000 results.
LOOKUP_QUERY = frozenset({"source_id", "external_id"})
MAX_PAGE = 5001
MAX_RESULTS = 10_000
# Lists whose replies carry a `pages` object take the paging parameters Intercom
# documents for all its lists, whether or not the operation declares them.
LIST_PAGING_QUERY = frozenset({"page", "per_page", "starting_after"})
CONTACT_OPERATIONS = frozenset({"ListContacts", "SearchContacts", "ShowContact", "UpdateContact"})
# "Unstable" is the old name of "Preview"; Intercom still accepts it (spec README).
VERSION_ALIASES = {"unstable": "Preview"}

Json = Any
Clock = Callable[[], float]


# ---- observability ----------------------------------------------------------------


@dataclass(frozen=True)
class PageWrite:
    """One change to an External Page as the fake applied it: ``action`` is created,
    updated or deleted (an upsert that found its external_id is an update)."""

    action: str
    external_id: str
    page_id: str
    at: float


@dataclass(frozen=True)
class Call:
    """One request as the fake saw it."""

    method: str
    path: str
    query: str
    status: int | None  # None: the connection was closed without a reply
    at: float  # the injected clock's time when the request arrived
    write: bool  # the request changed state (even if its reply was then lost)
    operation_id: str | None
    version: str | None  # the Intercom-Version header as sent
    outcome: str  # ok, violation, unauthorized, rate_limited, fault, dropped, lost_reply
    # When its request line and headers had arrived (``at`` is when it was answered, after
    # any latency): a request whose sending began before a moment was received before it.
    received: float = 0.0


# ---- rate limits ------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    """The values of the X-RateLimit-* headers for one reply."""

    limit: int
    remaining: int
    reset: int  # Unix seconds: the end of the current window

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class RateLimiter:
    """Counts requests per fixed window, as Intercom spreads its per-minute limit.

    Windows are ``window`` seconds long and start ``phase`` seconds past a multiple of
    it, so a window's real end falls anywhere within a second, while its
    ``X-RateLimit-Reset`` is that end in whole Unix seconds, rounded down: a client
    that sends at the header's second may still be inside the spent window (issue 13).
    """

    def __init__(
        self, limit: int, clock: Clock, window: float = WINDOW_SECONDS, phase: float = 0.0
    ) -> None:
        self.limit = limit
        self.window = window
        self.phase = phase % window
        self._clock = clock
        self._lock = threading.Lock()
        self._index = -1
        self._count = 0

    def hit(self) -> tuple[Quota, bool]:
        """Count one request; returns the quota after it and whether it went over."""
        with self._lock:
            self._roll()
            self._count += 1
            return self._quota(), self._count > self.limit

    def peek(self) -> Quota:
        with self._lock:
            self._roll()
            return self._quota()

    def reset(self) -> None:
        with self._lock:
            self._index, self._count = -1, 0

    def ends_at(self) -> float:
        """When the current window really ends (Unix seconds, with its fraction)."""
        with self._lock:
            self._roll()
            return self._end()

    def _roll(self) -> None:
        index = math.floor((self._clock() - self.phase) / self.window)
        if index != self._index:
            self._index, self._count = index, 0

    def _end(self) -> float:
        return (self._index + 1) * self.window + self.phase

    def _quota(self) -> Quota:
        # Whole seconds, rounded down (a hair of slack for float error on exact ends).
        reset = math.floor(self._end() + 1e-9)
        return Quota(self.limit, max(0, self.limit - self._count), reset)


# ---- faults -----------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which requests a fault applies to: a method and/or a path prefix (None: any)."""

    method: str | None = None
    path_prefix: str | None = None

    def covers(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path_prefix is None or path.startswith(self.path_prefix)
        )


@dataclass
class _Counted:
    scope: Scope
    remaining: int | None  # None: until cleared
    fraction: float = 1.0  # of matching requests it hits, at random


@dataclass
class _Script:
    scope: Scope
    statuses: list[int | None]  # None lets that request through


@dataclass
class _Random:
    scope: Scope
    fraction: float
    statuses: tuple[int, ...]


@dataclass
class _Reset:
    scope: Scope
    value: str  # sent as X-RateLimit-Reset, verbatim


@dataclass
class _Latency:
    scope: Scope
    low: float
    high: float


@dataclass(frozen=True)
class Rejection:
    status: int
    code: str
    message: str


@dataclass
class _Plan:
    scripts: list[_Script] = field(default_factory=list)
    randoms: list[_Random] = field(default_factory=list)
    storms: list[_Counted] = field(default_factory=list)
    drops: list[_Counted] = field(default_factory=list)
    losses: list[_Counted] = field(default_factory=list)
    latencies: list[_Latency] = field(default_factory=list)
    holds: list[_Latency] = field(default_factory=list)
    rejections: dict[str, Rejection] = field(default_factory=dict)
    echoes: list[_Counted] = field(default_factory=list)
    resets: list[_Reset] = field(default_factory=list)


class Faults:
    """Failures to inject, configurable while the server runs (thread-safe, seeded).

    Each method takes ``method=`` and ``path_prefix=`` to restrict it to some requests
    and ``times=`` (where it counts) for how many matching requests it hits; ``None``
    means until `clear`.
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._plan = _Plan()

    def fail_next(
        self, *statuses: int | None, method: str | None = None, path_prefix: str | None = None
    ) -> None:
        """Script the next replies, e.g. ``fail_next(503, None, 500)`` (None: let through)."""
        with self._lock:
            self._plan.scripts.append(_Script(Scope(method, path_prefix), list(statuses)))

    def fail_randomly(
        self,
        fraction: float,
        statuses: Sequence[int] = (500, 502, 503),
        *,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Answer about `fraction` of matching requests with a random one of `statuses`."""
        with self._lock:
            rule = _Random(Scope(method, path_prefix), fraction, tuple(statuses))
            self._plan.randoms.append(rule)

    def rate_limit_storm(
        self, times: int | None, *, method: str | None = None, path_prefix: str | None = None
    ) -> None:
        """The next `times` matching requests get 429 rate_limit_exceeded."""
        with self._lock:
            self._plan.storms.append(_Counted(Scope(method, path_prefix), times))

    def drop_connections(
        self,
        times: int | None = 1,
        *,
        fraction: float = 1.0,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Close the socket without a reply, before doing anything.

        ``fraction``: the share of matching requests hit, at random.
        """
        with self._lock:
            self._plan.drops.append(_Counted(Scope(method, path_prefix), times, fraction))

    def lose_replies(
        self,
        times: int | None = 1,
        *,
        fraction: float = 1.0,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Apply the request, then close the socket instead of replying.

        ``fraction``: the share of matching requests hit, at random.
        """
        with self._lock:
            self._plan.losses.append(_Counted(Scope(method, path_prefix), times, fraction))

    def slow_down(
        self,
        seconds: float | tuple[float, float],
        *,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Delay matching replies: a fixed time or uniform in (low, high); latest wins."""
        low, high = seconds if isinstance(seconds, tuple) else (seconds, seconds)
        with self._lock:
            self._plan.latencies.append(_Latency(Scope(method, path_prefix), low, high))

    def hold_replies(
        self,
        seconds: float,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Apply matching requests at once, then wait ``seconds`` before replying.

        What a slow network does to a write Intercom has already made: the state (and
        the call log) change now, the client hears of it later, or never if it dies
        first. Latest wins; ``clear`` removes it.
        """
        with self._lock:
            self._plan.holds.append(_Latency(Scope(method, path_prefix), seconds, seconds))

    def held(self, method: str, path: str) -> float:
        with self._lock:
            for rule in reversed(self._plan.holds):
                if rule.scope.covers(method, path):
                    return rule.low
        return 0.0

    def reject_external_id(
        self,
        external_id: str,
        status: int = 422,
        code: str = "parameter_invalid",
        message: str | None = None,
    ) -> None:
        """Writes (create, update, delete) of this document get a 4xx error.list."""
        text = message or f"External page {external_id!r} was rejected"
        with self._lock:
            self._plan.rejections[external_id] = Rejection(status, code, text)

    def echo_authorization(
        self, times: int | None = None, *, method: str | None = None, path_prefix: str | None = None
    ) -> None:
        """Error replies repeat the request's ``Authorization`` header, as a careless
        proxy or gateway does: appended to each error's ``message`` and sent as the
        ``X-Request-Id`` header, with the body's ``request_id`` null (the spec allows it,
        and a client then reads the header)."""
        with self._lock:
            self._plan.echoes.append(_Counted(Scope(method, path_prefix), times))

    def send_reset(
        self, value: str, *, method: str | None = None, path_prefix: str | None = None
    ) -> None:
        """Send ``value`` as every matching reply's ``X-RateLimit-Reset`` (latest wins):
        a reset a day ahead, in milliseconds, negative, ``nan``..."""
        with self._lock:
            self._plan.resets.append(_Reset(Scope(method, path_prefix), value))

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._plan = _Plan()

    # The server asks these, in this order, per request.

    def latency(self, method: str, path: str) -> float:
        with self._lock:
            for rule in reversed(self._plan.latencies):
                if rule.scope.covers(method, path):
                    return self._random.uniform(rule.low, rule.high)
        return 0.0

    def take_drop(self, method: str, path: str) -> bool:
        return self._take(self._plan.drops, method, path)

    def take_storm(self, method: str, path: str) -> bool:
        return self._take(self._plan.storms, method, path)

    def take_loss(self, method: str, path: str) -> bool:
        return self._take(self._plan.losses, method, path)

    def take_error(self, method: str, path: str) -> int | None:
        """A scripted or random 5xx for this request, if any."""
        with self._lock:
            for script in self._plan.scripts:
                if script.statuses and script.scope.covers(method, path):
                    return script.statuses.pop(0)
            for rule in self._plan.randoms:
                if rule.scope.covers(method, path) and self._random.random() < rule.fraction:
                    return self._random.choice(rule.statuses)
        return None

    def take_echo(self, method: str, path: str) -> bool:
        return self._take(self._plan.echoes, method, path)

    def reset_header(self, method: str, path: str) -> str | None:
        """The ``X-RateLimit-Reset`` value to send instead of the real one, if any."""
        with self._lock:
            for rule in reversed(self._plan.resets):
                if rule.scope.covers(method, path):
                    return rule.value
        return None

    def rejection(self, external_id: str | None) -> Rejection | None:
        with self._lock:
            return self._plan.rejections.get(external_id or "")

    def _take(self, rules: list[_Counted], method: str, path: str) -> bool:
        with self._lock:
            for rule in rules:
                if rule.remaining != 0 and rule.scope.covers(method, path):
                    if rule.fraction < 1.0 and self._random.random() >= rule.fraction:
                        continue
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return True
        return False


# ---- replies ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Json = None  # JSON-able; None: no body
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    write: bool = False

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, str) and not self.content_type.endswith("json"):
            return self.body.encode()
        return json.dumps(self.body).encode()


def _error(
    status: int, code: str, message: str, request_id: str, *, fields: str | None = None
) -> _Reply:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["field"] = fields
    body = {"type": "error.list", "request_id": request_id, "errors": [error]}
    return _Reply(status, body)


def _echoing(reply: _Reply, authorization: str) -> _Reply:
    """``reply`` repeating ``authorization``: in each error.list message, as X-Request-Id."""
    body = reply.body
    if isinstance(body, dict) and body.get("type") == "error.list":
        errors = [
            {**e, "message": f"{e.get('message') or ''} (Authorization: {authorization})"}
            for e in body.get("errors") or []
        ]
        body = {**body, "request_id": None, "errors": errors}
    headers = {**reply.headers, "X-Request-Id": authorization}
    return _Reply(reply.status, body, reply.content_type, headers, reply.write)


def _gateway_error(status: int, request_id: str) -> _Reply:
    """A 502/503 comes from Intercom's edge, as HTML; other statuses as error.list."""
    if status in (502, 503):
        title = "502 Bad Gateway" if status == 502 else "503 Service Unavailable"
        html = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
        return _Reply(status, html, content_type="text/html")
    code = "server_error" if status >= 500 else "client_error"
    return _error(status, code, "Fault injected by FakeIntercom", request_id)


@dataclass(frozen=True)
class _Incoming:
    """What the pipeline knows about a request before checking it."""

    method: str
    path: str
    query: str
    version: str | None  # the Intercom-Version header as sent
    request_id: str  # also the X-Request-Id reply header and error.list request_id
    received: float = 0.0  # the clock when the request line and headers had arrived


@dataclass(frozen=True)
class _Request:
    """What a state handler gets: a request that passed every check."""

    path: str
    path_params: Mapping[str, str]
    params: Mapping[str, Any]  # query parameters, typed
    body: Json
    request_id: str
    query: Mapping[str, list[str]] = field(default_factory=dict)  # raw, tolerated ones too


@dataclass
class Listing:
    """A real list served for one operation (see `FakeIntercom.serve_list`)."""

    items: list[dict[str, Any]]
    mechanism: str  # link | counters | starting_after | search | scroll | cursor
    field: str = "data"
    repeat_cursor_at: int | None = None  # this page hands back the cursor it was asked with
    scrolls: dict[str, int] = dataclass_field(default_factory=dict)  # scroll_param -> offset


# ---- the server -------------------------------------------------------------------


class FakeIntercom:
    """A fake Intercom REST API on 127.0.0.1 (see the module docstring).

    Args:
        token: the access token clients must send as ``Authorization: Bearer <token>``.
        rate_limit: requests allowed per window (`set_rate_limit` changes it).
        window: the rate-limit window in seconds (Intercom: 10); tests shorten it so a
            429 storm costs them less time, while clients still learn it only from
            ``X-RateLimit-Reset``.
        window_phase: where in the window's length its boundaries fall (seconds past a
            multiple of ``window``); by default drawn from ``seed``, so a window ends at
            a fraction of a second as Intercom's do, while ``X-RateLimit-Reset`` names
            whole seconds. 0 aligns windows with whole multiples of ``window``.
        clock: Unix time source for windows, timestamps and the call log.
        seed: seeds fault randomness.
        strict: leaving the ``with`` block raises if any request broke the spec.
        spec_path: the OpenAPI description to enforce.
        host, port: where to listen; port 0 picks a free one.
        page_size: list page size when the request names none (Intercom: 50).
        control_endpoints: serve ``/__fake__/{violations,calls,state}`` (no auth).
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        rate_limit: int = DEFAULT_LIMIT,
        window: float = WINDOW_SECONDS,
        window_phase: float | None = None,
        clock: Clock = time.time,
        seed: int = 0,
        strict: bool = True,
        spec_path: Path | str = SPEC_PATH,
        host: str = "127.0.0.1",
        port: int = 0,
        page_size: int = DEFAULT_PER_PAGE,
        control_endpoints: bool = False,
    ) -> None:
        self.token = token
        self.page_size = page_size
        self.strict = strict
        self.clock = clock
        self.faults = Faults(seed)
        if window_phase is None:
            window_phase = random.Random(f"window-{seed}").uniform(0, window)
        self.limiter = RateLimiter(rate_limit, clock, window, window_phase)
        self.spec: OpenAPI = load_openapi(spec_path)
        self._host, self._port = host, port
        self._control = control_endpoints
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._running: Running | None = None
        self._sources: dict[int, dict[str, Any]] = {}
        self._pages: dict[str, dict[str, Any]] = {}
        self._keys: dict[tuple[int, str], str] = {}
        self._ids = itertools.count(1)
        self._calls: list[Call] = []
        # (method, path) of each request as its headers arrive, before any latency: what
        # is under way, where ``calls`` says only what was answered.
        self._arrived: list[tuple[str, str]] = []
        self._page_writes: list[PageWrite] = []
        self._violations: list[str] = []
        self._listings: dict[str, Listing] = {}
        self._contacts: dict[str, dict[str, Any]] = {}
        self._list_paged = _list_operations(self.spec)
        self._handlers: dict[str, Callable[[_Request], _Reply]] = {
            "listContentImportSources": self._list_sources,
            "createContentImportSource": self._create_source,
            "getContentImportSource": self._get_source,
            "updateContentImportSource": self._update_source,
            "deleteContentImportSource": self._delete_source,
            "listExternalPages": self._list_pages,
            "createExternalPage": self._upsert_page,
            "getExternalPage": self._get_page,
            "updateExternalPage": self._update_page,
            "deleteExternalPage": self._delete_page,
        }
        self.reset()

    # ---- lifecycle --------------------------------------------------------------

    def start(self) -> FakeIntercom:
        """Bind and serve from a background thread; returns self."""
        if self._running is not None:
            return self
        self._stopping.clear()
        self._running = Running((self._host, self._port), self, "fake-intercom")
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and join every thread."""
        running, self._running = self._running, None
        if running is None:
            return
        self._stopping.set()
        running.stop()

    def __enter__(self) -> FakeIntercom:
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
            raise RuntimeError("FakeIntercom is not running")
        return self._running.port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:53412`` (no trailing slash)."""
        return f"http://{self._host}:{self.port}"

    # ---- observability ----------------------------------------------------------

    @property
    def violations(self) -> list[str]:
        with self._lock:
            return list(self._violations)

    def take_violations(self) -> list[str]:
        """Return the recorded violations and forget them (for tests that expect some)."""
        with self._lock:
            found, self._violations = self._violations, []
        return found

    def assert_no_violations(self) -> None:
        found = self.violations
        if found:
            listing = "\n  ".join(found)
            raise AssertionError(f"Requests broke the Intercom spec ({len(found)}):\n  {listing}")

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def arrived(self) -> list[tuple[str, str]]:
        """(method, path) of every request so far as it arrived, answered or not yet."""
        with self._lock:
            return list(self._arrived)

    @property
    def writes(self) -> int:
        """Requests that changed state (create, update, delete), lost replies included."""
        with self._lock:
            return sum(call.write for call in self._calls)

    @property
    def rate_limited(self) -> int:
        """Replies with status 429."""
        return sum(call.status == 429 for call in self.calls)

    @property
    def versions(self) -> set[str | None]:
        """Every Intercom-Version header value seen."""
        return {call.version for call in self.calls}

    def sources(self) -> list[dict[str, Any]]:
        """The Content Import Sources, as the API would show them, oldest first."""
        with self._lock:
            return [copy.deepcopy(s) for _, s in sorted(self._sources.items())]

    def pages(self, source_id: int | None = None) -> list[dict[str, Any]]:
        """The External Pages (of one source, if given), oldest first."""
        with self._lock:
            found = sorted(self._pages.values(), key=lambda p: int(p["id"]))
            return [copy.deepcopy(p) for p in found if source_id in (None, p["source_id"])]

    def reset(self) -> None:
        """Forget state, calls, violations, faults and the rate-limit window."""
        with self._lock:
            self._sources, self._pages, self._keys = {}, {}, {}
            self._ids = itertools.count(1)
            self._calls, self._violations = [], []
            self._page_writes = []
            self._listings, self._contacts = {}, {}
        self.faults.clear()
        self.limiter.reset()

    def set_rate_limit(self, limit: int) -> None:
        self.limiter.limit = limit

    # ---- seeding state directly -------------------------------------------------

    def add_source(self, url: str = "https://docs.example.com/", **fields: Any) -> dict[str, Any]:
        """Create a Content Import Source without HTTP (for reconcile-style tests)."""
        with self._lock:
            return copy.deepcopy(self._new_source({"sync_behavior": "api", "url": url, **fields}))

    def add_page(self, source_id: int, external_id: str, **fields: Any) -> dict[str, Any]:
        """Upsert an External Page without HTTP."""
        body = {"title": external_id, "html": f"<p>{external_id}</p>", "locale": "en", **fields}
        body.update(source_id=source_id, external_id=external_id)
        with self._lock:
            return copy.deepcopy(self._store_page(body))

    def serve_list(
        self,
        operation_id: str,
        items: Sequence[Mapping[str, Any]],
        *,
        mechanism: str | None = None,
        field: str | None = None,
        repeat_cursor_at: int | None = None,
    ) -> Listing:
        """Answer `operation_id` with `items`, page by page, as Intercom pages it.

        The mechanism follows the operation (``cursor`` where it takes one, ``scroll``
        for the scroll, ``search`` for a POST with ``pagination``, ``starting_after``
        where it takes that, else ``link``: ``pages.next`` URLs); ``counters`` serves
        top-level ``page``/``total_pages`` instead. ``repeat_cursor_at=N`` makes page N
        hand back the cursor it was asked with, like a buggy server.
        """
        op = self.spec.by_id[operation_id]
        query = {p["name"] for p, _ in op.parameters if p.get("in") == "query"}
        if mechanism is None:
            body = self.spec.sample_request(op).body
            if "cursor" in query:
                mechanism = "cursor"
            elif "scroll_param" in query:
                mechanism = "scroll"
            elif isinstance(body, dict) and "pagination" in body:
                mechanism = "search"
            elif "starting_after" in query:
                mechanism = "starting_after"
            else:
                mechanism = "link"
        listing = Listing([dict(i) for i in items], mechanism, field or "data", repeat_cursor_at)
        with self._lock:
            self._listings[operation_id] = listing
        return listing

    def add_contacts(self, count: int, **fields: Any) -> list[dict[str, Any]]:
        """Create `count` contacts that list (cursor), search, show and update."""
        template = self.spec.sample_value(self.spec.schema_pointer("contact"))
        made = []
        with self._lock:
            for _ in range(count):
                n = next(self._ids)
                contact = {
                    **copy.deepcopy(template),
                    "id": f"{n:024x}",
                    "email": f"person{n}@example.com",
                    "name": f"Person {n}",
                    "created_at": self._now(),
                    "updated_at": self._now(),
                    **fields,
                }
                self._contacts[contact["id"]] = contact
                made.append(copy.deepcopy(contact))
        return made

    def contacts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(c) for c in self._contacts.values()]

    # ---- request pipeline -------------------------------------------------------

    def _serve(self, handler: Handler) -> None:
        """Answer one request: faults, spec check, auth, limits, then the handler."""
        split = urlsplit(handler.path)
        incoming = _Incoming(
            handler.command,
            split.path,
            split.query,
            handler.headers.get("Intercom-Version"),
            _request_id(),
            self.clock(),
        )
        body = handler.read_body()
        with self._lock:
            self._arrived.append((incoming.method, incoming.path))
        if self._control and incoming.path.startswith("/__fake__/"):
            self._send(handler, self._control_reply(incoming.path), incoming, None)
            return
        delay = self.faults.latency(incoming.method, incoming.path)
        if delay:
            self._stopping.wait(delay)
        if self.faults.take_drop(incoming.method, incoming.path):
            self._log(incoming, "dropped")
            handler.drop()
            return
        check = self._check(incoming, handler, body)
        reply, outcome, quota = self._decide(incoming, check, handler)
        if reply is None:
            reply = self._dispatch(incoming, check)
            if self.faults.take_loss(incoming.method, incoming.path):
                self._log(incoming, "lost_reply", check, reply, status=None)
                handler.drop()
                return
        if reply.status >= 400 and self.faults.take_echo(incoming.method, incoming.path):
            reply = _echoing(reply, handler.headers.get("Authorization") or "")
        self._log(incoming, outcome, check, reply, status=reply.status)
        held = self.faults.held(incoming.method, incoming.path)
        if held:
            self._stopping.wait(held)
        self._send(handler, reply, incoming, quota)

    def _check(self, incoming: _Incoming, handler: Handler, body: bytes) -> RequestCheck:
        """The spec check, plus the fake's own rules; records what it finds."""
        where = f"{incoming.method} {incoming.path}"
        headers = dict(handler.headers.items())
        if incoming.version is not None:
            alias = VERSION_ALIASES.get(incoming.version.lower(), incoming.version)
            headers["Intercom-Version"] = alias
        check = self.spec.check_request(
            incoming.method,
            incoming.path,
            query=incoming.query,
            headers=headers,
            body=body,
            content_type=handler.headers.get("Content-Type"),
            extra_query={
                **dict.fromkeys(self._list_paged, LIST_PAGING_QUERY),
                **dict.fromkeys(PAGED, PAGING_QUERY),
                "listExternalPages": PAGING_QUERY | LOOKUP_QUERY,
            },
            # Eight Preview operations spell the version enum "preview".
            case_insensitive_headers=("Intercom-Version",),
        )
        problems = list(check.violations)
        params = dict(check.params)
        if incoming.version is None:
            problems.append(f"{where}: header.Intercom-Version: missing")
        if check.match and check.match.operation_id in PAGED:
            paging, bad = _paging(incoming.query)
            params.update(paging)
            problems += [f"{where}: {p}" for p in bad]
        if problems:
            with self._lock:
                self._violations.extend(problems)
        return RequestCheck(check.match, tuple(problems), params, check.body)

    def _decide(
        self, incoming: _Incoming, check: RequestCheck, handler: Handler
    ) -> tuple[_Reply | None, str, Quota]:
        """The reply that pre-empts the handler, if any: auth, limits, faults, violations."""
        method, path, request_id = incoming.method, incoming.path, incoming.request_id
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            reply = _error(401, "unauthorized", "Access Token Invalid", request_id)
            return reply, "unauthorized", self.limiter.peek()
        quota, over = self.limiter.hit()
        if over or self.faults.take_storm(method, path):
            message = "You have exceeded the rate limit"
            reply = _error(429, "rate_limit_exceeded", message, request_id)
            return reply, "rate_limited", Quota(quota.limit, 0, quota.reset)
        status = self.faults.take_error(method, path)
        if status is not None:
            return _gateway_error(status, request_id), "fault", quota
        if check.violations:
            errors = [{"code": "parameter_invalid", "message": v} for v in check.violations]
            body = {"type": "error.list", "request_id": request_id, "errors": errors}
            return _Reply(400, body), "violation", quota
        return None, "ok", quota

    def _dispatch(self, incoming: _Incoming, check: RequestCheck) -> _Reply:
        assert check.match is not None
        op_id = check.match.operation_id
        handler = self._handlers.get(op_id)
        if op_id in self._listings:
            handler = self._serve_listing
        elif self._contacts and op_id in CONTACT_OPERATIONS:
            handler = self._contact_handler
        if handler is None:
            return self._from_spec(check)
        request = _Request(
            incoming.path,
            check.match.path_params,
            {**check.params, "__operation__": op_id},
            check.body,
            incoming.request_id,
            parse_qs(incoming.query, keep_blank_values=True),
        )
        with self._lock:
            return handler(request)

    def _from_spec(self, check: RequestCheck) -> _Reply:
        assert check.match is not None
        sample = self.spec.sample_response(check.match.operation)
        headers = {"Location": "https://example.com/"} if 300 <= sample.status < 400 else {}
        return _Reply(sample.status, sample.body, sample.content_type or "", headers)

    def _send(
        self, handler: Handler, reply: _Reply, incoming: _Incoming, quota: Quota | None
    ) -> None:
        data = reply.encode()
        handler.send_response(reply.status)
        headers = dict(reply.headers)
        if data:
            headers["Content-Type"] = reply.content_type + "; charset=utf-8"
        headers["Content-Length"] = str(len(data))
        headers.setdefault("X-Request-Id", incoming.request_id)
        headers.update((quota or self.limiter.peek()).headers())
        reset = self.faults.reset_header(incoming.method, incoming.path)
        if reset is not None:
            headers["X-RateLimit-Reset"] = reset
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _log(
        self,
        incoming: _Incoming,
        outcome: str,
        check: RequestCheck | None = None,
        reply: _Reply | None = None,
        *,
        status: int | None = None,
    ) -> None:
        match = check.match if check else None
        call = Call(
            method=incoming.method,
            path=incoming.path,
            query=incoming.query,
            status=status,
            at=self.clock(),
            received=incoming.received,
            write=bool(reply and reply.write),
            operation_id=match.operation_id if match else None,
            version=incoming.version,
            outcome=outcome,
        )
        with self._lock:
            self._calls.append(call)

    def _control_reply(self, path: str) -> _Reply:
        """Unauthenticated read-only views for subprocess tests (``--control``)."""
        views: dict[str, Callable[[], Json]] = {
            "/__fake__/violations": lambda: self.violations,
            "/__fake__/calls": lambda: [c.__dict__ for c in self.calls],
            "/__fake__/state": lambda: {"sources": self.sources(), "pages": self.pages()},
        }
        view = views.get(path)
        return _Reply(200, view()) if view else _Reply(404, {"error": f"no view {path}"})

    # ---- content import sources -------------------------------------------------

    def _list_sources(self, request: _Request) -> _Reply:
        items = [self._sources[k] for k in sorted(self._sources)]
        return _Reply(200, self._paged(items, request))

    def _create_source(self, request: _Request) -> _Reply:
        return _Reply(200, self._new_source(request.body), write=True)

    def _get_source(self, request: _Request) -> _Reply:
        source = self._find_source(request.path_params["id"])
        return _Reply(200, source) if source else _not_found(request)

    def _update_source(self, request: _Request) -> _Reply:
        source = self._find_source(request.path_params["id"])
        if source is None:
            return _not_found(request)
        body = request.body
        problem = _source_update_problem(source, body)
        if problem:
            return _error(400, "parameter_invalid", problem, request.request_id)
        source.update(sync_behavior=body["sync_behavior"], url=body["url"])
        if "status" in body:
            source["status"] = body["status"]
        if "audience_ids" in body:
            source["audience_ids"] = _audience_ids(body["audience_ids"])
        source["updated_at"] = self._now()
        return _Reply(200, source, write=True)

    def _delete_source(self, request: _Request) -> _Reply:
        source = self._find_source(request.path_params["id"])
        if source is None:
            return _not_found(request)
        del self._sources[source["id"]]
        for page in [p for p in self._pages.values() if p["source_id"] == source["id"]]:
            self._forget_page(page)
        return _Reply(204, write=True)

    def _new_source(self, body: Mapping[str, Any]) -> dict[str, Any]:
        now = self._now()
        source = {
            "id": next(self._ids),
            "type": "content_import_source",
            "last_synced_at": now,
            "status": body.get("status", "active"),
            "url": body["url"],
            "sync_behavior": body["sync_behavior"],
            "created_at": now,
            "updated_at": now,
            "audience_ids": _audience_ids(body.get("audience_ids")),
        }
        self._sources[source["id"]] = source
        return source

    def _find_source(self, raw_id: str) -> dict[str, Any] | None:
        return self._sources.get(int(raw_id)) if raw_id.isdigit() else None

    # ---- external pages ---------------------------------------------------------

    def _list_pages(self, request: _Request) -> _Reply:
        raw = request.query
        source_id, external_id = _last(raw, "source_id"), _last(raw, "external_id")
        if (source_id is None) != (external_id is None):
            message = "source_id and external_id must be sent together"
            return _error(400, "parameter_invalid", message, request.request_id)
        page = int(request.params.get("page", 1))
        per_page = int(request.params.get("per_page", self.page_size))
        if page > MAX_PAGE:
            message = f"page cannot exceed {MAX_PAGE}"
            return _error(400, "parameter_invalid", message, request.request_id)
        if page * per_page > MAX_RESULTS:
            message = "page limit reached, please use scroll API"
            return _error(400, "bad_request", message, request.request_id)
        if source_id is not None:
            key = (int(source_id), external_id) if source_id.isdigit() else None
            found = self._keys.get(key) if key else None  # type: ignore[arg-type]
            items = [self._pages[found]] if found else []
        else:
            # Newest first, as in the spec's example (ids 19, 18, 17).
            items = sorted(self._pages.values(), key=lambda p: int(p["id"]), reverse=True)
        return _Reply(200, self._paged(items, request))

    def _upsert_page(self, request: _Request) -> _Reply:
        body = request.body
        rejected = self._rejected(body.get("external_id"), request)
        if rejected:
            return rejected
        if body["source_id"] not in self._sources:
            message = f"Content import source {body['source_id']} not found"
            return _error(404, "not_found", message, request.request_id, fields="source_id")
        return _Reply(200, self._store_page(body), write=True)

    def _get_page(self, request: _Request) -> _Reply:
        page = self._pages.get(request.path_params["id"])
        return _Reply(200, page) if page else _not_found(request)

    def _update_page(self, request: _Request) -> _Reply:
        page = self._pages.get(request.path_params["id"])
        if page is None:
            return _not_found(request)
        body = request.body
        rejected = self._rejected(page["external_id"], request) or self._rejected(
            body.get("external_id"), request
        )
        if rejected:
            return rejected
        problem = self._page_update_problem(page, body)
        if problem:
            return _error(400, "parameter_invalid", problem, request.request_id)
        self._forget_page(page)
        self._index_page(_apply_page_fields(page, body, self._now()))
        self._wrote("updated", page)
        return _Reply(200, page, write=True)

    def _delete_page(self, request: _Request) -> _Reply:
        page = self._pages.get(request.path_params["id"])
        if page is None:
            return _not_found(request)
        rejected = self._rejected(page["external_id"], request)
        if rejected:
            return rejected
        self._forget_page(page)
        self._wrote("deleted", page)
        # The spec's example reply to a delete is the page with its html emptied.
        return _Reply(200, {**page, "html": ""}, write=True)

    def _store_page(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update by (source_id, external_id), as POST /ai/external_pages."""
        now = self._now()
        key = (body["source_id"], body["external_id"])
        existing = self._keys.get(key)
        if existing is not None:
            self._wrote("updated", self._pages[existing])
            return _apply_page_fields(self._pages[existing], body, now)
        page: dict[str, Any] = {
            "id": str(next(self._ids)),
            "type": "external_page",
            # Availability defaults to false on create only (spec: "Will not default
            # when updating an existing external page").
            "ai_agent_availability": False,
            "ai_copilot_availability": False,
            "ai_sales_agent_availability": False,
            "created_at": now,
        }
        _apply_page_fields(page, body, now)
        self._index_page(page)
        self._wrote("created", page)
        return page

    def _wrote(self, action: str, page: Mapping[str, Any]) -> None:
        self._page_writes.append(
            PageWrite(action, str(page["external_id"]), str(page["id"]), self.clock())
        )

    def page_writes(self) -> list[PageWrite]:
        """Every create, update and delete of a page, in the order applied."""
        with self._lock:
            return list(self._page_writes)

    def _index_page(self, page: dict[str, Any]) -> None:
        self._pages[page["id"]] = page
        self._keys[(page["source_id"], page["external_id"])] = page["id"]

    def _forget_page(self, page: Mapping[str, Any]) -> None:
        self._pages.pop(page["id"], None)
        self._keys.pop((page["source_id"], page["external_id"]), None)

    def _page_update_problem(self, page: Mapping[str, Any], body: Mapping[str, Any]) -> str | None:
        if body["source_id"] != page["source_id"]:
            return "source_id cannot be changed"
        taken = self._keys.get((page["source_id"], body.get("external_id", page["external_id"])))
        if taken not in (None, page["id"]):
            return "external_id is already used by another page of this source"
        return None

    def _rejected(self, external_id: str | None, request: _Request) -> _Reply | None:
        rejection = self.faults.rejection(external_id)
        if rejection is None:
            return None
        return _error(rejection.status, rejection.code, rejection.message, request.request_id)

    # ---- real listings ----------------------------------------------------------

    def _serve_listing(self, request: _Request) -> _Reply:
        listing = self._listings[request.params["__operation__"]]
        return _Reply(200, self._list_page(listing, request, listing.items))

    def _list_page(
        self, listing: Listing, request: _Request, items: list[dict[str, Any]]
    ) -> dict[str, Any]:
        raw = request.query
        body = request.body if isinstance(request.body, dict) else {}
        paging = body.get("pagination") or {}
        per_page = int(paging.get("per_page") or _last(raw, "per_page") or self.page_size)
        kind = listing.mechanism
        reply: dict[str, Any] = {"type": "list"}
        if kind in ("link", "counters"):
            page = int(_last(raw, "page") or 1)
            start = (page - 1) * per_page
            total_pages = max(1, math.ceil(len(items) / per_page))
            chunk = items[start : start + per_page]
            if kind == "counters":
                shown = page - 1 if page == listing.repeat_cursor_at else page
                reply.update(page=shown, per_page=per_page, total_pages=total_pages)
            else:
                pages: dict[str, Any] = {"type": "pages", "page": page, "per_page": per_page}
                pages["total_pages"] = total_pages
                if page < total_pages:
                    nxt = page if page == listing.repeat_cursor_at else page + 1
                    pages["next"] = f"{self.url}{request.path}?page={nxt}&per_page={per_page}"
                reply["pages"] = pages
        elif kind == "scroll":
            token = _last(raw, "scroll_param")
            if not token or token not in listing.scrolls:
                token = str(uuid.uuid4())  # one scroll_param for the whole scroll
                listing.scrolls[token] = 0
            start = listing.scrolls[token]
            page = start // per_page + 1
            chunk = items[start : start + per_page]
            if page != listing.repeat_cursor_at:
                listing.scrolls[token] = start + len(chunk)
            reply.update(pages=None, total_count=None, scroll_param=token)
        else:
            asked = paging.get("starting_after") or _last(raw, "starting_after")
            asked = asked or _last(raw, "cursor")
            start = _offset(asked)
            page = start // per_page + 1
            chunk = items[start : start + per_page]
            more = start + per_page < len(items)
            cursor = _cursor(start + per_page)
            if page == listing.repeat_cursor_at and asked:
                cursor = asked
            if kind == "cursor":
                reply.update(has_more=more, next_cursor=cursor if more else None)
            else:
                pages = {"type": "pages", "page": page, "per_page": per_page}
                pages["total_pages"] = max(1, math.ceil(len(items) / per_page))
                if more:
                    pages["next"] = {"per_page": per_page, "starting_after": cursor}
                reply["pages"] = pages
        reply[listing.field] = copy.deepcopy(chunk)
        if kind not in ("cursor", "scroll"):
            reply["total_count"] = len(items)
        return reply

    def _contact_handler(self, request: _Request) -> _Reply:
        op_id = request.params["__operation__"]
        if op_id in ("ListContacts", "SearchContacts"):
            listing = Listing([], "search" if op_id == "SearchContacts" else "starting_after")
            items = sorted(self._contacts.values(), key=lambda c: c["id"])
            return _Reply(200, self._list_page(listing, request, items))
        contact = self._contacts.get(request.path_params.get("id", ""))
        if contact is None:
            return _not_found(request)
        if op_id == "UpdateContact":
            contact.update(request.body or {})
            contact["updated_at"] = self._now()
            return _Reply(200, contact, write=True)
        return _Reply(200, contact)

    # ---- helpers ----------------------------------------------------------------

    def _paged(self, items: list[dict[str, Any]], request: _Request) -> dict[str, Any]:
        """The spec's list shape: data, total_count, and pages with a `next` link."""
        per_page = int(request.params.get("per_page", self.page_size))
        page = int(request.params.get("page", 1))
        total_pages = math.ceil(len(items) / per_page)
        pages: dict[str, Any] = {
            "type": "pages",
            "page": page,
            "per_page": per_page,
            "total_pages": total_pages,
        }
        if page < total_pages:
            pages["next"] = f"{self.url}{request.path}?page={page + 1}&per_page={per_page}"
        chunk = items[(page - 1) * per_page : page * per_page]
        return {"type": "list", "data": chunk, "total_count": len(items), "pages": pages}

    def _now(self) -> int:
        return int(self.clock())


# ---- pure helpers -----------------------------------------------------------------


def _apply_page_fields(page: dict[str, Any], body: Mapping[str, Any], now: int) -> dict[str, Any]:
    """Copy the writable fields given in `body`; absent ones keep their value."""
    for name in ("title", "html", "url", "locale", "source_id", "external_id"):
        if name in body:
            page[name] = body[name]
    for name in ("ai_agent_availability", "ai_copilot_availability", "ai_sales_agent_availability"):
        if name in body:
            page[name] = body[name]
    if "fin_availability" in body and "ai_agent_availability" not in body:
        page["ai_agent_availability"] = body["fin_availability"]  # its deprecated alias
    page["fin_availability"] = page["ai_agent_availability"]
    page["updated_at"] = page["last_ingested_at"] = now
    return page


def _source_update_problem(source: Mapping[str, Any], body: Mapping[str, Any]) -> str | None:
    # Spec: sync_behavior "You can not change the value to or from api"; the url "may
    # only be different from the existing value if the sync behavior is API".
    old, new = source["sync_behavior"], body["sync_behavior"]
    if old != new and "api" in (old, new):
        return "sync_behavior cannot be changed to or from api"
    if body["url"] != source["url"] and new != "api":
        return "url can only be changed for sources with sync_behavior api"
    return None


def _audience_ids(value: Any) -> list[int]:
    if value is None:
        return []
    return [value] if isinstance(value, int) else list(value)


def _paging(query: str) -> tuple[dict[str, int], list[str]]:
    """The `page`/`per_page` of the fake's own `next` links, and what is wrong with them."""
    raw = parse_qs(query, keep_blank_values=True)
    found: dict[str, int] = {}
    problems = []
    for name, high in (("page", sys.maxsize), ("per_page", MAX_PER_PAGE)):
        value = raw.get(name, [""])[-1]
        if name not in raw:
            continue
        if value.isdigit() and 1 <= int(value) <= high:
            found[name] = int(value)
        else:
            problems.append(f"query.{name}: {value!r} is not a valid {name} (1..{high})")
    return found, problems


def _list_operations(spec: OpenAPI) -> set[str]:
    """GET operations whose success reply has a `pages` object: Intercom's lists."""
    found = set()
    for op in spec.operations:
        if op.method != "GET":
            continue
        pointer = f"{op.pointer}/responses/200"
        reply, pointer = spec._deref(spec._deref_ptr(pointer)[0], pointer)
        media = (reply.get("content") or {}).get("application/json") or {}
        if "schema" not in media:
            continue
        schema_ptr = spec._deref(media["schema"], f"{pointer}/content/application~1json/schema")[1]
        if "pages" in spec._object_keys(schema_ptr):
            found.add(op.operation_id)
    return found


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().split(":")[1])
    except (ValueError, IndexError):
        return 0


def _last(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _not_found(request: _Request) -> _Reply:
    return _error(404, "not_found", "Resource Not Found", request.request_id)


def _request_id() -> str:
    return str(uuid.uuid4())


# ---- HTTP plumbing ----------------------------------------------------------------


def run_forever(
    port: int = 0,
    token: str = DEFAULT_TOKEN,
    *,
    rate_limit: int = DEFAULT_LIMIT,
    latency: float = 0.0,
    seed: int = 0,
    stop: threading.Event | None = None,
    out: Any = None,
) -> int:
    """Serve until SIGTERM/SIGINT (or `stop` is set); print the URL once ready.

    Violations are printed to stderr as they happen and make the exit status 1. The
    ``/__fake__/{violations,calls,state}`` views let the test inspect the fake.
    """
    out = out or sys.stdout
    stop = stop or threading.Event()
    fake = FakeIntercom(
        token, rate_limit=rate_limit, seed=seed, port=port, strict=False, control_endpoints=True
    )
    if latency:
        fake.faults.slow_down(latency)
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    with fake:
        print(fake.url, file=out, flush=True)
        reported = 0
        while not stop.wait(0.1):
            reported = _report(fake.violations, reported)
        reported = _report(fake.violations, reported)
    return 1 if reported else 0


def _report(violations: list[str], already: int) -> int:
    for line in violations[already:]:
        print(f"spec violation: {line}", file=sys.stderr, flush=True)
    return len(violations)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.intercom", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--rate-limit", type=int, default=DEFAULT_LIMIT)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per reply")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    return run_forever(
        args.port, args.token, rate_limit=args.rate_limit, latency=args.latency, seed=args.seed
    )


if __name__ == "__main__":
    raise SystemExit(main())
