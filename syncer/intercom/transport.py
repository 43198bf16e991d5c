"""The one seam between syncer and Intercom's HTTP API.

Every call goes through ``Transport.request``: bearer auth, the ``Intercom-Version``
header, the region's host, timeouts and pooled connections (httpx), the rate limiter,
and retries. Third-party errors stop here: callers see ``IntercomError`` s carrying
status, error codes and ``request_id``, never the token: what a reply says (its error
messages, its ``X-Request-Id``) is scrubbed of the token before any error or log line is
built from it, since a proxy or gateway may echo the ``Authorization`` header back.
Tests swap the network, not this code: they point ``base_url`` at a fake Intercom, or
pass an httpx transport.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from syncer import __version__
from syncer.errors import (
    ErrorDetail,
    FatalIntercomError,
    FencedError,
    IntercomError,
    NotFoundError,
    RetryableError,
)
from syncer.fencing import SEND_GUARD
from syncer.intercom.ratelimit import Quota, RateLimiter
from syncer.intercom.retry import Backoff, Verdict, classify
from syncer.redact import Redactor

REGIONS = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass
class Stats:
    """Counters a run reports: calls sent, 429s met, retries made, time spent waiting."""

    requests: int = 0
    rate_limited: int = 0
    retries: int = 0
    failed: int = 0


class Transport:
    """Sends Intercom calls; thread-safe, so a pool of workers can share one."""

    def __init__(
        self,
        *,
        token: str,
        base_url: str,
        api_version: str = "Preview",
        timeout: float = 30.0,
        max_connections: int = 16,
        http: httpx.BaseTransport | None = None,
        limiter: RateLimiter | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self._origin = urlsplit(self.base_url)[:2]
        self._clock = clock
        self._sleep = sleep
        self._redactor = Redactor([token])  # the token and "Bearer <token>", in any escaping
        self.limiter = limiter or RateLimiter(clock=clock, sleep=sleep)
        self.backoff = backoff or Backoff()
        self.stats = Stats()
        self._stats_lock = threading.Lock()
        # Imported here: structlog's console renderer pulls in rich, and importing the
        # client should stay cheap (tests/test_intercom_api.py holds it under 0.5 s).
        import structlog

        self._log = structlog.get_logger("syncer.intercom")
        self._client = httpx.Client(
            base_url=self.base_url,
            transport=http,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": f"syncer/{__version__}",
            },
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        version: str | None = None,
        files: Any = None,
        accept: str | None = None,
        raw: bool = False,
    ) -> Any:
        """Send one call, retrying as its verdict allows; return the parsed JSON body.

        ``idempotent`` defaults by method (GET, PUT, DELETE); pass ``True`` for a POST
        that is safe to repeat (the external-page upsert). A 429 is retried for every
        call, since Intercom did nothing with it. ``files`` sends a multipart body,
        ``accept`` overrides the Accept header, and ``raw`` returns the
        ``httpx.Response`` of a success instead of its JSON (text, downloads, redirects).
        """
        method = method.upper()
        target = self._target(path)
        repeatable = method in IDEMPOTENT if idempotent is None else idempotent
        headers = {"Intercom-Version": version or self.api_version}
        if accept:
            headers["Accept"] = accept
        attempt = 0
        rate_limited = 0
        guard = SEND_GUARD.get()
        while True:
            self.limiter.acquire()
            if guard is not None and not guard():
                # Asked as late as can be, after any wait for the budget and before each
                # attempt: a process paused past its lease sends nothing when it wakes.
                self.limiter.release(None)
                raise FencedError(
                    f"Intercom {method} {path}: not sent, the run may not write",
                    attempts=attempt + rate_limited,  # earlier attempts did go out
                )
            reply: httpx.Response | None = None
            problem: str
            unsent = False
            try:
                reply = self._client.request(
                    method, target, params=params, json=json, files=files, headers=headers
                )
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                problem = self._redactor.redact(problem)
                # No connection, no request: Intercom cannot have acted on it.
                unsent = isinstance(exc, NEVER_SENT)
            finally:
                self.limiter.release(Quota.from_headers(reply.headers) if reply else None)
                self._count(requests=1)
            status = reply.status_code if reply is not None else None
            verdict = classify(status)
            if verdict is Verdict.OK:
                assert reply is not None
                return reply if raw else _body(reply)
            if reply is not None:
                problem = self._redactor.redact(_describe(reply))
            if verdict is Verdict.RATE_LIMITED and rate_limited < self.backoff.rate_limit_attempts:
                rate_limited += 1
                self._count(rate_limited=1)
                assert reply is not None
                reset = self.limiter.bounded(_reset_of(reply, self._clock()))
                self.limiter.exhausted_until(reset)
                self._log.info("rate_limited", method=method, path=path, reset=reset)
                self.limiter.pause(reset)
                continue
            may_repeat = repeatable or unsent
            if verdict is Verdict.RETRY and may_repeat and attempt + 1 < self.backoff.attempts:
                delay = self.backoff.delay(attempt)
                attempt += 1
                self._count(retries=1)
                self._log.info(
                    "retrying",
                    method=method,
                    path=path,
                    status=status,
                    problem=problem,
                    attempt=attempt,
                    delay=round(delay, 3),
                )
                self._sleep(delay)
                continue
            self._count(failed=1)
            raise _error(method, path, status, reply, problem, verdict, self._redactor.redact)

    def _target(self, path: str) -> str:
        if not path.startswith(("http://", "https://")):
            return path
        # A `next` link from a reply: follow it only to our own host, never leak the token.
        parts = urlsplit(path)
        if parts[:2] != self._origin:
            raise IntercomError(f"refusing to follow a link to another host: {parts.netloc}")
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def _count(self, **fields: int) -> None:
        with self._stats_lock:
            for name, value in fields.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)


def base_url_for(region: str, override: str | None = None) -> str:
    """The API host: an explicit ``base_url`` wins, else the region's."""
    return override or REGIONS[region]


