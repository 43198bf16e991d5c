"""One iterator over Intercom's five paging mechanisms, against real multi-page lists.

The fake serves each operation's list the way that operation pages (``pages.next``
links or page counters, ``starting_after`` cursors, search bodies, a scroll,
``cursor``/``has_more``). For each mechanism: a long walk yields every item once and in
order, lazily; an empty first page costs one call; a last page without ``next`` ends the
walk; a cursor handed back twice ends it too (flagged); a 429 in the middle is waited
out and the walk goes on. Time is a manual clock shared by client and fake, so waiting
for a rate-limit reset costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from syncer.intercom.client import IntercomClient
from syncer.intercom.paging import Pager
from syncer.intercom.transport import Transport
from tests.fakes.intercom import FakeIntercom
from tests.fakes.openapi import OpenAPI

TOKEN = "paging-token"


class ManualClock:
    """Unix time that moves only when someone sleeps."""

    def __init__(self, now: float = 1_700_000_003.0) -> None:
        self.now = now
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        self.slept += max(0.0, seconds)


@dataclass(frozen=True)
class Case:
    """One operation standing for one mechanism, and how to walk it."""

    operation: str
    mechanism: str  # as the fake serves it
    field: str
    walk: Callable[[IntercomClient], Pager[Any, Any]]


CASES = [
    Case("listExternalPages", "link", "data", lambda c: c.ai_content.list_external_pages_all()),
    Case("listArticles", "starting_after", "data", lambda c: c.articles.list_all()),
    Case("listAudiences", "counters", "data", lambda c: c.audiences.list_all(per_page=10)),
    Case(
        "listDataConnectors",
        "starting_after",
        "data",
        lambda c: c.data_connectors.list_all(per_page=10),
    ),
    Case(
        "listConversations",
        "starting_after",
        "conversations",
        lambda c: c.conversations.list_all(per_page=10),
    ),
    Case(
        "SearchContacts",
        "search",
        "data",
        lambda c: c.contacts.search_all(
            query={"field": "role", "operator": "=", "value": "user"},
            pagination={"per_page": 10},
        ),
    ),
    Case(
        "scrollOverAllCompanies",
        "scroll",
        "data",
        lambda c: c.companies.scroll_over_all_companies_all(),
    ),
    Case(
        "ListContactMergeHistory",
        "cursor",
        "data",
        lambda c: c.contacts.list_contact_merge_history_all("c1", per_page=10),
    ),
]
IDS = [f"{c.mechanism}:{c.operation}" for c in CASES]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeIntercom]:
    with FakeIntercom(TOKEN, clock=clock, page_size=10) as server:
        yield server


@pytest.fixture
def client(fake: FakeIntercom, clock: ManualClock) -> Iterator[IntercomClient]:
    transport = Transport(token=TOKEN, base_url=fake.url, clock=clock, sleep=clock.sleep)
    with IntercomClient(transport) as api:
        yield api


def items_for(spec: OpenAPI, operation: str, field: str, count: int) -> list[dict[str, Any]]:
    """``count`` distinct, schema-valid items of ``operation``'s list."""
    op = spec.by_id[operation]
    pointer = f"{op.pointer}/responses/200"
    reply, pointer = spec._deref(spec._deref_ptr(pointer)[0], pointer)
    schema_ptr = spec._deref(
        reply["content"]["application/json"]["schema"],
        f"{pointer}/content/application~1json/schema",
    )[1]
    for branch, branch_ptr in spec._applicable_all(schema_ptr):
        if field in (branch.get("properties") or {}):
            template = spec.sample_value(f"{branch_ptr}/properties/{field}/items")
            break
    else:
        raise AssertionError(f"{operation} has no list field {field}")
    made = []
    for n in range(count):
        item = dict(template)
        item["id"] = n + 1 if isinstance(item.get("id"), int) else f"item-{n + 1:04d}"
        made.append(item)
    return made


def serve(fake: FakeIntercom, case: Case, count: int, **options: Any) -> list[Any]:
    items = items_for(fake.spec, case.operation, case.field, count)
    fake.serve_list(case.operation, items, mechanism=case.mechanism, field=case.field, **options)
    return [item["id"] for item in items]


def ids(items: list[Any]) -> list[Any]:
    return [item.id for item in items]


