"""Benchmark: 20,000 Confluence pages synced by 1, 2 and 3 workers at Intercom's limit.

The fake Confluence Cloud (tests/fakes/confluence.py) holds one space of N pages
(20,000 by default) made from the 40 real storage-format pages of the shared corpus
(``../shared/corpus/confluence``): the 38 that convert to something, cycled, each copy
a page of its own (its own id and title), so conversion costs what real pages cost.
The fake Intercom (tests/fakes/intercom.py) keeps its real default limit: 1,666 calls
per 10 s window, resets in whole seconds, 429 ``rate_limit_exceeded`` past it, every
request checked against the OpenAPI spec. Each fake runs in a process of its own
(``bench/engine_harness.py``: spawned, so it shares no GIL with the bench or the other
fake), and this process only orchestrates: it defers the run, polls for its end and
reads CPU from ``/proc``; the fake Intercom hands back its call log when told to stop.

For each W in ``--workers``: a scratch Postgres database at 127.0.0.1:5432 (trust auth,
user postgres, made and dropped here) and fresh fakes, W ``syncer worker`` processes
(each ``--concurrency`` jobs at once), one trigger deferred, and the wait for the run's
row to finish. Printed per W, beside the references:

- wall time from the trigger to the run finished, and the speed-up against W=1;
- calls Intercom accepted (429s not counted) per second, first call to last, and as a
  fraction of the limit (as bench/pacing.py counts them; a run of a few windows can
  pass 1, its first window being a whole one);
- 429s; the longest pause between two calls after the first upload;
- batches (``daemon.batch_size``) each worker took;
- CPU seconds (user + system, trigger to finish, from ``/proc``) of the workers (each),
  of each fake's process, of this process, of the Postgres backends serving the scratch
  database, and of the whole machine (``/proc/stat``; what none of those used is the
  rest of Postgres and whatever else runs on the machine), and so the cores kept busy
  on average: against the cores the machine has, what binds.

The references, measured in the same run: the limit in calls per second, the time N
upserts take at exactly the limit, the CPU seconds to convert the N pages once in this
process with syncer's Confluence converter (``convert_page``), and the cores. The
conclusion says per W what bound it: the limit (calls at 0.9 of it or more), the cores
(the machine busy on 0.9 of them or more, whoever kept them busy), or neither.

``--limit N`` gives the fake Intercom another window (calls per 10 s): with one the
workers cannot reach (``--limit 100000``), the figures show how the split run scales
with workers where only the cores bind.

    .venv/bin/python bench/engine_scaling.py [--pages 20000] [--workers 1,2,3] [--limit 1666]
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONPATH", str(ROOT))

import psycopg  # noqa: E402

from bench.engine_harness import (  # noqa: E402
    FakeProcess,
    IntercomReport,
    backends,
    cores,
    cpu_of,
    machine_busy,
    scratch_database,
    serve_intercom,
    trigger,
    workers,
)
from syncer.connectors.confluence.convert import PageRef, convert_page  # noqa: E402
from syncer.connectors.confluence.resolve import SiteResolver  # noqa: E402
from syncer.connectors.confluence.site import Site  # noqa: E402
from syncer.store import Store  # noqa: E402
from tests.conftest import TOKEN  # noqa: E402
from tests.fakes.confluence import FakeConfluence  # noqa: E402
from tests.fakes.intercom import DEFAULT_LIMIT, WINDOW_SECONDS, Call  # noqa: E402
from tests.test_daemon import runs_of, wait_for  # noqa: E402
from tests.test_engine import ENGINE  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "confluence"
SPACE = "SUP"
UPSERT = "createExternalPage"
BINDING = 0.9  # of the limit, or of the machine's cores: what binds


@dataclass(frozen=True)
class Confluence:
    """What a worker needs to reach the fake Confluence."""

    base_url: str
    email: str
    token: str


@dataclass(frozen=True)
class ConfluenceReport:
    requests: int
    violations: list[str]


@dataclass(frozen=True)
class Figures:
    workers: int
    limit: float  # the fake Intercom's, in calls per second
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
    worker_cpu: list[float]  # each worker's, trigger to finish
    confluence_cpu: float  # the fake Confluence's process
    intercom_cpu: float  # the fake Intercom's process
    bench_cpu: float  # this process (the trigger and the polling)
    postgres_cpu: float  # the backends serving the scratch database
    machine_cpu: float  # every core of the machine, busy
    confluence_requests: int
    counts: dict[str, int]
    errors: tuple[str, ...]

    @property
    def fakes_cpu(self) -> float:
        return self.confluence_cpu + self.intercom_cpu

    @property
    def rest_cpu(self) -> float:
        """The machine's busy CPU seconds that none of the processes measured used."""
        measured = sum(self.worker_cpu) + self.fakes_cpu + self.bench_cpu + self.postgres_cpu
        return self.machine_cpu - measured


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


