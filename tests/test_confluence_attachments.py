"""Confluence attachments as pages of their own, on Cloud (v2 ``/attachments``) and Data
Center (CQL ``type = attachment``), against the fake Confluence (Cloud requests checked
against Atlassian's OpenAPI documents): what reaches Fin, what is never downloaded again,
and attachments that change, move or go."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from syncer.connectors.confluence.settings import ConfluenceSettings
from tests.documents import MARKERS, docx_bytes, pdf_bytes, pptx_bytes
from tests.fakes.confluence import Content, FakeConfluence
from tests.test_confluence import Runs, settings_for


@pytest.fixture(params=["cloud", "datacenter"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeConfluence]:
    context = "/confluence" if request.param == "datacenter" else None
    # Cloud as it is since CHANGE-3007: files come only through the media redirect.
    with FakeConfluence(request.param, context=context, cloud_downloads="media") as made:
        yield made


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[Runs]:
    made = Runs(tmp_path)
    yield made
    made.close()


def seeded(fake: FakeConfluence) -> dict[str, Any]:
    manual = fake.add_page("SUP", "Widget manual", "<p>Everything about the widget.</p>")
    prices = fake.add_page("SUP", "Price lists", "<p>Prices, attached.</p>")
    secret = fake.add_page("SUP", "Board minutes", "<p>Confidential.</p>")
    fake.restrict(secret.id)
    elsewhere = fake.add_page("OTHER", "Not synced", "<p>Another space.</p>")
    return {
        "manual": manual,
        "prices": prices,
        "elsewhere": elsewhere,
        "docx": fake.add_attachment(manual.id, "manual.docx", docx_bytes()),
        "pptx": fake.add_attachment(manual.id, "training.pptx", pptx_bytes()),
        "pdf": fake.add_attachment(prices.id, "prices.pdf", pdf_bytes()),
        "png": fake.add_attachment(prices.id, "logo.png", b"\x89PNG\r\n\x1a\n"),
        "hidden": fake.add_attachment(secret.id, "minutes.pdf", pdf_bytes("Minutes")),
        "out": fake.add_attachment(elsewhere.id, "other.pdf", pdf_bytes("Other")),
    }


def settings(fake: FakeConfluence, **extra: Any) -> ConfluenceSettings:
    return settings_for(fake, attachments=True, **extra)


def page_of(runs: Runs, external_id: str) -> dict[str, Any]:
    (page,) = [p for p in runs.fin.pages.values() if p["external_id"] == external_id]
    return page


def test_attachments_of_pages_in_scope_become_pages_of_their_own(
    fake: FakeConfluence, runs: Runs
) -> None:
    made = seeded(fake)
    report = runs(settings(fake))
    assert report.status == "succeeded", report.errors
    files = {made[name].api_id for name in ("docx", "pptx", "pdf")}
    pages = {str(made["manual"].id), str(made["prices"].id)}
    assert runs.in_fin() == files | pages
    assert report.counts.excluded == 2  # the restricted page and its attachment
    assert len(fake.downloads) == 3  # no image, nothing restricted, nothing out of scope
    manual: Content = made["manual"]
    page = page_of(runs, made["docx"].api_id)
    assert page["title"] == "manual.docx"
    assert page["url"] == f"{fake.base_url}/download/attachments/{manual.id}/manual.docx"
    soup = BeautifulSoup(str(page["html"]), "html.parser")
    context = soup.find("p")
    assert context is not None
    assert context.get_text() == "Attached to the Confluence page Widget manual."
    assert "Widget manual" in [h.get_text() for h in soup.find_all("h1")]
    cells = [td.get_text(" ", strip=True) for td in soup.find_all("td")]
    assert MARKERS["table"] in cells
    assert page_of(runs, made["pdf"].api_id)["title"] == "prices.pdf"
    notes = dict(report.notes)
    assert notes["attachments downloaded"] == 3


def test_an_incremental_run_downloads_exactly_the_attachment_that_changed(
    fake: FakeConfluence, runs: Runs
) -> None:
    made = seeded(fake)
    runs(settings(fake))
    before = len(fake.downloads)
    quiet = runs(settings(fake))
    assert len(fake.downloads) == before
    assert (quiet.counts.created, quiet.counts.updated) == (0, 0)
    fake.upload(made["pdf"].id, pdf_bytes("Widget price list", sections=3))
    again = runs(settings(fake))
    assert len(fake.downloads) == before + 1
    assert fake.downloads[-1].endswith("/prices.pdf")
    assert again.counts.updated == 1
    assert "part 3" in str(page_of(runs, made["pdf"].api_id)["html"])


def test_deleted_and_moved_attachments_leave_fin_like_pages(
    fake: FakeConfluence, runs: Runs
) -> None:
    made = seeded(fake)
    runs(settings(fake))
    fake.delete_attachment(made["pptx"].id)
    fake.move_attachment(made["pdf"].id, made["elsewhere"].id)  # to a space not synced
    fake.move_attachment(made["docx"].id, made["prices"].id)  # within scope: new context
    report = runs(settings(fake, max_delete_fraction=0.5))
    assert report.status == "succeeded", report.errors
    assert report.counts.deleted == 2
    assert made["pptx"].api_id not in runs.in_fin()
    assert made["pdf"].api_id not in runs.in_fin()
    moved = page_of(runs, made["docx"].api_id)
    context = BeautifulSoup(str(moved["html"]), "html.parser").find("p")
    assert context is not None
    assert context.get_text() == "Attached to the Confluence page Price lists."


def test_a_list_of_media_types_narrows_what_is_synced(fake: FakeConfluence, runs: Runs) -> None:
    made = seeded(fake)
    report = runs(settings_for(fake, attachments=["pdf"]))
    assert report.status == "succeeded", report.errors
    assert runs.in_fin() == {made["pdf"].api_id, str(made["manual"].id), str(made["prices"].id)}


def test_without_attachments_nothing_is_listed_or_downloaded(
    fake: FakeConfluence, runs: Runs
) -> None:
    seeded(fake)
    runs(settings_for(fake))
    assert fake.downloads == []
    assert not any("attachment" in call.path or "attachment" in call.query for call in fake.calls)


def test_the_data_center_fake_serves_a_pages_attachments_by_child_listing(tmp_path: Path) -> None:
    import httpx

    with FakeConfluence("datacenter") as fake:
        made = seeded(fake)
        reply = httpx.get(
            f"{fake.base_url}/rest/api/content/{made['manual'].id}/child/attachment",
            params={"expand": "version,container", "limit": 10},
            headers={"Authorization": f"Bearer {fake.token}"},
        )
        assert reply.status_code == 200
        titles = [item["title"] for item in reply.json()["results"]]
        assert titles == ["manual.docx", "training.pptx"]
        link = reply.json()["results"][0]["_links"]["download"]
        data = httpx.get(fake.base_url + link, headers={"Authorization": f"Bearer {fake.token}"})
        assert data.content == docx_bytes()


def test_a_failed_listing_of_attachments_deletes_nothing(fake: FakeConfluence, runs: Runs) -> None:
    made = seeded(fake)
    runs(settings(fake))
    fake.delete_attachment(made["pptx"].id)
    listing = "/wiki/api/v2/attachments" if fake.deployment == "cloud" else "/confluence/rest/api/"
    fake.faults.fail_next(
        400, path_prefix=listing + ("" if fake.deployment == "cloud" else "content/search")
    )
    report = runs(settings(fake))
    assert report.counts.deleted == 0
    assert made["pptx"].api_id in runs.in_fin()
    assert any(e.startswith("attachments: listing of attachments stopped") for e in report.errors)
    healed = runs(settings(fake))
    assert healed.counts.deleted == 1
    assert made["pptx"].api_id not in runs.in_fin()


def test_an_edited_page_downloads_nothing_and_a_renamed_one_its_own_attachments(
    fake: FakeConfluence, runs: Runs
) -> None:
    made = seeded(fake)
    runs(settings(fake))
    before = len(fake.downloads)
    fake.edit(made["manual"].id, body="<p>Everything about the widget, revised.</p>")
    edited = runs(settings(fake))
    assert len(fake.downloads) == before  # the page's text is not its attachments'
    # The page updated; the rest as they were (the restricted page and its file excluded).
    assert (edited.counts.updated, edited.counts.unchanged + edited.counts.excluded) == (1, 6)
    fake.edit(made["manual"].id, title="Widget handbook")
    renamed = runs(settings(fake))
    assert sorted(path.rsplit("/", 1)[1] for path in fake.downloads[before:]) == [
        "manual.docx",
        "training.pptx",
    ]
    assert renamed.counts.updated == 3  # the page and its two attachments: new context
    context = BeautifulSoup(str(page_of(runs, made["docx"].api_id)["html"]), "html.parser")
    assert context.p is not None
    assert context.p.get_text() == "Attached to the Confluence page Widget handbook."


def test_an_attachment_over_the_size_cap_is_reported_and_never_downloaded(
    fake: FakeConfluence, runs: Runs
) -> None:
    made = seeded(fake)
    cap = len(pdf_bytes()) + 1
    assert len(docx_bytes()) > cap
    assert len(pptx_bytes()) > cap
    report = runs(settings(fake, documents={"max_bytes": cap}))
    assert [path.rsplit("/", 1)[1] for path in fake.downloads] == ["prices.pdf"]
    assert sorted(report.errors) == sorted(
        f"{made[name].api_id}: {file} is {len(data):,} bytes, over documents.max_bytes "
        f"{cap:,}; raise it to sync it"
        for name, file, data in (
            ("docx", "manual.docx", docx_bytes()),
            ("pptx", "training.pptx", pptx_bytes()),
        )
    )
    assert runs.in_fin() == {made["pdf"].api_id, str(made["manual"].id), str(made["prices"].id)}


def test_each_section_of_a_split_attachment_names_its_page(
    fake: FakeConfluence, runs: Runs
) -> None:
    made = seeded(fake)
    split = {"split_at": "h1", "split_min_chars": 100}
    report = runs(settings_for(fake, attachments=["docx"], documents=split))
    assert report.status == "succeeded", report.errors
    docx = made["docx"].api_id
    parts = sorted(i for i in runs.in_fin() if i.startswith(f"{docx}#"))
    assert parts == [
        f"{docx}#installing-the-widget",
        f"{docx}#installing-the-widget-part-2",
        f"{docx}#widget-manual",
    ]
    for external_id in [docx, *parts]:
        soup = BeautifulSoup(str(page_of(runs, external_id)["html"]), "html.parser")
        assert soup.p is not None
        assert soup.p.get_text() == "Attached to the Confluence page Widget manual."
    section = page_of(runs, f"{docx}#installing-the-widget-part-2")
    assert section["title"] == "manual.docx: Installing the widget part 2"
    assert section["url"].endswith("/manual.docx#installing-the-widget-part-2")


def test_the_cloud_fake_downloads_as_cloud_does_since_change_3007() -> None:
    """Cloud's own REST download endpoint answers 302 to a signed URL on a media host
    (another origin) that takes no credentials; with ``cloud_downloads="media"`` the old
    ``/download/attachments`` servlet refuses API tokens."""
    import httpx

    with FakeConfluence("cloud", cloud_downloads="media", strict=False) as fake:
        made = seeded(fake)
        auth = httpx.BasicAuth(fake.email, fake.token)
        page, attachment = made["manual"].id, made["docx"].api_id
        rest = f"{fake.base_url}/rest/api/content/{page}/child/attachment/{attachment}/download"
        reply = httpx.get(rest, auth=auth)
        assert reply.status_code == 302
        location = reply.headers["location"]
        assert location.startswith(fake.media_origin + "/file/")
        assert fake.media_origin != fake.origin
        assert httpx.get(location).content == docx_bytes()
        assert fake.downloads == [f"/wiki/download/attachments/{page}/manual.docx"]
        assert httpx.get(location, auth=auth).status_code == 400
        assert fake.violations == [
            f"GET /file/file-{made['docx'].id}/binary: the site's credentials were sent to "
            "the media host"
        ]
        fake.upload(made["docx"].id, docx_bytes(sections=3))
        assert httpx.get(location).status_code == 401  # signed for the version before
        servlet = fake.base_url + made["docx"].download_link()
        assert httpx.get(servlet, auth=auth).status_code == 401


def test_cloud_attachments_download_through_the_media_redirect_without_credentials(
    runs: Runs,
) -> None:
    with FakeConfluence("cloud", cloud_downloads="media") as fake:
        made = seeded(fake)
        report = runs(settings(fake))
        assert report.status == "succeeded", report.errors
        assert runs.in_fin() >= {made[name].api_id for name in ("docx", "pptx", "pdf")}
        assert len(fake.downloads) == 3
        assert fake.violations == []  # no credential reached the media host
        fake.upload(made["pdf"].id, pdf_bytes("Widget price list", sections=3))
        again = runs(settings(fake))
        assert (again.counts.updated, len(fake.downloads)) == (1, 4)
