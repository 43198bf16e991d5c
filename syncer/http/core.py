"""The one HTTP core every API client shares: the retry loop and what goes with it.

``HttpCore.request`` sends a call and retries it as the reply allows: it paces before
each attempt, learns from each reply, waits out throttling (any call: the server did
nothing with it), backs off on server errors and dropped connections (only for calls
safe to repeat, or never sent), refuses links to other hosts (they would carry our
credentials), asks the run's send guard before each attempt leaves (``syncer.fencing``),
counts what it did (``Stats``), and scrubs the client's credentials out of every reason
it reports. A client adds only what its service means by a reply: a ``Service``.

::

    Service.pace()                   wait for the call's turn; a ticket for the call
    Service.learn(reply, ticket)     remember the budget a reply reports (None: no reply)
    Service.verdict(reply, ticket)   Done | Throttled(wait) | Retry | Fail
    Service.error(...)       the client's own exception for a call that failed
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from syncer.errors import FencedError, SyncerError
from syncer.fencing import SEND_GUARD
from syncer.http.backoff import Backoff
from syncer.http.wire import Wire, WireError
from syncer.redact import Redactor


@dataclass
class Stats:
    """What a client did: calls sent, throttled replies waited out, retries, failures,
    waits before a call because a reply had spent the budget, seconds spent waiting."""

    requests: int = 0
    throttled: int = 0
    retries: int = 0
    failed: int = 0
    paced: int = 0
    waited: float = 0.0

    @property
    def rate_limited(self) -> int:
        """Intercom's word for the throttled replies: 429s waited out."""
        return self.throttled

    def add(self, other: Stats) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True, slots=True)
class Done:
    """A success: hand the reply back."""


@dataclass(frozen=True, slots=True)
class Throttled:
    """The service asked us to wait ``seconds``; any call is retried after it."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Retry:
    """A failure worth trying again after a backoff, if the call is safe to repeat."""


@dataclass(frozen=True, slots=True)
class Fail:
    """A failure no retry will mend."""


Verdict = Done | Throttled | Retry | Fail


@dataclass(frozen=True, slots=True)
class Failure:
    """What the core knows of a call that failed, for the service's ``error``."""

    method: str
    path: str
    status: int | None
    reply: httpx.Response | None
    problem: str  # the reason, credentials already scrubbed
    verdict: Verdict
    attempts: int


class Service(Protocol):
    """What one API's replies mean; the core asks it around every attempt."""

    def pace(self) -> object:
        """Wait for the call's turn; what the service wants to know of it later."""
        ...

    def learn(self, reply: httpx.Response | None, ticket: object) -> None: ...

    def verdict(self, reply: httpx.Response | None, ticket: object) -> Verdict: ...

    def describe(self, reply: httpx.Response) -> str:
        """The reason the service gave for a failed reply, in a line."""
        ...

    def error(self, failure: Failure) -> SyncerError: ...


class HttpCore:
    """One client's connections, retry loop and counters; thread-safe."""

    def __init__(
        self,
        service: Service,
        *,
        base_url: str,
        headers: Mapping[str, str],
        timeout: float,
        redactor: Redactor,
        backoff: Backoff,
        sleep: Callable[[float], None],
        max_connections: int = 16,
        max_wait: float | None = None,
        name: str = "http",
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.origin = (parts.scheme, parts.netloc)
        self.backoff = backoff
        self.redactor = redactor
        self.stats = Stats()
        self._sleep = sleep
        self._max_wait = max_wait
        self._lock = threading.Lock()
        self._name = name
        import structlog  # here: importing a client should stay cheap

        self._log = structlog.get_logger(f"syncer.{name}")
        self._wire = Wire(
            self.base_url, headers=headers, timeout=timeout, max_connections=max_connections
        )

    def close(self) -> None:
        self._wire.close()

    def own(self, url: str) -> str:
        """``url`` if it is ours to send credentials to; a relative path is ours.

        A link a reply hands us (``next`` pages) is followed only to our own host.
        """
        if not url.startswith(("http://", "https://")):
            return url
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self.origin:
            raise self.service.error(
                Failure(
                    "GET",
                    parts.path,
                    None,
                    None,
                    f"refusing to follow a link to another host: {parts.netloc}",
                    Fail(),
                    0,
                )
            )
        return url

    def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool,
        path: str | None = None,
        **send: Any,
    ) -> httpx.Response:
        """Send one call, retrying as its replies allow; the successful reply.

        ``send`` goes to the wire as it is (params, json, files, headers); ``path`` is
        how the call is named in errors and logs (default: ``url`` 's path).
        """
        target = self.own(url)
        shown = path or urlsplit(url).path
        guard = SEND_GUARD.get()
        attempt = 0
        throttled = 0
        while True:
            ticket = self.service.pace()
            if guard is not None and not guard():
                # Asked as late as can be, after any wait for the budget and before each
                # attempt: a process that lost its source lock while paused sends nothing
                # when it wakes.
                self.service.learn(None, ticket)
                raise FencedError(
                    f"{method} {shown}: not sent, the run may not write",
                    attempts=attempt + throttled,  # earlier attempts did go out
                )
            reply: httpx.Response | None = None
            problem = ""
            unsent = False
            try:
                reply = self._wire.send(method, target, **send)
            except WireError as exc:
                problem, unsent = str(exc), exc.unsent
            finally:
                self.service.learn(reply, ticket)
                self._count(requests=1)
            verdict = self.service.verdict(reply, ticket)
            if isinstance(verdict, Done):
                assert reply is not None
                return reply
            if reply is not None:
                problem = self.service.describe(reply)
            problem = self.redactor.redact(problem)
            status = reply.status_code if reply is not None else None
            if isinstance(verdict, Throttled) and throttled < self.backoff.rate_limit_attempts:
                throttled += 1
                self._count(throttled=1)
                self._log.info(
                    "throttled", method=method, path=shown, status=status, wait=verdict.seconds
                )
                self.wait(verdict.seconds)
                continue
            may_repeat = idempotent or unsent
            if isinstance(verdict, Retry) and may_repeat and attempt + 1 < self.backoff.attempts:
                delay = self.backoff.delay(attempt)
                attempt += 1
                self._count(retries=1)
                self._log.info(
                    "retrying",
                    method=method,
                    path=shown,
                    status=status,
                    problem=problem,
                    attempt=attempt,
                    delay=round(delay, 3),
                )
                self.wait(delay)
                continue
            self._count(failed=1)
            attempts = attempt + throttled + 1
            raise self.service.error(
                Failure(method, shown, status, reply, problem, verdict, attempts)
            )

    def wait(self, seconds: float, *, paced: bool = False) -> None:
        """Sleep ``seconds`` (at most ``max_wait``), counted in the stats."""
        seconds = max(seconds, 0.0)
        if self._max_wait is not None:
            seconds = min(seconds, self._max_wait)
        if seconds <= 0:
            return
        self._count(waited=seconds, paced=1 if paced else 0)
        self._sleep(seconds)

    def _count(self, **fields: float) -> None:
        with self._lock:
            for name, value in fields.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)
