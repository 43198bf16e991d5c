"""Benchmark: 20,000 Confluence pages synced by 1, 2 and 3 workers at Intercom's limit.

The fake Confluence Cloud (tests/fakes/confluence.py) holds one space of N pages
(20,000 by default) made from the 40 real storage-format pages of the shared corpus
(``../shared/corpus/confluence``): the 38 that convert to something, cycled, each copy
a page of its own (its own id and title), so conversion costs what real pages cost.
The fake Intercom (tests/fakes/intercom.py) keeps its real default limit: 1,666 calls
per 10 s window, resets in whole seconds, 429 ``rate_limit_exceeded`` past it. Both
fakes run in this process (threads sharing one GIL; the fake Intercom checks every
request against the OpenAPI spec): on a machine with few cores they compete for CPU
with the workers. Each batch job lists the space again (``syncer.engine.batches``: 80
listing requests of 250 for 20,000 pages), which the fake as it stands answers in time
quadratic in the space (it builds every page's item for each listing page); the fake
here (``ListingConfluence``) keeps those items once made, so the figures are not the
fake's listing cost.

For each W in ``--workers``: a scratch Postgres database at 127.0.0.1:5432 (trust auth,
user postgres, made and dropped here) and fresh fakes, W ``syncer worker`` processes
(each ``--concurrency`` jobs at once), one trigger deferred, and the wait for the run's
row to finish. Printed per W, beside the limit (the reference):

- wall time from the trigger to the run finished, and the speed-up against W=1;
- calls Intercom accepted (429s not counted) per second, first call to last, and as a
  fraction of the limit (as bench/pacing.py counts them);
- 429s; the longest pause between two calls after the first upload;
- batches (``daemon.batch_size``) each worker took; the workers' CPU seconds (user +
  system, from ``/proc`` before they are stopped) and this process's (the fakes').

The reference lines: the limit in calls per second, the time N upserts take at exactly
the limit, and the CPU seconds to convert the N pages once in this process with
syncer's Confluence converter (``convert_page``), so a reader sees whether one worker
is CPU-bound rather than rate-bound.

    .venv/bin/python bench/engine_scaling.py [--pages 20000] [--workers 1,2,3]
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONPATH", str(ROOT))

import psycopg  # noqa: E402

from syncer.connectors.confluence.convert import PageRef, convert_page  # noqa: E402
from syncer.connectors.confluence.resolve import SiteResolver  # noqa: E402
from syncer.connectors.confluence.site import Site  # noqa: E402
from syncer.store import Store, migrate  # noqa: E402
from tests.conftest import TOKEN  # noqa: E402
from tests.fakes.confluence import Content, FakeConfluence  # noqa: E402
from tests.fakes.intercom import DEFAULT_LIMIT, WINDOW_SECONDS, Call, FakeIntercom  # noqa: E402
from tests.test_daemon import runs_of, wait_for  # noqa: E402
from tests.test_engine import ENGINE, WorkerProcess, _deferrer, _source  # noqa: E402

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
CORPUS = ROOT.parent / "shared" / "corpus" / "confluence"
SPACE = "SUP"
UPSERT = "createExternalPage"
LIMIT = DEFAULT_LIMIT / WINDOW_SECONDS


@dataclass(frozen=True)
class Figures:
    workers: int
    wall: float
    status: str
    pages: int  # in the fake Intercom at the end
    calls: int
    uploads: int
    rate: float  # accepted calls per second, first call to last
    rate_limited: int
    longest_pause: float
    takers: list[int]
    batches: int
    worker_cpu: float
    bench_cpu: float
    confluence_requests: int
    counts: dict[str, int]
    errors: tuple[str, ...]


class ListingConfluence(FakeConfluence):
    """The fake Confluence, its listing items kept once made.

    The fake builds every page's listing item for each page of a listing it serves, so
    one listing of 20,000 pages (80 requests of 250) builds 1.6 million items, about 30
    s of this process's CPU; and each batch lists the space again. Kept by what they
    show (id, version, title, status, space, parent), the same items are served, at the
    cost of a lookup: what is left is the fake's filtering, paging and logging.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._items: dict[tuple[Any, ...], dict[str, Any]] = {}

    def _v2_item(self, content: Content, with_body: bool) -> dict[str, Any]:
        if with_body:
            return super()._v2_item(content, with_body)
        key = (
            content.id,
            content.type,
            content.version,
            content.title,
            content.status,
            content.space_key,
            content.parent_id,
        )
        item = self._items.get(key)
        if item is None:
            item = self._items[key] = super()._v2_item(content, with_body)
        return item


