"""A person at a terminal: the progress bar shows the rate and the time left, and Ctrl-C
ends with one line on what was sent. Real terminals (a pty), real signals, the fake
Intercom slowed down so that a run takes long enough to watch."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from syncer.progress import clock_text, progress_for
from tests.conftest import Workspace


class Terminal(io.StringIO):
    """A stream that says it is a terminal, and keeps what was drawn on it."""

    def isatty(self) -> bool:
        return True


def test_the_bar_shows_the_rate_and_the_time_left() -> None:
    now = [100.0]
    screen = Terminal()
    with progress_for(screen, get_time=lambda: now[0]) as progress:
        progress.phase("docs", "syncing", 40)
        for _ in range(10):
            now[0] += 0.5  # two documents a second
            progress.advance()
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert "docs: syncing" in drawn
    assert "10/40" in drawn
    assert "2.0 docs/s" in drawn
    assert "0:15 left" in drawn  # 30 to go at 2 a second


def test_nothing_is_drawn_off_a_terminal() -> None:
    stream = io.StringIO()
    with progress_for(stream) as progress:
        progress.phase("docs", "syncing", 4)
        progress.advance(4)
    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0:00"), (7.4, "0:07"), (750, "12:30"), (3723, "1:02:03")]
)
def test_clock_text(seconds: float, text: str) -> None:
    assert clock_text(seconds) == text


def seed(workspace: Workspace, n: int) -> None:
    for i in range(n):
        workspace.write(f"page-{i:03}.md", f"# Page {i}\n\nBody {i}.\n")


def wait_until(what: str, condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_sync_on_a_real_terminal_draws_rate_and_time_left(workspace: Workspace) -> None:
    seed(workspace, 120)
    workspace.fake.faults.slow_down(0.02, method="POST", path_prefix="/ai/external_pages")
    workspace.configure(intercom="  concurrency: 2\n")
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "syncer", "sync", "-q", "-c", str(workspace.config)],
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**os.environ, "COLUMNS": "160"},
    )
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other end closed: the process is done
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn.decode(errors="replace"))
    assert "docs: syncing" in text
    assert re.search(r"\d+/120", text)
    assert re.search(r"\d+\.\d docs/s", text)
    assert re.search(r"\d+:\d\d left", text)
    assert "create 120" in out.decode()


def test_ctrl_c_ends_with_one_line_on_what_was_sent(workspace: Workspace) -> None:
    seed(workspace, 200)
    workspace.fake.faults.slow_down(0.05, method="POST", path_prefix="/ai/external_pages")
    process = subprocess.Popen(
        [sys.executable, "-m", "syncer", "sync", "--json", "-q", "-c", str(workspace.config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until("writes under way", lambda: workspace.fake.writes >= 30)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    sent = len(workspace.fake.pages())
    assert 0 < sent < 200
    assert json.loads(out)["sources"][0]["counts"]["created"] == sent
    assert err.splitlines()[-1] == (
        f"syncer: stopped during source docs: {sent} pages sent to Intercom "
        f"({sent} created, 0 updated, 0 deleted), each recorded; the next run sends the rest"
    )
