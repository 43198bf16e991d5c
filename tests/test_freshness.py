"""Freshness of scheduled runs (issue 17): with no trigger, a run measures each page it
writes from the change its source dated (a git commit's time, a Confluence page
version's), in ``syncer_freshness_seconds`` and on ``/status``; a run that writes
nothing observes nothing. An in-process daemon, a real git repository, the fake
Confluence and the fake Intercom."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncer.daemon import Daemon
from tests.conftest import TOKEN
from tests.fakes.confluence import FakeConfluence
from tests.fakes.intercom import FakeIntercom
from tests.test_daemon import wait_for
from tests.test_git_support import GitRepo
from tests.test_status_routes import fetch, running


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", TOKEN)


@pytest.fixture
def confluence() -> Iterator[FakeConfluence]:
    with FakeConfluence("cloud") as fake:
        yield fake


def write_config(path: Path, fake: FakeIntercom, store: Path, source: str) -> None:
    path.write_text(
        "\n".join(
            [
                "intercom:",
                "  token: ${TEST_INTERCOM_TOKEN}",
                f"  base_url: {fake.url}",
                "store:",
                f"  url: sqlite:///{store}",
                "defaults:",
                "  schedule: every 1s",
                "  run_on_start: true",
                "daemon:",
                "  host: 127.0.0.1",
                "  port: 0",
                "sources:",
                source,
            ]
        )
        + "\n"
    )


def observed(daemon: Daemon, name: str) -> tuple[float, float]:
    """``syncer_freshness_seconds``'s (count, sum) for source ``name``."""
    registry = daemon.metrics.registry
    labels = {"source": name}
    count = registry.get_sample_value("syncer_freshness_seconds_count", labels) or 0.0
    total = registry.get_sample_value("syncer_freshness_seconds_sum", labels) or 0.0
    return count, total


def finished(daemon: Daemon, name: str) -> int:
    return len([r for r in daemon.store.runs.of(name, limit=500) if r.finished_at is not None])


def html_of(fake: FakeIntercom, external_id: str) -> str:
    return next((str(p["html"]) for p in fake.pages() if p["external_id"] == external_id), "")


def shown_freshness(daemon: Daemon) -> float | None:
    _code, _headers, body = fetch(daemon, "/status")
    trigger = json.loads(body)["sources"][0]["trigger"]
    return trigger["freshness_s"] if trigger else None


def quiet_runs_observe_nothing(daemon: Daemon, name: str) -> tuple[float, float]:
    """Two more runs that write nothing, and what the histogram held before them."""
    before = observed(daemon, name)
    runs = finished(daemon, name)
    wait_for("two no-op runs", lambda: finished(daemon, name) >= runs + 2, 30)
    assert observed(daemon, name) == before
    return before


def test_a_scheduled_git_run_measures_from_the_commit_and_a_no_op_run_measures_nothing(
    tmp_path: Path, fake_intercom: FakeIntercom
) -> None:
    work = GitRepo(tmp_path / "work")
    for n in range(3):
        work.write(f"docs/doc-{n}.md", f"# Doc {n}\n\nBody {n}.\n")
    work.commit("first")
    source = "\n".join(
        [
            "  - name: docs",
            "    type: git",
            f"    repo: {work.path}",
            "    ref: main",
            "    subpath: docs",
            "    url: https://git.example.com/acme/docs",
        ]
    )
    config = tmp_path / "syncer.yaml"
    write_config(config, fake_intercom, tmp_path / "store.db", source)
    with running(config, "replica-a") as daemon:
        wait_for("the first run's pages", lambda: observed(daemon, "docs")[0] == 3, 30)
        count, total = quiet_runs_observe_nothing(daemon, "docs")

        work.write("docs/doc-1.md", "# Doc 1\n\nEdited.\n")
        committed = time.time()
        head = work.commit("Edit doc 1")
        stamp = int(work.git("show", "-s", "--format=%ct", head).strip())
        unseen = time.time()
        while "Edited." not in html_of(fake_intercom, "docs/doc-1.md"):
            unseen = time.time()
            assert unseen - committed < 30, "the edit never reached Intercom"
            time.sleep(0.05)
        wait_for("one more observation", lambda: observed(daemon, "docs")[0] == count + 1, 30)
        counted = time.time()
        delay = observed(daemon, "docs")[1] - total
        # From the commit's (whole-second) time to the end of the run that wrote the
        # page: after the last look that did not find it, before the metric was read.
        assert unseen - committed <= delay <= counted - stamp
        assert delay < 15
        fresh = shown_freshness(daemon)
        assert fresh is not None
        assert math.isclose(fresh, delay, abs_tol=1e-3)  # the newest change's, on /status
        quiet_runs_observe_nothing(daemon, "docs")


def test_a_scheduled_confluence_run_measures_from_the_page_version_time(
    tmp_path: Path, fake_intercom: FakeIntercom, confluence: FakeConfluence
) -> None:
    pages = [confluence.add_page("SUP", f"Page {n}", f"<p>Body {n}.</p>") for n in range(2)]
    source = "\n".join(
        [
            "  - name: wiki",
            "    type: confluence",
            f"    base_url: {confluence.base_url}",
            f"    email: {confluence.email}",
            "    token: ${CONFLUENCE_TOKEN}",
            "    spaces: [SUP]",
        ]
    )
    config = tmp_path / "syncer.yaml"
    write_config(config, fake_intercom, tmp_path / "store.db", source)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONFLUENCE_TOKEN", confluence.token)
        with running(config, "replica-a") as daemon:
            wait_for("the first run's pages", lambda: observed(daemon, "wiki")[0] == 2, 30)
            count, total = quiet_runs_observe_nothing(daemon, "wiki")

            edited = time.time()
            confluence.edit(pages[1].id, body="<p>Edited.</p>")
            wait_for("one more observation", lambda: observed(daemon, "wiki")[0] > count, 30)
            counted = time.time()
            assert observed(daemon, "wiki")[0] == count + 1
            delay = observed(daemon, "wiki")[1] - total
            assert "Edited." in html_of(fake_intercom, str(pages[1].id))
            assert 0 < delay <= counted - edited + 0.01  # the version time has milliseconds
            quiet_runs_observe_nothing(daemon, "wiki")
