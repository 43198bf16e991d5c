"""The fake Intercom behaves like Intercom and enforces the spec, driven over real HTTP.

These tests talk to `FakeIntercom` with httpx as a client would: upsert semantics,
paging by `next` links, cascading deletes, spec violations, auth, rate limits, each
injected fault, and replies checked against the spec's response schemas.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # so `tests.fakes` imports however pytest was started
    sys.path.insert(0, str(REPO))

from tests.fakes.intercom import FakeIntercom  # noqa: E402
from tests.fakes.openapi import OpenAPI, load_openapi  # noqa: E402

SHARED = REPO.parent / "shared"
CONFLUENCE_V2 = SHARED / "confluence-openapi" / "confluence-cloud-rest-v2.openapi.json"
TOKEN = "secret-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Intercom-Version": "Preview"}
JSON = {"Content-Type": "application/json"}
T0 = 1_700_000_003.0  # 3 s into a 10 s window (windows aligned: window_phase=0)


def http_client(base_url: str = "", headers: dict[str, str] = HEADERS) -> httpx.Client:
    """A client for plain HTTP: no TLS context, which costs ~90 ms per client."""
    return httpx.Client(base_url=base_url, headers=headers, timeout=5, verify=False)  # noqa: S501


class Clock:
    """A settable clock for rate-limit windows and timestamps."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeIntercom]:
    with FakeIntercom(TOKEN, clock=clock, window_phase=0.0) as server:
        yield server


@pytest.fixture
def client(fake: FakeIntercom) -> Iterator[httpx.Client]:
    with http_client(fake.url) as http:
        yield http


def new_source(client: httpx.Client, url: str = "https://docs.example.com/") -> int:
    reply = client.post("/ai/content_import_sources", json={"sync_behavior": "api", "url": url})
    assert reply.status_code == 200, reply.text
    source_id = reply.json()["id"]
    assert isinstance(source_id, int)
    return source_id


def page_body(source_id: int, external_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "title": f"Title of {external_id}",
        "html": f"<p>{external_id}</p>",
        "locale": "en",
        "source_id": source_id,
        "external_id": external_id,
        "url": f"https://docs.example.com/{external_id}",
    }
    return body | fields


def spec_problems(fake: FakeIntercom, operation_id: str, reply: httpx.Response) -> list[str]:
    """What is wrong with a reply, per the spec (error.list for undeclared errors)."""
    operation = fake.spec.by_id[operation_id]
    declared = fake.spec.check_response(
        operation, reply.status_code, reply.content, reply.headers.get("content-type")
    )
    if reply.status_code >= 400 and declared and "is not declared" in declared[0]:
        return fake.spec.validate(fake.spec.schema_pointer("error"), reply.json())
    return declared


# ---- state: upsert, paging, deletes -----------------------------------------------


def test_upsert_by_source_and_external_id_keeps_one_page(
    fake: FakeIntercom, client: httpx.Client, clock: Clock
) -> None:
    source_id = new_source(client)
    first = client.post("/ai/external_pages", json=page_body(source_id, "a.md")).json()
    clock.now += 60
    changed = page_body(source_id, "a.md", title="New title", ai_agent_availability=True)
    second = client.post("/ai/external_pages", json=changed).json()

    assert second["id"] == first["id"]
    assert second["id"].isdigit()
    assert second["title"] == "New title"
    assert second["ai_agent_availability"] is True
    assert second["created_at"] == first["created_at"]
    assert second["updated_at"] == first["updated_at"] + 60
    assert [p["id"] for p in fake.pages()] == [first["id"]]


def test_same_external_id_in_two_sources_makes_two_pages(
    fake: FakeIntercom, client: httpx.Client
) -> None:
    one, two = new_source(client), new_source(client, "https://other.example.com/")
    a = client.post("/ai/external_pages", json=page_body(one, "x")).json()
    b = client.post("/ai/external_pages", json=page_body(two, "x")).json()
    assert a["id"] != b["id"]
    assert [p["external_id"] for p in fake.pages(source_id=two)] == ["x"]


