"""The one seam between the connector and Confluence's HTTP API: auth, retries, pacing.

Every call goes through ``ConfluenceHttp.request``: Basic (Cloud: email and API token)
or Bearer (Data Center: personal access token) auth, timeouts and pooled connections
(httpx), and the waiting Confluence asks for:

- 429, and 503 with ``Retry-After``: wait as long as it says (or until
  ``X-RateLimit-Reset``), with a little jitter, then retry; any call, since the server
  did nothing with it;
- a 403 that is really throttling (old servers and proxies answer so, with a
  ``Retry-After``, a spent ``X-RateLimit-Remaining`` or a "rate limit" message): the same;
- 5xx without ``Retry-After``, timeouts, dropped connections: jittered exponential
  backoff (``syncer.http.backoff``), for reads;
- ``X-RateLimit-Remaining: 0`` on a success (Data Center's token bucket, Cloud's
  quota): the next call waits for ``Retry-After`` / the refill interval / the reset, so a
  healthy run meets few 429s.

Clock and sleep are injectable. What a reply says is scrubbed of the credentials (the
token, the header, its base64) before any error or log line is built from it, since a
proxy may echo the ``Authorization`` header back. Errors leave as ``ConfluenceError`` s::

    ConfluenceError (a SourceError)   status, method, path; never a credential
    ├── AuthError                     401: the credentials are wrong or revoked
    ├── ForbiddenError                403 that is not throttling: this call is refused
    ├── NotFoundError                 404
    └── ApiError                      any other failure, or retries exhausted
"""

from __future__ import annotations

import base64
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog

from syncer import __version__
from syncer.errors import SourceError
from syncer.http.backoff import Backoff, retry_after
from syncer.redact import Redactor

# One wait longer than this is cut short: a sync should not sleep for an hour because a
# server said so; if it is still throttled, the next wait comes after another try.
MAX_WAIT = 300.0
_THROTTLE_TEXT = re.compile(r"rate.?limit|too many requests|throttl", re.IGNORECASE)


class ConfluenceError(SourceError):
    """A failed Confluence call; carries its status, never a credential."""

    def __init__(self, message: str, *, status: int | None = None, **context: Any) -> None:
        super().__init__(message, status=status, **context)
        self.status = status


class AuthError(ConfluenceError):
    """401: the email/token (Cloud) or personal access token (Data Center) was refused."""


class ForbiddenError(ConfluenceError):
    """403 (not throttling): the account may not read this space or page."""


class NotFoundError(ConfluenceError):
    """404: gone, or not visible to this account."""


class ApiError(ConfluenceError):
    """Any other failure: a 4xx, or a 5xx / 429 / network error after every retry."""


@dataclass
class Stats:
    """What a run reports about its Confluence traffic."""

    requests: int = 0
    throttled: int = 0  # 429s, 503s with Retry-After, throttling 403s: each waited out
    retries: int = 0  # 5xx and network errors retried
    paced: int = 0  # waits before a call because the previous reply spent the budget
    waited: float = 0.0  # seconds spent waiting, all causes


@dataclass(frozen=True, slots=True)
class Reply:
    body: Any
    headers: httpx.Headers


