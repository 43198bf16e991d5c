"""Benchmark: freshness, from a commit to the page updated in Intercom, over 50 changes.

A ``syncer daemon`` process syncs a git repository served over smart HTTP (``git
http-backend``) into the fake Intercom. Each change edits one page, commits and pushes
it to the served bare repository; the time from just before ``git commit`` to the fake
Intercom holding the new text is that change's freshness. Changes come every 0.5-2 s
(uniformly drawn, seeded), not one at a time, so some land while a run is under way.

- **webhooks**: each push is followed by GitHub's signed push webhook to the daemon.
- **schedule**: no webhook; the daemon polls on a schedule. The default is every 30 min,
  too long to sit through 50 times, so the daemon runs ``every {period}s`` and each
  change's figure is projected to 30 min: its wait for the next run scaled by
  ``1800 / period``, plus the run's own time (from that run's start to the page) as
  measured. The measured figures at the short period are printed too.

Prints median and 95th percentile side by side (target with webhooks: p95 under 10 s).

    .venv/bin/python bench/freshness.py [--changes 50] [--period 10] [--docs 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from syncer.store import Store  # noqa: E402
from tests.conftest import TOKEN  # noqa: E402
from tests.fakes.intercom import FakeIntercom  # noqa: E402
from tests.test_daemon import DaemonProcess  # noqa: E402
from tests.test_git_support import GitHttpServer, GitRepo, free_port, publish  # noqa: E402
from tests.webhook_payloads import Commit, push_body, signed_push  # noqa: E402

SECRET = "bench-hook-secret-0123456789"  # noqa: S105  # the fake webhook's, not a credential
DEFAULT_PERIOD_S = 1800.0
POLL_S = 0.02


@dataclass
class Change:
    doc: str
    marker: str
    committed: float  # wall clock, just before git commit
    landed: float | None = None


def config_text(fake: FakeIntercom, repo_url: str, port: int, store: Path, schedule: str) -> str:
    return (
        "\n".join(
            [
                "intercom:",
                f"  token: {TOKEN}",
                f"  base_url: {fake.url}",
                "store:",
                f"  url: sqlite:///{store}",
                "defaults:",
                f"  schedule: {schedule}",
                "  run_on_start: true",
                "daemon:",
                "  host: 127.0.0.1",
                f"  port: {port}",
                "sources:",
                "  - name: docs",
                "    type: git",
                f"    repo: {repo_url}",
                "    ref: main",
                "    subpath: docs",
                "    url: https://git.example.com/acme/docs",
                "    webhook:",
                "      provider: github",
                "      secret: ${BENCH_HOOK_SECRET}",
            ]
        )
        + "\n"
    )


def run_mode(
    mode: str, work_root: Path, *, changes: int, period: float, docs: int, seed: int
) -> tuple[list[Change], list[datetime]]:
    """Make ``changes`` changes; each with the time it landed, and the runs' start times."""
    import os

    os.environ["BENCH_HOOK_SECRET"] = SECRET
    rng = random.Random(seed)
    work = GitRepo(work_root / "work")
    for n in range(docs):
        work.write(f"docs/page-{n:03}.md", f"# Page {n}\n\nBody {n}.\n")
    work.write("README.md", "# Docs\n")
    work.commit("first")
    served = work_root / "served"
    publish(work, served)
    store = work_root / "store.db"
    with FakeIntercom(TOKEN) as fake, GitHttpServer(served) as http:
        port = free_port()
        config = work_root / "syncer.yaml"
        schedule = "every 1h" if mode == "webhooks" else f"every {int(period)}s"
        config.write_text(config_text(fake, http.url("docs.git"), port, store, schedule))
        daemon = DaemonProcess(config, work_root / "daemon.log")
        try:
            _ = daemon.port
            deadline = time.monotonic() + 120
            while len(fake.pages()) < docs:  # the first sync (run_on_start)
                if time.monotonic() > deadline:
                    raise SystemExit(f"{mode}: the first sync did not finish")
                time.sleep(0.1)
            made: list[Change] = []
            for i in range(changes):
                doc = f"docs/page-{rng.randrange(docs):03}.md"
                marker = f"change-{mode}-{i}"
                work.write(doc, f"# {doc}\n\nEdited: {marker}.\n")
                committed = time.time()
                head = work.commit(f"Edit {doc} ({marker})")
                publish(work, served)
                change = Change(doc, marker, committed)
                made.append(change)
                if mode == "webhooks":
                    commit = Commit(head, datetime.fromtimestamp(committed, UTC), modified=[doc])
                    delivery = signed_push("github", SECRET, push_body("github", [commit]))
                    request = urllib.request.Request(
                        f"http://127.0.0.1:{port}/hooks/docs",
                        data=delivery.body,
                        headers=delivery.headers,
                    )
                    # http://127.0.0.1: the daemon this benchmark started.
                    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
                        assert reply.status == 202
                pause = time.monotonic() + rng.uniform(0.5, 2.0)
                while time.monotonic() < pause:
                    watch(fake, made)
                    time.sleep(POLL_S)
            deadline = time.monotonic() + 10 * max(period, 10)
            while any(c.landed is None for c in made):
                watch(fake, made)
                if time.monotonic() > deadline:
                    raise SystemExit(f"{mode}: some changes never reached Intercom")
                time.sleep(POLL_S)
        finally:
            daemon.close()
    with Store.open_read_only(f"sqlite:///{store}") as opened:
        starts = sorted(run.started_at for run in opened.runs.of("docs", limit=10_000))
    return made, starts


