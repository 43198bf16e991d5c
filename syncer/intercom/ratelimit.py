"""Pace requests by Intercom's ``X-RateLimit-*`` headers: the window's whole budget, no 429.

Intercom counts an app's calls in fixed windows (10 s for the per-minute limits) and
tells, on every reply, the window's ``Limit``, what is ``Remaining`` and when it
``Reset`` s, in whole Unix seconds: the window really ends up to a second later, and by
Intercom's clock, not ours. So the limiter:

- **Spends a window's budget evenly until the window's end**, rather than all at its
  start: each call leaves ``time left / calls left`` after the one before (a short burst
  is allowed, ``BURST``), so the budget lasts the window and no pause follows it.
- **Counts what the server has not yet seen**: a reply's ``Remaining`` counts every call
  that reached Intercom before it; the calls sent after that one are spent too.
- **Takes the window's end from what it saw, not from the header alone**: a call counted
  in the next window was sent after this one ended, so the first of those marks the end
  in our own clock (the header's second and any clock skew fall out). Until it knows,
  the end is the header's second plus that second (``RESET_GRAIN``) and a margin.
- **Waits a spent window out until its end**, holding every caller; a 429 spends it.

A reset is trusted only within a minute of our clock (``_header``): anything else is the
current window's, or one window from now, so no header can hang a run or crash it.
Thread-safe: callers reserve their slots under one lock and wait for them side by side.
The clock and the sleep are injectable so tests control time.

**Several processes on one app** (``syncer worker`` s) share its window: the headers are
the app's, so every process reads the same ``Remaining``, and each would spend it all.
``share(senders)`` makes this limiter spend its share, ``Remaining / senders`` less what
it sent itself since (``syncer.engine.budget`` counts the senders in Postgres). Alone, the
share is the whole window, and nothing else changes (``sending_at`` is one assignment a
call).
"""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# ``X-RateLimit-Reset`` names whole seconds (rounded down): the window ends before the
# next whole second.
RESET_GRAIN = 1.0
# Our clock and Intercom's are not the same clock: wait a little past the end the header
# implies, rather than spend a call on a 429.
RESET_MARGIN = 0.25
# Past a window end learnt from the calls themselves (the first one counted in the next
# window), for the spread of the time a call takes to arrive.
LEARNT_MARGIN = 0.05
# Until replies say otherwise, Intercom's windows are 10 seconds long.
WINDOW_GUESS = 10.0
# Calls that may leave at once, ahead of the even pace (a small job never waits).
BURST = 0.25  # seconds of the pace
# The last call counted in a window and the first counted in the next, sent this close
# together, pin the boundary between them (at the pace, they are milliseconds apart).
PINNED = 0.5
# Intercom's windows are 10 s long, so a reset more than a minute from our clock is a
# clock a day off, milliseconds (1.7e12, which time.sleep refuses with OverflowError),
# a negative or non-finite number: trusting it hangs the run or crashes it (issue 10).
# Such a reset becomes one window from now.
MAX_RESET_SKEW = 60.0
# So no wait the limiter makes is longer than the farthest reset it trusts.
MAX_WAIT = MAX_RESET_SKEW + RESET_GRAIN + RESET_MARGIN


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


@dataclass(frozen=True, slots=True)
class Ticket:
    """One call's permission to go: its place in the order calls left, and when."""

    seq: int
    sent_at: float


