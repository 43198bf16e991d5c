"""Benchmark: syncer's Intercom client against the official ``python-intercom`` 5.x SDK.

The same workload through each, against the same fake Intercom (50 ms per reply, a
rate limit of 60 calls per 2-second window, so the updates outrun it): list 2,000
contacts page by page, then update 500 of them from 8 threads. Printed per client: wall
time, calls, 429s the fake sent, failed calls, and contacts listed and updated.

The SDK runs twice: as it comes (its retries are off unless each call asks for them)
and with ``request_options={"max_retries": 5}`` on every call. It sends no
``Intercom-Version`` header by default, so it is given one (``headers=``) to get past
the fake's check; the SDK is a bench-only dependency (``pip install '.[bench]'``).

    .venv/bin/python bench/client_vs_sdk.py [--contacts 2000] [--updates 500]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from syncer.intercom.client import IntercomClient  # noqa: E402
from syncer.intercom.transport import Transport  # noqa: E402
from tests.fakes.intercom import FakeIntercom  # noqa: E402

TOKEN = "bench-token"  # noqa: S105  # the fake accepts any token it is given
WORKERS = 8


@dataclass
class Result:
    name: str
    seconds: float
    calls: int
    rate_limited: int
    failed: int
    listed: int
    updated: int


def run(
    fake: FakeIntercom,
    name: str,
    contacts: int,
    updates: int,
    list_all: Callable[[], Any],
    update: Callable[[str, str], Any],
) -> Result:
    fake.reset()
    fake.add_contacts(contacts)
    time.sleep(2.1)  # start in a fresh rate-limit window
    failed = listed = updated = 0
    ids: list[str] = []
    started = time.perf_counter()
    try:
        for contact in list_all():
            ids.append(contact.id)
            listed += 1
    except Exception as exc:  # a failed call is what we count
        failed += 1
        print(f"  {name}: listing stopped: {type(exc).__name__}: {str(exc)[:120]}")
    targets = ids[:updates]

    def one(contact_id: str) -> bool:
        try:
            update(contact_id, f"Renamed {contact_id[-6:]}")
        except Exception:  # counted as failed
            return False
        return True

    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(one, targets))
    updated = sum(outcomes)
    failed += outcomes.count(False)
    seconds = time.perf_counter() - started
    return Result(name, seconds, len(fake.calls), fake.rate_limited, failed, listed, updated)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--limit", type=int, default=60, help="calls per window")
    parser.add_argument("--window", type=float, default=2.0, help="seconds")
    args = parser.parse_args(argv)
    try:
        from intercom import Intercom
    except ImportError:
        print("python-intercom is not installed: pip install 'python-intercom>=5,<6'")
        return 2

    results = []
    with FakeIntercom(TOKEN, rate_limit=args.limit, window=args.window, strict=False) as fake:
        fake.faults.slow_down(args.latency)

        transport = Transport(token=TOKEN, base_url=fake.url, max_connections=WORKERS)
        with IntercomClient(transport) as ours:
            results.append(
                run(
                    fake,
                    "syncer client",
                    args.contacts,
                    args.updates,
                    lambda: ours.contacts.list_all(),
                    lambda cid, name: ours.contacts.update(cid, name=name),
                )
            )

        sdk = Intercom(token=TOKEN, base_url=fake.url, headers={"Intercom-Version": "Preview"})
        results.append(
            run(
                fake,
                "python-intercom (defaults)",
                args.contacts,
                args.updates,
                lambda: sdk.contacts.list(),
                lambda cid, name: sdk.contacts.update(cid, name=name),
            )
        )
        retry: Any = {"max_retries": 5}
        results.append(
            run(
                fake,
                "python-intercom (max_retries=5)",
                args.contacts,
                args.updates,
                lambda: sdk.contacts.list(request_options=retry),
                lambda cid, name: sdk.contacts.update(cid, name=name, request_options=retry),
            )
        )
        violations = len(fake.violations)

    print(
        f"\nworkload: list {args.contacts} contacts page by page, update {args.updates} from "
        f"{WORKERS} threads; fake: {args.latency * 1000:.0f} ms per reply, "
        f"{args.limit} calls per {args.window:g} s window"
    )
    print(
        f"{'client':34} {'wall s':>7} {'calls':>6} {'429s':>5} {'failed':>7} "
        f"{'listed':>7} {'updated':>8}"
    )
    for r in results:
        print(
            f"{r.name:34} {r.seconds:7.1f} {r.calls:6d} {r.rate_limited:5d} {r.failed:7d} "
            f"{r.listed:7d} {r.updated:8d}"
        )
    if violations:
        print(f"(the fake saw {violations} requests that broke the spec)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
