"""Webhooks over real HTTP on an in-process daemon (real store, real git, the fake
Intercom): each host's signed push triggers its source; a wrong or missing signature is
401 and nothing runs; pushes to other refs or paths are acknowledged and ignored; a
burst of 20 pushes costs at most two runs; Confluence Data Center page events; and the
config's rules for a ``webhook:`` section."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from syncer.config import loader
from syncer.daemon import Daemon
from syncer.errors import ConfigError
from tests.conftest import TOKEN
from tests.fakes.intercom import FakeIntercom
from tests.test_daemon import REPO, wait_for
from tests.test_git_support import GitRepo, publish
from tests.test_status_routes import running
from tests.test_triggers import finished_runs, settled
from tests.webhook_payloads import (
    PROVIDERS,
    SIGNATURE_HEADERS,
    Commit,
    Delivery,
    page_body,
    push_body,
    signed_page,
    signed_push,
)

SECRET = "hook-secret-0123456789abcdef"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_INTERCOM_TOKEN", TOKEN)
    monkeypatch.setenv("HOOK_SECRET", SECRET)


def post(daemon: Daemon, name: str, delivery: Delivery) -> tuple[int, dict[str, object]]:
    url = f"http://127.0.0.1:{daemon.endpoint.port}/hooks/{name}"
    request = urllib.request.Request(url, data=delivery.body, headers=delivery.headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def git_config(tmp_path: Path, fake: FakeIntercom, provider: str, store_url: str) -> Path:
    work = GitRepo(tmp_path / "work")
    for n in range(3):
        work.write(f"docs/doc-{n}.md", f"# Doc {n}\n\nBody {n}.\n")
    work.write("src/app.py", "print('hi')\n")
    work.commit("first")
    bare = publish(work, tmp_path / "served")
    config = tmp_path / "syncer.yaml"
    config.write_text(
        "\n".join(
            [
                "intercom:",
                "  token: ${TEST_INTERCOM_TOKEN}",
                f"  base_url: {fake.url}",
                "store:",
                f"  url: {store_url}",
                "defaults:",
                "  schedule: every 1h",
                "daemon:",
                "  host: 127.0.0.1",
                "  port: 0",
                "sources:",
                "  - name: docs",
                "    type: git",
                f"    repo: {bare}",
                "    ref: main",
                "    subpath: docs",
                "    url: https://git.example.com/acme/docs",
                "    webhook:",
                f"      provider: {provider}",
                "      secret: ${HOOK_SECRET}",
                "  - name: plain",
                "    type: git",
                f"    repo: {bare}",
                "    url: https://git.example.com/acme/plain",
            ]
        )
        + "\n"
    )
    return config


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def hooked(tmp_path: Path, fake_intercom: FakeIntercom, provider: str) -> Iterator[Daemon]:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    with running(git_config(tmp_path, fake_intercom, provider, store_url), "replica-a") as daemon:
        yield daemon


def docs_push(provider: str, *paths: str, ref: str = "refs/heads/main") -> dict[str, object]:
    commit = Commit("a" * 39 + "1", T0, modified=paths or ("docs/doc-1.md",))
    return push_body(provider, [commit], ref=ref)


def test_a_signed_push_to_the_branch_under_subpath_runs_the_source(
    hooked: Daemon, provider: str, fake_intercom: FakeIntercom, tmp_path: Path
) -> None:
    with capture_logs() as logs:
        status, reply = post(hooked, "docs", signed_push(provider, SECRET, docs_push(provider)))
    assert (status, reply) == (202, {"outcome": "started", "serial": 1})
    wait_for("the run", lambda: settled(hooked), 30)
    assert finished_runs(f"sqlite:///{tmp_path / 'store.db'}") == 1
    assert len(fake_intercom.pages()) == 3
    row = hooked.store.triggers.get("docs")
    assert row is not None
    who = "Doc Writer" if provider == "bitbucket" else "docwriter"
    assert row.what == f"webhook {provider} push {'a' * 12} by {who}"
    assert row.changed_at == T0
    # Neither the secret nor a signature reaches a log line.
    signature = signed_push(provider, SECRET, docs_push(provider)).headers[
        SIGNATURE_HEADERS[provider]
    ]
    text = repr(logs)
    assert SECRET not in text
    assert signature not in text


@pytest.mark.parametrize("how", ["wrong", "missing", "other secret"])
def test_a_wrong_or_missing_signature_is_401_and_nothing_runs(
    hooked: Daemon, provider: str, how: str, tmp_path: Path
) -> None:
    delivery = signed_push(provider, SECRET, docs_push(provider))
    header = SIGNATURE_HEADERS[provider]
    headers = dict(delivery.headers)
    if how == "wrong":
        headers[header] = headers[header][:-4] + "0000"
    elif how == "missing":
        del headers[header]
    else:
        headers = signed_push(provider, SECRET + "x", docs_push(provider)).headers
    status, reply = post(hooked, "docs", Delivery(delivery.body, headers))
    assert status == 401
    assert reply == {"error": "the signature is missing or wrong"}
    # Signed for another body: the signature covers the bytes (GitLab's token does not).
    if provider != "gitlab":
        tampered = delivery.body.replace(b"Edit the docs", b"Edit the dogs")
        assert tampered != delivery.body
        assert post(hooked, "docs", Delivery(tampered, delivery.headers))[0] == 401
    assert hooked.store.triggers.get("docs") is None
    assert not hooked.runs.running()
    assert hooked.schedules.scheduler.get_job("docs!now") is None
    assert finished_runs(f"sqlite:///{tmp_path / 'store.db'}") == 0


def test_pushes_to_other_refs_or_other_paths_are_acknowledged_and_ignored(
    hooked: Daemon, provider: str, tmp_path: Path
) -> None:
    other_ref = signed_push(provider, SECRET, docs_push(provider, ref="refs/heads/feature"))
    assert post(hooked, "docs", other_ref) == (
        200,
        {"ignored": "push to refs/heads/feature, not to the source's ref main"},
    )
    tag = signed_push(provider, SECRET, docs_push(provider, ref="refs/tags/v1"))
    assert post(hooked, "docs", tag)[0] == 200
    elsewhere = signed_push(provider, SECRET, docs_push(provider, "src/app.py", "README.md"))
    status, reply = post(hooked, "docs", elsewhere)
    if provider == "bitbucket":
        # Bitbucket lists no files: a push to the branch always runs.
        assert status == 202
    else:
        assert (status, reply) == (200, {"ignored": "the push touches no path under docs/"})
        assert hooked.store.triggers.get("docs") is None
        # A site config above the subpath changes how it renders: that push runs.
        site = signed_push(provider, SECRET, docs_push(provider, "mkdocs.yml"))
        assert post(hooked, "docs", site)[0] == 202
    wait_for("the run", lambda: settled(hooked), 30)
    assert finished_runs(f"sqlite:///{tmp_path / 'store.db'}") == 1


def test_a_source_without_a_webhook_has_no_endpoint(hooked: Daemon, provider: str) -> None:
    delivery = signed_push(provider, SECRET, docs_push(provider))
    assert post(hooked, "plain", delivery) == (404, {"error": "no webhook for source 'plain'"})
    assert post(hooked, "nope", delivery)[0] == 404
    assert hooked.store.triggers.all() == {}


def test_other_events_and_bodies_that_are_not_pushes_are_ignored_or_refused(
    hooked: Daemon, provider: str
) -> None:
    push = signed_push(provider, SECRET, docs_push(provider))
    event_header = {
        "github": "X-GitHub-Event",
        "gitlab": "X-Gitlab-Event",
        "bitbucket": "X-Event-Key",
        "gitea": "X-Gitea-Event",
    }[provider]
    ping = Delivery(push.body, {**push.headers, event_header: "ping"})
    assert post(hooked, "docs", ping) == (200, {"ignored": "event ping is not a push"})
    raw = b"not json"
    headers = dict(push.headers)
    if provider != "gitlab":  # signed as the host would sign these bytes
        mac = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        headers[SIGNATURE_HEADERS[provider]] = mac if provider == "gitea" else "sha256=" + mac
    assert post(hooked, "docs", Delivery(raw, headers)) == (400, {"error": "the body is not JSON"})
    assert hooked.store.triggers.get("docs") is None


def test_a_burst_of_20_pushes_costs_at_most_two_runs(
    tmp_path: Path, fake_intercom: FakeIntercom
) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    fake_intercom.faults.slow_down(2.0, method="POST", path_prefix="/ai/external_pages")
    with running(git_config(tmp_path, fake_intercom, "github", store_url), "replica-a") as daemon:
        replies: list[tuple[int, dict[str, object]]] = []

        def push(n: int) -> None:
            commit = Commit(f"{n:040x}", T0 + timedelta(seconds=n), modified=["docs/doc-0.md"])
            body = push_body("github", [commit])
            replies.append(post(daemon, "docs", signed_push("github", SECRET, body)))

        push(0)
        wait_for("the first run under way", lambda: daemon.runs.running(), 20)
        threads = [threading.Thread(target=push, args=(n,)) for n in range(1, 20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(replies) == 20
        assert {status for status, _ in replies} == {202}
        wait_for("every push served", lambda: settled(daemon), 60)
        assert finished_runs(store_url) <= 2
        row = daemon.store.triggers.get("docs")
        assert row is not None
        assert (row.serial, row.done) == (20, 20)


@pytest.mark.parametrize("provider", ["github"])
def test_body_size_is_limited(hooked: Daemon, provider: str) -> None:
    # Announced, not sent: the daemon answers from the length alone, reading nothing.
    connection = http.client.HTTPConnection("127.0.0.1", hooked.endpoint.port, timeout=10)
    connection.putrequest("POST", "/hooks/docs")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(6 * 1024 * 1024))
    connection.endheaders()
    reply = connection.getresponse()
    assert reply.status == 413
    connection.close()
    assert hooked.store.triggers.get("docs") is None
    # A big push under the limit is read (the forms' 64 KiB limit is not a webhook's).
    many = [f"docs/page-{n:05}.md" for n in range(4000)]
    body = push_body(provider, [Commit("b" * 40, T0, added=many)])
    assert len(json.dumps(body)) > 64 * 1024
    assert post(hooked, "docs", signed_push(provider, SECRET, body))[0] == 202


# ---- Confluence Data Center ------------------------------------------------------------------


def confluence_config(tmp_path: Path, fake: FakeIntercom) -> Path:
    config = tmp_path / "syncer.yaml"
    config.write_text(
        "\n".join(
            [
                "intercom:",
                "  token: ${TEST_INTERCOM_TOKEN}",
                f"  base_url: {fake.url}",
                "store:",
                f"  url: sqlite:///{tmp_path / 'store.db'}",
                "defaults:",
                "  schedule: every 1h",
                "daemon:",
                "  host: 127.0.0.1",
                "  port: 0",
                "sources:",
                "  - name: wiki",
                "    type: confluence",
                "    base_url: http://127.0.0.1:9/wiki",
                "    deployment: datacenter",
                "    token: ${TEST_INTERCOM_TOKEN}",
                "    spaces: [SUP, KB]",
                "    webhook:",
                "      secret: ${HOOK_SECRET}",
            ]
        )
        + "\n"
    )
    return config


@pytest.mark.parametrize("provider", ["confluence"])
@pytest.mark.parametrize(
    "event", ["page_created", "page_updated", "page_removed", "page_restored", "page_moved"]
)
def test_confluence_page_events_of_the_spaces_trigger_the_source(
    tmp_path: Path, fake_intercom: FakeIntercom, event: str, provider: str
) -> None:
    with running(confluence_config(tmp_path, fake_intercom), "replica-a") as daemon:
        edited = T0 + timedelta(minutes=5)
        delivery = signed_page(SECRET, page_body(event, "SUP", 98311, edited))
        assert post(daemon, "wiki", delivery) == (202, {"outcome": "started", "serial": 1})
        row = daemon.store.triggers.get("wiki")
        assert row is not None
        assert row.what == f"webhook confluence {event} page 98311 in SUP"
        assert row.changed_at == edited
        # The site is not there: the run fails, and the trigger is served by it all the same.
        wait_for("the run", lambda: settled(daemon, "wiki"), 30)
        served = daemon.store.triggers.get("wiki")
        assert served is not None
        assert (served.done, served.done_status, served.done_exit) == (1, "failed", 1)


@pytest.mark.parametrize("provider", ["confluence"])
def test_confluence_events_of_other_spaces_or_unsigned_are_not_run(
    tmp_path: Path, fake_intercom: FakeIntercom, provider: str
) -> None:
    with running(confluence_config(tmp_path, fake_intercom), "replica-a") as daemon:
        other = signed_page(SECRET, page_body("page_updated", "HR", 1, T0))
        assert post(daemon, "wiki", other) == (
            200,
            {"ignored": "page of space HR, not one of SUP, KB"},
        )
        comment = page_body("comment_created", "SUP", 1, T0)
        assert post(daemon, "wiki", signed_page(SECRET, comment)) == (
            200,
            {"ignored": "event comment_created is not a page event"},
        )
        good = signed_page(SECRET, page_body("page_updated", "SUP", 1, T0))
        wrong = Delivery(good.body, {**good.headers, "X-Hub-Signature": "sha256=" + "0" * 64})
        assert post(daemon, "wiki", wrong)[0] == 401
        unsigned = Delivery(good.body, {"Content-Type": "application/json"})
        assert post(daemon, "wiki", unsigned)[0] == 401
        assert daemon.store.triggers.get("wiki") is None


# ---- the config ------------------------------------------------------------------------------


def _load(tmp_path: Path, source: str, env: dict[str, str] | None = None) -> None:
    text = f"sources:\n{source}"
    loader.loads(
        text,
        env=env if env is not None else {"HOOK_SECRET": SECRET},
        base_dir=tmp_path,
        check_environment=False,
    )


GIT_SOURCE = """\
  - name: docs
    type: git
    repo: https://github.com/acme/docs.git
    webhook:
      provider: {provider}
      secret: {secret}