def test_availability_defaults_false_on_create_and_is_kept_on_update(
    client: httpx.Client,
) -> None:
    source_id = new_source(client)
    created = client.post("/ai/external_pages", json=page_body(source_id, "a")).json()
    assert not created["ai_agent_availability"]
    assert not created["ai_copilot_availability"]
    assert not created["ai_sales_agent_availability"]
    body = page_body(source_id, "a", ai_copilot_availability=True)
    client.post("/ai/external_pages", json=body)
    kept = client.post("/ai/external_pages", json=page_body(source_id, "a")).json()
    assert kept["ai_copilot_availability"] is True


def test_page_for_unknown_source_is_not_found(fake: FakeIntercom, client: httpx.Client) -> None:
    reply = client.post("/ai/external_pages", json=page_body(999, "a"))
    assert reply.status_code == 404
    assert reply.json()["errors"][0]["code"] == "not_found"
    assert fake.pages() == []


def test_listing_pages_by_next_links(clock: Clock) -> None:
    with FakeIntercom(TOKEN, clock=clock, page_size=4) as fake:
        source = fake.add_source()
        for n in range(10):
            fake.add_page(source["id"], f"doc-{n}")
        seen, pages = [], []
        url: str | None = f"{fake.url}/ai/external_pages"
        with http_client() as client:
            while url:
                listing = client.get(url).json()
                assert listing["type"] == "list"
                assert listing["total_count"] == 10
                seen += [p["id"] for p in listing["data"]]
                pages.append(listing["pages"])
                url = listing["pages"].get("next")
    assert [p["page"] for p in pages] == [1, 2, 3]
    assert {p["total_pages"] for p in pages} == {3}
    assert [p["per_page"] for p in pages] == [4, 4, 4]
    assert seen == sorted(seen, key=int, reverse=True)  # newest first, as the spec's example
    assert len(set(seen)) == 10


def test_listing_an_empty_workspace(client: httpx.Client) -> None:
    listing = client.get("/ai/external_pages").json()
    assert listing["data"] == []
    assert listing["total_count"] == 0
    assert "next" not in listing["pages"]


def test_bad_paging_values_are_violations(fake: FakeIntercom, client: httpx.Client) -> None:
    assert client.get("/ai/external_pages", params={"per_page": 0}).status_code == 400
    assert client.get("/ai/external_pages", params={"page": "two"}).status_code == 400
    assert len(fake.take_violations()) == 2


def test_deleting_a_source_deletes_its_pages(fake: FakeIntercom, client: httpx.Client) -> None:
    doomed, kept = new_source(client), new_source(client, "https://kept.example.com/")
    page = client.post("/ai/external_pages", json=page_body(doomed, "a")).json()
    client.post("/ai/external_pages", json=page_body(kept, "b"))

    reply = client.delete(f"/ai/content_import_sources/{doomed}")

    assert reply.status_code == 204
    assert reply.content == b""
    assert [s["id"] for s in fake.sources()] == [kept]
    assert [p["external_id"] for p in fake.pages()] == ["b"]
    assert client.get(f"/ai/external_pages/{page['id']}").status_code == 404
    assert client.get(f"/ai/content_import_sources/{doomed}").status_code == 404


def test_deleting_a_page_replies_with_the_page(fake: FakeIntercom, client: httpx.Client) -> None:
    source_id = new_source(client)
    page = client.post("/ai/external_pages", json=page_body(source_id, "a")).json()

    reply = client.delete(f"/ai/external_pages/{page['id']}")

    assert reply.status_code == 200
    assert reply.json()["id"] == page["id"]
    assert reply.json()["html"] == ""  # as in the spec's example
    assert fake.pages() == []
    assert client.delete(f"/ai/external_pages/{page['id']}").status_code == 404


