"""Confluence's quick check (issue 17): between scheduled runs the daemon asks each space
with one CQL search whether a page was saved since the last successful run began, and a
page it finds triggers a run (kind ``quick check``); a quiet space triggers nothing. An
in-process daemon, the fake Confluence (which reads the CQL) and the fake Intercom."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncer.config import loader
from syncer.connector import Context
from syncer.connectors.confluence.connector import ConfluenceConnector
from syncer.connectors.confluence.settings import ConfluenceSettings
from syncer.daemon import Daemon
from syncer.errors import ConfigError
from tests.conftest import TOKEN
from tests.fakes.confluence import FakeConfluence
from tests.fakes.intercom import FakeIntercom
from tests.test_daemon import wait_for
from tests.test_status_routes import running

QUICK = "lastmodified"  # only the quick check's searches ask about it


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", TOKEN)


@pytest.fixture(params=["cloud", "datacenter"])
def confluence(request: pytest.FixtureRequest) -> Iterator[FakeConfluence]:
    with FakeConfluence(request.param) as fake:
        yield fake


def source_lines(fake: FakeConfluence, quick_check: str | None = "1s") -> list[str]:
    lines = [
        "  - name: wiki",
        "    type: confluence",
        f"    base_url: {fake.base_url}",
        f"    deployment: {fake.deployment}",
        "    token: ${CONFLUENCE_TOKEN}",
        "    spaces: [SUP, KB]",
    ]
    if fake.deployment == "cloud":
        lines.append(f"    email: {fake.email}")
    if quick_check is not None:
        lines.append(f"    quick_check: {quick_check}")
    return lines


def write_config(path: Path, intercom: FakeIntercom, fake: FakeConfluence, store: Path) -> None:
    lines = [
        "intercom:",
        "  token: ${TEST_INTERCOM_TOKEN}",
        f"  base_url: {intercom.url}",
        "store:",
        f"  url: sqlite:///{store}",
        "defaults:",
        "  schedule: every 1h",  # never again within the test: only quick checks run it
        "  run_on_start: true",
        "daemon:",
        "  host: 127.0.0.1",
        "  port: 0",
        "sources:",
        *source_lines(fake),
    ]
    path.write_text("\n".join(lines) + "\n")


def quick_searches(fake: FakeConfluence) -> int:
    return sum(
        1 for call in fake.calls if call.path.endswith("/content/search") and QUICK in call.query
    )


def finished(daemon: Daemon) -> int:
    return len([r for r in daemon.store.runs.of("wiki", limit=100) if r.finished_at is not None])


def html_of(fake: FakeIntercom, title: str) -> str:
    return next((str(p["html"]) for p in fake.pages() if p["title"] == title), "")


@pytest.fixture
def daemon(
    tmp_path: Path,
    fake_intercom: FakeIntercom,
    confluence: FakeConfluence,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Daemon]:
    confluence.add_page("SUP", "Reset a password", "<p>Open settings.</p>")
    confluence.add_page("KB", "Billing", "<p>Invoices monthly.</p>")
    monkeypatch.setenv("CONFLUENCE_TOKEN", confluence.token)
    config = tmp_path / "syncer.yaml"
    write_config(config, fake_intercom, confluence, tmp_path / "store.db")
    with running(config, "replica-a") as started:
        wait_for("the first run", lambda: finished(started) == 1, 30)
        yield started


def test_an_edited_page_is_synced_by_a_quick_check_before_the_schedule(
    daemon: Daemon, fake_intercom: FakeIntercom, confluence: FakeConfluence
) -> None:
    assert "Open settings." in html_of(fake_intercom, "Reset a password")
    page = next(c for c in confluence.contents.values() if c.title == "Reset a password")
    confluence.edit(page.id, body="<p>Open settings, then Security.</p>")
    wait_for(
        "the edit in Intercom",
        lambda: "then Security." in html_of(fake_intercom, "Reset a password"),
        10,  # a few quick-check periods of 1s; the schedule is an hour away
    )
    trigger = wait_for(
        "the trigger served",
        lambda: (row := daemon.store.triggers.get("wiki")) is not None and row.done == 1 and row,
        10,
    )
    assert finished(daemon) == 2
    assert trigger.what == f"quick check: page {page.id} v2 in SUP"
    metrics = daemon.metrics.registry
    labels = {"source": "wiki", "kind": "quick check", "outcome": "started"}
    assert metrics.get_sample_value("syncer_triggers_total", labels) == 1.0
    # The page the run delivered is known at its version: later checks trigger nothing.
    seen = quick_searches(confluence)
    wait_for("more quick checks", lambda: quick_searches(confluence) >= seen + 4, 10)
    assert finished(daemon) == 2
    assert daemon.store.triggers.get("wiki") == trigger


def test_a_quiet_space_triggers_nothing(daemon: Daemon, confluence: FakeConfluence) -> None:
    wait_for("several quick checks", lambda: quick_searches(confluence) >= 6, 10)
    row = daemon.store.triggers.get("wiki")
    assert row is not None  # the first run's freshness, but no trigger
    assert row.serial == 0
    assert finished(daemon) == 1


def test_a_quick_check_asks_once_per_space(
    tmp_path: Path, confluence: FakeConfluence, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("SUP", "KB", "DOC"):
        confluence.add_page(key, f"{key} home", "<p>Home.</p>")
    monkeypatch.setenv("CONFLUENCE_TOKEN", confluence.token)
    config = tmp_path / "syncer.yaml"
    lines = source_lines(confluence)
    lines[5] = "    spaces: [SUP, KB, DOC]"
    config.write_text("intercom:\n  token: t\nsources:\n" + "\n".join(lines) + "\n")
    (settings,) = loader.load(config).sources
    assert isinstance(settings, ConfluenceSettings)
    assert settings.quick_check == timedelta(seconds=1)
    connector = ConfluenceConnector(settings)
    listing = connector.list()
    cursor = connector.cursor()
    connector.close()
    assert len(listing.stubs) == 3
    now = datetime.now(UTC)

    def check(since: datetime) -> tuple[str | None, int]:
        before = len(confluence.calls)
        connector = ConfluenceConnector(settings, Context(tmp_path, cursor))
        try:
            return connector.changed_since(since, now), len(confluence.calls) - before
        finally:
            connector.close()

    # Every page was listed at its version: all three spaces asked, nothing found.
    assert check(now - timedelta(minutes=5)) == (None, 3)
    page = next(c for c in confluence.contents.values() if c.space_key == "KB")
    confluence.edit(page.id)
    # KB's newest page moved on: the check stops there, having asked SUP and KB.
    assert check(now - timedelta(minutes=5)) == (f"page {page.id} v2 in KB", 2)
    assert all(call.outcome == "ok" for call in confluence.calls)  # the CQL read as sent


def test_quick_check_is_a_period(tmp_path: Path) -> None:
    with FakeConfluence("cloud") as fake:
        for text, problem in (("2 minutes", "is not a period"), ("0s", "at least 1s")):
            config = tmp_path / "syncer.yaml"
            lines = source_lines(fake, quick_check=text)
            config.write_text("intercom:\n  token: t\nsources:\n" + "\n".join(lines) + "\n")
            with pytest.raises(ConfigError) as caught:
                loader.load(config)
            assert problem in str(caught.value)