def calls_to(fake: FakeIntercom, operation: str) -> list[Any]:
    return [c for c in fake.calls if c.operation_id == operation]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_long_listing_yields_every_item_once_in_order_and_lazily(
    fake: FakeIntercom, client: IntercomClient, case: Case
) -> None:
    expected = serve(fake, case, 45)
    pager = case.walk(client)
    assert calls_to(fake, case.operation) == []  # nothing is fetched before iterating
    walk = iter(pager)
    first = [next(walk) for _ in range(10)]
    assert len(calls_to(fake, case.operation)) == 1  # one page, not the whole list
    assert ids(first + list(walk)) == expected
    pages = math.ceil(45 / 10) + (1 if case.mechanism == "scroll" else 0)
    assert pager.pages_fetched == len(calls_to(fake, case.operation)) == pages
    assert pager.complete
    assert not pager.repeated_cursor


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_empty_first_page_costs_one_call(
    fake: FakeIntercom, client: IntercomClient, case: Case
) -> None:
    serve(fake, case, 0)
    pager = case.walk(client)
    assert list(pager) == []
    assert len(calls_to(fake, case.operation)) == 1
    assert pager.complete


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_last_page_without_next_ends_the_walk(
    fake: FakeIntercom, client: IntercomClient, case: Case
) -> None:
    expected = serve(fake, case, 20)  # exactly two full pages
    pager = case.walk(client)
    pages = list(pager.pages())
    extra = 1 if case.mechanism == "scroll" else 0  # a scroll ends on an empty page
    assert len(pages) == 2 + extra
    last = pages[1].model_dump(exclude_unset=True)
    assert "next" not in (last.get("pages") or {})
    assert not last.get("has_more")
    assert [i.id for p in pages for i in getattr(p, case.field)] == expected


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_repeated_cursor_stops_the_walk(
    fake: FakeIntercom, client: IntercomClient, case: Case
) -> None:
    expected = serve(fake, case, 50, repeat_cursor_at=2)
    pager = case.walk(client)
    assert ids(list(pager)) == expected[:20]  # pages 1 and 2, each once
    assert pager.repeated_cursor
    assert not pager.complete
    extra = 1 if case.mechanism == "scroll" else 0  # a stuck scroll shows on the next page
    assert len(calls_to(fake, case.operation)) == 2 + extra


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_429_in_the_middle_of_a_long_listing_is_waited_out(
    fake: FakeIntercom, client: IntercomClient, clock: ManualClock, case: Case
) -> None:
    expected = serve(fake, case, 95)
    seen = []
    for n, item in enumerate(case.walk(client), start=1):
        seen.append(item.id)
        if n == 35:  # mid-way through page 4: the next fetch meets a 429
            fake.faults.rate_limit_storm(1)
    assert seen == expected
    assert fake.rate_limited == 1
    assert client.transport.stats.rate_limited == 1
    assert client.transport.stats.failed == 0
    assert clock.slept > 0  # it waited for X-RateLimit-Reset, on the manual clock


def test_contacts_list_all_pages_with_starting_after(
    fake: FakeIntercom, client: IntercomClient
) -> None:
    made = fake.add_contacts(25)
    listed = list(client.contacts.list_all())
    assert [c.id for c in listed] == sorted(c["id"] for c in made)
    assert [c.query.count("starting_after") for c in calls_to(fake, "ListContacts")] == [0, 1, 1]


def test_the_first_page_alone(fake: FakeIntercom, client: IntercomClient) -> None:
    serve(fake, next(c for c in CASES if c.operation == "listDataConnectors"), 30)
    page = client.data_connectors.list_all(per_page=10).first_page()
    assert len(page.data or []) == 10
    assert len(calls_to(fake, "listDataConnectors")) == 1


def test_a_next_link_to_another_host_is_refused(fake: FakeIntercom, client: IntercomClient) -> None:
    from syncer.errors import IntercomError
    from syncer.intercom.operation import Request
    from syncer.intercom.paging import next_request

    following = next_request(
        "page", Request("/articles", {}), {"pages": {"next": "https://evil.example/x"}}, "data"
    )
    assert following is not None
    with pytest.raises(IntercomError, match="another host"):
        client.transport.request("GET", following.path)
