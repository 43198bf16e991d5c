"""Benchmark: ``syncer sync --dry-run`` of a git source, a generated 5,000-file docs repo.

Prints wall time, CPU time and peak memory (RSS) of the CLI, as a user would run it
(and, for scale, of ``syncer validate``: the CLI's start-up alone), for:

1. the first sync (empty store, no mirror): clone, list, read and convert every file;
2. an incremental sync after a commit that changes 3 files, with the store at the
   previous commit: fetch, ``git diff-tree`` against the last synced commit, read the 3
   changed blobs. Run twice: the first fetches the new commit, the second finds the
   mirror up to date (a scheduled run with nothing new to fetch is like it).

The store is filled between the two by a real sync through ``syncer.run`` with a
stand-in publisher (no Intercom), which also stores the cursor. Blob reads of the
incremental plan are counted by the connector in a separate in-process run.

    .venv/bin/python bench/git_sync.py [--files 5000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dry_run import NullPublisher, make_corpus

from syncer import logs, registry
from syncer.config import loader
from syncer.connector import Connector, ConnectorType, Context
from syncer.connectors.git import GitConnector
from syncer.run import Options, sync
from syncer.store import Store

GIT = ("git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com")
GIT_ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, "LC_ALL": "C"}


def git(repo: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=repo, env=GIT_ENV, check=True, capture_output=True)


def make_repo(repo: Path, files: int) -> None:
    git(repo.parent, "init", "--quiet", "-b", "main", str(repo))
    make_corpus(repo / "docs", files)
    (repo / "README.md").write_text("# Docs repository\n")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "docs")


def change_three(repo: Path) -> None:
    articles = sorted((repo / "docs").rglob("article-*.md"))
    for article in articles[:3]:
        article.write_text(article.read_text() + "\nEdited in the incremental commit.\n")
    git(repo, "commit", "--quiet", "--all", "-m", "edit three articles")


def measure(command: list[str]) -> str:
    """Wall and CPU seconds, and peak RSS, of ``command`` (the git processes it ran and
    waited for included: Linux's ``wait4`` reports a child with its reaped children).

    CPU time is shown beside wall time because a busy machine stretches the latter.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return (
        f"{wall:6.2f} s wall {cpu:6.2f} s CPU  peak {usage.ru_maxrss / 1024:6.1f} MB  exit {code}"
    )


def blobs_read(config: Path, cache: Path) -> tuple[int, int]:
    """(blobs read, files listed) by an in-process incremental dry run."""
    seen: list[GitConnector] = []

    def lookup(name: str) -> ConnectorType[Any]:
        real = registry.get(name)

        def create(settings: Any, context: Context) -> Connector:
            connector = real.create(settings, context)
            assert isinstance(connector, GitConnector)
            seen.append(connector)
            return connector

        return ConnectorType(real.name, real.settings, create)

    settings = loader.load(config)
    store = Store.open_read_only(settings.store.url)
    try:
        sync(settings, store, None, Options(dry_run=True), cache_dir=cache, lookup=lookup)
    finally:
        store.close()
    snapshot = seen[0].snapshot
    return seen[0].blobs_read, len(snapshot.files) if snapshot else 0


def main() -> None:
    logs.configure(level="error")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5_000)
    parser.add_argument("--keep", type=Path, help="build the repository here and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="syncer-git-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    repo = work / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    started = time.perf_counter()
    make_repo(repo, args.files)
    print(f"repository: {args.files} files in {time.perf_counter() - started:.1f}s at {repo}")
    db = work / "store.db"
    db.unlink(missing_ok=True)
    cache = work / ".syncer-cache"  # where the CLI puts it: beside the SQLite store
    shutil.rmtree(cache, ignore_errors=True)
    config = work / "syncer.yaml"
    config.write_text(
        f"store:\n  url: sqlite:///{db}\nsources:\n  - name: docs\n    type: git\n"
        f"    repo: {repo}\n    ref: main\n    subpath: docs\n"
        "    page_url: https://github.com/acme/docs/blob/{ref}/{path}\n"
    )
    syncer = str(Path(sys.executable).with_name("syncer"))
    command = [syncer, "--log-level", "error", "sync", "--dry-run", "-c", str(config)]

    startup = [syncer, "--log-level", "error", "validate", "-c", str(config)]
    print(f"CLI start-up alone (syncer validate):       {measure(startup)}")
    print(f"first sync, dry run (clone, read all):      {measure(command)}")

    settings = loader.load(config)
    store = Store.open(settings.store.url, migrate=True)
    started = time.perf_counter()
    sync(settings, store, NullPublisher(), Options(), cache_dir=cache, clock=_now)
    store.close()
    print(f"store filled by a real sync:                {time.perf_counter() - started:6.2f} s")

    change_three(repo)
    print(f"incremental dry run (fetch, diff, read 3):  {measure(command)}")
    print(f"incremental dry run (mirror up to date):    {measure(command)}")
    read, listed = blobs_read(config, cache)
    print(f"blobs read by the incremental plan: {read} of {listed} listed (target 3)")
    if not args.keep:
        shutil.rmtree(work)


def _now() -> datetime:
    return datetime.now(UTC)


if __name__ == "__main__":
    main()
