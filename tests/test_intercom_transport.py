"""The Intercom transport: retry decisions, backoff, pacing by X-RateLimit headers,
and behaviour against the fake Intercom (429s, 5xx, dropped connections, lost replies,
refused tokens). Time is injected where a test would otherwise wait."""

from __future__ import annotations

from time import time as wall_clock

import pytest

from syncer.config.settings import IntercomSettings
from syncer.errors import FatalIntercomError, IntercomError, RetryableError
from syncer.intercom.client import IntercomClient
from syncer.intercom.ratelimit import (
    BURST,
    RESET_GRAIN,
    RESET_MARGIN,
    WINDOW_GUESS,
    Quota,
    RateLimiter,
)
from syncer.intercom.retry import Backoff, Verdict, classify
from syncer.intercom.transport import REGIONS, Transport, base_url_for
from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom


class FakeTime:
    """A clock that moves only when someone sleeps."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []
        self.refuse = False  # make any wait an error, to prove a call would block

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if self.refuse:
            raise TimeoutError(f"would wait {seconds:.2f} s")
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.OK),
        (204, Verdict.OK),
        (None, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (409, Verdict.RETRY),
        (429, Verdict.RATE_LIMITED),
        (401, Verdict.FATAL),
        (403, Verdict.FATAL),
        (400, Verdict.FAILED),
        (404, Verdict.FAILED),
        (422, Verdict.FAILED),
    ],
)
def test_classify(status: int | None, verdict: Verdict) -> None:
    assert classify(status) is verdict


def test_backoff_is_capped_full_jitter() -> None:
    backoff = Backoff(base=0.5, cap=4.0, jitter=lambda: 1.0)
    assert [backoff.delay(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert Backoff(jitter=lambda: 0.25).delay(1) == 0.25


def test_limiter_spreads_the_budget_over_the_window_then_waits_for_its_end() -> None:
    time = FakeTime()
    start = time.now
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)
    limiter.acquire()
    limiter.release(Quota(limit=3, remaining=2, reset=start + 5))
    # The header's whole second may be up to a second early, and our clock a little off
    # Intercom's: the window ends by 6.25 s from now, and its two calls share that time.
    end = start + 5 + RESET_GRAIN + RESET_MARGIN
    limiter.acquire()  # a burst's worth leaves at once: the pace is 3.125 s a call
    limiter.acquire()
    assert time.slept == [pytest.approx(3.125 - BURST)]
    limiter.release(Quota(3, 1, start + 5))
    limiter.release(Quota(3, 0, start + 5))
    limiter.acquire()  # nothing left: wait for the window's end, then go
    assert time.slept == [pytest.approx(3.125 - BURST), pytest.approx(end - start - 2.875)]
    assert time.now == pytest.approx(end)


def test_limiter_counts_calls_in_flight_as_spent() -> None:
    time = FakeTime()
    start = time.now
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)
    limiter.acquire()
    limiter.release(Quota(10, 2, start + 3))
    limiter.acquire()
    limiter.acquire()
    assert time.now < start + 3
    # Two calls in flight against a budget of two: a third waits for the window's end,
    # though no reply has said the budget is spent.
    limiter.acquire()
    assert time.now == pytest.approx(start + 3 + RESET_GRAIN + RESET_MARGIN)


def test_a_new_window_allows_the_known_limit_before_any_reply() -> None:
    time = FakeTime()
    start = time.now
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)
    limiter.acquire()
    limiter.release(Quota(limit=3, remaining=0, reset=start + 2))
    limiter.acquire()  # waits out the spent window
    opened = start + 2 + RESET_GRAIN + RESET_MARGIN
    assert time.slept == [pytest.approx(opened - start)]
    limiter.acquire()
    limiter.acquire()  # three in flight, spread: the whole limit of the new window
    assert time.now < opened + WINDOW_GUESS
    limiter.release(None)  # a call ended without a reply: Intercom may have counted it
    limiter.acquire()  # a fourth waits for the next window, though no reply came back
    assert time.now == pytest.approx(opened + WINDOW_GUESS)


def test_limiter_trusts_the_lowest_remaining_of_a_window() -> None:
    time = FakeTime()
    start = time.now
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)
    first, second, third = (limiter.acquire() for _ in range(3))
    reset = start + 9
    limiter.release(Quota(100, 5, reset), second)
    limiter.release(Quota(100, 7, reset), first)  # an older reply arriving late
    limiter.release(Quota(100, 0, reset), third)
    limiter.acquire()
    assert time.slept == [pytest.approx(9 + RESET_GRAIN + RESET_MARGIN)]


def test_a_late_reply_with_more_remaining_does_not_raise_the_budget() -> None:
    time = FakeTime()
    start = time.now
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)
    first, second = limiter.acquire(), limiter.acquire()
    limiter.release(Quota(100, 0, start + 4), second)
    limiter.release(Quota(100, 50, start + 4), first)  # counted before the second
    limiter.acquire()
    assert time.now == pytest.approx(start + 4 + RESET_GRAIN + RESET_MARGIN)


def test_regions_and_base_url_override() -> None:
    assert base_url_for("eu") == REGIONS["eu"] == "https://api.eu.intercom.io"
    assert base_url_for("au") == "https://api.au.intercom.io"
    assert base_url_for("us", "http://127.0.0.1:9") == "http://127.0.0.1:9"


@pytest.fixture
def fake() -> FakeIntercom:
    with FakeIntercom(TOKEN) as server:
        yield server


def transport(fake: FakeIntercom, time: FakeTime | None = None, **kw: object) -> Transport:
    options: dict[str, object] = {"backoff": Backoff(base=0.001, cap=0.01)}
    if time is not None:
        options.update(clock=time.clock, sleep=time.sleep)
    options.update(kw)
    return Transport(token=TOKEN, base_url=fake.url, **options)  # type: ignore[arg-type]


def test_a_429_waits_until_the_reset_it_names(fake: FakeIntercom) -> None:
    start = wall_clock()
    time = FakeTime(start)
    fake.faults.rate_limit_storm(1)
    with transport(fake, time) as t:
        assert t.request("GET", "/ai/content_import_sources")["type"] == "list"
    # The end of the fake's window, in whole seconds as its header says it.
    window, phase = fake.limiter.window, fake.limiter.phase
    reset = int(((fake.calls[0].at - phase) // window + 1) * window + phase)
    assert time.slept == [pytest.approx(reset + RESET_GRAIN + RESET_MARGIN - start)]
    assert t.stats.rate_limited == 1
    assert len(fake.calls) == 2


def test_idempotent_calls_are_retried_and_others_are_not(fake: FakeIntercom) -> None:
    with transport(fake) as t:
        fake.faults.fail_next(503, 500)
        assert t.request("GET", "/ai/content_import_sources")["type"] == "list"
        assert t.stats.retries == 2
        fake.faults.fail_next(503)
        body = {"sync_behavior": "api", "url": "https://x.example/"}
        with pytest.raises(RetryableError, match="503"):
            t.request("POST", "/ai/content_import_sources", json=body)
    assert fake.sources() == []


def test_a_call_that_never_connected_is_retried_whatever_its_method() -> None:
    body = {"sync_behavior": "api", "url": "https://x.example/"}
    backoff = Backoff(base=0.001, cap=0.01, attempts=3)
    with (
        Transport(token=TOKEN, base_url="http://127.0.0.1:9", backoff=backoff) as t,
        pytest.raises(RetryableError, match="ConnectError"),
    ):
        t.request("POST", "/ai/content_import_sources", json=body)
    assert t.stats.requests == 3
    assert t.stats.retries == 2


def test_a_dropped_connection_is_retried(fake: FakeIntercom) -> None:
    fake.faults.drop_connections(2)
    with transport(fake) as t:
        assert t.request("GET", "/ai/external_pages")["type"] == "list"
    assert t.stats.retries == 2


def test_a_lost_upsert_reply_is_retried_into_the_same_page(fake: FakeIntercom) -> None:
    source = fake.add_source()
    fake.faults.lose_replies(1, method="POST")
    with IntercomClient(transport(fake)) as client:
        page = client.ai_content.create_external_page(
            title="T",
            html="<p>x</p>",
            source_id=source["id"],
            external_id="a.md",
            ai_agent_availability=True,
            ai_copilot_availability=True,
            ai_sales_agent_availability=False,
        )
    assert [p["id"] for p in fake.pages()] == [page.id]


def test_a_refused_token_is_fatal_and_never_shown(fake: FakeIntercom) -> None:
    with (
        Transport(token="not-the-token", base_url=fake.url) as t,
        pytest.raises(FatalIntercomError) as caught,
    ):
        t.request("GET", "/ai/external_pages")
    assert caught.value.status == 401
    assert caught.value.codes == ("unauthorized",)
    assert caught.value.request_id
    assert "access token was refused" in str(caught.value)
    assert "not-the-token" not in str(caught.value)
    assert len(fake.calls) == 1


def test_a_client_error_carries_status_codes_and_request_id(fake: FakeIntercom) -> None:
    with transport(fake) as t, pytest.raises(IntercomError) as caught:
        t.request("GET", "/ai/external_pages/999999")
    assert caught.value.status == 404
    assert caught.value.codes == ("not_found",)
    assert caught.value.request_id
    assert caught.value.request_id in str(caught.value)
    assert not isinstance(caught.value, (RetryableError, FatalIntercomError))


def test_the_version_header_is_sent_and_overridable(fake: FakeIntercom) -> None:
    with transport(fake, api_version="2.15") as t:
        t.request("GET", "/ai/content_import_sources", version="Preview")
        t.request("GET", "/ai/content_import_sources")
    assert [c.version for c in fake.calls] == ["Preview", "2.15"]


def test_next_links_to_another_host_are_refused(fake: FakeIntercom) -> None:
    with transport(fake) as t, pytest.raises(IntercomError, match="another host"):
        t.request("GET", "https://evil.example/ai/external_pages?page=2")
    assert fake.calls == []


def test_listing_follows_every_page(fake: FakeIntercom) -> None:
    source = fake.add_source()
    for n in range(120):
        fake.add_page(source_id=source["id"], external_id=f"p{n}")
    settings = IntercomSettings(token=TOKEN, base_url=fake.url)  # type: ignore[arg-type]
    with IntercomClient.from_settings(settings) as client:
        pages = list(client.ai_content.list_external_pages())
    assert sorted(p.external_id for p in pages) == sorted(f"p{n}" for n in range(120))
    assert len(fake.calls) == 3  # 50 + 50 + 20


def test_a_refused_send_guard_stops_the_call_before_it_leaves(fake_intercom: FakeIntercom) -> None:
    from syncer.errors import FencedError
    from syncer.fencing import SEND_GUARD

    asked: list[int] = []

    def allow_first_only() -> bool:
        asked.append(1)
        return len(asked) == 1

    fake_intercom.faults.fail_next(503, method="GET")
    with Transport(token=TOKEN, base_url=fake_intercom.url, backoff=Backoff(base=0.0)) as t:
        token = SEND_GUARD.set(lambda: False)
        try:
            with pytest.raises(FencedError) as never:
                t.request("GET", "/ai/content_import_sources")
        finally:
            SEND_GUARD.reset(token)
        assert never.value.context["attempts"] == 0
        assert fake_intercom.calls == []
        # Asked again before the retry: the first attempt went out, the retry did not.
        token = SEND_GUARD.set(allow_first_only)
        try:
            with pytest.raises(FencedError) as retried:
                t.request("GET", "/ai/content_import_sources")
        finally:
            SEND_GUARD.reset(token)
        assert retried.value.context["attempts"] == 1
        assert [c.status for c in fake_intercom.calls] == [503]
        assert t.request("GET", "/ai/content_import_sources")["type"] == "list"  # unset: sent
