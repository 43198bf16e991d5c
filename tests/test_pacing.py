"""The rate limiter against a model of Intercom's windows, over many conditions (issue 13).

A discrete-event simulation on a clock that moves only when someone waits: the server
counts each call in a fixed window that ends at a fraction of a second (``phase``) and
names that end in whole seconds rounded down, by its own clock (``skew`` from ours);
each call is answered ``latency`` later; at most ``in_flight`` calls are outstanding; a
429 is retried after the wait the limiter names, as the transport does. For every
condition, a run of uploads must reach 0.95 of the limit, see 429s on at most 0.2% of
calls, and never pause more than a second once it started.
"""

from __future__ import annotations

import email.utils
import heapq
import itertools
import math
from dataclasses import dataclass, field

import pytest

from syncer.intercom.ratelimit import Quota, RateLimiter, Ticket

LIMIT = 1666
WINDOW = 10.0
START = 1_800_000_000.0


@dataclass
class Server:
    """Intercom's counting, by its own clock (ours plus ``skew``)."""

    phase: float
    skew: float
    limit: int = LIMIT
    counts: dict[int, int] = field(default_factory=dict)

    def date(self, at: float) -> str:
        """The ``Date`` header of a reply made at ``at`` (our clock)."""
        return email.utils.formatdate(math.floor(at + self.skew), usegmt=True)

    def hit(self, at: float) -> tuple[Quota, bool]:
        theirs = at + self.skew
        index = math.floor((theirs - self.phase) / WINDOW)
        self.counts[index] = self.counts.get(index, 0) + 1
        end = (index + 1) * WINDOW + self.phase
        over = self.counts[index] > self.limit
        remaining = max(0, self.limit - self.counts[index])
        return Quota(self.limit, remaining, math.floor(end + 1e-9)), over


@dataclass
class Outcome:
    sent: list[float]
    rate_limited: int
    calls: int


class Simulation:
    """One client: ``calls`` uploads through a ``RateLimiter`` into a ``Server``."""

    def __init__(
        self, server: Server, latency: float, in_flight: int, *, dated: bool = True
    ) -> None:
        self.server = server
        self.dated = dated
        self.latency = latency
        self.in_flight = in_flight
        self.now = START
        self.events: list[tuple[float, int, Ticket, Quota, bool, str | None]] = []
        self.order = itertools.count()
        self.outstanding = 0
        self.retries: list[tuple[float, int]] = []  # (not before, order)
        self.limiter = RateLimiter(clock=lambda: self.now, sleep=self.sleep)
        self.sent: list[float] = []
        self.rate_limited = 0

    def sleep(self, seconds: float) -> None:
        self.advance(self.now + seconds)

    def advance(self, until: float) -> None:
        """Move the clock to ``until``, answering every call due before it, in order."""
        while self.events and self.events[0][0] <= until:
            at, _, ticket, quota, over, date = heapq.heappop(self.events)
            self.now = max(self.now, at)
            self.outstanding -= 1
            if over:
                self.rate_limited += 1
                wait = self.limiter.exhausted_until(quota.reset, ticket)
                heapq.heappush(self.retries, (self.now + wait, next(self.order)))
            else:
                self.limiter.release(quota, ticket, date)
        self.now = max(self.now, until)

    def run(self, calls: int) -> Outcome:
        done = 0
        while done < calls or self.retries:
            if self.outstanding >= self.in_flight:
                self.advance(self.events[0][0])
                continue
            if done >= calls and self.retries[0][0] > self.now:
                self.advance(self.retries[0][0])
                continue
            ticket = self.limiter.acquire()
            if self.retries and self.retries[0][0] <= self.now:
                heapq.heappop(self.retries)
            else:
                done += 1
            self.sent.append(self.now)
            quota, over = self.server.hit(self.now + 0.001)
            date = self.server.date(self.now + self.latency / 2) if self.dated else None
            event = (self.now + self.latency, next(self.order), ticket, quota, over, date)
            heapq.heappush(self.events, event)
            self.outstanding += 1
        self.advance(math.inf if not self.events else max(e[0] for e in self.events))
        return Outcome(self.sent, self.rate_limited, len(self.sent))


