"""The fake Confluence itself: it enforces Atlassian's specs on Cloud requests, pages the
way Confluence does, answers the CQL the connector writes, and injects its faults."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from syncer.connectors.confluence.http import basic_auth, bearer_auth
from tests.fakes.confluence import CqlError, FakeConfluence, parse_cql, seed_space


@pytest.fixture
def cloud() -> Iterator[FakeConfluence]:
    fake = FakeConfluence("cloud", strict=False)
    with fake:
        yield fake


def http(fake: FakeConfluence) -> httpx.Client:
    if fake.deployment == "cloud":
        auth = basic_auth(fake.email, fake.token)
    else:
        auth = bearer_auth(fake.token)
    return httpx.Client(base_url=fake.origin, headers={"Authorization": auth})


def test_requests_that_break_the_spec_are_recorded_and_refused(cloud: FakeConfluence) -> None:
    space = cloud.add_space("SUP")
    with http(cloud) as client:
        reply = client.get(f"/wiki/api/v2/spaces/{space.id}/pages", params={"limit": 500})
        assert reply.status_code == 400
        reply = client.get(
            "/wiki/rest/api/content/search", params={"cql": "type = page", "start": 5}
        )
        assert reply.status_code == 400
        ok = client.get(f"/wiki/api/v2/spaces/{space.id}/pages", params={"limit": 250})
        assert ok.status_code == 200
    assert len(cloud.violations) == 2
    assert "query.limit" in cloud.violations[0]
    assert "query.start: unknown parameter" in cloud.violations[1]
    with pytest.raises(AssertionError, match="broke the Confluence spec"):
        cloud.assert_no_violations()


def test_cloud_cursor_paging_with_link_headers_and_archived_pages(cloud: FakeConfluence) -> None:
    pages = seed_space(cloud, "SUP", 5)
    cloud.set_status(pages[0].id, "archived")
    cloud.page_cap = 2
    space = cloud.spaces["SUP"]
    with http(cloud) as client:
        everything = client.get(f"/wiki/api/v2/spaces/{space.id}/pages", params={"limit": 250})
        assert len(everything.json()["results"]) == 2
        assert 'rel="next"' in everything.headers["link"]
        seen = []
        url: str | None = f"/wiki/api/v2/spaces/{space.id}/pages?status=current&limit=250"
        while url:
            body = client.get(url).json()
            seen += [item["id"] for item in body["results"]]
            url = body["_links"].get("next")
    assert seen == [str(p.id) for p in pages[1:]]  # archived only without status=current
    assert cloud.bodies_served == 0


def test_cql_covers_the_connectors_queries() -> None:
    predicate, _ = parse_cql('space = "SUP" and type in (page, blogpost) and label not in ("x")')
    assert callable(predicate)
    with pytest.raises(CqlError):
        parse_cql("space = ")
    with pytest.raises(CqlError):
        parse_cql("creator = currentUser()")


def test_cql_dates_compare_lastmodified_with_now_and_with_a_date() -> None:
    now = [1_790_000_000.0]
    with FakeConfluence("cloud", clock=lambda: now[0]) as fake, http(fake) as client:
        old, new = fake.add_page("SUP", "Old"), fake.add_page("SUP", "New")
        now[0] += 600
        fake.edit(new.id)

        def found(cql: str) -> list[str] | int:
            reply = client.get(f"{fake.base_url}/rest/api/content/search", params={"cql": cql})
            if reply.status_code != 200:
                return reply.status_code
            return [item["id"] for item in reply.json()["results"]]

        assert found('space = "SUP" and lastmodified >= now("-5m")') == [str(new.id)]
        assert found('lastmodified < now("-5m")') == [str(old.id)]
        assert found('created > "2023/12/31 23:59"') == [str(old.id), str(new.id)]
        assert found('created > "2024-01-01"') == []
        for bad in ('lastmodified > now("soon")', 'title > "a"', 'lastmodified > "noon"'):
            assert found(bad) == 400
            with pytest.raises(CqlError):
                parse_cql(bad)


def test_datacenter_offset_paging_totals_and_caps() -> None:
    with FakeConfluence("datacenter", context="/confluence", search_cap=10) as fake:
        seed_space(fake, "OPS", 25)
        with http(fake) as client:
            reply = client.get(
                "/confluence/rest/api/content/search",
                params={"cql": 'space = "OPS"', "limit": 500, "start": 20},
            )
            body = reply.json()
            assert body["limit"] == 10  # the server's cap, not what was asked
            assert body["size"] == 5
            assert body["totalSize"] == 25
            assert "next" not in body["_links"]
            wrong = httpx.get(
                f"{fake.origin}/confluence/rest/api/space",
                headers={"Authorization": "Bearer nope"},
            )
            assert wrong.status_code == 401


def test_faults_429_with_retry_after_403_throttling_and_revocation(cloud: FakeConfluence) -> None:
    cloud.add_space("SUP")
    cloud.retry_after = 3
    cloud.faults.rate_limit_storm(1)
    with http(cloud) as client:
        storm = client.get("/wiki/api/v2/spaces")
        assert storm.status_code == 429
        assert storm.headers["retry-after"] == "3"
        cloud.throttle_status = 403
        cloud.faults.rate_limit_storm(1)
        old = client.get("/wiki/api/v2/spaces")
        assert old.status_code == 403
        assert "Rate limit" in old.text
        assert client.get("/wiki/api/v2/spaces").status_code == 200
        cloud.revoke_token()
        assert client.get("/wiki/api/v2/spaces").status_code == 401
    assert [c.outcome for c in cloud.calls] == ["rate_limited", "throttled", "ok", "unauthorized"]
    assert cloud.requests == 4
