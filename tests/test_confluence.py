"""The Confluence connector against the fake Confluence (real HTTP, Cloud requests checked
against Atlassian's OpenAPI documents): settings, listing and fetching on Cloud and Data
Center, scopes, restrictions, the incremental budget on a 3,000-page space, faults, and
the CLI (sync end to end with the fake Intercom, ``confluence preview``)."""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncer.cli import main
from syncer.config import loader
from syncer.connector import ConnectorType, Context
from syncer.connectors.confluence import connector as confluence_connector
from syncer.connectors.confluence.connector import ConfluenceConnector, read_cursor
from syncer.connectors.confluence.http import ConfluenceHttp, basic_auth, bearer_auth
from syncer.connectors.confluence.settings import ConfluenceSettings
from syncer.errors import ConfigError
from syncer.http.backoff import Backoff, retry_after
from syncer.model import Counts, Document, Excluded, Listing
from syncer.run import NoProgress, Options, SourceReport, sync_source
from syncer.store import Store
from tests.conftest import TOKEN as INTERCOM_TOKEN
from tests.conftest import Workspace
from tests.fakes.confluence import FakeConfluence, seed_space
from tests.fakes.scripted import Answer, Scripted
from tests.memory import MemoryPublisher

REPO = Path(__file__).resolve().parents[1]
SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() else None


# ---- helpers --------------------------------------------------------------------------


@dataclass
class FakeTime:
    """A clock that only moves when something sleeps; shared by client and fake."""

    now: float = 1_700_000_000.0
    sleeps: list[float] = field(default_factory=list)

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def settings_for(fake: FakeConfluence, **extra: Any) -> ConfluenceSettings:
    fields: dict[str, Any] = {
        "name": "wiki",
        "type": "confluence",
        "base_url": fake.base_url,
        "deployment": fake.deployment,
        "token": fake.token,
        "spaces": ["SUP"],
    }
    if fake.deployment == "cloud":
        fields["email"] = fake.email
    return ConfluenceSettings.model_validate({**fields, **extra})


def http_for(settings: ConfluenceSettings, clock: FakeTime) -> ConfluenceHttp:
    token = settings.token.get_secret_value()
    authorization = (
        basic_auth(settings.email or "", token)
        if settings.deployment == "cloud"
        else bearer_auth(token)
    )
    return ConfluenceHttp(
        settings.base_url,
        authorization=authorization,
        deployment=settings.deployment,
        backoff=Backoff(base=1.0, cap=30.0, attempts=6, jitter=lambda: 0.5),
        clock=clock.time,
        sleep=clock.sleep,
        jitter=lambda: 0.0,
    )


def connector_for(
    settings: ConfluenceSettings, clock: FakeTime | None = None, cursor: str | None = None
) -> ConfluenceConnector:
    http = http_for(settings, clock or FakeTime())
    return ConfluenceConnector(settings, Context(Path("/nonexistent"), cursor), http=http)


def fetch_all(connector: ConfluenceConnector, listing: Listing) -> dict[str, Any]:
    return {item.key: item for item in connector.fetch(listing.stubs)}


class Runs:
    """Syncs settings through the real run and a real SQLite store into a memory Fin."""

    def __init__(self, tmp: Path, clock: FakeTime | None = None) -> None:
        self.tmp = tmp
        # The store commits once per document (crash safety): in memory-backed /dev/shm
        # a 3,000-page first sync takes seconds less. Any folder works.
        self._scratch = tempfile.TemporaryDirectory(dir=SCRATCH)
        self.store = Store.open(f"sqlite:///{self._scratch.name}/store.db", migrate=True)
        self.fin = MemoryPublisher()
        self.clock = clock or FakeTime()
        self.connectors: list[ConfluenceConnector] = []

    def __call__(self, settings: ConfluenceSettings, **options: bool) -> SourceReport:
        def create(s: ConfluenceSettings, context: Context) -> ConfluenceConnector:
            made = ConfluenceConnector(s, context, http=http_for(s, self.clock))
            self.connectors.append(made)
            return made

        kind = ConnectorType(name="confluence", settings=ConfluenceSettings, create=create)
        return sync_source(
            settings,
            self.store,
            self.fin,
            Options(**options),
            cache_dir=self.tmp,
            clock=lambda: datetime.now(UTC),
            progress=NoProgress(),
            lookup=lambda _: kind,
        )

    def in_fin(self) -> set[str]:
        return {str(page["external_id"]) for page in self.fin.pages.values()}

    def close(self) -> None:
        self.store.close()
        self._scratch.cleanup()