def corpus() -> list[tuple[str, str]]:
    """(title stem, storage body) of each corpus page."""
    files = sorted(CORPUS.glob("[0-9][0-9][0-9]-*.xml"))
    if not files:
        raise SystemExit(f"no corpus at {CORPUS}")
    return [(f.stem[4:].replace("-", " ").capitalize(), f.read_text("utf-8")) for f in files]


def copies(count: int) -> list[tuple[str, str]]:
    """``count`` (title, body) pairs cycling through the corpus pages that convert to
    something (38 of the 40: one is only a Jira macro, one only ``excerpt-include``
    macros of pages not in the space, and syncer excludes an empty page), each title
    distinct: every copy is one upsert."""
    site = Site("https://acme.atlassian.net/wiki")
    resolver = SiteResolver(site)
    ref = PageRef("1", SPACE, "Page", site.document_url("1", SPACE, "Page"))
    pages = [(t, b) for t, b in corpus() if convert_page(b, ref, resolver).html.strip()]
    return [
        (f"{title} #{n:05d}", body)
        for n, (title, body) in zip(range(count), itertools.cycle(pages), strict=False)
    ]


def conversion_reference(pages: list[tuple[str, str]]) -> float:
    """CPU seconds to convert every page once in this process (as a worker's fetch does)."""
    site = Site("https://acme.atlassian.net/wiki")
    resolver = SiteResolver(site)
    for title, body in pages[:40]:  # warm up imports and caches
        convert_page(
            body, PageRef("1", SPACE, title, site.document_url("1", SPACE, title)), resolver
        )
    started = time.process_time()
    for n, (title, body) in enumerate(pages):
        page_id = str(1_000_001 + n)
        ref = PageRef(page_id, SPACE, title, site.document_url(page_id, SPACE, title))
        convert_page(body, ref, resolver)
    return time.process_time() - started


def write_config(
    path: Path, *, intercom: str, confluence: FakeConfluence, store: str, extra: str, daemon: str
) -> None:
    path.write_text(
        "intercom:\n"
        "  token: ${TEST_INTERCOM_TOKEN}\n"
        f"  base_url: {intercom}\n"
        f"{extra}"
        "store:\n"
        f"  url: {store}\n"
        "defaults:\n"
        "  schedule: every 1h\n"
        "  run_on_start: false\n"
        "daemon:\n"
        "  host: 127.0.0.1\n"
        "  port: 0\n"
        f"{daemon}"
        "sources:\n"
        "  - name: wiki\n"
        "    type: confluence\n"
        f"    base_url: {confluence.base_url}\n"
        f"    email: {confluence.email}\n"
        "    token: ${BENCH_CONFLUENCE_TOKEN}\n"
        f"    spaces: [{SPACE}]\n"
    )


