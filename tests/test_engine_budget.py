"""One Intercom budget across workers (``syncer.engine.budget``), on the real Postgres.

Three real ``syncer worker`` processes sync three sources at once against one fake
Intercom with its real per-app window (shortened to 2 s, its limit in proportion): they
get no 429 storm (a handful at most, while a worker joins the set) and together spend
most of the limit over the upload phase (0.97 to 0.98 of it, no 429, in 29 s). Without
the sharing each paced as if alone, and the same run overran every window: 27 to 33
429s in 11 windows. The advisory-lock set itself is checked directly: a sender counts,
one idle leaves, one whose process dies leaves at once, one reloaded onto another app
leaves its first; and a limiter spends its share. Two daemon replicas running their
sources on one Postgres store share it too (without: 10 429s in 7 windows; with: none).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncer.engine.budget import BudgetShare, app_key
from syncer.intercom.ratelimit import RESET_GRAIN, RESET_MARGIN, Quota, RateLimiter
from syncer.store import migrate
from tests.conftest import TOKEN, terminate_session
from tests.fakes.intercom import Call, FakeIntercom
from tests.test_daemon import DaemonProcess, make_docs, wait_for, write_config
from tests.test_engine import ENGINE, WorkerProcess, _deferrer, _source

WINDOW_S = 2.0
LIMIT = 300  # calls a window: 150 calls/s, what three workers on two cores can exceed
DOCS = 1200
SOURCES = ("alpha", "beta", "gamma")

postgres = pytest.mark.postgres


def windows_spent(calls: list[Call], fake: FakeIntercom) -> list[float]:
    """Each whole window of the fake's between the first upload and the last: the share
    of its limit the calls it accepted spent (the first and last windows are partial)."""
    limiter = fake.limiter
    uploads = [c.received for c in calls if c.method == "POST" and c.path == "/ai/external_pages"]

    def index(at: float) -> int:
        return math.floor((at - limiter.phase) / limiter.window)

    first, last = index(min(uploads)), index(max(uploads))
    counted: dict[int, int] = {}
    for call in calls:
        if call.status is not None and call.status != 429:
            counted[index(call.received)] = counted.get(index(call.received), 0) + 1
    return [counted.get(i, 0) / limiter.limit for i in range(first + 1, last)]


@postgres
@pytest.mark.slow
def test_three_workers_share_one_window_without_429s(
    tmp_path: Path, postgres_url: str, workers: list[WorkerProcess]
) -> None:
    migrate.upgrade(postgres_url)
    for name in SOURCES:
        make_docs(tmp_path / name, DOCS)
    config = tmp_path / "syncer.yaml"
    with FakeIntercom(TOKEN, window=WINDOW_S, rate_limit=LIMIT) as fake:
        write_config(
            config,
            fake=fake,
            store=postgres_url,
            sources=[(name, tmp_path / name) for name in SOURCES],
            schedule="every 1h",
            # Whole sources, one job each (runs split in batches: test_engine_batches.py).
            daemon=ENGINE + f"  batch_size: {DOCS}\n",
            intercom="  concurrency: 16",
        )
        workers += [WorkerProcess(config, tmp_path / f"worker-{i}.log") for i in range(3)]
        for worker in workers:
            wait_for("a worker up", worker.started, 30)
        scheduler = _deferrer(
            postgres_url,
            "test",
            {name: _source(name, "every 1h") for name in SOURCES},
            datetime.now(UTC),
        )
        scheduler.start()
        try:
            assert [scheduler.trigger(name) for name in SOURCES] == ["started"] * 3
        finally:
            scheduler.close()
        wait_for(
            "three runs finished",
            lambda: sum(len(w.events("job_finished")) for w in workers) == 3,
            90,
        )
        calls = fake.calls
    finished = [e for w in workers for e in w.events("job_finished")]
    assert sorted(e["source"] for e in finished) == sorted(SOURCES)
    assert all(e["status"] == "succeeded" for e in finished)
    assert all(e["created"] == DOCS for e in finished)
    rate_limited = sum(c.status == 429 for c in calls)
    spent = windows_spent(calls, fake)
    print(f"429s: {rate_limited}; windows spent: {[round(s, 2) for s in spent]}")
    assert rate_limited <= 5, rate_limited
    assert len(spent) >= 5, spent
    assert sum(spent) / len(spent) >= 0.8, spent
    # Each ran one source, and all three sent at once, each pacing at a third.
    assert all(len(w.events("job_finished")) == 1 for w in workers)
    assert all(any(e["senders"] == 3 for e in w.events("intercom_share_changed")) for w in workers)


@postgres
@pytest.mark.slow
def test_two_daemon_replicas_share_one_window_without_429s(
    tmp_path: Path, postgres_url: str
) -> None:
    migrate.upgrade(postgres_url)
    names = SOURCES[:2]
    for name in names:
        make_docs(tmp_path / name, DOCS)
    daemons: list[DaemonProcess] = []
    with FakeIntercom(TOKEN, window=WINDOW_S, rate_limit=LIMIT) as fake:
        try:
            for name in names:  # a replica a source: both send at once
                config = tmp_path / f"{name}.yaml"
                write_config(
                    config,
                    fake=fake,
                    store=postgres_url,
                    sources=[(name, tmp_path / name)],
                    schedule="every 1h",
                    run_on_start=True,
                    intercom="  concurrency: 16",
                )
                daemons.append(DaemonProcess(config, tmp_path / f"{name}.log", migrate=False))
            wait_for(
                "both runs finished", lambda: all(d.events("source_synced") for d in daemons), 90
            )
            calls = fake.calls
        finally:
            for daemon in daemons:
                daemon.close()
    assert [d.events("source_synced")[0]["status"] for d in daemons] == ["succeeded"] * 2
    rate_limited = sum(c.status == 429 for c in calls)
    spent = windows_spent(calls, fake)
    print(f"429s: {rate_limited}; windows spent: {[round(s, 2) for s in spent]}")
    assert rate_limited <= 5, rate_limited
    assert len(spent) >= 4, spent
    assert sum(spent) / len(spent) >= 0.8, spent
    assert all(any(e["senders"] == 2 for e in d.events("intercom_share_changed")) for d in daemons)


@postgres
def test_senders_are_counted_in_the_store_and_leave_it(postgres_url: str) -> None:
    now = [1_000.0]
    limiters = [RateLimiter(clock=lambda: now[0]) for _ in range(2)]
    shares = [
        BudgetShare(postgres_url, limiter, token=TOKEN, holder=f"w{i}", clock=lambda: now[0])
        for i, limiter in enumerate(limiters)
    ]
    other = BudgetShare(postgres_url, RateLimiter(), token="another app", holder="x")
    try:
        # Idle, each paces as the sender it would be: alone.
        assert [share.tick() for share in shares] == [1, 1]
        for limiter in limiters:
            limiter.sending_at = now[0]  # a call asked to go
        assert shares[0].tick() == 1  # in the set, alone in it so far
        assert shares[1].tick() == 2
        assert shares[0].tick() == 2
        assert [limiter.senders for limiter in limiters] == [2, 2]
        assert other.tick() == 1  # another app's budget is its own
        # One stops sending: past IDLE_S it leaves, and the other has the window.
        now[0] += 0.5
        limiters[0].sending_at = now[0]
        now[0] += 0.9
        assert shares[1].tick() == 2  # idle: leaves the set, counting itself in still
        assert shares[0].tick() == 1
        assert limiters[0].senders == 1
        # One whose process dies (its session ends) leaves the set at once.
        limiters[1].sending_at = now[0]
        assert shares[1].tick() == 2
        assert shares[0].tick() == 2
        terminate_session(postgres_url, "syncer w1 budget")
        assert shares[0].tick() == 1
    finally:
        for share in (*shares, other):
            share.close()


@postgres
def test_a_reload_to_another_app_leaves_the_first_apps_set(postgres_url: str) -> None:
    now = [1_000.0]
    first, second = (RateLimiter(clock=lambda: now[0]) for _ in range(2))
    share = BudgetShare(postgres_url, first, token=TOKEN, holder="d0", clock=lambda: now[0])
    watcher = BudgetShare(postgres_url, RateLimiter(), token=TOKEN, holder="d1")
    try:
        first.sending_at = now[0]
        assert share.tick() == 1
        assert watcher.tick() == 2  # idle: d0, and itself as it would join
        second.sending_at = now[0]
        share.follow(second, token="another app's token")  # a reload, a new client
        assert second.senders == 1
        assert watcher.tick() == 1
    finally:
        share.close()
        watcher.close()


@pytest.mark.parametrize("senders", [1, 3])
def test_a_limiter_spends_its_share_of_the_window(senders: int) -> None:
    now = [1_000.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(clock=lambda: now[0], sleep=sleep)
    limiter.share(senders)
    first = limiter.acquire()
    limiter.release(Quota(limit=300, remaining=299, reset=1_010.0), first)
    sent = 1
    # The window ends by the header's second and the margin; the next call waits it out.
    end = 1_010.0 + RESET_GRAIN + RESET_MARGIN
    while limiter.acquire().sent_at < end:
        sent += 1
    assert sent == 300 // senders


def test_the_key_is_the_apps_and_no_token_shows() -> None:
    assert app_key(TOKEN) == app_key(TOKEN)
    assert app_key(TOKEN) != app_key("another token")
    assert 0 <= app_key(TOKEN) < 2**31