def test_put_updates_a_page_and_its_key(fake: FakeIntercom, client: httpx.Client) -> None:
    source_id = new_source(client)
    page = client.post("/ai/external_pages", json=page_body(source_id, "old")).json()
    body = page_body(source_id, "new", title="Renamed")

    updated = client.put(f"/ai/external_pages/{page['id']}", json=body).json()

    assert (updated["id"], updated["title"]) == (page["id"], "Renamed")
    assert updated["external_id"] == "new"
    again = client.post("/ai/external_pages", json=page_body(source_id, "new")).json()
    assert again["id"] == page["id"]
    assert len(fake.pages()) == 1


def test_source_crud(fake: FakeIntercom, client: httpx.Client) -> None:
    source_id = new_source(client)
    body = {"sync_behavior": "api", "url": "https://moved.example.com/", "audience_ids": 7}
    updated = client.put(f"/ai/content_import_sources/{source_id}", json=body).json()
    assert updated["url"] == "https://moved.example.com/"
    assert updated["audience_ids"] == [7]
    listing = client.get("/ai/content_import_sources").json()
    assert [s["id"] for s in listing["data"]] == [source_id]
    manual = {"sync_behavior": "manual", "url": "https://moved.example.com/"}
    refused = client.put(f"/ai/content_import_sources/{source_id}", json=manual)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "parameter_invalid"
    assert client.get("/ai/content_import_sources/abc").status_code == 404


def test_concurrent_upserts_of_one_key_make_one_page(
    fake: FakeIntercom, client: httpx.Client
) -> None:
    source_id = new_source(client)

    def upsert(n: int) -> str:
        body = page_body(source_id, f"doc-{n % 3}", title=f"v{n}")
        return str(client.post("/ai/external_pages", json=body).json()["id"])

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(upsert, range(24)))

    assert len(set(ids)) == 3
    assert len(fake.pages()) == 3
    assert fake.writes == 24 + 1


# ---- the contract -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"title": None}, "body: 'title' is a required property"),
        ({"locale": "fr"}, "body.locale: 'fr' is not one of ['en']"),
        ({"source_id": "12"}, "body.source_id: '12' is not of type 'integer'"),
        ({"ai_agent_available": True}, "body.ai_agent_available: unknown property"),
        ({"ai_copilot_availability": "yes"}, "body.ai_copilot_availability: 'yes' is not of"),
    ],
)
def test_invalid_page_bodies_are_violations(
    fake: FakeIntercom, client: httpx.Client, change: dict[str, Any], expected: str
) -> None:
    source_id = new_source(client)
    body = {k: v for k, v in (page_body(source_id, "a") | change).items() if v is not None}

    reply = client.post("/ai/external_pages", json=body)

    assert reply.status_code == 400
    assert reply.json()["type"] == "error.list"
    found = fake.take_violations()
    assert len(found) == 1
    assert found[0].startswith("POST /ai/external_pages: " + expected)
    assert fake.pages() == []


def test_other_broken_requests_are_violations(fake: FakeIntercom, client: httpx.Client) -> None:
    assert client.get("/ai/external_page").status_code == 400
    assert client.patch("/ai/external_pages/1", json={}).status_code == 400
    assert client.post("/ai/external_pages", content=b"{not", headers=JSON).status_code == 400
    no_version = {"Authorization": f"Bearer {TOKEN}"}
    with http_client(fake.url, no_version) as unversioned:
        assert unversioned.get("/ai/external_pages").status_code == 400
    found = fake.take_violations()
    assert found[0] == "GET /ai/external_page: unknown path"
    assert "method not allowed" in found[1]
    assert "not valid JSON" in found[2]
    assert found[3] == "GET /ai/external_pages: header.Intercom-Version: missing"


def test_the_old_version_name_and_any_case_are_accepted(
    fake: FakeIntercom, client: httpx.Client
) -> None:
    assert client.get("/ai/external_pages", headers={"Intercom-Version": "Unstable"}).is_success
    # Eight Preview operations declare the version enum as lower-case "preview".
    assert client.get("/content/search", headers={"Intercom-Version": "Preview"}).is_success
    assert fake.versions == {"Unstable", "Preview"}


