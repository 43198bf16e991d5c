"""Benchmark: ``syncer sync --dry-run`` over a generated 10,000-file Markdown corpus.

Prints wall time and peak memory (RSS) of the CLI, as a user would run it, for:

1. a cold plan (empty store: every file is read, converted and hashed), and
2. a no-op plan after the store knows every file (target: under 2 s, no file read,
   peak memory under 150 MB).

The store is filled between the two by a real sync through ``syncer.run`` with a
stand-in publisher (no Intercom). File reads in the no-op plan are counted with an
audit hook in a separate in-process run.

    .venv/bin/python bench/dry_run.py [--files 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from syncer.config import loader
from syncer.model import ImportSource, Page, RemotePage, WorkspacePages
from syncer.run import Options, sync
from syncer.store import Store

WORDS = [
    "account",
    "billing",
    "invoice",
    "refund",
    "team",
    "member",
    "password",
    "login",
    "export",
    "report",
    "api",
]


def make_corpus(root: Path, files: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for n in range(files):
        folder = root / f"section-{n % 40:02d}" / f"topic-{n % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(80, 400)))
        (folder / f"article-{n:05d}.md").write_text(
            f"---\ntitle: Article {n}\n---\n\n# Article {n}\n\n{words}\n\n"
            f"| a | b |\n|---|---|\n| {n} | {n * 2} |\n\n```python\nprint({n})\n```\n"
        )


class NullPublisher:
    """Answers like Intercom would, without a network: enough to fill the store.

    It keeps no pages, so it reports the count the store expects: the drift check then
    costs one (free) call and never asks for a listing.
    """

    concurrency = 1

    def __init__(self) -> None:
        self.next_id = 0
        self.sources: list[ImportSource] = []
        self.pages = 0

    def import_sources(self, *, fresh: bool = False) -> list[ImportSource]:
        return list(self.sources)

    def create_source(self, url: str, audience_ids: Sequence[int]) -> ImportSource:
        self.sources.append(ImportSource(str(len(self.sources) + 1), url, tuple(audience_ids)))
        return self.sources[-1]

    def update_source(self, source: ImportSource, url: str, audience_ids: Sequence[int]) -> None:
        pass

    def delete_source(self, import_source_id: str) -> None:
        pass

    def upsert(self, import_source_id: str, page: Page) -> str:
        self.next_id += 1
        self.pages += 1
        return str(self.next_id)

    def delete(self, page_id: str) -> None:
        self.pages -= 1

    def page_total(self) -> int:
        return self.pages

    def list_pages(self) -> WorkspacePages:
        return WorkspacePages({}, False, self.pages, 0)

    def find_page(self, import_source_id: str, external_id: str) -> RemotePage | None:
        return None


def measure(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB, and the exit code of ``command``."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def count_reads(config: Path, corpus: Path) -> int:
    """Files under ``corpus`` opened by an in-process no-op dry run (``.syncignore`` aside)."""
    from syncer.cli import main

    opened: list[str] = []
    prefix = str(corpus)

    def hook(event: str, args: tuple[object, ...]) -> None:
        path = args[0] if event == "open" else None
        if isinstance(path, str) and path.startswith(prefix) and not path.endswith(".syncignore"):
            opened.append(path)

    sys.addaudithook(hook)
    devnull = open(os.devnull, "w")  # noqa: SIM115, PTH123
    stdout, sys.stdout = sys.stdout, devnull
    try:
        main(["--log-level", "error", "sync", "--dry-run", "-c", str(config)])
    finally:
        sys.stdout = stdout
        devnull.close()
    return len(opened)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="build the corpus here and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="syncer-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus"
    if not corpus.exists():
        started = time.perf_counter()
        make_corpus(corpus, args.files)
        print(f"corpus: {args.files} files in {time.perf_counter() - started:.1f}s at {corpus}")
    db = work / "store.db"
    db.unlink(missing_ok=True)
    config = work / "syncer.yaml"
    config.write_text(
        f"store:\n  url: sqlite:///{db}\nsources:\n  - name: corpus\n    type: filesystem\n"
        f"    path: {corpus}\n    page_url: https://docs.example.com/{{path_stem}}\n"
    )
    syncer = str(Path(sys.executable).with_name("syncer"))
    command = [syncer, "--log-level", "error", "sync", "--dry-run", "-c", str(config)]

    wall, rss, code = measure(command)
    print(f"cold dry run (empty store):   {wall:6.2f} s  peak {rss:6.1f} MB  exit {code}")

    settings = loader.load(config)
    store = Store.open(settings.store.url, migrate=True)
    started = time.perf_counter()
    sync(settings, store, NullPublisher(), Options(), cache_dir=work / "cache", clock=_now)
    store.close()
    print(f"store filled by a real sync:  {time.perf_counter() - started:6.2f} s")

    walls = []
    for _ in range(3):
        wall, rss, code = measure(command)
        walls.append(wall)
    print(
        f"no-op dry run (store knows all): best {min(walls):.2f} s of 3  peak {rss:6.1f} MB  "
        f"exit {code}  (target < 2 s, < 150 MB)"
    )
    print(f"files read by the no-op plan: {count_reads(config, corpus)} (target 0)")
    if not args.keep:
        shutil.rmtree(work)


def _now() -> datetime:
    return datetime.now(UTC)


if __name__ == "__main__":
    main()
