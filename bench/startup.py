"""Benchmark: start-up and a no-op sync, each beside its yardstick, in one run.

Every command is timed as a whole process, as a user runs it, the commands taken in
turn each round (best and median of ``--rounds``; the machine is shared, so the best
is the figure and the median says how noisy it was), with every checkout's modules
byte-compiled first, as installing a package does (``as_installed``):

1. ``python -c pass`` and ``python -c "import syncer"`` with this interpreter, and the
   libraries every sync imports whatever it does (``LIBRARIES``: the config's models,
   the store's SQL, the wire, the logs): what no start-up of a sync can go below;
2. ``syncer --help``: target at most 0.25 s;
3. for each ``--files`` count (10,000 and 50,000): ``syncer sync -c CONFIG`` with
   nothing to do (the files already synced to a fake Intercom of their own started
   here: two calls a run, no writes), beside a bare ``os.scandir`` walk of the same
   tree in this process (``stat`` of every file, what no listing can skip) and the
   listing alone in this process (``FilesystemConnector.list``). Target: the no-op at
   most three times the walk plus the start-up of ``syncer --help``.

``--against CHECKOUT`` (a worktree of another commit) times ``syncer --help`` and the
no-op syncs once more with that checkout first on the path, in the same rounds: before
and after side by side. To time only another checkout, put it first on the path::

    .venv/bin/python bench/startup.py [--files 10000 50000] [--rounds 7]
    git worktree add /tmp/before HEAD~1 && .venv/bin/python bench/startup.py --against /tmp/before
    PYTHONPATH=/tmp/before .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# After PYTHONPATH, so that the checkout it names is the one timed in this process too.
sys.path.append(str(ROOT))

from intercom_throughput import TOKEN, make_docs, write_config  # noqa: E402

from syncer.connectors.filesystem.connector import FilesystemConnector  # noqa: E402
from syncer.connectors.filesystem.settings import FilesystemSettings  # noqa: E402
from tests.fakes.intercom import FakeIntercom  # noqa: E402

STARTUP_TARGET_S = 0.25
# What a sync imports before it can do anything: pydantic (the config), SQLAlchemy Core
# and its SQLite dialect (the store), httpx (the wire's replies; http.client sends),
# structlog (the logs), PyYAML.
LIBRARIES = (
    "import pydantic, pydantic_core, sqlalchemy, sqlalchemy.dialects.sqlite, httpx, "
    "http.client, structlog, yaml"
)
NOOP_TARGET = 3.0  # times (walk + start-up)


def timed(command: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    """Wall seconds of one run of ``command``, which must exit 0."""
    started = time.perf_counter()
    done = subprocess.run(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-2000:]!r}")
    return elapsed


def scandir_walk(root: Path) -> int:
    """Every file under ``root``, each ``stat``-ed: the floor under any listing."""
    count = 0
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    entry.stat(follow_symlinks=False)
                    count += 1
    return count


def in_process(run: Callable[[], int], expected: int) -> Callable[[], float]:
    """Wall seconds of one call of ``run``, which must count ``expected`` files."""

    def seconds() -> float:
        started = time.perf_counter()
        found = run()
        elapsed = time.perf_counter() - started
        if found != expected:
            raise SystemExit(f"found {found} files, not {expected}")
        return elapsed

    return seconds


def as_installed(trees: Sequence[Path]) -> dict[str, str]:
    """The environment of a syncer as it is installed: its modules byte-compiled.

    pip compiles a package's modules as it installs it (so does the image's build); a
    checkout run with ``PYTHONDONTWRITEBYTECODE`` set, as this machine's shell has it,
    would compile every module again on every start, which is no user's start-up.
    """
    for tree in trees:
        folders = [str(tree / name) for name in ("syncer", "connectors") if (tree / name).is_dir()]
        subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True)
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(rounds: int, sizes: Sequence[int], against: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="syncer-startup-") as tmp, ExitStack() as fakes:
        work = Path(tmp)
        trees = [ROOT] if against is None else [ROOT, against]
        env = {**as_installed(trees), "BENCH_TOKEN": TOKEN}
        # The same commands with another checkout first on the path ("before").
        variants = {"": env}
        if against is not None:
            variants[f" [{against.name}]"] = {**env, "PYTHONPATH": str(against)}
        syncer = str(Path(sys.executable).with_name("syncer"))
        python = sys.executable
        commands: dict[str, Callable[[], float]] = {
            "python -c pass": lambda: timed([python, "-c", "pass"], env, work),
            'python -c "import syncer"': lambda: timed([python, "-c", "import syncer"], env, work),
            "a sync's libraries": lambda: timed([python, "-c", LIBRARIES], env, work),
        }
        for tag, variant in variants.items():
            commands[f"syncer --help{tag}"] = lambda variant=variant: timed(
                [syncer, "--help"], variant, work
            )
        # Each fake, and its calls before the rounds.
        synced: list[tuple[FakeIntercom, int]] = []
        for files in sizes:
            # A fake Intercom of its own: the sources share a name and URL.
            fake = fakes.enter_context(FakeIntercom(TOKEN, rate_limit=1_000_000))
            folder = work / str(files)
            docs = folder / "docs"
            make_docs(docs, files)
            config = write_config(folder, docs, fake.url)
            sync = [syncer, "--log-level", "error", "sync", "-c", str(config)]
            timed(sync, env, folder)  # fills the store and the fake
            for tag, variant in variants.items():
                commands[f"no-op sync {files}{tag}"] = lambda s=sync, v=variant, f=folder: timed(
                    s, v, f
                )
            connector = FilesystemConnector(
                FilesystemSettings(name="docs", type="filesystem", path=docs)
            )
            commands[f"scandir walk {files}"] = in_process(lambda d=docs: scandir_walk(d), files)
            commands[f"listing {files}"] = in_process(
                lambda c=connector: len(c.list().stubs), files
            )
            synced.append((fake, len(fake.calls)))
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(rounds):
            for name, run in commands.items():
                times[name].append(run())
        calls = [call for fake, before in synced for call in fake.calls[before:]]
    report(
        times, rounds, sizes, list(variants), calls=len(calls), writes=sum(c.write for c in calls)
    )


def report(
    times: dict[str, list[float]],
    rounds: int,
    sizes: Sequence[int],
    tags: Sequence[str],
    *,
    calls: int,
    writes: int,
) -> None:
    best = {name: min(values) for name, values in times.items()}
    where = os.environ.get("PYTHONPATH") or str(ROOT)
    print(f"syncer from {where}; {rounds} rounds, the commands taken in turn")
    print(f"  {'':<36} {'best':>8} {'median':>8}")
    for name, values in times.items():
        print(f"  {name:<36} {min(values):7.3f}s {statistics.median(values):7.3f}s")
    syncs = rounds * len(sizes) * len(tags)
    print(f"  the no-op syncs' Intercom calls: {calls / syncs:.1f} a run, writes: {writes}")
    bare, package = best["python -c pass"], best['python -c "import syncer"']
    for tag in tags:
        startup = best[f"syncer --help{tag}"]
        print(
            f"start-up{tag}: syncer --help {startup:.3f} s = {startup / bare:.1f}x python -c "
            f"pass, {startup / package:.1f}x import syncer (target <= {STARTUP_TARGET_S} s)"
        )
    libraries = best["a sync's libraries"]
    print(
        f"a sync's libraries alone: {libraries:.3f} s (the floor of any sync's start; "
        f"{libraries / bare:.1f}x python -c pass)"
    )
    for files in sizes:
        walk, listing = best[f"scandir walk {files}"], best[f"listing {files}"]
        print(
            f"{files} files: the listing {listing * 1e6 / files:.1f} us a file, "
            f"the walk {walk * 1e6 / files:.1f} us ({listing / walk:.1f}x)"
        )
        for tag in tags:
            noop, startup = best[f"no-op sync {files}{tag}"], best[f"syncer --help{tag}"]
            print(
                f"  no-op sync{tag}: {noop:.3f} s = {noop / (walk + startup):.2f}x (walk "
                f"{walk:.3f} s + start-up {startup:.3f} s) (target <= {NOOP_TARGET:g}x); "
                f"{(noop - startup) * 1e6 / files:.0f} us a file past start-up; the "
                f"libraries alone {libraries / (walk + startup):.2f}x"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--against", type=Path, help="another checkout (a worktree of HEAD) timed beside"
    )
    args = parser.parse_args()
    measure(args.rounds, args.files, args.against)


if __name__ == "__main__":
    main()