def _body(reply: httpx.Response) -> Any:
    if not reply.content:
        return None
    try:
        return reply.json()
    except ValueError:
        raise IntercomError(
            f"Intercom answered {reply.status_code} with a body that is not JSON",
            status=reply.status_code,
        ) from None


def _reset_of(reply: httpx.Response, now: float) -> float:
    quota = Quota.from_headers(reply.headers)
    if quota is not None:
        return quota.reset
    retry_after = reply.headers.get("retry-after")
    try:
        return now + float(retry_after) if retry_after else now + 10.0
    except ValueError:
        return now + 10.0


def _describe(reply: httpx.Response) -> str:
    errors = _errors_of(reply)
    if errors:
        return "; ".join(
            f"{e.get('code')}: {e.get('message') or ''}".rstrip(": ")
            + (f" (field {e['field']})" if e.get("field") else "")
            for e in errors
        )
    return reply.reason_phrase or f"HTTP {reply.status_code}"


def _errors_of(reply: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = reply.json()
    except ValueError:
        return []
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [e for e in body["errors"] if isinstance(e, dict)]
    return []


def _error(
    method: str,
    path: str,
    status: int | None,
    reply: httpx.Response | None,
    problem: str,
    verdict: Verdict,
    redact: Callable[[str], str],
) -> IntercomError:
    """The error for a failed call; every text taken from the reply goes through
    ``redact`` (``problem`` already has)."""
    request_id = None
    details: tuple[ErrorDetail, ...] = ()
    if reply is not None:
        request_id = reply.headers.get("x-request-id")
        try:
            body = reply.json()
            request_id = (body.get("request_id") if isinstance(body, dict) else None) or request_id
        except ValueError:
            pass
        request_id = redact(str(request_id)) if request_id else None
        details = tuple(
            ErrorDetail(
                code=redact(str(e.get("code") or "")),
                message=redact(str(e["message"])) if e.get("message") is not None else None,
                field=redact(str(e["field"])) if e.get("field") is not None else None,
            )
            for e in _errors_of(reply)
        )
    where = f"{method} {path}"
    shown = f"{status} " if status else ""
    message = f"Intercom {where}: {shown}{problem}"
    if request_id:
        message += f" (request_id {request_id})"
    kind: type[IntercomError] = NotFoundError if status == 404 else IntercomError
    if verdict is Verdict.FATAL:
        kind = FatalIntercomError
        message += (
            ": the access token was refused; check intercom.token and the app's permissions"
            if status == 401
            else ": the access token lacks a permission this call needs"
        )
    elif verdict in (Verdict.RETRY, Verdict.RATE_LIMITED):
        kind = RetryableError
    codes = tuple(d.code for d in details)
    return kind(message, status=status, request_id=request_id, codes=codes, errors=details)