def test_a_violation_fails_the_with_block() -> None:
    broke = r"Requests broke the Intercom spec \(5\)"
    with (
        pytest.raises(AssertionError, match=broke),
        FakeIntercom(TOKEN) as fake,
        http_client(fake.url) as client,
    ):
        client.post("/ai/external_pages", json={})


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
def test_bad_tokens_get_401(fake: FakeIntercom, headers: dict[str, str]) -> None:
    with http_client(fake.url, headers) as client:
        reply = client.get("/ai/external_pages", headers={"Intercom-Version": "Preview"})
    assert reply.status_code == 401
    assert reply.json()["errors"] == [{"code": "unauthorized", "message": "Access Token Invalid"}]
    assert reply.json()["request_id"] == reply.headers["X-Request-Id"]
    assert "X-RateLimit-Remaining" in reply.headers
    assert fake.violations == []


def test_replies_match_the_spec(fake: FakeIntercom, client: httpx.Client) -> None:
    replies = []
    created = client.post("/ai/content_import_sources", json={"sync_behavior": "api", "url": "u"})
    replies.append(("createContentImportSource", created))
    sid = created.json()["id"]
    page = client.post("/ai/external_pages", json=page_body(sid, "a", ai_agent_availability=True))
    pid = page.json()["id"]
    replies += [
        ("createExternalPage", page),
        ("createExternalPage", client.post("/ai/external_pages", json=page_body(sid, "b"))),
        ("listExternalPages", client.get("/ai/external_pages")),
        ("getExternalPage", client.get(f"/ai/external_pages/{pid}")),
        ("updateExternalPage", client.put(f"/ai/external_pages/{pid}", json=page_body(sid, "a"))),
        ("deleteExternalPage", client.delete(f"/ai/external_pages/{pid}")),
        ("getExternalPage", client.get(f"/ai/external_pages/{pid}")),
        ("listContentImportSources", client.get("/ai/content_import_sources")),
        ("getContentImportSource", client.get(f"/ai/content_import_sources/{sid}")),
        ("deleteContentImportSource", client.delete(f"/ai/content_import_sources/{sid}")),
        ("listExternalPages", client.get("/ai/external_pages", headers={"Authorization": ""})),
        ("createExternalPage", client.post("/ai/external_pages", json={"title": 1})),
    ]
    fake.take_violations()
    for operation_id, reply in replies:
        assert reply.headers["X-Request-Id"]
        assert spec_problems(fake, operation_id, reply) == [], operation_id


def test_every_other_operation_is_answered_from_the_spec(
    fake: FakeIntercom, client: httpx.Client
) -> None:
    stateful = {op for op in fake.spec.by_id if op.endswith(("ExternalPage", "ExternalPages"))}
    stateful |= {op for op in fake.spec.by_id if "ContentImportSource" in op}
    assert len(stateful) == 10
    others = [op for op in fake.spec.operations if op.operation_id not in stateful]
    assert len(others) == 246  # the spec has 256 operations
    problems = []
    for operation in others:
        sample = fake.spec.sample_request(operation)
        reply = client.request(
            sample.method,
            sample.path,
            params=urlencode(sample.query, doseq=True),
            json=sample.body,
        )
        content_type = reply.headers.get("content-type")
        problems += fake.spec.check_response(
            operation, reply.status_code, reply.content, content_type
        )
    assert fake.violations == []
    assert problems == []


# ---- rate limits ------------------------------------------------------------------


