"""End to end: a ``syncer daemon`` process syncing a git repository served over smart
HTTP (``git http-backend``) into the fake Intercom, driven by pushes and CI.

A commit pushed to the served bare repository, then GitHub's signed push webhook posted
to the daemon, puts the edit in Intercom; ``syncer trigger --wait`` from a shell script
exits with the exit code of the run it asked for (0, then 1 when Intercom refuses a
page); with no daemon there it says so and exits 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom
from tests.test_daemon import REPO, DaemonProcess, wait_for
from tests.test_git_support import GitHttpServer, GitRepo, free_port, publish
from tests.webhook_payloads import Commit, push_body, signed_push

SECRET = "hook-secret-0123456789abcdef"
ADMIN = "admin-0123456789-abcdef"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the daemon's config and the CLI's read (the daemon copies this environment).
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("ADMIN", ADMIN)
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", TOKEN)


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    """Daemons a test starts; any still running at the end are killed."""
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        daemon.close()


def write_config(path: Path, fake: FakeIntercom, repo_url: str, port: int) -> None:
    path.write_text(
        "\n".join(
            [
                "intercom:",
                "  token: ${TEST_INTERCOM_TOKEN}",
                f"  base_url: {fake.url}",
                "store:",
                f"  url: sqlite:///{path.parent / 'store.db'}",
                "defaults:",
                "  schedule: every 1h",  # only pushes and triggers run it here
                "daemon:",
                "  host: 127.0.0.1",
                f"  port: {port}",
                "  admin_token: ${ADMIN}",
                "sources:",
                "  - name: docs",
                "    type: git",
                f"    repo: {repo_url}",
                "    ref: main",
                "    subpath: docs",
                "    url: https://git.example.com/acme/docs",
                "    webhook:",
                "      provider: github",
                "      secret: ${HOOK_SECRET}",
            ]
        )
        + "\n"
    )


def run_script(tmp_path: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``syncer trigger`` as a CI job runs it: a shell script, its exit code its result."""
    script = tmp_path / "ci.sh"
    script.write_text(
        f'#!/bin/sh\nset -e\nexec "{sys.executable}" -m syncer trigger docs -c "{config}" "$@"\n'
    )
    script.chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [str(script), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def page_html(fake: FakeIntercom, external_id: str) -> str:
    for page in fake.pages():
        if page["external_id"] == external_id:
            return str(page["html"])
    return ""


def test_a_pushed_commit_reaches_intercom_through_the_webhook_and_ci_waits_on_trigger(
    tmp_path: Path, fake_intercom: FakeIntercom, daemons: list[DaemonProcess]
) -> None:
    work = GitRepo(tmp_path / "work")
    for n in range(3):
        work.write(f"docs/doc-{n}.md", f"# Doc {n}\n\nBody {n}.\n")
    work.commit("first")
    served = tmp_path / "served"
    publish(work, served)
    with GitHttpServer(served) as http:
        config = tmp_path / "syncer.yaml"
        port = free_port()
        write_config(config, fake_intercom, http.url("docs.git"), port)
        daemon = DaemonProcess(config, tmp_path / "daemon.log")
        daemons.append(daemon)
        assert daemon.port == port

        # CI after a merge: the first sync, waited for.
        done = run_script(tmp_path, config, "--wait")
        assert done.returncode == 0, done.stderr
        assert "docs: sync started (trigger 1)" in done.stdout
        assert "docs: run succeeded (exit 0)" in done.stdout
        assert len(fake_intercom.pages()) == 3
        assert any(path.startswith("/docs.git/") for path in http.paths)  # over HTTP

        # A commit pushed to the served repository, and GitHub's webhook for it.
        work.write("docs/doc-1.md", "# Doc 1\n\nEdited and pushed.\n")
        head = work.commit("Edit doc 1")
        stamp = work.git("show", "-s", "--format=%cI", head).strip()
        publish(work, served)
        body = push_body(
            "github",
            [Commit(head, datetime.fromisoformat(stamp), modified=["docs/doc-1.md"])],
        )
        delivery = signed_push("github", SECRET, body)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/hooks/docs", data=delivery.body, headers=delivery.headers
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 202
        wait_for(
            "the edit in Intercom",
            lambda: "Edited and pushed." in page_html(fake_intercom, "docs/doc-1.md"),
            60,
        )
        status = daemon.status()["sources"][0]
        trigger = wait_for(
            "the webhook's run recorded",
            lambda: (t := daemon.status()["sources"][0]["trigger"])["served"] == 2 and t,
            30,
        )
        assert trigger["what"] == f"webhook github push {head[:12]} by docwriter"
        assert trigger["changed_at"] == datetime.fromisoformat(stamp).astimezone(UTC).isoformat()
        assert trigger["freshness_s"] is not None
        assert status["last_run"] is not None
        metrics = daemon.metrics()
        # One observation a page written: the first run's three, the webhook's one.
        assert metrics[("syncer_freshness_seconds_count", (("source", "docs"),))] == 4

        # A run that fails: --wait exits with its code.
        fake_intercom.faults.reject_external_id("docs/doc-2.md")
        work.write("docs/doc-2.md", "# Doc 2\n\nRefused.\n")
        work.commit("Edit doc 2")
        publish(work, served)
        failed = run_script(tmp_path, config, "--wait")
        assert failed.returncode == 1, failed.stderr
        assert "docs: run failed (exit 1)" in failed.stdout

        # Without --wait it returns at once, the run started.
        quick = run_script(tmp_path, config)
        assert quick.returncode == 0, quick.stderr
        assert "docs: sync" in quick.stdout


def test_trigger_without_a_daemon_says_so_and_exits_2(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "SYNCER_ADMIN_TOKEN": ADMIN}
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "trigger", "docs", "--url", f"http://127.0.0.1:{port}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"no syncer daemon answers at http://127.0.0.1:{port}" in done.stderr
    assert ADMIN not in done.stderr


def test_trigger_refuses_a_wrong_token_and_an_unknown_source(
    tmp_path: Path, fake_intercom: FakeIntercom, daemons: list[DaemonProcess]
) -> None:
    config = tmp_path / "syncer.yaml"
    port = free_port()
    write_config(config, fake_intercom, "http://127.0.0.1:9/docs.git", port)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemons.append(daemon)
    assert daemon.port == port
    env = {**os.environ, "PYTHONPATH": str(REPO), "SYNCER_ADMIN_TOKEN": "not-the-admin-token"}
    wrong = subprocess.run(
        [sys.executable, "-m", "syncer", "trigger", "docs", "-c", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 2
    assert "refused the admin token" in wrong.stderr
    unknown = run_script(tmp_path, config)
    assert unknown.returncode == 0  # docs exists: the run starts (and fails: nothing there)
    missing = subprocess.run(
        [sys.executable, "-m", "syncer", "trigger", "nope", "-c", str(config)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    assert "no source 'nope' is configured" in missing.stderr
    assert daemon.status()["sources"][0]["trigger"]["serial"] == 1
