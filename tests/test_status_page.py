"""The status page in a real headless browser: Debian's Chromium driven by Playwright,
against a running ``syncer daemon`` and the fake Intercom.

The page lists every configured source, shows a failed run's errors (a page Intercom
refused, a folder that is not there) and, on a source's page, what the last run did
with each document; "sync now" with the admin token starts a run that the page then
shows, a wrong or missing token is refused and starts nothing; the overview and a
source's page fit a phone's width; the browser asks nothing of any other host. One
test, one daemon: starting it is most of the time. ``python3 dev.py test`` installs
Chromium (``apt-get install chromium``); without it this test fails, it never skips.

With ``SYNCER_SCREENSHOTS=docs`` the screenshots the README shows are written there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.fakes.intercom import FakeIntercom
from tests.test_daemon import REPO, DaemonProcess, runs_of, wait_for, write_config

ADMIN = "status-page-admin-0123456789"
# The names dev.py's ensure_chromium looks for (Debian's package installs the first).
CHROMIUM = ("chromium", "chromium-browser")
NAMES = ["product-docs", "handbook", "support-notes", "archive"]
# One word with no break in it, wider than a phone, shown in the footer: the page must
# wrap what it is given, not only what a temporary folder's hyphens let it.
STORE_FILE = "status_page_store_whose_name_is_wider_than_a_phone.db"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1180, "height": 900}


def _chromium() -> str:
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "Chromium is missing: `python3 dev.py test` installs it (apt-get install chromium); "
        "the status page's browser test does not skip"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Two cores shared with the rest of the suite: give a page longer than 5 s to show
    # what it should (each expect still returns as soon as it does).
    expect.set_options(timeout=15_000)
    # The system's Chromium, not one `playwright install` would download.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


def _git(cwd: Path, *args: str) -> None:
    who = {"GIT_AUTHOR_NAME": "Docs", "GIT_AUTHOR_EMAIL": "docs@example.com"}
    who |= {"GIT_COMMITTER_NAME": "Docs", "GIT_COMMITTER_EMAIL": "docs@example.com"}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=os.environ | who)


def _workspace(root: Path, fake: FakeIntercom, store_url: str) -> Path:
    """Four sources: a handbook folder (one draft), a git repo, a folder with a page
    Intercom refuses, a folder that is not there."""
    handbook = root / "handbook"
    handbook.mkdir()
    for name, title in [
        ("welcome", "Welcome to Acme"),
        ("billing", "Billing and invoices"),
        ("refunds", "Refunds"),
        ("shipping", "Shipping times"),
        ("accounts", "Managing your account"),
        ("security", "Security and passwords"),
        ("api-keys", "API keys"),
        ("contact", "Contact support"),
    ]:
        (handbook / f"{name}.md").write_text(f"# {title}\n\nHow {title.lower()} works.\n")
    (handbook / "roadmap.md").write_text("---\ndraft: true\n---\n# Roadmap\n")
    repo = root / "product-docs"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    for name in ("install", "upgrade", "faq"):
        (repo / f"{name}.md").write_text(f"# {name.title()}\n\nThe {name} guide.\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "docs")
    notes = root / "support-notes"
    notes.mkdir()
    (notes / "escalations.md").write_text("# Escalations\n\nWho to call.\n")
    (notes / "outage-2026-11.md").write_text("# November outage\n\nWhat happened.\n")
    fake.faults.reject_external_id(
        "outage-2026-11.md", message="html is not valid: unclosed <table> at line 12"
    )
    config = root / "syncer.yaml"
    write_config(
        config,
        fake=fake,
        store=store_url,
        sources=[("handbook", handbook), ("support-notes", notes), ("archive", root / "gone")],
        # Every source runs once on start and not again during the test.
        schedule="every 1h",
        run_on_start=True,
        daemon="  admin_token: ${STATUS_ADMIN_TOKEN}",
    )
    text = config.read_text().replace(
        "sources:\n",
        "sources:\n"
        "  - name: product-docs\n"
        "    type: git\n"
        f"    repo: file://{repo}\n"
        "    ref: main\n"
        "    url: https://github.com/acme/product-docs\n"
        '    page_url: "https://github.com/acme/product-docs/blob/{ref}/{path}"\n'
        "    schedule: every 15m\n",
    )
    config.write_text(text)
    return config


def _shoot(page: Page, name: str, tmp_path: Path) -> None:
    folders = [tmp_path]
    if wanted := os.environ.get("SYNCER_SCREENSHOTS"):
        folders.append(REPO / wanted)
    for folder in folders:
        page.screenshot(path=str(folder / name), full_page=True)
    assert (tmp_path / name).stat().st_size > 1000


def _runs(store_url: str, name: str) -> tuple[int, int]:
    """How many runs of ``name`` the store holds, and how many of them have finished."""
    runs = runs_of(store_url, name)
    return len(runs), len([r for r in runs if r.finished_at is not None])


def _overflow(page: Page) -> int:
    """How far the page scrolls sideways, in CSS pixels (0: it fits)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