def cpu_of(pid: int) -> float:
    """User + system seconds of process ``pid`` so far (``/proc/PID/stat``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def accepted(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.status is not None and c.outcome != "rate_limited"]


def one(
    pages: list[tuple[str, str]],
    work: Path,
    workers: int,
    concurrency: int,
    extra: str,
    daemon: str,
) -> Figures:
    name = f"scaling_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    started: list[WorkerProcess] = []
    try:
        migrate.upgrade(url)
        with (
            ListingConfluence("cloud") as confluence,
            FakeIntercom(TOKEN, rate_limit=DEFAULT_LIMIT) as fake,
        ):
            confluence.add_space(SPACE)
            for title, body in pages:
                confluence.add_page(SPACE, title, body)
            os.environ["BENCH_CONFLUENCE_TOKEN"] = confluence.token
            config = work / f"{name}.yaml"
            write_config(
                config,
                intercom=fake.url,
                confluence=confluence,
                store=url,
                extra=extra,
                daemon=daemon,
            )
            started += [
                WorkerProcess(config, work / f"{name}-{i}.log", "--concurrency", str(concurrency))
                for i in range(workers)
            ]
            for worker in started:
                wait_for("a worker up", worker.started, 60)
            cpu_before = {w.proc.pid: cpu_of(w.proc.pid) for w in started}
            self_before = resource.getrusage(resource.RUSAGE_SELF)
            scheduler = _deferrer(
                url, "bench", {"wiki": _source("wiki", "every 1h")}, datetime.now(UTC)
            )
            scheduler.start()
            began = time.monotonic()
            try:
                scheduler.trigger("wiki")
            finally:
                scheduler.close()

            # One connection, one cheap query: the polling shares this process's CPU
            # with the fakes (runs_of opens an engine and checks the revision each time).
            with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={name}") as poll:

                def finished() -> bool:
                    row = poll.execute(
                        "SELECT count(*) FILTER (WHERE status <> 'running') FROM runs"
                    ).fetchone()
                    poll.rollback()
                    return bool(row and row[0])

                wait_for("the run", finished, 3600, every=0.25)
                took = time.monotonic() - began
            self_after = resource.getrusage(resource.RUSAGE_SELF)
            worker_cpu = sum(cpu_of(pid) - cpu for pid, cpu in cpu_before.items())
            (run,) = runs_of(url, "wiki")
            held = len(fake.pages())
            calls = sorted(fake.calls, key=lambda c: c.received or c.at)
            requests = confluence.requests
        with Store.open_read_only(url) as store:
            batches = store.batches.batches(run.id)
    finally:
        for worker in started:
            worker.close()
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    times = [c.received or c.at for c in calls]
    uploads = [c for c in calls if c.operation_id == UPSERT]
    first_upload = min((c.received or c.at for c in uploads), default=times[0] if times else 0.0)
    after_first = [t for t in times if t >= first_upload]
    return Figures(
        workers=workers,
        wall=took,
        status=run.status,
        pages=held,
        calls=len(calls),
        uploads=len(uploads),
        rate=len(accepted(calls)) / (times[-1] - times[0]) if len(times) > 1 else 0.0,
        rate_limited=sum(1 for c in calls if c.outcome == "rate_limited"),
        longest_pause=max((b - a for a, b in itertools.pairwise(after_first)), default=0.0),
        takers=sorted(Counter(b.worker for b in batches).values(), reverse=True),
        batches=len(batches),
        worker_cpu=worker_cpu,
        bench_cpu=(self_after.ru_utime - self_before.ru_utime)
        + (self_after.ru_stime - self_before.ru_stime),
        confluence_requests=requests,
        counts={k: v for k, v in run.counts.as_dict().items() if v},
        errors=run.errors,
    )


def show(f: Figures, base: Figures | None) -> None:
    speedup = f"{base.wall / f.wall:5.2f}x" if base else "    -"
    print(
        f"  {f.workers:>2} {f.wall:>8.1f} s {speedup:>7} {f.rate:>7.1f}/s {f.rate / LIMIT:>6.3f} "
        f"{f.rate_limited:>5} {f.longest_pause:>7.2f} s {f.calls:>6} {f.uploads:>6} "
        f"{f.pages:>6} {f.confluence_requests:>6} {f.worker_cpu:>7.1f} s {f.bench_cpu:>7.1f} s  "
        f"{f.status}, {f.batches} batches {f.takers or '(whole)'}"
    )
    print(f"     run counts {f.counts}; {len(f.errors)} errors")
    for error in f.errors[:3]:
        print(f"     error: {error[:300]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--concurrency", type=int, default=2, help="jobs at once per worker")
    parser.add_argument("--batch-size", type=int, help="daemon.batch_size (default: syncer's)")
    parser.add_argument(
        "--intercom-concurrency", type=int, help="intercom.concurrency (default: syncer's)"
    )
    args = parser.parse_args()
    extra = ""
    if args.intercom_concurrency is not None:
        extra += f"  concurrency: {args.intercom_concurrency}\n"
    daemon = ENGINE
    if args.batch_size is not None:
        daemon += f"  batch_size: {args.batch_size}\n"
    pages = copies(args.pages)
    print(
        f"{args.pages} Confluence pages ({len({b for _, b in pages})} of the "
        f"{len(corpus())} corpus pages cycled, "
        f"{sum(len(b.encode()) for _, b in pages) / 1e6:.1f} MB of storage format); "
        f"{os.cpu_count()} CPUs"
    )
    convert = conversion_reference(pages)
    print(
        f"reference: the limit {DEFAULT_LIMIT} calls per {WINDOW_SECONDS:.0f} s = {LIMIT:.1f} "
        f"calls/s; {args.pages} upserts at exactly the limit take {args.pages / LIMIT:.1f} s"
    )
    print(
        f"reference: converting the {args.pages} pages once in this process (convert_page): "
        f"{convert:.1f} CPU s ({args.pages / convert:.0f} pages/s)"
    )
    print(
        f"  {'W':>2} {'wall':>10} {'speedup':>7} {'accepted':>9} {'/limit':>6} {'429s':>5} "
        f"{'pause':>9} {'calls':>6} {'upsert':>6} {'in Fin':>6} {'Cf req':>6} "
        f"{'wrk CPU':>9} {'fakes CPU':>9}  run, batches per worker"
    )
    base = None
    with tempfile.TemporaryDirectory(prefix="syncer-scaling-") as scratch:
        for workers in (int(w) for w in args.workers.split(",") if w):
            figures = one(pages, Path(scratch), workers, args.concurrency, extra, daemon)
            show(figures, base)
            if base is None and workers == 1:
                base = figures
            sys.stdout.flush()


if __name__ == "__main__":
    main()