def basic_auth(email: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()


def bearer_auth(token: str) -> str:
    return f"Bearer {token}"


def credentials_redactor(authorization: str) -> Redactor:
    """A `Redactor` of what ``authorization`` carries: a bearer token, or the token of
    Basic ``email:token`` (and the header's every form)."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, token = base64.b64decode(value, validate=True).decode().partition(":")
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            return Redactor([value, authorization])
        return Redactor([token, value], basic=[(user, token)])
    return Redactor([value, authorization])


class ConfluenceHttp:
    """Sends Confluence calls for one source; not shared between threads."""

    def __init__(
        self,
        base_url: str,
        *,
        authorization: str,
        deployment: str = "cloud",
        timeout: float = 30.0,
        http: httpx.BaseTransport | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        max_wait: float = MAX_WAIT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.deployment = deployment
        self.backoff = backoff or Backoff(base=1.0, cap=60.0, attempts=6)
        self.stats = Stats()
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._max_wait = max_wait
        self._not_before = 0.0
        self._redactor = credentials_redactor(authorization)
        self._log = structlog.get_logger("syncer.confluence")
        self._client = httpx.Client(
            transport=http,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={
                "Authorization": authorization,
                "Accept": "application/json",
                "User-Agent": f"syncer/{__version__}",
            },
        )

    def close(self) -> None:
        self._client.close()

    # ---- URLs ----------------------------------------------------------------------

    def site(self, path: str) -> str:
        """A path under the site (``/rest/api/...``, ``/api/v2/...``): what v1 links are."""
        return self._own(path) or self.base_url + path

    def host(self, path: str) -> str:
        """A path under the host (``/wiki/api/v2/...``): what v2 ``next`` links are."""
        return self._own(path) or self.origin + path

    def _own(self, url: str) -> str | None:
        if not url.startswith(("http://", "https://")):
            return None
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            # A link to another host would carry our credentials there: never follow it.
            raise ApiError(f"refusing to follow a link to another host: {parts.netloc}")
        return url

    # ---- calls ---------------------------------------------------------------------

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> Reply:
        return self.request("GET", url, params=params)

    def post(self, url: str, body: Any, *, idempotent: bool = True) -> Reply:
        return self.request("POST", url, json=body, idempotent=idempotent)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Reply:
        """One call, retried as Confluence's answers allow; the parsed JSON reply."""
        repeatable = method == "GET" if idempotent is None else idempotent
        path = urlsplit(url).path
        attempt = 0
        throttled = 0
        while True:
            self._pace()
            reply: httpx.Response | None = None
            problem = ""
            try:
                reply = self._client.request(method, url, params=params, json=json)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.stats.requests += 1
            if reply is not None:
                self._learn(reply.headers)
                if reply.is_success:
                    return Reply(_json(reply, method, path), reply.headers)
                problem = _describe(reply)
            problem = self._redactor.redact(problem)
            status = reply.status_code if reply is not None else None
            wait = self._throttle_wait(reply) if reply is not None else None
            if wait is not None and throttled < self.backoff.rate_limit_attempts:
                throttled += 1
                self.stats.throttled += 1
                self._log.info(
                    "confluence_throttled", method=method, path=path, status=status, wait=wait
                )
                self._wait(wait)
                continue
            retry = status is None or status >= 500 or status == 429
            if retry and repeatable and attempt + 1 < self.backoff.attempts:
                delay = self.backoff.delay(attempt)
                attempt += 1
                self.stats.retries += 1
                self._log.info(
                    "confluence_retrying",
                    method=method,
                    path=path,
                    status=status,
                    problem=problem,
                    attempt=attempt,
                    delay=round(delay, 3),
                )
                self._wait(delay)
                continue
            raise self._error(method, path, status, problem, attempts=attempt + throttled + 1)

    # ---- waiting -------------------------------------------------------------------

    def _throttle_wait(self, reply: httpx.Response) -> float | None:
        """Seconds to wait before retrying a throttled call, or ``None`` if not throttled."""
        status = reply.status_code
        headers = reply.headers
        told = retry_after(headers.get("retry-after"), self._clock())
        if status == 503 and told is None:
            return None  # an ordinary server error: backoff decides
        if status == 403 and not (
            told is not None
            or headers.get("x-ratelimit-remaining") == "0"
            or _THROTTLE_TEXT.search(reply.text[:2000])
        ):
            return None
        if status not in (429, 503, 403):
            return None
        if told is None:
            told = _reset_in(headers.get("x-ratelimit-reset"), self._clock())
        if told is None:
            told = self.backoff.delay(self.stats.throttled)
        # A little jitter on top, so many clients told the same time do not come back at once.
        return told * (1.0 + 0.1 * self._jitter())

    def _learn(self, headers: httpx.Headers) -> None:
        """Remember when the next call may go, from a reply's rate-limit headers."""
        if headers.get("x-ratelimit-remaining") != "0":
            if headers.get("x-ratelimit-nearlimit", "").lower() == "true":
                self._not_before = max(self._not_before, self._clock() + self.backoff.base)
            return
        now = self._clock()
        wait = retry_after(headers.get("retry-after"), now)
        if not wait:
            wait = _reset_in(headers.get("x-ratelimit-reset"), now)
        if not wait:
            interval = _number(headers.get("x-ratelimit-interval-seconds"))
            fill = _number(headers.get("x-ratelimit-fillrate"))
            wait = interval / fill if interval and fill else interval
        if wait:
            self._not_before = max(self._not_before, now + wait)

    def _pace(self) -> None:
        wait = self._not_before - self._clock()
        if wait > 0:
            self.stats.paced += 1
            self._wait(wait)

    def _wait(self, seconds: float) -> None:
        seconds = min(max(seconds, 0.0), self._max_wait)
        self.stats.waited += seconds
        self._sleep(seconds)

    def _error(
        self, method: str, path: str, status: int | None, problem: str, *, attempts: int
    ) -> ConfluenceError:
        where = f"Confluence {method} {path}"
        if status == 401:
            how = (
                "email and token (an Atlassian API token)"
                if self.deployment == "cloud"
                else "token (a personal access token)"
            )
            return AuthError(
                f"{where}: 401 {problem}: the credentials were refused (wrong, expired or "
                f"revoked); check {how}",
                status=status,
            )
        if status == 403:
            return ForbiddenError(
                f"{where}: 403 {problem}: this account may not read it", status=status
            )
        if status == 404:
            return NotFoundError(f"{where}: 404 {problem}", status=status)
        shown = f"{status} " if status else ""
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        return ApiError(f"{where}: {shown}{problem}{tries}", status=status)


def _json(reply: httpx.Response, method: str, path: str) -> Any:
    if not reply.content:
        return None
    try:
        return reply.json()
    except ValueError:
        raise ApiError(
            f"Confluence {method} {path}: {reply.status_code} with a body that is not JSON",
            status=reply.status_code,
        ) from None


def _describe(reply: httpx.Response) -> str:
    """The reason Confluence gave, from any of its error shapes (v2, v1, Data Center)."""
    try:
        body = reply.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            text = first.get("title") or first.get("detail") or first.get("code")
            if text:
                return str(text)[:300]
        for key in ("message", "reason"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])[:300]
    return reply.reason_phrase or f"HTTP {reply.status_code}"


def _reset_in(value: str | None, now: float) -> float | None:
    """Seconds until an ``X-RateLimit-Reset``: ISO 8601 (Cloud) or Unix seconds."""
    if not value:
        return None
    text = value.strip()
    number = _number(text)
    if number is not None:
        return max(0.0, number - now) if number > 1e9 else max(0.0, number)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, when.timestamp() - now)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
