"""When to retry an Intercom call and how long to wait: decisions apart from sleeping.

``classify`` maps a reply status (or a transport failure) to what the transport does;
``Backoff`` (shared with every HTTP client, in ``syncer.http.backoff``) gives capped,
fully jittered delays with the randomness injectable, so tests decide both without
waiting.
"""

from __future__ import annotations

from enum import Enum

from syncer.http.backoff import Backoff

__all__ = ["Backoff", "Verdict", "classify"]


class Verdict(Enum):
    OK = "ok"
    RATE_LIMITED = "rate_limited"  # 429: wait for X-RateLimit-Reset, then retry any call
    RETRY = "retry"  # 5xx, timeout, dropped connection: retry if the call is idempotent
    FATAL = "fatal"  # 401/403: the token is wrong; nothing will work
    FAILED = "failed"  # other 4xx: this call is wrong; report it, go on


def classify(status: int | None) -> Verdict:
    """What to do about a reply with ``status`` (``None``: no reply at all)."""
    if status is None or status >= 500 or status in (408, 409):
        # 409 is Intercom's "conflict, retry" for concurrent writes to one object.
        return Verdict.RETRY
    if status == 429:
        return Verdict.RATE_LIMITED
    if status in (401, 403):
        return Verdict.FATAL
    if status >= 400:
        return Verdict.FAILED
    return Verdict.OK
