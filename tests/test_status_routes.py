"""The status page's routes over real HTTP, on in-process daemons with real stores and the
fake Intercom: what each page shows, that it reads the store (a second replica shows the
same, a failed reload included), and every way "sync now" is refused or taken.

The page in a real browser is ``test_status_page.py``'s.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from syncer.config import loader
from syncer.daemon import Daemon
from syncer.intercom.client import IntercomClient
from syncer.store import Store
from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom
from tests.test_daemon import make_docs, wait_for, write_config

ADMIN = "admin-0123456789-abcdef"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the configs' ${VAR}s read, at start and on reload.
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", TOKEN)
    monkeypatch.setenv("ADMIN", ADMIN)


@contextmanager
def running(config: Path, holder: str) -> Iterator[Daemon]:
    """An in-process daemon for ``config`` (its store migrated), serving on a free port."""
    settings = loader.load(config)
    store = Store.open(settings.store.url, migrate=True)
    client = IntercomClient.from_settings(settings.intercom)
    daemon = Daemon(config, settings, store, client, holder=holder)
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.shutdown(5)
        store.close()
        client.close()


def fetch(
    daemon: Daemon,
    path: str,
    *,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
) -> tuple[int, dict[str, str], str]:
    url = f"http://127.0.0.1:{daemon.endpoint.port}{path}"
    data = None
    if form is not None:
        data = "&".join(f"{k}={urllib.parse.quote(v)}" for k, v in form.items()).encode()
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *_args: object, **_kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def _config(
    tmp_path: Path, fake: FakeIntercom, store: str, *, admin: bool, schedule: str = "every 1h"
) -> Path:
    make_docs(tmp_path / "docs", 3)
    (tmp_path / "docs" / "draft.md").write_text("---\ndraft: true\n---\n# Draft\n")
    (tmp_path / "wiki").mkdir()
    (tmp_path / "wiki" / "bad.md").write_text(
        '---\ntitle: "<script>alert(1)</script> & co"\n---\nBody.\n'
    )
    fake.faults.reject_external_id("bad.md", message="<b>title</b> is too long")
    config = tmp_path / "syncer.yaml"
    write_config(
        config,
        fake=fake,
        store=store,
        sources=[("docs", tmp_path / "docs"), ("wiki", tmp_path / "wiki")],
        schedule=schedule,
        run_on_start=True,
        daemon="  admin_token: ${ADMIN}" if admin else "",
    )
    return config


def _runs(store_url: str, name: str) -> int:
    with Store.open_read_only(store_url) as store:
        return len([r for r in store.runs.of(name) if r.finished_at is not None])


def test_the_pages_show_every_source_and_what_its_last_run_did(
    tmp_path: Path, fake_intercom: FakeIntercom
) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    config = _config(tmp_path, fake_intercom, store_url, admin=False)
    with running(config, "replica-a") as daemon:
        wait_for(
            "both first runs", lambda: _runs(store_url, "docs") and _runs(store_url, "wiki"), 20
        )
        status, headers, html = fetch(daemon, "/")
        assert status == 200
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp
        assert "form-action 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert re.findall(r'<article class="source[^"]*" id="source-(\w+)"', html) == [
            "docs",
            "wiki",
        ]
        assert "3 created" in html
        assert "1 excluded" in html
        assert "every 1h" in html
        assert "replica-a" in html
        # Intercom's words and the document's title reach the page escaped, never as markup.
        assert "&lt;b&gt;title&lt;/b&gt; is too long" in html
        assert "<b>title</b>" not in html
        assert "Sync docs now" not in html  # no admin token: no buttons
        assert "daemon.admin_token" in html
        assert "http" not in re.sub(r'href="/[^"]*"|https://docs\.example\.com/\w*', "", csp)

        status, _headers, page = fetch(daemon, "/sources/wiki")
        assert status == 200
        assert "What the last run did" in page
        assert "1 failed" in page
        assert "<code>bad.md</code>" in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
        assert "<script>" not in page

        status, _headers, page = fetch(daemon, "/sources/docs")
        assert '<details class="group skipped"' in page
        assert "<code>draft.md</code>" in page
        assert '<details class="group created"' in page

        assert fetch(daemon, "/sources/nope")[0] == 404
        assert fetch(daemon, "/assets/status.css")[1]["Content-Type"].startswith("text/css")
        assert fetch(daemon, "/", method="HEAD")[0] == 200
        assert fetch(daemon, "/nowhere")[0] == 404
        assert fetch(daemon, "/status", form={"x": "y"})[0] == 405


@pytest.mark.postgres
def test_a_second_replica_shows_the_same_page_and_the_failed_reload(
    tmp_path: Path, fake_intercom: FakeIntercom, postgres_url: str
) -> None:
    config = _config(tmp_path, fake_intercom, postgres_url, admin=False)
    with running(config, "replica-a") as first, running(config, "replica-b") as second:
        wait_for(
            "both first runs",
            lambda: _runs(postgres_url, "docs") and _runs(postgres_url, "wiki"),
            20,
        )
        good = config.read_text()
        config.write_text(good + "  - name: broken\n    type: nothing\n")
        assert not first.reload()
        for daemon in (first, second):
            _status, _headers, html = fetch(daemon, "/")
            assert 'id="reload-failed"' in html
            assert "on replica replica-a" in html
            assert "unknown source type &#39;nothing&#39;" in html
            assert "&lt;b&gt;title&lt;/b&gt; is too long" in html
        config.write_text(good)
        assert first.reload()
        assert 'id="reload-failed"' not in fetch(second, "/")[2]


def test_sync_now_is_off_without_an_admin_token(
    tmp_path: Path, fake_intercom: FakeIntercom
) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    config = _config(tmp_path, fake_intercom, store_url, admin=False)
    with running(config, "replica-a") as daemon:
        wait_for("the first run", lambda: _runs(store_url, "docs"), 20)
        status, _headers, html = fetch(daemon, "/sources/docs/sync", form={"token": ADMIN})
        assert status == 403
        assert "daemon.admin_token is not set" in html
        assert fetch(daemon, "/sources/docs/sync")[0] == 405  # a GET changes nothing
        assert _runs(store_url, "docs") == 1


def test_sync_now_takes_the_token_from_the_form_only_from_this_page(
    tmp_path: Path, fake_intercom: FakeIntercom
) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    config = _config(tmp_path, fake_intercom, store_url, admin=True)
    with running(config, "replica-a") as daemon:
        wait_for("the first run", lambda: _runs(store_url, "docs"), 20)
        origin = f"http://127.0.0.1:{daemon.endpoint.port}"
        html = fetch(daemon, "/")[2]
        assert 'formaction="/sources/docs/sync"' in html
        assert 'name="token"' in html
        refusals = [
            ({}, {}),
            ({"token": ""}, {}),
            ({"token": ADMIN[:-1]}, {}),
            ({"token": ADMIN + "x"}, {}),
            ({"token": ADMIN}, {"Origin": "http://evil.example"}),
            ({"token": ADMIN}, {"Origin": "null"}),
            ({"token": ADMIN}, {"Referer": "http://evil.example/page"}),
            ({"token": ADMIN}, {"Sec-Fetch-Site": "cross-site", "Origin": origin}),
            ({"token": ADMIN}, {"Sec-Fetch-Site": "same-site", "Origin": origin}),
        ]
        for form, headers in refusals:
            status, _headers, page = fetch(
                daemon, "/sources/docs/sync", form=form or {"other": "1"}, headers=headers
            )
            assert status == 403, (form, headers)
            assert ADMIN not in page
        assert fetch(daemon, "/sources/docs/sync", form={"token": ADMIN}, method="PUT")[0] == 405
        assert _runs(store_url, "docs") == 1

        status, headers, _page = fetch(
            daemon,
            "/sources/docs/sync",
            form={"token": ADMIN},
            headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"},
        )
        assert status == 303
        assert headers["Location"] == "/sources/docs?sync=started"
        wait_for("the run asked for", lambda: _runs(store_url, "docs") == 2, 20)
        assert "Sync requested" in fetch(daemon, "/sources/docs?sync=started")[2]
        # curl with the token and no browser headers is as good as the page.
        status, headers, _page = fetch(daemon, "/sources/wiki/sync", form={"token": ADMIN})
        assert status == 303
        wait_for("wiki's run", lambda: _runs(store_url, "wiki") == 2, 20)
        status, _headers, page = fetch(daemon, "/sources/nope/sync", form={"token": ADMIN})
        assert status == 404
