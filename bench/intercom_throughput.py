"""Benchmark: applying plans to Intercom at its rate limit (against the fake Intercom).

1. Initial sync of 2,000 documents, the fake answering in 100 ms with a limit of 500
   requests per 10 s: throughput as a fraction of the limit (target at least 0.9) and
   the count of 429s (target 0).
2. A no-op re-sync of 10,000 documents: Intercom calls (target 2: the sources' listing
   and the drift check's page count) and wall time of ``syncer sync`` (target under 3 s);
   then what the drift check costs when it finds something: 1% of the pages deleted in
   Intercom by hand, then the store lost (calls by operation, wall time beside the no-op).

    .venv/bin/python bench/intercom_throughput.py [--docs 2000] [--noop-docs 10000]
    .venv/bin/python bench/intercom_throughput.py --limit 1666 --latency 0.3 --docs 5000 \
        --noop-docs 0     # Intercom's real per-app limit, slow replies
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.intercom import FakeIntercom  # noqa: E402

TOKEN = "bench-token"  # noqa: S105  # the fake accepts any token it is given


def make_docs(folder: Path, count: int) -> None:
    for n in range(count):
        path = folder / f"part-{n % 20:02d}" / f"doc-{n:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# Document {n}\n\nSome words about topic {n}, enough to be real.\n")


def write_config(work: Path, docs: Path, url: str, concurrency: int | None = None) -> Path:
    config = work / "syncer.yaml"
    extra = f"  concurrency: {concurrency}\n" if concurrency else ""
    config.write_text(
        f"intercom:\n  token: ${{BENCH_TOKEN}}\n  base_url: {url}\n{extra}"
        f"store:\n  url: sqlite:///{work / 'store.db'}\n"
        f"sources:\n  - name: docs\n    type: filesystem\n    path: {docs}\n"
        "    url: https://docs.example.com/\n"
        '    page_url: "https://docs.example.com/{path_stem}"\n'
    )
    return config


def sync(config: Path) -> float:
    syncer = str(Path(sys.executable).with_name("syncer"))
    env = {**os.environ, "BENCH_TOKEN": TOKEN}
    started = time.perf_counter()
    done = subprocess.run(
        [syncer, "--log-level", "error", "sync", "-c", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"sync failed with exit code {done.returncode}")
    return time.perf_counter() - started


def throughput(
    count: int, limit: int, latency: float, concurrency: int | None, window: float = 10.0
) -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeIntercom(TOKEN, rate_limit=limit) as fake:
        work = Path(tmp)
        make_docs(work / "docs", count)
        fake.faults.slow_down(latency)
        wall = sync(write_config(work, work / "docs", fake.url, concurrency))
        calls = fake.calls
        first, last = calls[0].at, calls[-1].at
        rate = len(calls) / (last - first)
        allowed = limit / window
        print(
            f"initial sync of {count} documents, {latency * 1000:.0f} ms replies, "
            f"limit {limit} per {window:.0f} s:"
        )
        print(f"  {len(calls)} requests, {fake.rate_limited} answered 429, wall {wall:.1f} s")
        print(
            f"  request rate from first to last call: {rate:.1f}/s = "
            f"{rate / allowed:.2f} of the limit ({allowed:.0f}/s)"
        )
        print(f"  pages in the fake: {len(fake.pages())}")


def noop(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeIntercom(TOKEN, rate_limit=100_000) as fake:
        work = Path(tmp)
        make_docs(work / "docs", count)
        config = write_config(work, work / "docs", fake.url)
        fill = sync(config)
        before = len(fake.calls)
        walls = [sync(config) for _ in range(3)]
        calls = fake.calls[before:]
        ops = sorted({c.operation_id or "?" for c in calls})
        print(f"no-op re-sync of {count} documents (store filled in {fill:.1f} s):")
        print(
            f"  best wall {min(walls):.2f} s of 3; Intercom calls per run: "
            f"{len(calls) / 3:.0f} ({', '.join(ops)}), writes: {sum(c.write for c in calls)}"
        )
        drift(fake, work, config, count, min(walls))


def drift(fake: FakeIntercom, work: Path, config: Path, count: int, noop_wall: float) -> None:
    """What the drift check costs when it finds something, beside the no-op it adds to."""
    gone = fake.pages()[: max(1, count // 100)]
    with httpx.Client(base_url=fake.url, headers={"Authorization": f"Bearer {TOKEN}"}) as admin:
        for page in gone:  # deleted by hand in Intercom
            admin.delete(
                f"/ai/external_pages/{page['id']}", headers={"Intercom-Version": "Preview"}
            )
    for what, prepare in (
        (f"{len(gone)} pages deleted in Intercom", lambda: None),
        ("the store lost", lambda: (work / "store.db").unlink()),
    ):
        prepare()
        before = len(fake.calls)
        wall = sync(config)
        calls = Counter(c.operation_id or "?" for c in fake.calls[before:])
        shown = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
        print(
            f"  {what}: wall {wall:.2f} s (no-op {noop_wall:.2f} s); calls: {shown}; "
            f"pages in the fake: {len(fake.pages())}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=500, help="requests per 10 s window")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per reply")
    parser.add_argument("--noop-docs", type=int, default=10_000, help="0 skips the no-op run")
    parser.add_argument("--concurrency", type=int, help="intercom.concurrency (default: syncer's)")
    args = parser.parse_args()
    throughput(args.docs, args.limit, args.latency, args.concurrency)
    if args.noop_docs:
        noop(args.noop_docs)


if __name__ == "__main__":
    main()
