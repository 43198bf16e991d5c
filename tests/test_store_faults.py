"""The store and the config fail one thing at a time (issue 10, items 18-20).

A disk that fills up in the middle of the first migration, a store that goes away in
the middle of a run, one source whose folder is missing: each is reported clearly,
fails no more than it must, and the next run picks up where things stand. The disk is
really full (a file-size limit on the child process), the store really goes away (a TCP
proxy in front of the real Postgres is cut), the folder really is not there.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncer.cli import main
from syncer.store import Store
from tests.conftest import POSTGRES_HOST, POSTGRES_PORT, TOKEN, Workspace
from tests.fakes.intercom import FakeIntercom
from tests.test_daemon import DaemonProcess, make_docs, wait_for, write_config

REPO = Path(__file__).resolve().parents[1]


def _seed(space: Workspace, n: int) -> None:
    for i in range(n):
        space.write(f"doc-{i:03d}.md", f"# Doc {i}\n\nBody {i}.\n")


def _sync_process(
    config: Path, *, file_limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    def limited() -> None:  # in the child, before exec
        if file_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    return subprocess.run(
        [
            sys.executable,
            "-m",
            "syncer",
            "--log-level",
            "error",
            "sync",
            "--json",
            "-c",
            str(config),
        ],
        env={**os.environ, "PYTHONPATH": str(REPO), "TEST_INTERCOM_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limited,  # a resource limit is what is being tested
        check=False,
    )


# ---- 18: a disk that fills up during the first migration ----------------------------------


def test_a_disk_full_at_any_point_of_the_first_migration_leaves_a_store_the_next_run_uses(
    workspace: Workspace,
) -> None:
    _seed(workspace, 3)
    store = workspace.root / "store.db"
    failed = 0
    # A fresh store is 64 KiB: let the disk fill at every page size step on the way.
    for limit in range(4096, 65536 + 1, 4096):
        for leftover in (store, store.with_name("store.db-journal")):
            leftover.unlink(missing_ok=True)
        full = _sync_process(workspace.config, file_limit=limit)
        if full.returncode != 0:
            failed += 1
            assert "Traceback" not in full.stderr, full.stderr
        after = _sync_process(workspace.config)
        assert after.returncode == 0, f"limit {limit}: {after.stdout}{after.stderr}"
        workspace.fake.reset()
    assert failed >= 8, "the limits should have cut most migrations short"


# ---- 19: the store goes away mid-run ---------------------------------------------------------


class Proxy:
    """A TCP proxy to the Postgres server that a test can cut (an outage) and restore."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if not self._open:
                    client.close()
                    continue
                upstream = socket.create_connection((POSTGRES_HOST, POSTGRES_PORT))
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Every connection dropped, every new one refused at once."""
        with self._lock:
            self._open = False
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._sockets.clear()

    def restore(self) -> None:
        with self._lock:
            self._open = True

    def close(self) -> None:
        self.cut()
        self._listener.close()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    made = Proxy()
    yield made
    made.close()


@pytest.mark.postgres
def test_a_store_lost_mid_run_fails_the_run_with_a_report_and_the_next_run_converges(
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    postgres_url: str,
    proxy: Proxy,
) -> None:
    _seed(workspace, 120)
    url = postgres_url.replace(f"{POSTGRES_HOST}:{POSTGRES_PORT}", f"127.0.0.1:{proxy.port}")
    workspace.configure(store=url)
    assert main(["db", "upgrade", "-c", str(workspace.config)]) == 0
    capsys.readouterr()
    workspace.fake.faults.slow_down(0.02, method="POST", path_prefix="/ai/external_pages")

    def cut_when_writing() -> None:
        wait_for("writes under way", lambda: workspace.fake.writes >= 20, 60, every=0.005)
        proxy.cut()

    cutter = threading.Thread(target=cut_when_writing)
    cutter.start()
    code = main(["--log-level", "error", "sync", "--json", "-c", str(workspace.config)])
    cutter.join()
    out, err = capsys.readouterr()
    assert code == 1, err
    assert "Traceback" not in err
    (report,) = json.loads(out)["sources"]
    assert report["status"] == "failed"
    assert "store" in report["errors"][0]
    written = workspace.fake.writes
    assert written < 120  # the run stopped writing when its store went

    proxy.restore()
    workspace.fake.faults.clear()
    code = main(["--log-level", "error", "sync", "--json", "-c", str(workspace.config)])
    capsys.readouterr()
    assert code == 0
    pages = workspace.fake.pages()
    assert sorted(p["external_id"] for p in pages) == [f"doc-{i:03d}.md" for i in range(120)]
    with Store.open_read_only(postgres_url) as store:
        runs = store.runs.of("docs")
    assert [r.status for r in runs] == ["succeeded", "interrupted"]
    assert "abandoned" in runs[1].errors[0]


# ---- 20: one source's folder is missing --------------------------------------------------------


def test_a_missing_folder_fails_only_its_source(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(workspace, 4)
    missing = workspace.root / "not-mounted-yet"
    workspace.configure(
        extra=f"  - name: share\n    type: filesystem\n    path: {missing}\n"
        "    url: https://share.example.com/\n"
    )
    code = main(["--log-level", "error", "sync", "--json", "-c", str(workspace.config)])
    out, err = capsys.readouterr()
    assert code == 1, err
    reports = {r["name"]: r for r in json.loads(out)["sources"]}
    assert reports["docs"]["status"] == "succeeded"
    assert reports["docs"]["counts"]["created"] == 4
    assert reports["share"]["status"] == "failed"
    assert f"folder {missing} does not exist" in reports["share"]["errors"][0]
    assert len(workspace.fake.pages()) == 4

    # `syncer validate` still says so, with the file and line.
    assert main(["validate", "-c", str(workspace.config)]) == 2
    assert f"{workspace.config}:" in capsys.readouterr().err

    missing.mkdir()
    (missing / "notice.md").write_text("# Notice\n")
    code = main(["--log-level", "error", "sync", "--json", "-c", str(workspace.config)])
    capsys.readouterr()
    assert code == 0
    assert len(workspace.fake.pages()) == 5


def test_the_daemon_starts_and_syncs_the_others_when_one_folder_is_missing(
    tmp_path: Path,
) -> None:
    make_docs(tmp_path / "present", 3)
    config = tmp_path / "syncer.yaml"
    with FakeIntercom(TOKEN) as fake:
        write_config(
            config,
            fake=fake,
            store=f"sqlite:///{tmp_path / 'store.db'}",
            sources=[("present", tmp_path / "present"), ("absent", tmp_path / "absent")],
            schedule="every 1h",
            run_on_start=True,
        )
        daemon = DaemonProcess(config, tmp_path / "daemon.log")
        try:
            wait_for("the present source's pages", lambda: len(fake.pages()) == 3, 30)

            def absent_failed() -> bool:
                rows = {row["name"]: row for row in daemon.status()["sources"]}
                last = rows["absent"]["last_run"]
                return last is not None and last["status"] == "failed"

            wait_for("the absent source's failed run", absent_failed, 30)
            row = {r["name"]: r for r in daemon.status()["sources"]}["absent"]
            assert "does not exist" in row["last_run"]["errors"][0]
            assert daemon.get("/healthz")[0] == 200
        finally:
            daemon.send(signal.SIGTERM)
            daemon.wait(20)
            daemon.close()


# ---- a writer killed mid-transaction leaves a hot journal ----------------------------------

_MID_WRITE = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
for n in range(5000):
    connection.execute(
        "UPDATE documents SET title = ? WHERE key = ?", (f"half-written {n}", "doc-000.md")
    )
    connection.execute("INSERT INTO workspace (key, value) VALUES (?, ?)", (f"x{n}", "y" * 500))
print("mid-write", flush=True)
time.sleep(60)
"""


def test_status_and_a_dry_run_read_the_store_a_killed_writer_left(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(workspace, 3)
    assert main(["--log-level", "error", "sync", "-c", str(workspace.config)]) == 0
    store = workspace.root / "store.db"
    writer = subprocess.Popen(
        [sys.executable, "-c", _MID_WRITE, str(store)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "mid-write"
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    assert store.with_name("store.db-journal").stat().st_size > 0  # a hot journal
    capsys.readouterr()

    assert main(["--log-level", "error", "status", "--json", "-c", str(workspace.config)]) == 0
    (row,) = json.loads(capsys.readouterr().out)["sources"]
    assert row["last_run"]["status"] == "succeeded"
    with Store.open_read_only(f"sqlite:///{store}") as opened:
        titles = {r.title for r in opened.records("docs").values()}
    assert titles == {"Doc 0", "Doc 1", "Doc 2"}  # the last committed state, nothing half-made
    code = main(["--log-level", "error", "sync", "--dry-run", "-c", str(workspace.config)])
    assert code == 0
    assert "unchanged 3" in capsys.readouterr().out