def test_rate_limit_headers_and_429(clock: Clock) -> None:
    with (
        FakeIntercom(TOKEN, clock=clock, rate_limit=3, window_phase=0.0) as fake,
        http_client(fake.url) as client,
    ):
        replies = [client.get("/ai/external_pages") for _ in range(4)]
        clock.now += 7  # the next window starts at T0 - 3 + 10
        after = client.get("/ai/external_pages")

    remaining = [r.headers["X-RateLimit-Remaining"] for r in replies]
    assert remaining == ["2", "1", "0", "0"]
    assert {r.headers["X-RateLimit-Limit"] for r in replies} == {"3"}
    assert {r.headers["X-RateLimit-Reset"] for r in replies} == {str(int(T0) - 3 + 10)}
    assert [r.status_code for r in replies] == [200, 200, 200, 429]
    assert replies[3].json()["errors"][0]["code"] == "rate_limit_exceeded"
    assert "Retry-After" not in replies[3].headers
    assert after.status_code == 200
    assert after.headers["X-RateLimit-Remaining"] == "2"
    assert after.headers["X-RateLimit-Reset"] == str(int(T0) - 3 + 20)
    assert fake.rate_limited == 1


def test_a_window_ends_within_a_second_after_its_whole_second_reset(clock: Clock) -> None:
    # Windows 0.6 s past each multiple of 10: the one holding T0 ends at T0 - 3 + 10.6.
    with (
        FakeIntercom(TOKEN, clock=clock, rate_limit=2, window_phase=0.6) as fake,
        http_client(fake.url) as client,
    ):
        spent = [client.get("/ai/external_pages") for _ in range(2)]
        reset = int(spent[-1].headers["X-RateLimit-Reset"])
        assert reset == int(T0) - 3 + 10  # rounded down, not up
        clock.now = reset + 0.5  # past the header's second, not past the window's end
        early = client.get("/ai/external_pages")
        clock.now = reset + 0.6
        after = client.get("/ai/external_pages")
    assert [r.status_code for r in spent] == [200, 200]
    assert early.status_code == 429
    assert early.json()["errors"][0]["code"] == "rate_limit_exceeded"
    assert early.headers["X-RateLimit-Reset"] == str(reset)
    assert after.status_code == 200
    assert after.headers["X-RateLimit-Reset"] == str(reset + 10)
    assert fake.limiter.ends_at() == pytest.approx(reset + 10.6)


def test_the_default_window_phase_comes_from_the_seed() -> None:
    phases = {FakeIntercom(TOKEN, seed=seed).limiter.phase for seed in range(8)}
    assert len(phases) == 8
    assert all(0 <= phase < 10 for phase in phases)
    assert FakeIntercom(TOKEN, seed=3).limiter.phase == FakeIntercom(TOKEN, seed=3).limiter.phase


