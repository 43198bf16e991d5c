"""Benchmark: syncing a 3,000-page Confluence space, and the converter on real pages.

1. Conversion throughput: the 40 storage-format pages of the shared corpus
   (``../shared/corpus/confluence``), converted in this process, pages/s and MB/s.
2. ``syncer sync`` (a subprocess, as users run it) against the fake Confluence Cloud
   (in this process, over HTTP) holding one space of 3,000 pages with realistic bodies
   (headings, an info panel, a code block, a page link):
   - first sync: a dry run (empty store), then a full sync into the fake Intercom;
   - incremental sync after 10 pages were edited, 2 deleted and 1 moved to another
     space: a dry run, then a full sync.
   For each: wall time, Confluence requests (counted by the fake; the budget for the
   incremental run is ceil(3000/250) + 15 = 27), page bodies fetched, Intercom writes,
   and the peak memory (RSS) of the syncer process.

    .venv/bin/python bench/confluence_sync.py [--pages 3000] [--intercom-limit 1666]

The fake Intercom allows 100,000 requests per 10 s unless ``--intercom-limit`` says
otherwise (Intercom's own per-app limit is 1,666 per 10 s, which alone makes a first
sync of 3,000 pages take at least 20 s).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from syncer.connectors.confluence.convert import PageRef, convert_page  # noqa: E402
from syncer.connectors.confluence.resolve import SiteResolver  # noqa: E402
from syncer.connectors.confluence.site import Site  # noqa: E402
from tests.fakes.confluence import FakeConfluence, seed_space  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "confluence"
INTERCOM_TOKEN = "bench-intercom-token"  # noqa: S105  # the fakes accept what they are given


def conversion_throughput(rounds: int) -> None:
    files = sorted(CORPUS.glob("*.xml"))
    if not files:
        print(f"conversion: no corpus at {CORPUS}; skipped")
        return
    bodies = [f.read_text(encoding="utf-8") for f in files]
    site = Site("https://acme.atlassian.net/wiki")
    resolver = SiteResolver(site)
    page = PageRef("1001", "DOC", "Page", site.document_url("1001", "DOC", "Page"))
    for body in bodies:  # warm up imports and caches
        convert_page(body, page, resolver)
    started = time.perf_counter()
    for _ in range(rounds):
        for body in bodies:
            convert_page(body, page, resolver)
    elapsed = time.perf_counter() - started
    pages = rounds * len(bodies)
    megabytes = rounds * sum(len(b.encode()) for b in bodies) / 1e6
    print(
        f"conversion: {pages} pages ({len(bodies)} corpus pages x {rounds}) in {elapsed:.2f} s: "
        f"{pages / elapsed:.0f} pages/s, {megabytes / elapsed:.2f} MB/s"
    )


class IntercomProcess:
    """The fake Intercom in a process of its own, so it does not share a GIL with the
    fake Confluence; read through its control endpoints."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> IntercomProcess:
        command = [sys.executable, "-m", "tests.fakes.intercom", "--port", "0"]
        command += ["--token", INTERCOM_TOKEN, "--rate-limit", str(self.limit)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def _view(self, name: str) -> Any:
        return httpx.get(f"{self.url}/__fake__/{name}", timeout=60).json()

    def writes(self) -> int:
        return sum(1 for call in self._view("calls") if call["write"])

    def pages(self) -> int:
        return len(self._view("state")["pages"])


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB, and the exit code of ``command``."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=3000)
    parser.add_argument("--intercom-limit", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="corpus conversion rounds")
    args = parser.parse_args()

    conversion_throughput(args.rounds)

    work = Path(tempfile.mkdtemp(prefix="syncer-confluence-bench-"))
    with FakeConfluence("cloud") as confluence, IntercomProcess(args.intercom_limit) as intercom:
        started = time.perf_counter()
        pages = seed_space(confluence, "SUP", args.pages)
        print(f"space: {args.pages} pages seeded in {time.perf_counter() - started:.1f} s")
        config = work / "syncer.yaml"
        config.write_text(
            f"intercom:\n  token: ${{BENCH_INTERCOM_TOKEN}}\n  base_url: {intercom.url}\n"
            f"store:\n  url: sqlite:///{work / 'store.db'}\n"
            "sources:\n  - name: wiki\n    type: confluence\n"
            f"    base_url: {confluence.base_url}\n    email: {confluence.email}\n"
            "    token: ${BENCH_CONFLUENCE_TOKEN}\n    spaces: [SUP]\n"
        )
        env = {
            **os.environ,
            "BENCH_INTERCOM_TOKEN": INTERCOM_TOKEN,
            "BENCH_CONFLUENCE_TOKEN": confluence.token,
        }
        syncer = str(Path(sys.executable).with_name("syncer"))
        base = [syncer, "--log-level", "error", "sync", "-c", str(config)]

        def run(label: str, dry_run: bool) -> None:
            requests, bodies = confluence.requests, confluence.bodies_served
            writes = intercom.writes()
            wall, rss, code = measure(base + (["--dry-run"] if dry_run else []), env)
            print(
                f"{label:<28} {wall:6.2f} s  peak {rss:6.1f} MB  exit {code}  "
                f"Confluence requests {confluence.requests - requests:4d}  "
                f"bodies {confluence.bodies_served - bodies:5d}  "
                f"Intercom writes {intercom.writes() - writes:5d}"
            )

        print(f"{'':<28} (the syncer process; each fake in a process of its own)")
        run("first sync, dry run", dry_run=True)
        run("first sync, full", dry_run=False)
        for page in pages[100:110]:
            confluence.edit(page.id)
        confluence.purge(pages[200].id)
        confluence.set_status(pages[201].id, "trashed")
        confluence.move(pages[202].id, "ARCHIVE")
        print("edited 10 pages, deleted 2, moved 1 to another space")
        run("incremental, dry run", dry_run=True)
        run("incremental, full", dry_run=False)
        budget = math.ceil(args.pages / 250) + 15
        print(f"incremental request budget: ceil({args.pages}/250) + 15 = {budget}")
        print(f"Fin holds {intercom.pages()} pages")


if __name__ == "__main__":
    main()
