"""Benchmark: a first sync at Intercom's rate limit, against a fake that paces as Intercom.

The fake Intercom (tests/fakes/intercom.py) counts 1,666 calls per 10 s window, each
window ending at a fraction of a second while ``X-RateLimit-Reset`` names it in whole
Unix seconds (rounded down), and answers a 429 ``rate_limit_exceeded`` past the limit.
For each reply latency, ``syncer sync`` uploads 5,000 new documents in a child process;
the figures, each beside the limit (the reference):

- calls Intercom accepted (429s not counted) per second, from the first call to the last,
  as a fraction of the limit, and from the first upload to the last (target >= 0.95);
- 429s as a fraction of the calls (target <= 0.2%);
- the longest pause between two calls after the first upload (target <= 1 s);
- the child's CPU seconds (user + system) per 1,000 uploads (those Intercom accepted: a
  429 and its retry are one upload), and how they split between its main thread
  (listing, reading, converting, planning, recording in the store) and its other threads
  (sending: the client, its pacing and the wire), read from ``/proc/PID/task`` while it
  runs (to the last tenth of a second before it exits).

``--before DIR`` runs the same sync with the syncer of another tree (an export of an
older commit: ``git archive REV | tar -x -C DIR``) in the same run, for the before column;
the child runs in its tree's folder, since ``python -m`` puts the working directory ahead
of ``PYTHONPATH`` (run from a checkout, the before column would be that checkout).
Each figure is the median of ``--rounds`` syncs (before and now taking turns), since the
run starts at a different point of the fake's windows each time; the CPU of each round
follows the table, and the ratio of now's CPU per upload to before's.

    .venv/bin/python bench/pacing.py [--docs 5000] [--latencies 0.1,0.3] [--before DIR]
        [--rounds 3]
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.intercom import DEFAULT_LIMIT, WINDOW_SECONDS, Call, FakeIntercom  # noqa: E402

TOKEN = "bench-token"  # noqa: S105  # the fake accepts any token it is given
UPSERT = "createExternalPage"


@dataclass(frozen=True)
class Figures:
    calls: int
    uploads: int  # uploads Intercom accepted: a 429 and its retry are one upload
    rate_limited: int
    rate: float  # calls Intercom accepted (not 429s) per second, first call to last
    upload_rate: float  # uploads Intercom accepted per second, first upload to last
    longest_pause: float  # s between two calls, after the first upload
    cpu: float  # the child's user + system seconds
    main_cpu: float  # of which its main thread's (as last sampled)
    other_cpu: float  # and its other threads' (as last sampled)
    wall: float


def make_docs(folder: Path, count: int) -> None:
    for n in range(count):
        path = folder / f"part-{n % 20:02d}" / f"doc-{n:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "\n\n".join(
            f"Paragraph {p} about topic {n}, long enough to be real." for p in range(8)
        )
        path.write_text(f"# Document {n}\n\n{body}\n")


def write_config(work: Path, docs: Path, url: str) -> Path:
    config = work / "syncer.yaml"
    config.write_text(
        f"intercom:\n  token: ${{BENCH_TOKEN}}\n  base_url: {url}\n"
        f"store:\n  url: sqlite:///{work / 'store.db'}\n"
        f"sources:\n  - name: docs\n    type: filesystem\n    path: {docs}\n"
        "    url: https://docs.example.com/\n"
        '    page_url: "https://docs.example.com/{path_stem}"\n'
    )
    return config


def first_sync(docs: int, latency: float, tree: Path | None, seed: int) -> Figures:
    with (
        tempfile.TemporaryDirectory(prefix="syncer-pacing-") as tmp,
        FakeIntercom(TOKEN, rate_limit=DEFAULT_LIMIT, seed=seed) as fake,
    ):
        work = Path(tmp)
        make_docs(work / "docs", docs)
        config = write_config(work, work / "docs", fake.url)
        fake.faults.slow_down(latency)
        # The syncer of ``tree``, else of this tree (not whatever the venv installed).
        env = {**os.environ, "BENCH_TOKEN": TOKEN, "PYTHONPATH": str(tree or ROOT)}
        command = [
            sys.executable,
            "-m",
            "syncer",
            "--log-level",
            "error",
            "sync",
            "-c",
            str(config),
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, cwd=tree or ROOT, stdout=subprocess.DEVNULL)
        threads: dict[int, float] = {}
        while child.poll() is None:
            threads.update(thread_cpu(child.pid))
            time.sleep(0.1)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if child.returncode != 0:
            raise SystemExit(f"sync failed with exit code {child.returncode}")
        calls = sorted(fake.calls, key=lambda c: c.received or c.at)
        uploads = [c for c in calls if c.operation_id == UPSERT]
        if len(fake.pages()) != docs:
            raise SystemExit(f"{len(fake.pages())} pages in the fake, not {docs}")
    times = [c.received or c.at for c in calls]
    upload_times = [c.received or c.at for c in uploads]
    first_upload = upload_times[0]
    after_first = [t for t in times if t >= first_upload]
    pauses = [b - a for a, b in itertools.pairwise(after_first)]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Figures(
        calls=len(calls),
        uploads=len(accepted(uploads)),
        rate_limited=sum(1 for c in calls if c.outcome == "rate_limited"),
        rate=len(accepted(calls)) / (times[-1] - times[0]),
        upload_rate=len(accepted(uploads)) / (upload_times[-1] - first_upload),
        longest_pause=max(pauses, default=0.0),
        cpu=cpu,
        main_cpu=threads.get(child.pid, 0.0),
        other_cpu=sum(seconds for tid, seconds in threads.items() if tid != child.pid),
        wall=wall,
    )


def thread_cpu(pid: int) -> dict[int, float]:
    """User + system seconds of each thread of process ``pid`` so far (``/proc``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return {}
    for task in tasks:
        try:
            fields = (task / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the thread (or the process) ended meanwhile
        # utime and stime, the 14th and 15th fields of stat(5); fields[0] is the 3rd.
        seconds[int(task.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return seconds


def accepted(calls: list[Call]) -> list[Call]:
    """The calls that counted: answered, and not with a 429."""
    return [c for c in calls if c.status is not None and c.outcome != "rate_limited"]


def median(rounds: list[Figures]) -> Figures:
    """Each figure the median of the rounds' (so a row may be no one round's)."""
    return Figures(
        **{
            name: statistics.median(getattr(f, name) for f in rounds)
            for name in Figures.__dataclass_fields__
        }
    )


def per_upload(f: Figures) -> float:
    """CPU seconds per 1,000 uploads."""
    return 1000 * f.cpu / f.uploads


def show(label: str, f: Figures) -> None:
    limit = DEFAULT_LIMIT / WINDOW_SECONDS
    print(
        f"  {label:<7} {f.calls:>6.0f} {f.rate:>7.1f}/s {f.rate / limit:>6.3f} "
        f"{f.upload_rate / limit:>8.3f} {f.rate_limited:>5.0f} "
        f"{100 * f.rate_limited / f.calls:>6.2f}% {f.longest_pause:>7.2f} s "
        f"{per_upload(f):>8.2f} s {1000 * f.main_cpu / f.uploads:>6.2f} s "
        f"{1000 * f.other_cpu / f.uploads:>7.2f} s {f.wall:>7.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--latencies", default="0.1,0.3", help="reply latencies in seconds")
    parser.add_argument("--before", type=Path, help="another tree's syncer, for comparison")
    parser.add_argument("--seed", type=int, default=0, help="the fake's window phase")
    parser.add_argument("--rounds", type=int, default=3, help="syncs per figure (median)")
    args = parser.parse_args()
    limit = DEFAULT_LIMIT / WINDOW_SECONDS
    print(
        f"first sync of {args.docs} documents; the limit: {DEFAULT_LIMIT} calls per "
        f"{WINDOW_SECONDS:.0f} s = {limit:.1f}/s, resets in whole seconds"
    )
    for latency in [float(x) for x in args.latencies.split(",") if x]:
        print(f"replies after {latency * 1000:.0f} ms:")
        print(
            f"  {'':<7} {'calls':>6} {'rate':>9} {'of limit':>6} {'uploads':>8} {'429s':>5} "
            f"{'':>7} {'pause':>9} {'CPU/1k up':>10} {'main':>8} {'sending':>9} {'wall':>9}"
        )
        trees: dict[str, Path | None] = {}
        if args.before is not None:
            trees["before"] = args.before.resolve()
        trees["now"] = None
        rounds: dict[str, list[Figures]] = {label: [] for label in trees}
        for _ in range(args.rounds):
            for label, tree in trees.items():
                rounds[label].append(first_sync(args.docs, latency, tree, args.seed))
        for label, figures in rounds.items():
            show(label, median(figures))
        for label, figures in rounds.items():
            each = " ".join(f"{per_upload(f):.2f}" for f in figures)
            print(f"  {label} CPU per 1k uploads, each round: {each} s")
        if "before" in rounds:
            ratio = per_upload(median(rounds["now"])) / per_upload(median(rounds["before"]))
            print(f"  now / before, CPU per 1k uploads: {ratio:.3f} (target: under 0.333)")


if __name__ == "__main__":
    main()