def test_rate_limit_storm(fake: FakeIntercom, client: httpx.Client) -> None:
    fake.faults.rate_limit_storm(2, method="GET")
    statuses = [client.get("/ai/external_pages").status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    assert client.post("/ai/content_import_sources", json={"sync_behavior": "api", "url": "u"})
    reply = client.get("/ai/external_pages")
    assert reply.headers["X-RateLimit-Reset"] == str(int(T0) - 3 + 10)
    assert fake.rate_limited == 2


# ---- faults -----------------------------------------------------------------------


def test_scripted_server_errors(fake: FakeIntercom, client: httpx.Client) -> None:
    source_id = new_source(client)
    fake.faults.fail_next(503, None, 500, method="POST", path_prefix="/ai/external_pages")
    replies = [client.post("/ai/external_pages", json=page_body(source_id, "a")) for _ in range(4)]
    assert [r.status_code for r in replies] == [503, 200, 500, 200]
    assert replies[0].headers["content-type"].startswith("text/html")  # from the edge
    assert replies[2].json()["type"] == "error.list"
    assert client.get("/ai/external_pages").status_code == 200  # not in scope


def test_random_server_errors_are_seeded(clock: Clock) -> None:
    def run(seed: int) -> list[int]:
        with (
            FakeIntercom(TOKEN, clock=clock, seed=seed) as fake,
            http_client(fake.url) as client,
        ):
            fake.faults.fail_randomly(0.5, (502,))
            return [client.get("/ai/external_pages").status_code for _ in range(40)]

    first = run(7)
    assert first == run(7)
    assert 8 < first.count(502) < 32
    assert set(first) == {200, 502}


def test_slow_replies(fake: FakeIntercom, client: httpx.Client) -> None:
    fake.faults.slow_down(0.1, path_prefix="/ai/")
    started = time.monotonic()
    client.get("/ai/external_pages")
    slow = time.monotonic() - started
    fake.faults.slow_down((0.0, 0.01), path_prefix="/ai/")
    started = time.monotonic()
    client.get("/ai/external_pages")
    assert slow >= 0.1
    assert time.monotonic() - started < 0.09


def test_dropped_connection_applies_nothing(fake: FakeIntercom, client: httpx.Client) -> None:
    source_id = new_source(client)
    fake.faults.drop_connections(1, method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/ai/external_pages", json=page_body(source_id, "a"))
    assert fake.pages() == []
    assert fake.calls[-1].status is None
    assert fake.calls[-1].outcome == "dropped"
    assert client.post("/ai/external_pages", json=page_body(source_id, "a")).status_code == 200


def test_lost_reply_still_applies_the_write(fake: FakeIntercom, client: httpx.Client) -> None:
    source_id = new_source(client)
    fake.faults.lose_replies(1, method="POST", path_prefix="/ai/external_pages")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/ai/external_pages", json=page_body(source_id, "a"))
    [page] = fake.pages()
    assert fake.writes == 2
    assert fake.calls[-1].outcome == "lost_reply"
    retried = client.post("/ai/external_pages", json=page_body(source_id, "a")).json()
    assert retried["id"] == page["id"]  # the upsert makes the retry safe


def test_lost_delete_reply_still_deletes(fake: FakeIntercom, client: httpx.Client) -> None:
    source_id = new_source(client)
    page = client.post("/ai/external_pages", json=page_body(source_id, "a")).json()
    fake.faults.lose_replies(1, method="DELETE")
    with pytest.raises(httpx.RemoteProtocolError):
        client.delete(f"/ai/external_pages/{page['id']}")
    assert fake.pages() == []


def test_one_document_can_be_rejected(fake: FakeIntercom, client: httpx.Client) -> None:
    source_id = new_source(client)
    fake.faults.reject_external_id("bad.md", status=422, code="data_invalid")
    bad = client.post("/ai/external_pages", json=page_body(source_id, "bad.md"))
    good = client.post("/ai/external_pages", json=page_body(source_id, "good.md"))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["code"] == "data_invalid"
    assert good.status_code == 200
    assert [p["external_id"] for p in fake.pages()] == ["good.md"]


# ---- observability and lifecycle --------------------------------------------------


def test_call_log_counters_and_reset(
    fake: FakeIntercom, client: httpx.Client, clock: Clock
) -> None:
    source_id = new_source(client)
    client.post("/ai/external_pages", json=page_body(source_id, "a"))
    client.get("/ai/external_pages", params={"page": 1})

    calls = fake.calls
    assert [(c.method, c.path, c.status, c.write) for c in calls] == [
        ("POST", "/ai/content_import_sources", 200, True),
        ("POST", "/ai/external_pages", 200, True),
        ("GET", "/ai/external_pages", 200, False),
    ]
    assert calls[2].query == "page=1"
    assert calls[2].operation_id == "listExternalPages"
    assert {c.at for c in calls} == {clock.now}
    assert fake.writes == 2

    fake.reset()
    assert (fake.calls, fake.pages(), fake.sources()) == ([], [], [])


def test_stop_joins_threads_and_frees_the_port(clock: Clock) -> None:
    fake = FakeIntercom(TOKEN, clock=clock).start()
    port = fake.port
    idle = http_client(fake.url)  # holds a keep-alive connection
    idle.get("/ai/external_pages")
    fake.stop()
    idle.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("fake-intercom")]
    with socket.socket() as sock:  # as a server would: closed connections linger in TIME_WAIT
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()


def test_standalone_process_prints_its_url() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "tests.fakes.intercom", "--token", TOKEN]
    with subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        with http_client(url) as client:
            reply = client.get("/ai/content_import_sources")
            state = client.get("/__fake__/state").json()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert url.startswith("http://127.0.0.1:")
    assert reply.status_code == 200
    assert state == {"sources": [], "pages": []}


