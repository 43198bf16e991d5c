"""Benchmark: the daemon's memory across 500 scheduled runs (it must stay flat).

Starts ``syncer daemon`` as a subprocess against an in-process fake Intercom, with
``--sources`` filesystem sources of ``--docs`` Markdown files each on ``every 1s``
schedules, while a thread keeps editing a random document about ten times a second, so
most runs list, read, convert and send something. It reads the daemon's RSS
(``/proc/PID/status``) when ``syncer_runs_total`` on ``/metrics`` reaches each
checkpoint, then stops the daemon with SIGTERM.

    .venv/bin/python bench/daemon_memory.py [--runs 500] [--sources 10] [--docs 20]
                                            [--store postgresql+psycopg://...] [--log FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.intercom import FakeIntercom  # noqa: E402

TOKEN = "bench-token"  # noqa: S105  # the fake's, nothing real


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def runs_total(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "syncer_runs_total"
        )
    )


def wait_port(log: Path, proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"daemon exited:\n{log.read_text()}")
        for line in log.read_text().splitlines():
            if '"http_listening"' in line:
                return int(json.loads(line)["port"])
        time.sleep(0.1)
    sys.exit("daemon did not start")


def edit(stop: threading.Event, root: Path, sources: int, docs: int) -> None:
    rng = random.Random(1)
    n = 0
    while not stop.wait(0.1):
        path = root / f"s{rng.randrange(sources)}" / f"doc-{rng.randrange(docs):03}.md"
        path.write_text(f"# Doc {path.stem}\n\nEdit {n}: {' '.join(['words'] * 50)}\n")
        n += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--sources", type=int, default=10)
    parser.add_argument("--docs", type=int, default=20)
    parser.add_argument("--store", default=None, help="store URL (default: SQLite in a temp dir)")
    parser.add_argument("--log", type=Path, default=None, help="keep the daemon's log here")
    args = parser.parse_args()
    checkpoints = sorted({c for c in (10, 50, 100, 250) if c < args.runs} | {args.runs})

    with tempfile.TemporaryDirectory() as tmp, FakeIntercom(TOKEN, strict=False) as fake:
        root = Path(tmp)
        for s in range(args.sources):
            folder = root / f"s{s}"
            folder.mkdir()
            for d in range(args.docs):
                (folder / f"doc-{d:03}.md").write_text(f"# Doc {d}\n\nBody {d}.\n")
        store = args.store or f"sqlite:///{root / 'store.db'}"
        lines = [
            "intercom:",
            f"  token: {TOKEN}",
            f"  base_url: {fake.url}",
            "store:",
            f"  url: {store}",
            "defaults:",
            "  schedule: every 1s",
            "daemon:",
            "  host: 127.0.0.1",
            "  port: 0",
            "sources:",
        ]
        for s in range(args.sources):
            lines += [
                f"  - name: s{s}",
                "    type: filesystem",
                f"    path: {root / f's{s}'}",
                f"    url: https://docs.example.com/s{s}/",
            ]
        config = root / "syncer.yaml"
        config.write_text("\n".join(lines) + "\n")
        log = args.log or root / "daemon.log"
        with log.open("w") as err:
            command = [sys.executable, "-m", "syncer", "--log-format", "json", "daemon"]
            proc = subprocess.Popen(
                [*command, "-c", str(config), "--migrate"],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            try:
                port = wait_port(log, proc)
                stop = threading.Event()
                editor = threading.Thread(target=edit, args=(stop, root, args.sources, args.docs))
                editor.start()
                started = time.monotonic()
                figures = []
                for checkpoint in checkpoints:
                    while (done := runs_total(port)) < checkpoint:
                        time.sleep(0.05)
                    figures.append((checkpoint, done, rss_kib(proc.pid)))
                    print(
                        f"run {checkpoint:>4}: RSS {figures[-1][2] / 1024:6.1f} MiB "
                        f"({time.monotonic() - started:5.1f} s)",
                        flush=True,
                    )
                stop.set()
                editor.join()
            finally:
                proc.send_signal(signal.SIGTERM)
                code = proc.wait(45)  # the daemon waits up to 30 s (grace) for runs
        writes = sum(1 for c in fake.calls if c.method == "POST")
        first, last = figures[0][2], figures[-1][2]
        print(
            f"RSS run {figures[0][0]} -> run {figures[-1][0]}: {first / 1024:.1f} -> "
            f"{last / 1024:.1f} MiB ({(last - first) / 1024:+.1f} MiB); "
            f"{len(fake.calls)} Intercom calls, {writes} writes; daemon exit {code}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