def simulate(phase: float, skew: float, latency: float, calls: int = 6000) -> Outcome:
    return Simulation(Server(phase, skew), latency, in_flight=64).run(calls)


CONDITIONS = [
    pytest.param(phase, skew, latency, id=f"phase{phase}-skew{skew:+}-latency{latency}")
    for phase in (0.0, 0.3, 0.97, 6.5)
    for skew in (-1.5, 0.0, 0.4, 2.0)
    for latency in (0.1, 0.3)
]


@pytest.mark.parametrize(("phase", "skew", "latency"), CONDITIONS)
def test_uploads_reach_the_limit_without_429s_or_pauses(
    phase: float, skew: float, latency: float
) -> None:
    outcome = simulate(phase, skew, latency)
    span = outcome.sent[-1] - outcome.sent[0]
    accepted = outcome.calls - outcome.rate_limited
    assert accepted / span >= 0.95 * LIMIT / WINDOW
    assert outcome.rate_limited <= 0.002 * outcome.calls
    longest = max(b - a for a, b in itertools.pairwise(outcome.sent))
    assert longest <= 1.0


@pytest.mark.parametrize("skew", [-0.2, 0.0, 0.2, 1.5])
@pytest.mark.parametrize("phase", [0.0, 0.5, 6.9])
def test_without_date_headers_a_clock_not_ahead_of_intercoms_sees_no_429(
    phase: float, skew: float
) -> None:
    # Without ``Date``, Intercom's clock is taken to be at most RESET_MARGIN behind ours
    # until the first window's end shows, by our clock, where windows fall.
    simulation = Simulation(Server(phase, skew), 0.1, 64, dated=False)
    outcome = simulation.run(6000)
    assert outcome.rate_limited == 0
    assert max(simulation.server.counts.values()) <= LIMIT


def test_date_headers_keep_a_clock_far_ahead_from_429s_in_the_first_window() -> None:
    # Our clock 1.5 s ahead of Intercom's, a window ending 0.5 s past a whole second.
    undated = Simulation(Server(6.5, -1.5), 0.1, 64, dated=False)
    hits: list[float] = []
    hit = undated.server.hit

    def counted(at: float) -> tuple[Quota, bool]:
        quota, over = hit(at)
        if over:
            hits.append(at)
        return quota, over

    undated.server.hit = counted  # type: ignore[method-assign]
    assert undated.run(6000).rate_limited > 0
    assert max(hits) < START + 8.1  # the first window's end, by our clock, and no later
    assert Simulation(Server(6.5, -1.5), 0.1, 64).run(6000).rate_limited == 0


def test_no_window_ever_counts_more_than_the_limit() -> None:
    server = Server(phase=0.42, skew=0.7)
    Simulation(server, latency=0.2, in_flight=64).run(8000)
    assert max(server.counts.values()) <= LIMIT


def test_a_budget_spent_by_someone_else_is_waited_out_not_stormed() -> None:
    # Another app's worth of calls already spent most of the window the run starts in.
    server = Server(phase=0.5, skew=0.0)
    index = math.floor((START + 0.001 - server.phase) / WINDOW)
    server.counts[index] = LIMIT - 10
    outcome = Simulation(server, latency=0.1, in_flight=64).run(3000)
    assert outcome.rate_limited <= 64  # at most the first flight, before any reply
    assert max(server.counts.values()) <= LIMIT + 64


def test_a_small_job_does_not_wait() -> None:
    simulation = Simulation(Server(phase=0.3, skew=0.0), latency=0.05, in_flight=8)
    outcome = simulation.run(40)
    assert outcome.sent[-1] - outcome.sent[0] < 0.5
    assert outcome.rate_limited == 0