@pytest.fixture
def cloud() -> Iterator[FakeConfluence]:
    with FakeConfluence("cloud") as fake:
        yield fake


@pytest.fixture
def datacenter() -> Iterator[FakeConfluence]:
    with FakeConfluence("datacenter", context="/confluence") as fake:
        yield fake


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[Runs]:
    made = Runs(tmp_path)
    yield made
    made.close()


# ---- settings -------------------------------------------------------------------------


def load(text: str, env: dict[str, str] | None = None) -> Any:
    return loader.loads(text, base_dir=Path.cwd(), env=env or {"T": "secret-token-value"})


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text)
    return [str(problem) for problem in caught.value.problems]


SOURCE = """
sources:
  - name: wiki
    type: confluence
    base_url: https://acme.atlassian.net/wiki/
    email: bot@acme.com
    token: ${T}
    spaces: [SUP, KB]
"""


def test_settings_defaults_and_secret_handling() -> None:
    source = load(SOURCE).sources[0]
    assert isinstance(source, ConfluenceSettings)
    assert source.base_url == "https://acme.atlassian.net/wiki"
    assert source.url == "https://acme.atlassian.net/wiki"  # the Content Import Source URL
    assert source.deployment == "cloud"
    assert not source.include_restricted
    assert "secret-token-value" not in repr(source)
    assert "secret-token-value" not in source.model_dump_json()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("    email: bot@acme.com\n", "needs email"),
        ("    deployment: cloud\n", None),
        ("https://acme.atlassian.net/wiki/", "ends with /wiki"),
        ("[SUP, KB]", "not a space key"),
        ("    spaces: [SUP, KB]\n", "spaces"),
    ],
)
def test_settings_problems_are_clear(change: str, expected: str | None) -> None:
    if change == "https://acme.atlassian.net/wiki/":
        text = SOURCE.replace(change, "https://acme.atlassian.net/")
    elif change == "[SUP, KB]":
        text = SOURCE.replace(change, '[SUP, "has space"]')
    else:
        text = SOURCE.replace(change, "")
    if expected is None:
        assert load(text).sources
        return
    found = " ".join(problems(text))
    assert expected in found, found


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("    deployment: datacenter\n", "email is for Cloud only"),
        ("    labels: ['a b']\n", "cannot be a Confluence label"),
        ("    cql: 'label = x order by created'\n", "remove ORDER BY"),
        ("    cql: '(label = x'\n", "unbalanced parentheses"),
        ("    page_url: 'https://kb.acme.com/{slug}'\n", "unknown placeholder {slug}"),
        ("    inclde_restricted: true\n", "did you mean 'include_restricted'"),
    ],
)
def test_settings_reject_what_cannot_work(extra: str, expected: str) -> None:
    found = " ".join(problems(SOURCE + extra))
    assert expected in found, found


def test_empty_token_and_datacenter_pat() -> None:
    assert "token is empty" in " ".join(problems(SOURCE.replace("${T}", "''")))
    text = """
sources:
  - name: dc
    type: confluence
    base_url: https://wiki.acme.com/confluence
    deployment: datacenter
    token: ${T}
    spaces: [OPS]
    include_blogposts: true
    page_url: "https://kb.acme.com/{space}/{id}"
"""
    source = load(text).sources[0]
    assert source.deployment == "datacenter"
    assert source.email is None


def test_the_example_config_confluence_source_validates_offline() -> None:
    text = (REPO / "config" / "example.yaml").read_text()
    block = re.search(r"(?ms)^  # - name: support-wiki\n(.*?)(?=^\S|\Z)", text)
    assert block is not None, "config/example.yaml has a commented confluence source"
    lines = [line for line in block.group(0).splitlines() if line.startswith("  #")]
    source = "\n".join("  " + line[4:] for line in lines)
    settings = loader.loads(
        "sources:\n" + source + "\n",
        base_dir=REPO / "config",
        env={"CONFLUENCE_TOKEN": "t", "CONFLUENCE_EMAIL": "bot@acme.com"},
    )
    assert settings.sources[0].type == "confluence"


# ---- the HTTP client ------------------------------------------------------------------


def client(server: Scripted, clock: FakeTime, **kwargs: Any) -> ConfluenceHttp:
    return ConfluenceHttp(
        f"{server.url}/wiki",
        authorization=basic_auth("bot@acme.com", "s3cr3t-xyz"),
        clock=clock.time,
        sleep=clock.sleep,
        jitter=lambda: 0.0,
        backoff=Backoff(base=1.0, cap=8.0, attempts=3, jitter=lambda: 1.0),
        **kwargs,
    )