# ---- the validator on its own -----------------------------------------------------


@pytest.fixture(scope="module")
def intercom_spec() -> OpenAPI:
    return FakeIntercom(TOKEN).spec


def test_literal_segments_win_over_templates(intercom_spec: OpenAPI) -> None:
    def operation_id(method: str, path: str) -> str | None:
        found = intercom_spec.match(method, path)
        return found.operation_id if found else None

    assert operation_id("GET", "/articles/search") == "searchArticles"
    assert operation_id("GET", "/articles/123") == "retrieveArticle"
    assert operation_id("PUT", "/contacts/bulk") == "BulkUpdateContacts"
    match = intercom_spec.match("DELETE", "/ai/external_pages/42")
    assert match is not None
    assert (match.path_template, match.path_params) == ("/ai/external_pages/{id}", {"id": "42"})


def test_query_parameters_are_typed(intercom_spec: OpenAPI) -> None:
    def problems(path: str, query: str) -> list[str]:
        check = intercom_spec.check_request(
            "GET", path, query=query, headers={"Intercom-Version": "2.16"}
        )
        return list(check.violations)

    assert problems("/events", "type=user&user_id=1") == []
    assert problems("/events", "type=user") == [
        "GET /events: query.filter: required parameter is missing"
    ]
    assert problems("/content/search", "states=draft,gone") == [
        "GET /content/search: query.states[1]: 'gone' is not one of ['published', 'draft']",
        "GET /content/search: header.Intercom-Version: '2.16' is not one of ['preview']",
    ]
    assert problems("/admins/activity_logs", "created_at_before=1&nope=1") == [
        "GET /admins/activity_logs: query.created_at_after: required parameter is missing",
        "GET /admins/activity_logs: query.nope: unknown parameter (not in the spec)",
    ]
    assert problems("/conversations", "per_page=x&per_page=2") == [
        "GET /conversations: query.per_page: given 2 times, the spec takes one value",
    ]
    assert problems("/conversations", "per_page=x") == [
        "GET /conversations: query.per_page: 'x' is not of type 'integer'",
    ]
    assert problems("/conversations", "per_page=151") == [
        "GET /conversations: query.per_page: 151 is greater than the maximum of 150",
    ]


def test_the_validator_reads_other_specs() -> None:
    confluence = load_openapi(CONFLUENCE_V2)
    assert confluence.base_path == "/wiki/api/v2"
    ok = confluence.check_request("GET", "/wiki/api/v2/spaces/123/pages", query="limit=250")
    assert ok.violations == ()
    assert ok.match is not None
    assert ok.match.operation_id == "getPagesInSpace"
    bad = confluence.check_request("GET", "/wiki/api/v2/spaces/123/pages", query="limit=many")
    assert bad.violations == (
        "GET /wiki/api/v2/spaces/123/pages: query.limit: 'many' is not of type 'integer'",
    )


def test_a_request_whose_body_never_arrives_is_dropped_unapplied(fake: FakeIntercom) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", fake.port)) as sock:
        sock.sendall(
            b"POST /ai/external_pages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Intercom-Version: Preview\r\nAuthorization: Bearer " + fake.token.encode() + b"\r\n"
            b'Content-Length: 500\r\n\r\n{"title": "cut'
        )
        sock.shutdown(socket.SHUT_WR)  # the client is gone before the rest of the body
        assert sock.recv(1024) == b""  # no reply
    assert fake.pages() == []
    assert fake.violations == []