class Browsing:
    """A browser context that records every request it makes and every complaint."""

    def __init__(self, browser: Browser, viewport: ViewportSize, *, phone: bool = False) -> None:
        self.context: BrowserContext = browser.new_context(
            viewport=viewport, is_mobile=phone, has_touch=phone
        )
        self.requested: list[str] = []
        self.complaints: list[str] = []
        self.context.on("request", lambda request: self.requested.append(request.url))
        self.context.on("requestfailed", lambda request: self.complaints.append(request.url))
        self.page = self.context.new_page()
        self.page.on(
            "console",
            lambda message: (
                self.complaints.append(message.text)
                if message.type in ("error", "warning")
                else None
            ),
        )
        self.page.on("pageerror", lambda error: self.complaints.append(str(error)))


def test_the_status_page_in_a_browser(
    tmp_path: Path,
    fake_intercom: FakeIntercom,
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STATUS_ADMIN_TOKEN", ADMIN)
    (tmp_path / "state").mkdir()
    store_url = f"sqlite:///{tmp_path / 'state' / STORE_FILE}"
    config = _workspace(tmp_path, fake_intercom, store_url)
    daemon = DaemonProcess(config, tmp_path / "daemon.log", migrate=False)
    desktop = phone = None
    try:
        base = f"http://127.0.0.1:{daemon.port}"
        wait_for("every first run", lambda: all(_runs(store_url, n)[1] for n in NAMES), 60)
        desktop = Browsing(browser, DESKTOP)
        page = desktop.page

        # Every source of the config, in its order, with its last run; the failed ones
        # with their errors.
        page.goto(base + "/")
        cards = page.locator("article.source")
        expect(cards).to_have_count(len(NAMES))
        assert [card.get_attribute("id") for card in cards.all()] == [
            f"source-{name}" for name in NAMES
        ]
        handbook = page.locator("#source-handbook")
        expect(handbook.locator(".badge.succeeded")).to_be_visible()
        expect(handbook).to_contain_text("8 created")
        expect(handbook).to_contain_text("1 excluded")
        docs = page.locator("#source-product-docs")
        expect(docs.locator(".badge.succeeded")).to_be_visible()
        expect(docs.locator("dl.facts")).to_contain_text("git")
        expect(docs.locator("dl.facts")).to_contain_text("every 15m")
        notes = page.locator("#source-support-notes")
        expect(notes.locator(".badge.failed")).to_be_visible()
        expect(notes.locator(".count.failed")).to_have_text("1 failed")
        expect(notes.locator("ul.errors")).to_contain_text(
            "outage-2026-11.md: Intercom POST /ai/external_pages: 422"
        )
        expect(notes.locator("ul.errors")).to_contain_text("unclosed <table> at line 12")
        archive = page.locator("#source-archive")
        expect(archive.locator(".badge.failed")).to_be_visible()
        expect(archive.locator("ul.errors")).to_contain_text("does not exist")
        expect(page.get_by_role("button", name="Sync handbook now")).to_be_enabled()
        _shoot(page, "status-overview.png", tmp_path)

        # A source's page: the documents of its last run, with Intercom's reason.
        notes.get_by_role("link", name="support-notes").click()
        expect(page).to_have_url(base + "/sources/support-notes")
        failed = page.locator("details.group.failed")
        expect(failed).to_contain_text("outage-2026-11.md")
        expect(failed.locator(".reason")).to_contain_text("unclosed <table> at line 12")
        expect(page.locator("details.group.created")).to_contain_text("escalations.md")
        expect(page.locator("table.runs tbody tr")).to_have_count(1)

        # Sync now with a wrong token, typed into the overview's one field for every
        # button: refused. With none at all (the browser will not send the form empty,
        # so the request is made directly): refused. Neither starts a run.
        page.goto(base + "/")
        page.get_by_label("Admin token").fill(ADMIN + "-wrong")
        page.get_by_role("button", name="Sync handbook now").click()
        expect(page.locator("h1")).to_have_text("Refused")
        expect(page.locator(".notice")).to_contain_text("not the admin token")
        missing = page.request.post(base + "/sources/handbook/sync", form={"other": "x"})
        assert missing.status == 403
        assert "not the admin token" in missing.text()
        refused = daemon.events("sync_refused")
        assert [(e["source"], e["reason"]) for e in refused] == [("handbook", "token")] * 2
        assert _runs(store_url, "handbook") == (1, 1)

        # With the token, from the source's page: the run starts, and the page shows it
        # once it is done, with what it did.
        (tmp_path / "handbook" / "refunds.md").write_text("# Refunds\n\nWithin 30 days.\n")
        (tmp_path / "handbook" / "contact.md").unlink()
        page.goto(base + "/sources/handbook")
        page.get_by_label("Admin token").fill(ADMIN)
        page.get_by_role("button", name="Sync handbook now").click()
        expect(page).to_have_url(base + "/sources/handbook?sync=started")
        expect(page.locator(".notice")).to_contain_text("Sync requested")
        wait_for("the run asked for", lambda: _runs(store_url, "handbook") == (2, 2), 30)
        page.goto(base + "/sources/handbook")
        rows = page.locator("table.runs tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.first.locator(".badge.succeeded")).to_be_visible()
        expect(rows.first).to_contain_text("1 updated")
        last = page.locator("#documents")
        expect(last.locator("h2")).to_have_text("What the last run did")
        expect(last.locator("details.group.updated")).to_contain_text("refunds.md")
        expect(last.locator("details.group.deleted")).to_contain_text("Contact support")
        _shoot(page, "status-source.png", tmp_path)

        # A phone: neither page scrolls sideways.
        phone = Browsing(browser, PHONE, phone=True)
        for path, ready in [("/", "article.source"), ("/sources/support-notes", "table.runs")]:
            phone.page.goto(base + path)
            expect(phone.page.locator(ready).first).to_be_visible()
            assert _overflow(phone.page) <= 0, f"{path} scrolls sideways on a phone"

        # Everything either browser loaded came from the daemon (the page, its stylesheet,
        # the favicon is a data: URL); no script ran and nothing failed to load but the
        # one refused "sync now", answered 403.
        requested = desktop.requested + phone.requested
        assert base + "/assets/status.css" in requested
        assert [url for url in requested if not url.startswith(base + "/")] == []
        assert phone.complaints == []
        assert len(desktop.complaints) == 1, desktop.complaints
        assert "403" in desktop.complaints[0]
    finally:
        for browsing in filter(None, [desktop, phone]):
            browsing.context.close()
        daemon.close()
    assert [e["source"] for e in daemon.events("sync_requested")] == ["handbook"]
    assert ADMIN not in daemon.log_path.read_text()