def test_retry_after_in_both_forms() -> None:
    assert retry_after("7", 0.0) == 7.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470.0) == 10.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490.0) == 0.0
    assert retry_after("soon", 0.0) is None
    assert retry_after(None, 0.0) is None


def test_throttling_is_waited_out_as_the_server_says() -> None:
    clock = FakeTime()
    # Reset 50 s from now; the first two waits take 8 of them.
    reset = datetime.fromtimestamp(clock.now + 50, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    with Scripted(
        Answer(429, headers={"Retry-After": "5"}),
        Answer(503, headers={"Retry-After": "3"}),
        Answer(429, headers={"X-RateLimit-Reset": reset}),
        Answer(403, json={"message": "Rate limit exceeded"}, headers={"Retry-After": "2"}),
        Answer(200, json={"ok": True}),
    ) as server:
        http = client(server, clock)
        assert http.get(http.site("/api/v2/spaces")).body == {"ok": True}
    assert clock.sleeps == [5.0, 3.0, 42.0, 2.0]
    assert http.stats.throttled == 4
    assert len(server.seen) == 5
    assert server.unexpected == 0
    assert server.seen[0].headers["authorization"] == basic_auth("bot@acme.com", "s3cr3t-xyz")


def test_server_errors_back_off_then_give_up_with_the_status() -> None:
    clock = FakeTime()
    with Scripted(
        Answer(500, json={"message": "boom"}),
        Answer(502),
        Answer(500, json={"message": "boom"}),
    ) as server:
        http = client(server, clock)
        with pytest.raises(Exception, match=r"500 boom \(after 3 attempts\)"):
            http.get(http.site("/api/v2/spaces"))
    assert server.unexpected == 0
    assert clock.sleeps == [1.0, 2.0]  # full jitter at its top: base, then doubled


def test_a_plain_403_is_a_refusal_and_a_401_names_the_credentials() -> None:
    clock = FakeTime()
    with Scripted(
        Answer(403, json={"message": "Not permitted"}),
        Answer(401, json={"message": "Unauthorized"}),
    ) as server:
        http = client(server, clock)
        with pytest.raises(Exception, match="403 Not permitted: this account may not read it"):
            http.get(http.site("/api/v2/spaces/1/pages"))
        with pytest.raises(Exception, match="check email and token") as caught:
            http.get(http.site("/api/v2/spaces"))
    assert server.unexpected == 0
    assert "s3cr3t-xyz" not in str(caught.value)
    assert clock.sleeps == []


def test_a_spent_budget_paces_the_next_call() -> None:
    clock = FakeTime()
    with Scripted(
        Answer(
            200,
            json={},
            headers={
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Interval-Seconds": "1",
                "X-RateLimit-FillRate": "4",
                "Retry-After": "0",
            },
        ),
        Answer(200, json={}, headers={"X-RateLimit-NearLimit": "true"}),
        Answer(200, json={}),
    ) as server:
        http = client(server, clock)
        for _ in range(3):
            http.get(http.site("/rest/api/content"))
    assert server.unexpected == 0
    assert clock.sleeps == [0.25, 1.0]  # one token's refill, then the near-limit pause
    assert http.stats.paced == 2


def test_links_to_another_host_are_never_followed() -> None:
    with Scripted() as server:
        http = client(server, FakeTime())
        with pytest.raises(Exception, match="another host"):
            http.get(http.host("https://evil.example.com/wiki/api/v2/pages"))
    assert server.seen == []


# ---- Cloud ----------------------------------------------------------------------------


def test_cloud_lists_current_pages_by_version_without_bodies(cloud: FakeConfluence) -> None:
    pages = seed_space(cloud, "SUP", 7)
    cloud.set_status(pages[1].id, "archived")
    cloud.set_status(pages[2].id, "trashed")
    cloud.add_page("KB", "Elsewhere")
    cloud.page_cap = 3  # the server returns fewer than asked; the cursor goes on
    cloud.truncate(1, "/wiki/api/v2/spaces/")
    connector = connector_for(settings_for(cloud))
    listing = connector.list()
    assert listing.complete
    assert listing.failures == ()
    expected = {str(p.id): f"1@SUP@{connector.stamp}" for p in pages if p not in pages[1:3]}
    assert {s.key: s.version for s in listing.stubs} == expected
    assert cloud.bodies_served == 0
    assert not cloud.violations


def test_cloud_fetches_only_what_it_is_given_in_bulk(cloud: FakeConfluence) -> None:
    pages = seed_space(cloud, "SUP", 5)
    connector = connector_for(settings_for(cloud))
    listing = connector.list()
    before = cloud.requests
    fetched = fetch_all(connector, Listing(listing.stubs[:3], True))
    assert cloud.bodies_served == 3
    assert cloud.requests - before == 2  # one bulk body request, one restriction search
    document = fetched[str(pages[0].id)]
    assert isinstance(document, Document)
    assert document.url == f"{cloud.base_url}/spaces/SUP/pages/{pages[0].id}"
    assert document.title == "SUP page 00000"
    assert document.external_id == str(pages[0].id)
    assert document.converter_version.startswith("confluence-")
    # The link to the next page points at that page's own URL: it was listed.
    assert f'href="{cloud.base_url}/spaces/SUP/pages/{pages[1].id}"' in document.html
    assert '<pre><code class="language-bash">run --case 0</code></pre>' in document.html


def test_restricted_pages_are_skipped_and_counted_unless_included(cloud: FakeConfluence) -> None:
    parent = cloud.add_page("SUP", "Internal")
    child = cloud.add_page("SUP", "Internal child", parent=parent.id)
    public = cloud.add_page("SUP", "Public")
    own = cloud.add_page("SUP", "Secret")
    cloud.restrict(parent.id, users=("557058:lead",))
    cloud.restrict(own.id, groups=("hr",))
    connector = connector_for(settings_for(cloud))
    fetched = fetch_all(connector, connector.list())
    assert isinstance(fetched[str(public.id)], Document)
    assert isinstance(fetched[str(own.id)], Excluded)
    inherited = fetched[str(child.id)]
    assert isinstance(inherited, Excluded)
    assert "inherits read restrictions from 'Internal'" in inherited.reason
    assert connector.notes()["read-restricted pages skipped"] == 3

    included = connector_for(settings_for(cloud, include_restricted=True))
    fetched = fetch_all(included, included.list())
    assert all(isinstance(item, Document) for item in fetched.values())


def test_label_and_cql_scopes_use_one_search_not_a_call_per_page(cloud: FakeConfluence) -> None:
    a = cloud.add_page("SUP", "A", labels=("fin-public",))
    cloud.add_page("SUP", "B", labels=("fin-public", "draft"))
    cloud.add_page("SUP", "C")
    d = cloud.add_page("SUP", "D refund", labels=("faq",))
    settings = settings_for(cloud, labels=["fin-public", "faq"], exclude_labels=["draft"])
    listing = connector_for(settings).list()
    assert {s.key for s in listing.stubs} == {str(a.id), str(d.id)}
    assert cloud.requests == 2  # the space, then one search page
    narrowed = connector_for(settings_for(cloud, cql='title ~ "refund"')).list()
    assert {s.key for s in narrowed.stubs} == {str(d.id)}


def test_blog_posts_when_asked(cloud: FakeConfluence) -> None:
    page = cloud.add_page("SUP", "Page")
    post = cloud.add_page("SUP", "News", kind="blogpost", body="<p>We shipped.</p>")
    assert {s.key for s in connector_for(settings_for(cloud)).list().stubs} == {str(page.id)}
    connector = connector_for(settings_for(cloud, include_blogposts=True))
    fetched = fetch_all(connector, connector.list())
    news = fetched[str(post.id)]
    assert isinstance(news, Document)
    assert news.html == "<p>We shipped.</p>"


def test_mentions_cost_one_lookup_and_includes_one_fetch_per_run(cloud: FakeConfluence) -> None:
    cloud.add_user("Alice Adams", account_id="557058:alice")
    cloud.add_page("SUP", "Shared", body="<p>Shared text.</p>")
    mention = '<ac:link><ri:user ri:account-id="557058:alice"/></ac:link>'
    include = (
        '<ac:structured-macro ac:name="include"><ac:parameter ac:name=""><ac:link>'
        '<ri:page ri:content-title="Shared"/></ac:link></ac:parameter></ac:structured-macro>'
    )
    for n in range(20):
        cloud.add_page("SUP", f"Page {n}", body=f"<p>Ask {mention}.</p>{include}")
    connector = connector_for(settings_for(cloud))
    fetched = fetch_all(connector, connector.list())
    documents = [d for d in fetched.values() if isinstance(d, Document) and d.title != "Shared"]
    assert len(documents) == 20
    assert all("<p>Ask Alice Adams.</p>" in d.html for d in documents)
    assert all("<p>Shared text.</p>" in d.html for d in documents)
    users = [c for c in cloud.calls if c.path.endswith("/users-bulk")]
    titles = [c for c in cloud.calls if "title" in c.query]
    assert len(users) == 1
    assert len(titles) == 1


def test_images_point_at_attachments_the_site_serves(cloud: FakeConfluence) -> None:
    page = cloud.add_page(
        "SUP",
        "Pictures",
        body='<p><ac:image ac:alt="The form"><ri:attachment ri:filename="form 1.png"/>'
        "</ac:image></p>",
    )
    cloud.add_attachment(page.id, "form 1.png", b"PNG!")
    connector = connector_for(settings_for(cloud))
    document = fetch_all(connector, connector.list())[str(page.id)]
    assert isinstance(document, Document)
    src = re.search(r'src="([^"]+)"', document.html)
    assert src is not None
    assert src.group(1) == f"{cloud.base_url}/download/attachments/{page.id}/form%201.png"
    auth = basic_auth(cloud.email, cloud.token)
    assert httpx.get(src.group(1), headers={"Authorization": auth}).content == b"PNG!"


def test_jira_and_unknown_macros_are_counted_in_notes(cloud: FakeConfluence) -> None:
    cloud.add_page(
        "SUP",
        "Mixed",
        body='<p>Hi</p><ac:structured-macro ac:name="jira"/><ac:structured-macro ac:name="jira"/>'
        '<ac:structured-macro ac:name="roadmap"/>',
    )
    cloud.add_page("SUP", "Only Jira", body='<ac:structured-macro ac:name="jira"/>')
    connector = connector_for(settings_for(cloud))
    fetched = fetch_all(connector, connector.list())
    assert sum(isinstance(item, Excluded) for item in fetched.values()) == 1  # nothing left
    notes = connector.notes()
    assert notes["dropped macro: jira"] == 3
    assert notes["dropped macro: roadmap"] == 1
    assert notes["Confluence requests"] == cloud.requests


# ---- Data Center ----------------------------------------------------------------------


def test_datacenter_offset_paging_survives_caps_and_short_pages(
    datacenter: FakeConfluence,
) -> None:
    pages = seed_space(datacenter, "SUP", 230)
    datacenter.truncate(2, "/confluence/rest/api/content")  # short pages, no next link
    connector = connector_for(settings_for(datacenter))
    listing = connector.list()
    assert listing.complete
    assert len(listing.stubs) == 230
    assert {s.key for s in listing.stubs} == {str(p.id) for p in pages}
    fetched = fetch_all(connector, Listing(listing.stubs[:60], True))
    assert all(isinstance(item, Document) for item in fetched.values())
    assert datacenter.bodies_served == 60
    sample = fetched[str(pages[0].id)]
    assert isinstance(sample, Document)
    assert sample.url == f"{datacenter.base_url}/pages/viewpage.action?pageId={pages[0].id}"


def test_datacenter_search_stopping_short_of_its_totals_is_incomplete(
    datacenter: FakeConfluence,
) -> None:
    seed_space(datacenter, "SUP", 120, body=lambda n: f"<p>{n}</p>")
    for content in list(datacenter.contents.values())[:60]:
        datacenter.label(content.id, "kb")
    datacenter.truncate(1, "/confluence/rest/api/content/search")  # short, no next link
    listing = connector_for(settings_for(datacenter, labels=["kb"])).list()
    assert listing.complete  # the totals said more: the next offset was asked for
    assert len(listing.stubs) == 60
    datacenter.truncate(-1, "/confluence/rest/api/content/search")  # an empty page
    listing = connector_for(settings_for(datacenter, labels=["kb"])).list()
    assert not listing.complete
    (failure,) = listing.failures
    assert "stopped after 0 of 60 results" in failure.message


def test_datacenter_users_by_key_and_the_token_bucket() -> None:
    clock = FakeTime()
    with FakeConfluence("datacenter", rate_limit=(5, 2.0), clock=clock.time) as fake:
        fake.add_user("Bob Brown", userkey="ff8080817b0a0c1b")
        body = '<p><ac:link><ri:user ri:userkey="ff8080817b0a0c1b"/></ac:link> owns it.</p>'
        for n in range(30):
            fake.add_page("SUP", f"P{n}", body=body)
        connector = connector_for(settings_for(fake), clock)
        fetched = fetch_all(connector, connector.list())
        assert all(
            isinstance(d, Document) and "Bob Brown owns it." in d.html for d in fetched.values()
        )
        assert sum(c.status == 429 for c in fake.calls) == 0  # paced by its headers
        assert clock.sleeps  # ... by waiting when the bucket was empty
        assert [c for c in fake.calls if c.path.endswith("/rest/api/user")].__len__() == 1


def test_datacenter_mentions_one_lookup_per_key_else_the_name_the_page_holds(
    datacenter: FakeConfluence,
) -> None:
    datacenter.add_user("Bob Brown", userkey="kb")
    datacenter.add_user("Carol Cole", userkey="kc")
    mentions = (
        '<p><ac:link><ri:user ri:userkey="kb"/></ac:link>, '
        '<ac:link><ri:user ri:userkey="kc"/></ac:link>, '
        '<ac:link><ri:user ri:userkey="gone"/><ac:plain-text-link-body><![CDATA[Dana Dee]]>'
        "</ac:plain-text-link-body></ac:link> and "
        '<ac:link><ri:user ri:userkey="gone2" ri:username="erin"/></ac:link>.</p>'
    )
    for n in range(12):
        datacenter.add_page("SUP", f"P{n}", body=mentions * 2)
    connector = connector_for(settings_for(datacenter))
    fetched = fetch_all(connector, connector.list())
    assert len(fetched) == 12
    for document in fetched.values():
        assert isinstance(document, Document)
        assert document.html.count("Bob Brown, Carol Cole, Dana Dee and erin.") == 2
        assert "(unknown user)" not in document.html
    lookups = sorted(c.query for c in datacenter.calls if c.path.endswith("/rest/api/user"))
    # Once per distinct key for the whole run (the connector asks before converting, so
    # Dana's key is asked too; the name the page holds still wins over a failed lookup).
    assert lookups == ["key=gone", "key=gone2", "key=kb", "key=kc"]


# ---- the incremental budget -----------------------------------------------------------


def test_incremental_sync_of_3000_pages_fetches_only_the_edited(
    cloud: FakeConfluence, runs: Runs
) -> None:
    pages = seed_space(cloud, "SUP", 3000, body=lambda n: f"<p>Answer {n}.</p>")
    settings = settings_for(cloud)
    first = runs(settings)
    assert first.status == "succeeded", first.errors
    assert first.counts.created == 3000
    assert len(runs.in_fin()) == 3000

    for page in pages[100:110]:
        cloud.edit(page.id)
    cloud.purge(pages[200].id)  # deleted for good
    cloud.set_status(pages[201].id, "trashed")  # deleted to the trash
    cloud.move(pages[202].id, "ARCHIVE")  # moved to a space this source does not sync
    requests, bodies = cloud.requests, cloud.bodies_served
    second = runs(settings)
    assert second.status == "succeeded", second.errors
    assert cloud.bodies_served - bodies == 10
    assert second.counts == Counts(updated=10, deleted=3, unchanged=2987)
    assert cloud.requests - requests <= math.ceil(3000 / 250) + 15
    assert str(pages[200].id) not in runs.in_fin()
    assert {str(p.id) for p in pages[200:203]} & runs.in_fin() == set()
    assert len(runs.in_fin()) == 2997
    notes = dict(second.notes)
    assert notes["Confluence requests"] == cloud.requests - requests


def test_a_new_converter_reads_every_page_once_and_sends_only_changed_output(
    cloud: FakeConfluence, runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_space(cloud, "SUP", 30, body=lambda n: f"<p>Answer {n}.</p>")
    settings = settings_for(cloud)
    assert runs(settings).counts.created == 30
    bodies = cloud.bodies_served
    assert runs(settings).counts == Counts(unchanged=30)
    assert cloud.bodies_served == bodies  # nothing moved: nothing read

    # A converter upgrade whose output is the same for these pages: read, not sent.
    monkeypatch.setattr(confluence_connector, "CONVERTER_VERSION", "confluence-next")
    upgraded = runs(settings)
    assert cloud.bodies_served - bodies == 30
    assert upgraded.counts == Counts(unchanged=30)
    assert runs(settings).counts == Counts(unchanged=30)
    assert cloud.bodies_served - bodies == 30  # once

    # A new page URL template changes every page's output: read and sent.
    moved = settings.model_copy(update={"page_url": "https://help.example.com/{id}"})
    assert runs(moved).counts == Counts(updated=30)
    assert cloud.bodies_served - bodies == 60


# ---- faults ---------------------------------------------------------------------------


def test_a_429_storm_is_waited_out_and_the_sync_completes(
    cloud: FakeConfluence, runs: Runs
) -> None:
    seed_space(cloud, "SUP", 40, body=lambda n: f"<p>{n}</p>")
    cloud.retry_after = 7
    cloud.faults.rate_limit_storm(12)
    report = runs(settings_for(cloud))
    assert report.status == "succeeded", report.errors
    assert report.counts.created == 40
    assert sum(c.status == 429 for c in cloud.calls) == 12
    assert runs.clock.sleeps.count(7.0) == 12  # exactly what Retry-After said, each time
    assert dict(report.notes)["Confluence rate-limit waits"] == 12


def test_old_servers_throttling_with_403_and_5xx_bursts(cloud: FakeConfluence, runs: Runs) -> None:
    seed_space(cloud, "SUP", 10, body=lambda n: f"<p>{n}</p>")
    cloud.throttle_status = 403
    cloud.faults.rate_limit_storm(3)
    cloud.faults.fail_next(500, 502, 503, path_prefix="/wiki/api/v2/pages")
    report = runs(settings_for(cloud))
    assert report.status == "succeeded", report.errors
    assert report.counts.created == 10
    notes = dict(report.notes)
    assert notes["Confluence rate-limit waits"] == 4  # 3 throttling 403s, the 503
    assert notes["Confluence retries"] == 2


def test_a_500_in_the_middle_of_paging_deletes_nothing(cloud: FakeConfluence, runs: Runs) -> None:
    pages = seed_space(cloud, "SUP", 150, body=lambda n: f"<p>{n}</p>")
    cloud.page_cap = 50  # three listing pages
    settings = settings_for(cloud)
    assert runs(settings).counts.created == 150
    cloud.purge(pages[10].id)
    cloud.purge(pages[140].id)
    listing_path = f"/wiki/api/v2/spaces/{cloud.spaces['SUP'].id}/pages"
    cloud.faults.fail_next(None, *[500] * 6, path_prefix=listing_path)  # page 2 of 3 fails
    report = runs(settings)
    assert report.status == "failed"
    assert report.counts.deleted == 0
    assert report.plan is not None
    assert report.plan.delete == ()
    (error,) = report.errors
    assert error.startswith("space:SUP: listing of space SUP stopped after 50 pages")
    assert "nothing in this space is deleted this run" in error
    assert len(runs.in_fin()) == 150
    recovered = runs(settings)
    assert recovered.status == "succeeded"
    assert recovered.counts.deleted == 2


def test_an_incomplete_space_keeps_its_pages_while_a_complete_one_sweeps(
    cloud: FakeConfluence, runs: Runs
) -> None:
    sup = seed_space(cloud, "SUP", 120, body=lambda n: f"<p>{n}</p>")
    kb = seed_space(cloud, "KB", 20, body=lambda n: f"<p>kb {n}</p>")
    cloud.page_cap = 50
    settings = settings_for(cloud, spaces=["SUP", "KB"])
    assert runs(settings).counts.created == 140
    assert read_cursor(runs.store.source_state("wiki").cursor)["KB"]  # type: ignore[union-attr]
    cloud.purge(sup[119].id)
    cloud.purge(kb[0].id)
    listing_path = f"/wiki/api/v2/spaces/{cloud.spaces['SUP'].id}/pages"
    cloud.faults.fail_next(None, *[500] * 6, path_prefix=listing_path)
    report = runs(settings)
    assert report.counts.deleted == 1  # KB's page; SUP kept its pages as last seen
    assert str(kb[0].id) not in runs.in_fin()
    assert str(sup[119].id) in runs.in_fin()
    assert report.status == "failed"


def test_a_space_that_vanished_or_is_forbidden_deletes_nothing(
    cloud: FakeConfluence, runs: Runs
) -> None:
    seed_space(cloud, "SUP", 5, body=lambda n: f"<p>{n}</p>")
    settings = settings_for(cloud, spaces=["SUP", "GONE"])
    report = runs(settings)
    assert report.counts.created == 5
    assert "space GONE was not found or this account cannot see it" in report.errors[0]
    cloud.faults.fail_next(403, path_prefix="/wiki/api/v2/spaces/")
    report = runs(settings_for(cloud))
    assert report.counts.deleted == 0
    assert "403" in report.errors[0]


def test_a_revoked_token_fails_the_source_clearly_and_others_proceed(
    workspace: Workspace,
    cloud: FakeConfluence,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_space(cloud, "SUP", 12, body=lambda n: f"<p>Answer {n}.</p>")
    workspace.write("guide.md", "# Guide\n\nText.\n")
    monkeypatch.setenv("CONFLUENCE_TOKEN", cloud.token)
    workspace.configure(extra=_confluence_yaml(cloud))
    code = main(["--log-format", "json", "sync", "--json", "-c", str(workspace.config)])
    out, err = capsys.readouterr()
    first = json.loads(out)
    assert code == 0, first
    assert len(workspace.fake.pages()) == 13

    cloud.revoke_token()
    code = main(["--log-format", "json", "sync", "--json", "-c", str(workspace.config)])
    out, err = capsys.readouterr()
    report = {source["name"]: source for source in json.loads(out)["sources"]}
    assert code == 1
    assert report["docs"]["status"] == "succeeded"
    assert report["wiki"]["status"] == "failed"
    (error,) = report["wiki"]["errors"]
    assert "401" in error
    assert "credentials were refused" in error
    assert len(workspace.fake.pages()) == 13  # nothing deleted
    assert cloud.token not in out + err
    assert INTERCOM_TOKEN not in out + err


# ---- end to end through the CLI ---------------------------------------------------------


def _confluence_yaml(fake: FakeConfluence, extra: str = "") -> str:
    return (
        "  - name: wiki\n    type: confluence\n"
        f"    base_url: {fake.base_url}\n    email: {fake.email}\n"
        "    token: ${CONFLUENCE_TOKEN}\n    spaces: [SUP]\n" + extra
    )


def test_sync_end_to_end_into_the_fake_intercom(
    workspace: Workspace,
    cloud: FakeConfluence,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pages = seed_space(cloud, "SUP", 40)
    cloud.add_page("SUP", "Board", body='<p>See</p><ac:structured-macro ac:name="jira"/>')
    cloud.restrict(pages[3].id)
    monkeypatch.setenv("CONFLUENCE_TOKEN", cloud.token)
    workspace.configure(extra=_confluence_yaml(cloud))
    argv = [
        "--log-format",
        "json",
        "sync",
        "--json",
        "--source",
        "wiki",
        "-c",
        str(workspace.config),
    ]

    main(argv)
    report = json.loads(capsys.readouterr().out)["sources"][0]
    assert report["counts"]["created"] == 40
    assert report["counts"]["excluded"] == 1
    assert report["notes"]["dropped macro: jira"] == 1
    assert report["notes"]["read-restricted pages skipped"] == 1
    fin = {p["external_id"]: p for p in workspace.fake.pages()}
    page = fin[str(pages[0].id)]
    assert page["url"] == f"{cloud.base_url}/spaces/SUP/pages/{pages[0].id}"
    assert page["title"] == "SUP page 00000"
    assert [s["url"] for s in workspace.fake.sources()].count(cloud.base_url) == 1

    cloud.edit(pages[5].id, body="<p>New answer.</p>")
    cloud.purge(pages[6].id)
    main(argv)
    report = json.loads(capsys.readouterr().out)["sources"][0]
    assert report["counts"] == {
        "created": 0,
        "updated": 1,
        "deleted": 1,
        "unchanged": 38,
        "excluded": 1,  # the restricted page, still: excluded, not unchanged
        "failed": 0,
    }
    fin = {p["external_id"]: p for p in workspace.fake.pages()}
    assert fin[str(pages[5].id)]["html"] == "<p>New answer.</p>"
    assert str(pages[6].id) not in fin

    main(["sync", "--dry-run", "--source", "wiki", "-c", str(workspace.config)])
    text = capsys.readouterr().out
    assert "notes: Confluence requests" in text


def test_preview_prints_the_html_and_what_a_sync_would_do(
    workspace: Workspace,
    cloud: FakeConfluence,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = cloud.add_page(
        "SUP",
        "How to refund",
        body='<h2>Steps</h2><ac:structured-macro ac:name="warning"><ac:rich-text-body>'
        "<p>Only once.</p></ac:rich-text-body></ac:structured-macro>"
        '<ac:structured-macro ac:name="jira"/>',
    )
    secret = cloud.add_page("SUP", "Salaries", body="<p>Numbers.</p>")
    cloud.restrict(secret.id)
    monkeypatch.setenv("CONFLUENCE_TOKEN", cloud.token)
    workspace.configure(extra=_confluence_yaml(cloud))
    config = ["-c", str(workspace.config)]

    assert main(["confluence", "preview", str(page.id), *config]) == 0
    out, err = capsys.readouterr()
    assert out == (
        '<h2>Steps</h2>\n<blockquote class="callout callout-warning">\n'
        '<p class="callout-title"><strong>Warning</strong></p>\n<p>Only once.</p>\n'
        "</blockquote>\n"
    )
    assert f"url:   {cloud.base_url}/spaces/SUP/pages/{page.id}" in err
    assert "note: dropped macro: jira: 1" in err

    assert main(["confluence", "preview", str(secret.id), *config]) == 0
    out, err = capsys.readouterr()
    assert out == "<p>Numbers.</p>\n"
    assert "a sync skips this page: read-restricted" in err

    assert main(["confluence", "preview", "999", *config]) == 2
    assert "page 999 was not found" in capsys.readouterr().err
    assert main(["confluence", "preview", str(page.id), "--source", "docs", *config]) == 2
    assert "no confluence source named docs" in capsys.readouterr().err
    assert cloud.bodies_served == 2