def watch(fake: FakeIntercom, made: list[Change]) -> None:
    """Note the time each change's page shows its text (the newest edit of a page wins)."""
    waiting = [c for c in made if c.landed is None]
    if not waiting:
        return
    html = {str(page["external_id"]): str(page["html"]) for page in fake.pages()}
    now = time.time()
    for change in waiting:
        text = html.get(change.doc, "")
        newer = [c for c in made if c.doc == change.doc and c.committed > change.committed]
        if change.marker in text or any(c.marker in text for c in newer):
            change.landed = now


def summary(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def projected(changes: list[Change], starts: list[datetime], period: float) -> list[float]:
    """Each change's freshness had the schedule been every 30 min: its wait for the run
    that served it, scaled, plus that run's own time to the page."""
    scale = DEFAULT_PERIOD_S / period
    figures = []
    for change in changes:
        assert change.landed is not None
        serving = [
            s.timestamp() for s in starts if change.committed <= s.timestamp() <= change.landed
        ]
        start = serving[0] if serving else change.committed
        figures.append((start - change.committed) * scale + (change.landed - start))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--period", type=float, default=10.0, help="the short schedule, s")
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="syncer-freshness-") as tmp:
        for mode in ("webhooks", "schedule"):
            root = Path(tmp) / mode
            root.mkdir()
            made, starts = run_mode(
                mode, root, changes=args.changes, period=args.period, docs=args.docs, seed=args.seed
            )
            measured = [c.landed - c.committed for c in made if c.landed is not None]
            rows.append((mode, measured, starts, made))
    print(f"freshness over {args.changes} changes (commit -> page updated in the fake Intercom)")
    print(f"{'':34} {'median':>10} {'p95':>10}")
    hooks = rows[0][1]
    med, p95 = summary(hooks)
    verdict = "met" if p95 < 10 else "MISSED"
    print(f"{'webhooks':34} {med:9.2f}s {p95:9.2f}s   target p95 < 10 s: {verdict}")
    _mode, measured, starts, made = rows[1]
    med, p95 = summary(projected(made, starts, args.period))
    print(f"{'schedule every 30m (projected)':34} {med:9.2f}s {p95:9.2f}s")
    med, p95 = summary(measured)
    print(f"{f'schedule every {args.period:g}s (measured)':34} {med:9.2f}s {p95:9.2f}s")
    print(f"runs: webhooks {len(rows[0][2])}, schedule {len(starts)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