def serve_confluence(connection: Connection, pages: int) -> None:
    """The fake Confluence with its space of ``pages`` copies, for `FakeProcess`: sends
    its `Confluence`, then its `ConfluenceReport` once told to stop."""
    with FakeConfluence("cloud", strict=False) as confluence:
        confluence.add_space(SPACE)
        for title, body in copies(pages):
            confluence.add_page(SPACE, title, body)
        connection.send(Confluence(confluence.base_url, confluence.email, confluence.token))
        connection.recv()
        connection.send(ConfluenceReport(confluence.requests, confluence.violations))


def write_config(
    path: Path, *, intercom: str, confluence: Confluence, store: str, extra: str, daemon: str
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


def accepted(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.status is not None and c.outcome != "rate_limited"]


def bench_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one(
    page_count: int,
    work: Path,
    count: int,
    concurrency: int,
    extra: str,
    daemon: str,
    window_limit: int,
) -> Figures:
    with (
        scratch_database("scaling_bench") as url,
        FakeProcess[ConfluenceReport](serve_confluence, page_count) as confluence,
        FakeProcess[IntercomReport](serve_intercom, TOKEN, window_limit) as intercom,
    ):
        os.environ["BENCH_CONFLUENCE_TOKEN"] = confluence.address.token
        config = work / f"{url.rpartition('/')[2]}.yaml"
        write_config(
            config,
            intercom=intercom.address,
            confluence=confluence.address,
            store=url,
            extra=extra,
            daemon=daemon,
        )
        with (
            workers(config, count, work, "--concurrency", str(concurrency)) as started,
            # One connection, one cheap query a poll (runs_of opens an engine and checks
            # the revision each time).
            psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as poll,
        ):

            def finished() -> bool:
                row = poll.execute(
                    "SELECT count(*) FILTER (WHERE status <> 'running') FROM runs"
                ).fetchone()
                poll.rollback()
                return bool(row and row[0])

            pids = [w.proc.pid for w in started]
            before = [cpu_of(pid) for pid in pids]
            fakes_before = confluence.cpu(), intercom.cpu()
            postgres_before = {pid: cpu_of(pid) for pid in backends(poll)}
            self_before, machine_before = bench_cpu(), machine_busy()
            began = trigger(url, ["wiki"])
            wait_for("the run", finished, 3600, every=0.25)
            took = time.monotonic() - began
            machine_cpu = machine_busy() - machine_before
            self_cpu = bench_cpu() - self_before
            worker_cpu = [cpu_of(pid) - cpu for pid, cpu in zip(pids, before, strict=True)]
            confluence_cpu = confluence.cpu() - fakes_before[0]
            intercom_cpu = intercom.cpu() - fakes_before[1]
            # A backend that started after the trigger counts from 0; one that ended
            # before the finish is missed (the workers' pools keep theirs).
            postgres_cpu = sum(
                cpu_of(pid) - postgres_before.get(pid, 0.0) for pid in backends(poll)
            )
        (run,) = runs_of(url, "wiki")
        with Store.open_read_only(url) as store:
            batches = store.batches.batches(run.id)
        log = intercom.stop()
        served = confluence.stop()
    violations = [*log.violations, *served.violations]
    if violations:
        print(f"     {len(violations)} requests broke a spec; the first: {violations[0][:300]}")
    calls = sorted(log.calls, key=lambda c: c.received or c.at)
    times = [c.received or c.at for c in calls]
    uploads = [c for c in calls if c.operation_id == UPSERT]
    first_upload = min((c.received or c.at for c in uploads), default=times[0] if times else 0.0)
    after_first = [t for t in times if t >= first_upload]
    return Figures(
        workers=count,
        limit=window_limit / WINDOW_SECONDS,
        wall=took,
        status=run.status,
        pages=log.pages,
        calls=len(calls),
        uploads=len(uploads),
        rate=len(accepted(calls)) / (times[-1] - times[0]) if len(times) > 1 else 0.0,
        rate_limited=sum(1 for c in calls if c.outcome == "rate_limited"),
        longest_pause=max((b - a for a, b in itertools.pairwise(after_first)), default=0.0),
        takers=sorted(Counter(b.worker for b in batches).values(), reverse=True),
        batches=len(batches),
        worker_cpu=worker_cpu,
        confluence_cpu=confluence_cpu,
        intercom_cpu=intercom_cpu,
        bench_cpu=self_cpu,
        postgres_cpu=postgres_cpu,
        machine_cpu=machine_cpu,
        confluence_requests=served.requests,
        counts={k: v for k, v in run.counts.as_dict().items() if v},
        errors=run.errors,
    )


def show(f: Figures, base: Figures | None) -> None:
    speedup = f"{base.wall / f.wall:5.2f}x" if base else "    -"
    print(
        f"  {f.workers:>2} {f.wall:>8.1f} s {speedup:>7} {f.rate:>7.1f}/s {f.rate / f.limit:>6.3f} "
        f"{f.rate_limited:>5} {f.longest_pause:>7.2f} s {f.calls:>6} {f.uploads:>6} "
        f"{f.pages:>6} {f.confluence_requests:>6}  "
        f"{sum(f.worker_cpu):>6.1f} {f.confluence_cpu:>6.1f} {f.intercom_cpu:>6.1f} "
        f"{f.bench_cpu:>5.1f} {f.postgres_cpu:>6.1f} {f.machine_cpu:>7.1f} "
        f"{f.machine_cpu / f.wall:>5.2f}  "
        f"{f.status}, {f.batches} batches {f.takers or '(whole)'}"
    )
    each = " + ".join(f"{cpu:.1f}" for cpu in f.worker_cpu)
    print(
        f"     CPU s: workers {each} ({sum(f.worker_cpu) / max(f.uploads, 1) * 1000:.2f} ms "
        f"a page); fake Confluence {f.confluence_cpu:.1f}, fake Intercom {f.intercom_cpu:.1f} "
        f"({f.intercom_cpu / max(f.calls, 1) * 1000:.2f} ms a call); bench {f.bench_cpu:.1f}; "
        f"Postgres backends {f.postgres_cpu:.1f}; the rest of the machine {f.rest_cpu:.1f}"
    )
    print(f"     run counts {f.counts}; {len(f.errors)} errors")
    for error in f.errors[:3]:
        print(f"     error: {error[:300]}")


def bound_by(f: Figures, machine: int) -> str:
    """What bound this run: the limit, the machine's cores, or neither."""
    if f.rate / f.limit >= BINDING:
        return "the limit"
    if f.machine_cpu / f.wall >= BINDING * machine:
        return "the cores"
    return "neither (the time goes in waiting: latency, pacing, the engine)"


def explain(f: Figures, machine: int, at_limit: float) -> str:
    """The run's calls against the limit, where the cores went (cores busy on average),
    the cores its measured processes would need at the limit's pace, and what bound it."""
    measured = sum(f.worker_cpu) + f.fakes_cpu + f.bench_cpu + f.postgres_cpu
    return (
        f"calls at {f.rate / f.limit:.2f} of the limit; {f.machine_cpu / f.wall:.2f} of "
        f"{machine} cores busy (the workers {sum(f.worker_cpu) / f.wall:.2f}, the fakes "
        f"{f.fakes_cpu / f.wall:.2f}, Postgres {f.postgres_cpu / f.wall:.2f}, the rest of the "
        f"machine {f.rest_cpu / f.wall:.2f}); at the limit's pace the measured processes "
        f"need {measured / at_limit:.2f} cores: bound by {bound_by(f, machine)}"
    )


def conclude(runs: list[Figures], page_count: int, convert: float, machine: int) -> None:
    at_limit = page_count / runs[0].limit
    print(f"conclusion, on {machine} cores ({page_count} upserts at the limit: {at_limit:.1f} s):")
    for f in runs:
        print(f"  W={f.workers}: {f.wall:.1f} s; {explain(f, machine, at_limit)}")
    base = next((f for f in runs if f.workers == 1), None)
    if base is None:
        return
    if len(runs) > 1:
        times = ", ".join(f"W={f.workers} {f.wall / base.wall:.2f}" for f in runs if f is not base)
        print(f"  time against W=1: {times}")
    print(
        f"  one worker: {sum(base.worker_cpu) / page_count * 1000:.2f} CPU ms a page, "
        f"{convert / page_count * 1000:.2f} of them converting (the reference): "
        f"{sum(base.worker_cpu) / at_limit:.2f} of a core at the limit's pace"
    )
    limited = next((f.workers for f in runs if bound_by(f, machine) == "the limit"), None)
    if limited == 1:
        print("  the limit binds from one worker on: more workers share its budget, no faster")
    elif limited is not None:
        print(f"  the limit binds from W={limited} on; W=1 was bound by {bound_by(base, machine)}")
    else:
        print(f"  the limit bound no run: {bound_by(base, machine)} held W=1")
    if bound_by(base, machine) == "the cores":
        print(
            f"  the cores: the machine's {machine} were busy, "
            f"{base.rest_cpu / base.wall:.2f} of them with work this bench did not measure "
            "(other jobs on the machine, Postgres' own processes, the kernel)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--concurrency", type=int, default=2, help="jobs at once per worker")
    parser.add_argument("--batch-size", type=int, help="daemon.batch_size (default: syncer's)")
    parser.add_argument(
        "--intercom-concurrency", type=int, help="intercom.concurrency (default: syncer's)"
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        help=f"the fake Intercom's calls per {WINDOW_SECONDS:.0f} s window (default "
        f"{DEFAULT_LIMIT}, Intercom's): a higher one shows how the workers scale where "
        "the limit does not bind",
    )
    args = parser.parse_args()
    limit = args.limit / WINDOW_SECONDS
    extra = ""
    if args.intercom_concurrency is not None:
        extra += f"  concurrency: {args.intercom_concurrency}\n"
    daemon = ENGINE
    if args.batch_size is not None:
        daemon += f"  batch_size: {args.batch_size}\n"
    pages = copies(args.pages)
    machine, usable = cores()
    print(
        f"{args.pages} Confluence pages ({len({b for _, b in pages})} of the "
        f"{len(corpus())} corpus pages cycled, "
        f"{sum(len(b.encode()) for _, b in pages) / 1e6:.1f} MB of storage format)"
    )
    convert = conversion_reference(pages)
    print(
        f"reference: {machine} cores (os.cpu_count), {usable} this process may use "
        "(os.sched_getaffinity)"
    )
    print(
        f"reference: the limit {args.limit} calls per {WINDOW_SECONDS:.0f} s = {limit:.1f} "
        f"calls/s; {args.pages} upserts at exactly the limit take {args.pages / limit:.1f} s"
    )
    print(
        f"reference: converting the {args.pages} pages once in this process (convert_page): "
        f"{convert:.1f} CPU s ({args.pages / convert:.0f} pages/s)"
    )
    del pages  # the fake Confluence's process makes its own
    left = (
        f"  {'W':>2} {'wall':>10} {'speedup':>7} {'accepted':>9} {'/limit':>6} {'429s':>5} "
        f"{'pause':>9} {'calls':>6} {'upsert':>6} {'in Fin':>6} {'Cf req':>6}  "
    )
    cpu = f"{'wrk':>6} {'Cf':>6} {'Ic':>6} {'bench':>5} {'pg':>6} {'machine':>7}"
    print(" " * len(left) + f"{' CPU s, trigger to finish ':-^{len(cpu)}}")
    print(f"{left}{cpu} {'cores':>5}  run, batches per worker")
    runs: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="syncer-scaling-") as scratch:
        for count in (int(w) for w in args.workers.split(",") if w):
            figures = one(
                args.pages, Path(scratch), count, args.concurrency, extra, daemon, args.limit
            )
            show(figures, next((f for f in runs if f.workers == 1), None))
            runs.append(figures)
            sys.stdout.flush()
    conclude(runs, args.pages, convert, machine)


if __name__ == "__main__":
    main()
