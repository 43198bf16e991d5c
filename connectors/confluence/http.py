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

The retry loop, the host guard and the counters are the HTTP core every client shares
(``syncer.http.core``); ``_Confluence`` adds what Confluence's replies mean. Clock and
sleep are injectable. What a reply says is scrubbed of the credentials (the
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
from urllib.parse import urljoin, urlsplit

import httpx

from syncer import __version__
from syncer.errors import SourceError
from syncer.http.backoff import Backoff, retry_after
from syncer.http.core import Done, Fail, Failure, HttpCore, Retry, Throttled, Verdict
from syncer.redact import Redactor

# One wait longer than this is cut short: a sync should not sleep for an hour because a
# server said so; if it is still throttled, the next wait comes after another try.
MAX_WAIT = 300.0
# Cloud's download goes site -> media host; a chain longer than this is a loop.
MAX_REDIRECTS = 3
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
        redactor = credentials_redactor(authorization)
        self._service = _Confluence(deployment, self.backoff, clock, jitter)
        self._core = HttpCore(
            self._service,
            base_url=self.base_url,
            headers={
                "Authorization": authorization,
                "Accept": "application/json",
                "User-Agent": f"syncer/{__version__}",
            },
            timeout=timeout,
            redactor=redactor,
            backoff=self.backoff,
            sleep=sleep,
            max_wait=max_wait,
            name="confluence",
        )
        self._service.core = self._core
        self.stats = self._core.stats
        self._timeout, self._sleep, self._max_wait = timeout, sleep, max_wait
        self._redactor = redactor
        self._elsewhere: dict[str, HttpCore] = {}

    def close(self) -> None:
        self._core.close()
        for core in self._elsewhere.values():
            core.close()

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
        # A link to another host would carry our credentials there: never followed.
        return self._core.own(url)

    # ---- calls ---------------------------------------------------------------------

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> Reply:
        return self.request("GET", url, params=params)

    def download(self, url: str) -> bytes:
        """A file's bytes (an attachment), retried as any read; errors as ``get``'s.

        Cloud answers its download endpoint with a 302 to a signed URL on its media host
        (``api.media.atlassian.com``): that URL is fetched without the site's
        credentials, which never leave the site (the signature is its authorisation);
        a 401 there is a refused signature, not a refused token. A redirect within the
        site is followed with them.
        """
        at = url if url.startswith(("http://", "https://")) else self.site(url)
        for _ in range(MAX_REDIRECTS + 1):
            self._service.redirects = True
            try:
                reply = self._core.request("GET", at, idempotent=True)
            finally:
                self._service.redirects = False
            if not reply.is_redirect:
                return reply.content
            at = urljoin(at, reply.headers.get("location", ""))
            parts = urlsplit(at)
            if f"{parts.scheme}://{parts.netloc}" != self.origin:
                return self._fetch_elsewhere(at)
        raise ApiError(f"Confluence GET {urlsplit(url).path}: more than {MAX_REDIRECTS} redirects")

    def _fetch_elsewhere(self, url: str) -> bytes:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.scheme != "https" and self.origin.startswith("https://"):
            raise ApiError(f"Confluence download redirected to {origin}: not https, not followed")
        core = self._elsewhere.get(origin)
        if core is None:
            core = HttpCore(
                _Elsewhere(),
                base_url=origin,
                headers={"User-Agent": f"syncer/{__version__}"},  # no Authorization
                timeout=self._timeout,
                redactor=self._redactor,
                backoff=self.backoff,
                sleep=self._sleep,
                max_wait=self._max_wait,
                name="confluence-media",
            )
            self._elsewhere[origin] = core
        return core.request("GET", url, idempotent=True, path=parts.path).content

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
        reply = self._core.request(method, url, idempotent=repeatable, params=params, json=json)
        return Reply(_json(reply, method, urlsplit(url).path), reply.headers)


class _Confluence:
    """What Confluence's replies mean, for the HTTP core (see the module docstring)."""

    core: HttpCore  # set by ConfluenceHttp, which owns both

    def __init__(
        self,
        deployment: str,
        backoff: Backoff,
        clock: Callable[[], float],
        jitter: Callable[[], float],
    ) -> None:
        self.deployment = deployment
        self.backoff = backoff
        self.clock = clock
        self.jitter = jitter
        self.not_before = 0.0
        # Set around a download: a redirect is then its answer, for download to follow.
        self.redirects = False

    def pace(self) -> None:
        wait = self.not_before - self.clock()
        if wait > 0:
            self.core.wait(wait, paced=True)
        # No ticket: Confluence's budget is the replies' to tell, not the calls'.

    def learn(self, reply: httpx.Response | None, ticket: object = None) -> None:
        """Remember when the next call may go, from a reply's rate-limit headers."""
        if reply is None:
            return
        headers = reply.headers
        if headers.get("x-ratelimit-remaining") != "0":
            if headers.get("x-ratelimit-nearlimit", "").lower() == "true":
                self.not_before = max(self.not_before, self.clock() + self.backoff.base)
            return
        now = self.clock()
        wait = retry_after(headers.get("retry-after"), now)
        if not wait:
            wait = _reset_in(headers.get("x-ratelimit-reset"), now)
        if not wait:
            interval = _number(headers.get("x-ratelimit-interval-seconds"))
            fill = _number(headers.get("x-ratelimit-fillrate"))
            wait = interval / fill if interval and fill else interval
        if wait:
            self.not_before = max(self.not_before, now + wait)

    def verdict(self, reply: httpx.Response | None, ticket: object = None) -> Verdict:
        if reply is not None and (reply.is_success or (self.redirects and reply.is_redirect)):
            return Done()
        if reply is not None:
            wait = self._throttle_wait(reply)
            if wait is not None:
                return Throttled(wait)
        status = reply.status_code if reply is not None else None
        return Retry() if status is None or status >= 500 or status == 429 else Fail()

    def _throttle_wait(self, reply: httpx.Response) -> float | None:
        """Seconds to wait before retrying a throttled call, or ``None`` if not throttled."""
        status = reply.status_code
        headers = reply.headers
        told = retry_after(headers.get("retry-after"), self.clock())
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
            told = _reset_in(headers.get("x-ratelimit-reset"), self.clock())
        if told is None:
            told = self.backoff.delay(self.core.stats.throttled)
        # A little jitter on top, so many clients told the same time do not come back at once.
        return told * (1.0 + 0.1 * self.jitter())

    def describe(self, reply: httpx.Response) -> str:
        return _describe(reply)

    def error(self, failure: Failure) -> ConfluenceError:
        status, problem = failure.status, failure.problem
        where = f"Confluence {failure.method} {failure.path}"
        if failure.reply is None and status is None and failure.attempts == 0:
            return ApiError(problem)  # refused before any call: a link to another host
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
        attempts = failure.attempts
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        return ApiError(f"{where}: {shown}{problem}{tries}", status=status)


class _Elsewhere:
    """What a host a download is redirected to means (Cloud's media host): it has no
    budget to learn and takes no credentials, so no answer of it is an ``AuthError``."""

    def pace(self) -> None:
        return None

    def learn(self, reply: httpx.Response | None, ticket: object = None) -> None:
        return None

    def verdict(self, reply: httpx.Response | None, ticket: object = None) -> Verdict:
        if reply is not None and reply.is_success:
            return Done()
        status = reply.status_code if reply is not None else None
        return Retry() if status is None or status >= 500 or status == 429 else Fail()

    def describe(self, reply: httpx.Response) -> str:
        return _describe(reply)

    def error(self, failure: Failure) -> ConfluenceError:
        where = f"Confluence download {failure.method} {failure.path} (redirected)"
        if failure.status == 404:
            return NotFoundError(f"{where}: 404 {failure.problem}", status=404)
        shown = f"{failure.status} " if failure.status else ""
        return ApiError(f"{where}: {shown}{failure.problem}", status=failure.status)


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
