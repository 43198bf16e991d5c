"""The one seam between syncer and Intercom's HTTP API.

Every call goes through ``Transport.request``: bearer auth, the ``Intercom-Version``
header, the region's host, and the HTTP core every client shares (``syncer.http.core``:
pooled connections, the retry loop, the host guard, counters), told by ``_Intercom``
what Intercom's replies mean: pace by ``X-RateLimit-*``, wait a 429 out until its reset,
retry 5xx and timeouts, stop on a refused token. Third-party errors stop here:
callers see ``IntercomError`` s carrying status, error codes and ``request_id``, never
the token: what a reply says (its error messages, its ``X-Request-Id``) is scrubbed of
the token before any error or log line is built from it, since a proxy or gateway may
echo the ``Authorization`` header back.
Tests swap the network, not this code: they point ``base_url`` at a fake Intercom, or
pass an httpx transport.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from syncer import __version__
from syncer.errors import (
    ErrorDetail,
    FatalIntercomError,
    IntercomError,
    NotFoundError,
    RetryableError,
    SyncerError,
)
from syncer.http import core
from syncer.http.core import HttpCore, Stats
from syncer.intercom.ratelimit import Quota, RateLimiter, Ticket
from syncer.intercom.retry import Backoff, Verdict, classify
from syncer.redact import Redactor

REGIONS = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

__all__ = ["REGIONS", "Stats", "Transport", "base_url_for"]


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
        limiter: RateLimiter | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        # The limiter waits on its own condition unless a test moves time by sleeping.
        self.limiter = limiter or RateLimiter(clock=clock, sleep=sleep)
        self.backoff = backoff or Backoff()
        # The token and "Bearer <token>", in any escaping.
        self._core = HttpCore(
            _Intercom(self.limiter, clock, Redactor([token])),
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": f"syncer/{__version__}",
            },
            timeout=timeout,
            redactor=Redactor([token]),
            backoff=self.backoff,
            sleep=sleep or time.sleep,
            max_connections=max_connections,
            name="intercom",
        )
        self.stats = self._core.stats

    def close(self) -> None:
        self._core.close()

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
        """Send one call, retrying as its reply allows; return the parsed JSON body.

        ``idempotent`` defaults by method (GET, PUT, DELETE); pass ``True`` for a POST
        that is safe to repeat (the external-page upsert). A 429 is retried for every
        call, since Intercom did nothing with it. ``files`` sends a multipart body,
        ``accept`` overrides the Accept header, and ``raw`` returns the
        ``httpx.Response`` of a success instead of its JSON (text, downloads, redirects).
        """
        method = method.upper()
        repeatable = method in IDEMPOTENT if idempotent is None else idempotent
        headers = {"Intercom-Version": version or self.api_version}
        if accept:
            headers["Accept"] = accept
        reply = self._core.request(
            method,
            path,
            idempotent=repeatable,
            path=urlsplit(path).path if path.startswith("http") else path,
            params=params,
            json=json,
            files=files,
            headers=headers,
        )
        return reply if raw else _body(reply)


class _Intercom:
    """What Intercom's replies mean, for the HTTP core: pacing by ``X-RateLimit-*``,
    a 429 waited out until its reset, 5xx and timeouts retried, 401/403 fatal."""

    def __init__(
        self, limiter: RateLimiter, clock: Callable[[], float], redactor: Redactor
    ) -> None:
        self.limiter = limiter
        self.clock = clock
        self.redactor = redactor

    def pace(self) -> Ticket:
        return self.limiter.acquire()

    def learn(self, reply: httpx.Response | None, ticket: object) -> None:
        if reply is not None and reply.status_code != 429:  # a 429 is the verdict's
            assert isinstance(ticket, Ticket)
            quota = Quota.from_headers(reply.headers)
            self.limiter.release(quota, ticket, reply.headers.get("date"))

    def verdict(self, reply: httpx.Response | None, ticket: object) -> core.Verdict:
        verdict = classify(reply.status_code if reply is not None else None)
        if verdict is Verdict.OK:
            return core.Done()
        if verdict is Verdict.RATE_LIMITED:
            assert reply is not None
            assert isinstance(ticket, Ticket)
            # Every caller holds back until the window ends; this one retries then. A
            # 429 of a window already over (the call was in flight across its end) is
            # retried at once, in the window of now.
            quota = Quota.from_headers(reply.headers)
            reset = _reset_of(reply, self.clock())
            limit = quota.limit if quota is not None else None
            return core.Throttled(self.limiter.exhausted_until(reset, ticket, limit))
        return core.Retry() if verdict is Verdict.RETRY else core.Fail()

    def describe(self, reply: httpx.Response) -> str:
        return _describe(reply)

    def error(self, failure: core.Failure) -> SyncerError:
        return _error(
            failure.method,
            failure.path,
            failure.status,
            failure.reply,
            failure.problem,
            classify(failure.status) if failure.status or failure.reply is None else Verdict.FAILED,
            self.redactor.redact,
        )


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
