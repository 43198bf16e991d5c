"""Pace requests by Intercom's ``X-RateLimit-*`` headers so a healthy run sees no 429.

Intercom counts calls per app in windows (10 seconds for the per-minute limits) and
tells, on every reply, the window's ``Limit``, what is ``Remaining`` and when it
``Reset`` s (Unix seconds). The limiter spends the remaining budget, counting calls in
flight as spent, and when none is left waits for the reset. A reset is trusted only
within a minute of our clock (`RateLimiter.bounded`): anything else waits one window
instead, so no header can hang a run or crash it. Thread-safe; the clock and the sleep
are injectable so tests control time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Our clock and Intercom's are not the same clock, and Reset has a one-second grain:
# wait a little past it rather than spend a call on a 429.
RESET_MARGIN = 0.25
# Until the first reply of a new window names its reset, assume Intercom's 10 seconds.
WINDOW_GUESS = 10.0
# Intercom's windows are 10 s long, so a reset more than a minute from our clock is a
# clock a day off, milliseconds (1.7e12, which time.sleep refuses with OverflowError),
# a negative or non-finite number: trusting it hangs the run or crashes it (issue 10).
# Such a reset becomes one window from now.
MAX_RESET_SKEW = 60.0
# So no wait the limiter makes is longer than the farthest reset it trusts.
MAX_WAIT = MAX_RESET_SKEW + RESET_MARGIN


@dataclass(frozen=True, slots=True)
class Quota:
    """One reply's view of the rate limit."""

    limit: int
    remaining: int
    reset: float  # Unix seconds

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Quota | None:
        try:
            return cls(
                limit=int(headers["x-ratelimit-limit"]),
                remaining=int(headers["x-ratelimit-remaining"]),
                reset=float(headers["x-ratelimit-reset"]),
            )
        except (KeyError, ValueError):
            return None


class RateLimiter:
    """Hands out permission to send, one call at a time, within the known budget."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._remaining: int | None = None  # None: no reply has told us a budget yet
        self._limit: int | None = None
        self._reset = 0.0
        self._confirmed = False  # has a reply of the current window named its reset?
        self._in_flight = 0
        self._reported = False  # has an untrusted reset been logged yet?
        self.waited = 0.0

    def bounded(self, reset: float) -> float:
        """``reset`` if it is Unix seconds within ``MAX_RESET_SKEW`` of our clock, else
        one window from now; the first untrusted reset is logged."""
        now = self._clock()
        if math.isfinite(reset) and abs(reset - now) <= MAX_RESET_SKEW:
            return reset
        if not self._reported:
            self._reported = True
            _log().warning(
                "rate_limit_reset_ignored",
                reset=repr(reset),  # a string: JSON has no nan or inf
                clock=round(now, 3),
                max_skew_s=MAX_RESET_SKEW,
                fallback_s=WINDOW_GUESS,
            )
        return now + WINDOW_GUESS

    def acquire(self) -> None:
        """Block until a call may be sent; the caller must ``release`` after the reply."""
        while True:
            with self._lock:
                now = self._clock()
                if self._remaining is not None and now >= self._reset + RESET_MARGIN:
                    # A new window: the whole limit again, until a reply says otherwise.
                    self._remaining = self._limit
                    self._reset = now + WINDOW_GUESS
                    self._confirmed = False
                if self._remaining is None or self._remaining - self._in_flight > 0:
                    self._in_flight += 1
                    return
                wait = self._reset + RESET_MARGIN - now
            self._wait(wait)

    def release(self, quota: Quota | None) -> None:
        """Record a reply's quota (``None`` for no reply or no headers)."""
        with self._lock:
            self._in_flight -= 1
            if quota is None:
                return
            reset = self.bounded(quota.reset)
            self._limit = quota.limit
            if not self._confirmed or reset > self._reset or self._remaining is None:
                self._reset = reset
                self._remaining = quota.remaining
                self._confirmed = True
            elif reset == self._reset:
                # Replies of one window arrive out of order: the lowest count is newest.
                self._remaining = min(self._remaining, quota.remaining)
            # else: a late reply from a window that has already ended tells nothing.

    def exhausted_until(self, reset: float) -> None:
        """A 429 said the window is spent: hold every caller until ``reset``."""
        with self._lock:
            self._reset = max(self._reset, self.bounded(reset))
            self._remaining = 0
            self._confirmed = True

    def pause(self, reset: float) -> None:
        """Sleep until ``reset`` (plus the margin); used after a 429."""
        self._wait(self.bounded(reset) + RESET_MARGIN - self._clock())

    def _wait(self, seconds: float) -> None:
        # `not seconds > 0` is also true of nan; the cap holds whatever computed the wait.
        if not seconds > 0:
            return
        seconds = min(seconds, MAX_WAIT)
        self.waited += seconds
        self._sleep(seconds)


def _log() -> Any:
    # Imported when needed: importing the client stays cheap (see transport.py).
    import structlog

    return structlog.get_logger("syncer.intercom")