"""


def test_a_webhook_secret_must_be_a_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, GIT_SOURCE.format(provider="github", secret=SECRET))
    message = str(caught.value)
    assert "write the webhook secret as ${VAR}" in message
    assert "sources[0].webhook.secret" in message
    assert SECRET not in message
    with pytest.raises(ConfigError):  # a fallback would be the secret itself, in the file
        _load(
            tmp_path, GIT_SOURCE.format(provider="github", secret="${HOOK_SECRET:-" + SECRET + "}")
        )
    _load(tmp_path, GIT_SOURCE.format(provider="github", secret="${HOOK_SECRET}"))


def test_a_webhook_needs_a_known_host_and_a_long_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, GIT_SOURCE.format(provider="sourcehut", secret="${HOOK_SECRET}"))
    assert "sources[0].webhook.provider" in str(caught.value)
    with pytest.raises(ConfigError) as short:
        _load(
            tmp_path,
            GIT_SOURCE.format(provider="gitea", secret="${HOOK_SECRET}"),
            {"HOOK_SECRET": "short-secret"},
        )
    assert "secret is too short" in str(short.value)
    assert "short-secret" not in str(short.value)


def test_confluence_cloud_keeps_polling(tmp_path: Path) -> None:
    cloud = """\
  - name: wiki
    type: confluence
    base_url: https://acme.atlassian.net/wiki
    email: a@acme.com
    token: t
    spaces: [SUP]
    webhook:
      secret: ${HOOK_SECRET}
