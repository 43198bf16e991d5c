"""When to retry an Intercom call and how long to wait: decisions apart from sleeping.

``classify`` maps a reply status (or a transport failure) to what the transport does;
``Backoff`` gives capped, fully jittered delays with the randomness injectable, so
tests decide both without waiting.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum


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


@dataclass(frozen=True)
class Backoff:
    """Full-jitter exponential backoff: ``uniform(0, min(cap, base * 2**attempt))``."""

    base: float = 0.5
    cap: float = 30.0
    attempts: int = 8
    rate_limit_attempts: int = 20
    jitter: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int) -> float:
        return self.jitter() * min(self.cap, self.base * 2.0**attempt)
