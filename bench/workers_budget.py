"""Benchmark: one Intercom budget across 1, 2 and 3 ``syncer worker`` processes.

Each round syncs as many sources as it has workers (``--docs`` new documents each) at
once, the workers real processes on a scratch database of the local Postgres
(127.0.0.1:5432), against one fake Intercom with its real per-app window (``--window``
seconds, ``--limit`` calls a window, 429 ``rate_limit_exceeded`` past it). The figures,
beside the limit (the reference):

- calls Intercom counted per whole window of the upload phase, as a fraction of the
  limit: the mean and the fullest window (target: mean >= 0.8, none over 1);
- 429s (target: a handful at most, while a worker joins the set of senders);
- the seconds from the first upload to the last.

    .venv/bin/python bench/workers_budget.py [--docs 1500] [--window 2] [--limit 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONPATH", str(ROOT))

from bench.engine_harness import scratch_database, trigger, workers  # noqa: E402
from tests.conftest import TOKEN  # noqa: E402
from tests.fakes.intercom import FakeIntercom  # noqa: E402
from tests.test_daemon import make_docs, wait_for, write_config  # noqa: E402
from tests.test_engine import ENGINE  # noqa: E402
from tests.test_engine_budget import windows_spent  # noqa: E402


def one_round(count: int, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    sources = [f"source{i}" for i in range(count)]
    for source in sources:
        make_docs(folder / source, args.docs)
    config = folder / "syncer.yaml"
    with (
        scratch_database("syncer_budget") as url,
        FakeIntercom(TOKEN, window=args.window, rate_limit=args.limit) as fake,
    ):
        write_config(
            config,
            fake=fake,
            store=url,
            sources=[(source, folder / source) for source in sources],
            schedule="every 1h",
            daemon=ENGINE,
            intercom=f"  concurrency: {args.concurrency}",
        )
        with workers(config, count, folder) as started:
            trigger(url, sources)
            wait_for(
                "the runs finished",
                lambda: sum(len(w.events("job_finished")) for w in started) == count,
                600,
                every=0.2,
            )
        calls = fake.calls
    spent = windows_spent(calls, fake)
    uploads = [c.received for c in calls if c.method == "POST" and c.path == "/ai/external_pages"]
    return {
        "mean": sum(spent) / len(spent) if spent else 0.0,
        "fullest": max(spent, default=0.0),
        "rate_limited": float(sum(c.status == 429 for c in calls)),
        "upload_s": max(uploads) - min(uploads),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1500, help="documents per source")
    parser.add_argument("--window", type=float, default=2.0, help="the fake's window, seconds")
    parser.add_argument("--limit", type=int, default=300, help="calls a window")
    parser.add_argument("--concurrency", type=int, default=16, help="intercom.concurrency")
    parser.add_argument("--workers", default="1,2,3", help="rounds: workers in each")
    args = parser.parse_args()
    rate = args.limit / args.window
    print(f"limit: {args.limit} calls per {args.window:g} s window ({rate:.0f} calls/s)")
    print(f"{'workers':>7}  {'mean':>6}  {'fullest':>7}  {'429s':>5}  {'upload s':>8}")
    for count in (int(n) for n in args.workers.split(",")):
        with tempfile.TemporaryDirectory(prefix="syncer-budget-") as folder:
            began = time.monotonic()
            got = one_round(count, args, Path(folder))
        print(
            f"{count:>7}  {got['mean']:>6.2f}  {got['fullest']:>7.2f}  "
            f"{got['rate_limited']:>5.0f}  {got['upload_s']:>8.1f}"
            f"   ({time.monotonic() - began:.0f} s in all)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