"""
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, cloud)
    assert "webhook is for Confluence Data Center" in str(caught.value)
    _load(
        tmp_path,
        cloud.replace("    email: a@acme.com\n", "    deployment: datacenter\n").replace(
            "https://acme.atlassian.net/wiki", "https://wiki.acme.com"
        ),
    )


def test_the_example_configs_commented_webhooks_are_valid() -> None:
    """``config/example.yaml``'s git source and its commented ``webhook:``, uncommented,
    load as written; so does the Confluence one, made Data Center, and its quick_check."""
    text = (REPO / "config" / "example.yaml").read_text()
    env = {
        "GITHUB_TOKEN": "t",
        "DOCS_WEBHOOK_SECRET": SECRET,
        "CONFLUENCE_TOKEN": "t",
        "CONFLUENCE_WEBHOOK_SECRET": SECRET,
    }
    for name, extra in (("product-docs", {}), ("support-wiki", {"datacenter": True})):
        block = re.search(rf"(?ms)^  # - name: {name}\n(.*?)(?=^\S|^\s*$)", text)
        assert block is not None
        lines = []
        for line in block.group(0).splitlines():
            rest = line[4:]  # "  # " off: one level of comment
            if rest.startswith("  # "):  # a second, on the optional keys
                rest = "  " + rest[4:]
            lines.append("  " + rest)
        source = "\n".join(lines)
        assert "webhook:" in source
        if extra:
            source = (
                source.replace("deployment: cloud", "deployment: datacenter")
                .replace("https://acme.atlassian.net/wiki", "https://wiki.acme.com")
                .replace("  email: ${CONFLUENCE_EMAIL}", "  # no email")
            )
        settings = loader.loads("sources:\n" + source + "\n", env=env, check_environment=False)
        scope = settings.sources[0].webhook_scope()
        assert scope is not None
        assert scope.secret.get_secret_value() == SECRET
        if extra:  # and its commented quick_check:
            assert getattr(settings.sources[0], "quick_check", None) == timedelta(minutes=2)
