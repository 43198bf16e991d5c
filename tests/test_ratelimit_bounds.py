"""``X-RateLimit-Reset`` values that cannot be trusted (issue 10, item 17).

A reset a day ahead (or our clock a day behind Intercom's), one in milliseconds,
negative, ``nan`` or ``inf`` must neither hang a run nor crash it: every wait is bounded,
such a reset is replaced by the window length (10 s), and that is logged once, as a
fact with fields. Time is injected; the fake Intercom sends the headers for real.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from time import time as wall_clock

import pytest
from structlog.testing import capture_logs

from syncer import logs
from syncer.intercom.ratelimit import RESET_GRAIN, RESET_MARGIN, WINDOW_GUESS, Quota, RateLimiter
from syncer.intercom.retry import Backoff
from syncer.intercom.transport import Transport
from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom

NOW = 1_700_000_000.0
# The longest wait any one reply may cause: the window length and the margin.
BOUND = WINDOW_GUESS + RESET_MARGIN


class FakeTime:
    """A clock that moves only when someone sleeps; ``sleep`` behaves like time.sleep
    on the values it refuses (so a wait of 1.7e12 s or nan fails as it would for real)."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if math.isnan(seconds):
            raise ValueError("Invalid value NaN (not a number)")
        if seconds > 1e9:  # time.sleep's limit is ~9.2e9 s; anything near it hangs anyway
            raise OverflowError("timestamp too large to convert to C _PyTime_t")
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def _info_logs() -> None:
    """Log at info, whatever level an earlier test's command line left configured
    (``capture_logs`` replaces the processors, not the level filter)."""
    logs.configure(level="info")


# A reset far ahead, in milliseconds, in microseconds, negative, in 1970, nan and inf.
IMPLAUSIBLE = [
    NOW + 86_400,
    NOW * 1000,
    NOW * 1_000_000,
    -5.0,
    10.0,
    math.nan,
    math.inf,
    -math.inf,
]


@pytest.mark.parametrize("reset", IMPLAUSIBLE, ids=repr)
def test_a_spent_budget_with_an_implausible_reset_waits_the_window(reset: float) -> None:
    time = FakeTime()
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)
    limiter.acquire()
    with capture_logs() as logs:
        limiter.release(Quota(limit=100, remaining=0, reset=reset))
        limiter.acquire()  # nothing left: waits, but only the window length
    assert time.slept == [pytest.approx(BOUND)]
    ignored = [e for e in logs if e["event"] == "rate_limit_reset_ignored"]
    assert len(ignored) == 1
    assert ignored[0]["log_level"] == "warning"
    assert ignored[0]["fallback_s"] == WINDOW_GUESS


@pytest.mark.parametrize("reset", IMPLAUSIBLE, ids=repr)
def test_a_429_with_an_implausible_reset_pauses_the_window(reset: float) -> None:
    time = FakeTime()
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)
    time.sleep(limiter.exhausted_until(reset))  # as the transport does
    limiter.acquire()
    assert sum(time.slept) <= BOUND
    assert all(0 <= wait <= BOUND for wait in time.slept)


def test_a_plausible_reset_is_still_obeyed() -> None:
    time = FakeTime()
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)
    limiter.acquire()
    with capture_logs() as logs:
        limiter.release(Quota(limit=100, remaining=0, reset=NOW + 42))
        limiter.acquire()
    assert time.slept == [pytest.approx(42 + RESET_GRAIN + RESET_MARGIN)]
    assert not [e for e in logs if e["event"] == "rate_limit_reset_ignored"]


def test_an_implausible_reset_is_logged_once_per_limiter() -> None:
    time = FakeTime()
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)
    with capture_logs() as logs:
        for _ in range(5):
            limiter.acquire()
            limiter.release(Quota(limit=100, remaining=0, reset=time.now * 1000))
    assert [e["event"] for e in logs].count("rate_limit_reset_ignored") == 1
    assert all(wait <= BOUND for wait in time.slept)


# ---- against the fake Intercom, which sends the header for real ----------------------


@pytest.fixture
def fake() -> Iterator[FakeIntercom]:
    with FakeIntercom(TOKEN) as server:
        yield server


def transport(fake: FakeIntercom, time: FakeTime) -> Transport:
    return Transport(
        token=TOKEN,
        base_url=fake.url,
        backoff=Backoff(base=0.001, cap=0.01),
        clock=time.clock,
        sleep=time.sleep,
    )


HEADERS = ["86400", "day", "ms", "-1", "nan", "inf", "1e400"]


def _header(kind: str, now: float) -> str:
    return {"day": str(int(now + 86_400)), "ms": str(int(now * 1000))}.get(kind, kind)


@pytest.mark.parametrize("kind", HEADERS)
def test_a_429_storm_with_a_bad_reset_header_costs_at_most_the_window(
    fake: FakeIntercom, kind: str
) -> None:
    time = FakeTime(wall_clock())
    fake.faults.send_reset(_header(kind, time.now))
    fake.faults.rate_limit_storm(2)
    with capture_logs() as logs, transport(fake, time) as t:
        assert t.request("GET", "/ai/content_import_sources")["type"] == "list"
    assert t.stats.rate_limited == 2
    assert all(0 <= wait <= BOUND for wait in time.slept), time.slept
    assert sum(time.slept) <= 2 * BOUND
    assert [e["event"] for e in logs].count("rate_limit_reset_ignored") == 1


@pytest.mark.parametrize("kind", HEADERS)
def test_a_spent_budget_with_a_bad_reset_header_costs_at_most_the_window(kind: str) -> None:
    time = FakeTime(wall_clock())
    # The fake's windows move with the injected clock, so a wait really ends one.
    with FakeIntercom(TOKEN, clock=time.clock) as fake:
        fake.set_rate_limit(2)  # the second reply of each window says Remaining: 0
        fake.faults.send_reset(_header(kind, time.now))
        with capture_logs() as logs, transport(fake, time) as t:
            for _ in range(4):
                t.request("GET", "/ai/content_import_sources")
    assert t.stats.rate_limited == 0
    assert time.slept, "a spent budget waits before the next call"
    assert all(0 <= wait <= BOUND for wait in time.slept), time.slept
    assert [e["event"] for e in logs].count("rate_limit_reset_ignored") == 1