class RateLimiter:
    """Hands out permission to send, one call at a time, within the known budget."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._clock = clock
        # Tests pass a sleep that moves their clock; otherwise waits are on the
        # condition, so a reply that frees the budget wakes the waiting caller at once.
        self._sleep = sleep
        self._cond = threading.Condition()
        self._limit: int | None = None  # None: no reply has told us a budget yet
        self._remaining = 0  # in the current window, as the newest reply saw it
        self._seen = 0  # seq of the newest call that reply counted
        self._sent = 0  # tickets handed out so far
        self._window = WINDOW_GUESS
        self._reset: float | None = None  # the current window's header
        self._end = 0.0  # when the current window ends, by our clock
        self._guessed = False  # is ``_reset`` a guess, no header having been trusted?
        self._confirmed = False  # has a reply of the current window come back?
        self._first_sent = math.inf  # earliest call counted in the current window
        self._last_sent = -math.inf  # latest call counted in the current window
        self._before = -math.inf  # latest call counted in the window before it
        self._next = -math.inf  # when the next call may leave, at the even pace
        self._epoch = 0  # 429s so far: a slot reserved before the latest one is void
        self._held_until = -math.inf  # a 429 before any budget was known holds calls
        # Intercom's clock minus ours is at least this (until ``Date`` headers say more:
        # clocks that agree within the margin).
        self._skew_floor = -RESET_MARGIN
        self._dated = False
        self._reported = False  # has an untrusted reset been logged yet?
        # Processes (this one included) sending on the app's window: each spends its share.
        self._senders = 1
        self.sending_at = -math.inf  # our clock when the latest call asked to go (or will)
        self.waited = 0.0

    def _header(self, reset: float) -> tuple[float, bool]:
        """``reset`` if it is Unix seconds within ``MAX_RESET_SKEW`` of our clock, and
        whether it is a guess: an untrusted reset is the current window's, or, when that
        is over, a window's that ends one window from now. The first is logged."""
        now = self._clock()
        if math.isfinite(reset) and abs(reset - now) <= MAX_RESET_SKEW:
            return reset, False
        if not self._reported:
            self._reported = True
            _log().warning(
                "rate_limit_reset_ignored",
                reset=repr(reset),  # a string: JSON has no nan or inf
                clock=round(now, 3),
                max_skew_s=MAX_RESET_SKEW,
                fallback_s=WINDOW_GUESS,
            )
        if self._reset is not None and now < self._end:
            return self._reset, self._guessed
        return now + WINDOW_GUESS - RESET_GRAIN, True

    def acquire(self) -> Ticket:
        """Block until a call may be sent; pass the ticket to ``release`` with its reply.

        A caller reserves the next slot of the even pace under the lock and sleeps until
        it outside it, so callers wait side by side, not in a chain of hand-overs (each
        of which, on a busy interpreter, costs a switch of the GIL). One that finds the
        budget or the window's time spent waits for the window's end; one whose window a
        429 spent while it slept reserves again.
        """
        while True:
            with self._cond:
                while True:
                    now = self._clock()
                    self.sending_at = now
                    self._roll(now)
                    wait = self._wait_for(now)
                    if wait <= 0:
                        break
                    self._pause(wait)
                slot, seq = self._reserve(now)
                epoch = self._epoch
            self._sleep_until(slot)
            with self._cond:
                if self._epoch == epoch:
                    return Ticket(seq, self._clock())

    def release(
        self, quota: Quota | None, ticket: Ticket | None = None, date: str | None = None
    ) -> None:
        """Record a reply's quota (``None``: no reply, or no headers) for ``ticket`` 's call
        (``None``: the newest call); ``date``, the reply's ``Date`` header, tells how far
        Intercom's clock may be from ours."""
        if quota is None:
            return
        with self._cond:
            ticket = ticket or Ticket(self._sent, self._clock())
            if date is not None and not self._pinned():
                self._observe_date(date, ticket)
            blocked = self._limit is not None and self._budget() <= 0
            reset, guessed = self._header(quota.reset)
            self._limit = quota.limit
            opened = self._reset is None or reset > self._reset
            if opened:
                self._open(reset, guessed)
            elif self._reset is not None and reset < self._reset:
                # Counted in a window before this one: that window ended after the call
                # left, which may pin where this one began (its budget is past use).
                self._before = max(self._before, ticket.sent_at)
                self._learn_end()
                return
            self._counted(ticket)
            if not self._confirmed or ticket.seq >= self._seen:
                self._remaining = quota.remaining
                self._seen = ticket.seq
            else:
                # Replies arrive out of order: the lowest count is the newest.
                self._remaining = min(self._remaining, quota.remaining)
            self._confirmed = True
            if opened or (blocked and self._budget() > 0):
                self._cond.notify_all()  # a wait may be shorter now

    def exhausted_until(
        self, reset: float, ticket: Ticket | None = None, limit: int | None = None
    ) -> float:
        """A 429 said the window of ``reset`` (of ``limit`` calls, if it said) is spent:
        until it ends, every caller holds back. The seconds until then (0 for a 429 of a
        window already over)."""
        with self._cond:
            reset, guessed = self._header(reset)
            if self._reset is None or reset > self._reset:
                self._open(reset, guessed)
            elif reset < self._reset:
                # A window before this one, still going when the call arrived: what a
                # reply of it tells (see ``release``); the retry goes in this window.
                if ticket is not None:
                    self._before = max(self._before, ticket.sent_at)
                    self._learn_end()
                return 0.0
            if ticket is not None:
                self._counted(ticket)
            if limit is not None:
                self._limit = limit
            if self._limit is None:
                # No budget known yet: calls go as they please again once it ends.
                self._held_until = max(self._held_until, self._end)
            self._remaining = 0
            self._seen = self._sent
            self._epoch += 1  # slots reserved until now were of a budget that is gone
            self._confirmed = True
            return max(0.0, self._end - self._clock())

    def share(self, senders: int) -> None:
        """Spend ``1 / senders`` of each window: ``senders`` processes, this one included,
        send on the app's budget now."""
        senders = max(1, senders)
        with self._cond:
            if senders == self._senders:
                return
            larger = senders < self._senders
            self._senders = senders
            if larger:
                self._cond.notify_all()  # a larger share: a wait may be shorter now

    @property
    def senders(self) -> int:
        return self._senders

    # ---- the window --------------------------------------------------------------------

    def _reserve(self, now: float) -> tuple[float, int]:
        """The next slot of the even pace (when this call may leave) and its place."""
        slot = now
        if self._limit is not None:
            # After a quiet spell a burst of ``BURST`` seconds' worth may leave at once;
            # then the budget left (this call's share included) is spread evenly over the
            # time the window has left after this slot.
            slot = max(self._next, now)
            start = max(self._next, now - BURST)
            pace = max(self._end - slot, 0.0) / max(self._budget(), 1)
            self._next = start + pace
        self._sent += 1
        return slot, self._sent

    def _sleep_until(self, slot: float) -> None:
        wait = slot - self._clock()
        if wait > 0:
            self.waited += wait
            (self._sleep or time.sleep)(min(wait, MAX_WAIT))

    def _open(self, reset: float, guessed: bool = False) -> None:
        """The first word of a window after the current one (a reply, or a 429);
        ``guessed``: its reset is not a header's, but one window from now."""
        previous = None if guessed or self._guessed else self._reset
        if previous is not None and 0 < reset - previous <= MAX_RESET_SKEW:
            # Consecutive headers are a window apart (or a few, after a quiet spell).
            self._window = min(self._window, reset - previous)
        self._before = max(self._before, self._last_sent)
        self._reset, self._guessed = reset, guessed
        self._first_sent, self._last_sent = math.inf, -math.inf
        # A guess is our clock's, with no skew to allow for.
        self._end = self._clock() + WINDOW_GUESS + RESET_MARGIN if guessed else self._implied_end()
        self._confirmed = False

    def _counted(self, ticket: Ticket) -> None:
        """``ticket`` 's call was counted in the current window: what that says of its end.

        The previous window ended after the last call counted in it and before the first
        counted in this one; when the two were sent close together, that pins the end
        by our clock, and this window ends one window later.
        """
        self._first_sent = min(self._first_sent, ticket.sent_at)
        self._last_sent = max(self._last_sent, ticket.sent_at)
        self._learn_end()

    def _implied_end(self) -> float:
        """The latest the current window may end by our clock, from its header alone:
        before the next whole second of Intercom's clock, which is at most
        ``-_skew_floor`` seconds behind ours."""
        assert self._reset is not None
        return self._reset + RESET_GRAIN - self._skew_floor

    def _observe_date(self, date: str, ticket: Ticket) -> None:
        """A ``Date`` header: Intercom's clock read (whole seconds, rounded down) while
        the call was in its hands, so after it left and before its reply arrived here."""
        try:
            theirs = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        floor = theirs - self._clock()  # Intercom's clock minus ours, at least
        if abs(floor) > MAX_RESET_SKEW or (self._dated and floor <= self._skew_floor):
            return
        self._skew_floor, self._dated = floor, True
        if self._reset is not None and not self._guessed and not self._pinned():
            self._end = max(self._implied_end(), self._last_sent + LEARNT_MARGIN)

    def _pinned(self) -> bool:
        return 0 <= self._first_sent - self._before <= PINNED

    def _learn_end(self) -> None:
        if self._pinned():
            # By our clock, whatever Intercom's says: its skew and the header's second
            # fall out.
            self._end = self._first_sent + self._window + LEARNT_MARGIN
        # Counted here though sent after the end we had: the window lasts longer.
        self._end = max(self._end, self._last_sent + LEARNT_MARGIN)

    def _roll(self, now: float) -> None:
        """Past the current window's end with no reply of the next: a fresh budget."""
        if self._limit is None or self._reset is None or now < self._end:
            return
        windows = max(1, math.ceil((now - self._end) / self._window))
        self._reset += windows * self._window
        self._end += windows * self._window
        self._remaining = self._limit
        self._seen = self._sent  # what was sent before belongs to the windows gone
        self._before = max(self._before, self._last_sent)
        self._first_sent, self._last_sent = math.inf, -math.inf
        self._confirmed = False
        self._next = -math.inf

    def _budget(self) -> int:
        """Calls the current window still allows this process: its share of what the
        newest reply left, less what it sent since (the others' sends since are in their
        shares)."""
        return self._remaining // self._senders - (self._sent - self._seen)

    def _wait_for(self, now: float) -> float:
        """Seconds until a slot may be reserved (0: now): none while the window's budget,
        or its time, is spent."""
        if self._limit is None:
            return self._held_until - now
        if self._budget() <= 0 or self._next >= self._end:
            return self._end - now
        return 0.0

    def _pause(self, seconds: float) -> None:
        # `not seconds > 0` is also true of nan; the cap holds whatever computed the wait.
        if not seconds > 0:
            return
        seconds = min(seconds, MAX_WAIT)
        self.waited += seconds
        # A caller waiting a window out is still sending: its share is not the others'.
        self.sending_at = self._clock() + seconds
        if self._sleep is None:
            self._cond.wait(seconds)
            return
        self._cond.release()
        try:
            self._sleep(seconds)
        finally:
            self._cond.acquire()


def _log() -> Any:
    # Imported when needed: importing the client stays cheap (see transport.py).
    import structlog

    return structlog.get_logger("syncer.intercom")
