"""Crash safety: SIGKILL ``syncer sync`` at random moments, run again, and Fin (the fake
Intercom) must equal the source exactly: no duplicate, no orphan, no stale page.

Each trial edits, deletes and adds a few documents, then starts a ``--full`` sync (so
every trial has 500 pages to write), kills it at a random moment, and runs a plain sync
to completion. Most moments are drawn as "after the fake has seen N of the 500 writes"
(so the kill lands mid-write however fast or loaded the machine is); the rest as a
random time from the start, which also hits listing, reading and the store.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncer.cli import main
from tests.conftest import Workspace

DOCS = 500
TRIALS = 20


def expected_titles(space: Workspace) -> dict[str, str]:
    out = {}
    for path in sorted(space.docs.rglob("*.md")):
        out[path.relative_to(space.docs).as_posix()] = path.read_text().splitlines()[0][2:]
    return out


def write_doc(space: Workspace, n: int, version: int) -> None:
    space.write(f"part-{n % 10}/doc-{n:04d}.md", f"# Doc {n} v{version}\n\nBody {n} {version}.\n")


def wait_for_writes(space: Workspace, count: int, process: subprocess.Popen[bytes]) -> None:
    """Return once the fake has seen ``count`` more writes (or the sync has ended)."""
    target = space.fake.writes + count
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if space.fake.writes >= target:
            return
        time.sleep(0.005)


@pytest.mark.slow
def test_killed_syncs_converge(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(20261125)
    for n in range(DOCS):
        write_doc(workspace, n, 0)
    workspace.fake.faults.slow_down((0.004, 0.012), method="POST")
    command = [sys.executable, "-m", "syncer", "--log-level", "error", "sync"]
    command += ["--full", "-c", str(workspace.config)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

    started = time.time()
    first = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    span = time.time() - started
    assert workspace.titles() == expected_titles(workspace)

    next_doc, mid_write = DOCS, 0
    live = list(range(DOCS))
    for trial in range(TRIALS):
        for n in rng.sample(live, 5):
            write_doc(workspace, n, trial + 1)
        for n in rng.sample(live, 3):
            live.remove(n)
            (workspace.docs / f"part-{n % 10}/doc-{n:04d}.md").unlink()
        for _ in range(3):
            write_doc(workspace, next_doc, trial + 1)
            live.append(next_doc)
            next_doc += 1

        calls = len(workspace.fake.calls)
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if trial % 4 == 3:
            time.sleep(rng.uniform(0.0, span))
        else:
            wait_for_writes(workspace, rng.randrange(1, DOCS), process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        writes = sum(1 for call in workspace.fake.calls[calls:] if call.write)
        if process.returncode == -signal.SIGKILL and 0 < writes < DOCS:
            mid_write += 1

        code = main(["--log-level", "error", "sync", "-c", str(workspace.config)])
        capsys.readouterr()
        assert code == 0, f"trial {trial}: the sync after the kill failed"
        assert workspace.titles() == expected_titles(workspace), f"trial {trial}"
        assert len(workspace.fake.sources()) == 1

    print(f"{mid_write} of {TRIALS} kills landed mid-write")
    # The test means something only if most kills hit a sync in the middle of writing.
    assert mid_write >= TRIALS * 3 // 4 - 2, f"only {mid_write} of {TRIALS} kills landed mid-write"
