"""How long to wait before trying an HTTP call again: jittered backoff and Retry-After.

``Backoff`` gives capped, fully jittered exponential delays with the randomness
injectable, so tests decide them without waiting. ``retry_after`` reads a
``Retry-After`` header in either of its forms (seconds, or an HTTP date).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime


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


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (RFC 9110 §10.2.3), or ``None``.

    ``now`` is Unix time, used for the HTTP-date form; a date in the past means 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)
