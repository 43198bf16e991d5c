"""Links, images and anchors that point at nothing in the source: reported per document
as ``(key, kind, target, reason)`` in the text plan, in ``--json`` (dry runs and real
runs) and by ``syncer preview``, never sent as a URL that answers 404, and never part of
the content hash.

Each flavour in a small tree of its own (plain GFM, an MkDocs site, a Docusaurus site),
through the real CLI, store and fake Intercom; a Confluence link to a space that is not
synced stays a link to Confluence and is not one. The two real docs trees are held to
the same rule by ``tests/test_docs_flavours.py`` (``tests.link_scan``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from syncer.cli import main
from syncer.connectors.filesystem.site_files import FolderFiles
from syncer.convert.site import MarkdownSetting, Site
from syncer.convert.source_file import Page as SourcePage
from syncer.convert.source_file import convert_file
from syncer.hashing import content_hash
from syncer.model import Availability, BrokenLink, Document, Page
from tests.conftest import Workspace
from tests.fakes.confluence import FakeConfluence
from tests.fidelity import Sent
from tests.link_scan import output_links
from tests.test_confluence import Runs, connector_for, fetch_all, settings_for

NO_FILE = "no such file in the source"
NO_PAGE = "no such page in the source"
NO_ANCHOR = "no such anchor"


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def configure(space: Workspace, source: str) -> None:
    space.config.write_text(
        f"intercom:\n  token: ${{TEST_INTERCOM_TOKEN}}\n  base_url: {space.fake.url}\n"
        f"store:\n  url: sqlite:///{space.root / 'store.db'}\n"
        f"sources:\n{source}"
    )


def sync_json(space: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code = main(["--log-format", "json", "sync", "--json", *args, "-c", str(space.config)])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["exit_code"] == code, err
    (source,) = report["sources"]
    return source


def entries(key: str, *links: tuple[str, str, str]) -> list[dict[str, str]]:
    return [
        {"key": key, "kind": kind, "target": target, "reason": reason}
        for kind, target, reason in links
    ]


def sent_html(space: Workspace, external_id: str) -> str:
    (page,) = [p for p in space.fake.pages() if p["external_id"] == external_id]
    return str(page["html"])


# ---- plain GFM ---------------------------------------------------------------------------

GFM_PAGE = (
    "# A\n\n## Set up\n\n"
    "[b](b.md), ![pic](missing.png), [up](../outside.md), [self](#set-up), [nope](#nope), "
    "[c](c.md#install), [c bad](c.md#linux), [case](c.md#Install), "
    "[web](https://example.com/x#nowhere) and [mail](mailto:a@example.com).\n"
)
GFM_BROKEN = entries(
    "a.md",
    ("link", "b.md", NO_FILE),
    ("image", "missing.png", NO_FILE),
    ("link", "../outside.md", "outside the source"),
    ("link", "#nope", NO_ANCHOR),
    ("link", "c.md#linux", NO_ANCHOR),
)


def test_a_gfm_tree_reports_each_broken_link_in_the_plan_and_the_json_of_both_runs(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workspace.docs, {"a.md": GFM_PAGE, "c.md": "# C\n\n## Install\n"})
    write(workspace.root, {"outside.md": "# Not in the source\n"})

    code = main(["--log-format", "json", "sync", "--dry-run", "-c", str(workspace.config)])
    text = capsys.readouterr().out
    assert code == 0
    assert "  broken links: 5\n" in text
    assert "    a.md: link to 'b.md' (no such file in the source)\n" in text
    assert "    a.md: image to 'missing.png' (no such file in the source)\n" in text
    assert "    a.md: link to 'c.md#linux' (no such anchor)\n" in text

    planned = sync_json(workspace, capsys, "--dry-run")
    assert planned["status"] == "planned"
    assert planned["broken_links"] == GFM_BROKEN
    # The notes say it too, one line each, as before.
    assert planned["notes"]["a.md: link to 'b.md': no such file in the source, left out"] == 1
    assert planned["notes"]["a.md: link to 'c.md#linux': no such anchor on that page"] == 1

    done = sync_json(workspace, capsys)
    assert (done["status"], done["counts"]["created"]) == ("succeeded", 2)
    assert done["broken_links"] == GFM_BROKEN
    html = sent_html(workspace, "a.md")
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert not [h for h in hrefs if "b.md" in h or "outside" in h]  # only their text stays
    assert "missing.png" not in html
    assert "<a>" not in html
    assert "b, pic," in re.sub(r"<[^>]+>", "", html)
    # A missing anchor still lands on its page (GitHub may know ids the Markdown does not).
    assert "https://docs.example.com/c#linux" in hrefs
    assert "https://docs.example.com/c#install" in hrefs

    # Nothing changed: nothing is read again, so nothing is reported; --full reads it all.
    assert sync_json(workspace, capsys)["broken_links"] == []
    assert sync_json(workspace, capsys, "--full")["broken_links"] == GFM_BROKEN


def test_the_text_plan_shows_the_first_ten_by_key_and_json_lists_every_one(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    links = " ".join(f"[m{n:02}](m{n:02}.md)" for n in range(11))
    write(workspace.docs, {"b.md": f"# B\n\n{links}\n", "a.md": "# A\n\n[z](z.md)\n"})

    code = main(["--log-format", "json", "sync", "--dry-run", "-c", str(workspace.config)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    start = lines.index("  broken links: 12")
    assert lines[start + 1 : start + 12] == [
        "    a.md: link to 'z.md' (no such file in the source)",
        *(f"    b.md: link to 'm{n:02}.md' (no such file in the source)" for n in range(9)),
        "    ... and 2 more (--json lists all)",
    ]
    listed = sync_json(workspace, capsys, "--dry-run")["broken_links"]
    assert [(b["key"], b["target"]) for b in listed] == [
        ("a.md", "z.md"),
        *(("b.md", f"m{n:02}.md") for n in range(11)),
    ]


def test_a_run_reports_the_documents_it_reads_again_and_not_the_others(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workspace.docs, {"a.md": "# A\n\n[x](x.md)\n", "b.md": "# B\n\n[y](y.md)\n"})
    assert len(sync_json(workspace, capsys)["broken_links"]) == 2
    # b.md changes and still links to nothing; a.md is not read again.
    write(workspace.docs, {"b.md": "# B\n\nNew words. [y](y.md) [w](#w)\n"})
    again = sync_json(workspace, capsys)
    assert again["counts"]["updated"] == 1
    assert again["broken_links"] == entries(
        "b.md", ("link", "y.md", NO_FILE), ("link", "#w", NO_ANCHOR)
    )
    # Mended: the missing file is there now, so a.md's link lands once a.md is read.
    write(workspace.docs, {"x.md": "# X\n"})
    mended = sync_json(workspace, capsys, "--full")
    assert mended["broken_links"] == entries(
        "b.md", ("link", "y.md", NO_FILE), ("link", "#w", NO_ANCHOR)
    )
    html = sent_html(workspace, "a.md")
    assert 'href="https://docs.example.com/x"' in html


def test_the_output_scan_finds_a_link_or_image_that_lands_nowhere_unreported(
    tmp_path: Path,
) -> None:
    # The corpus checks' other half (tests.link_scan.output_links) must be able to fail.
    write(tmp_path, {"a.md": "", "b.md": "", "img/there.png": b"x"})
    site = "https://d.example.com/"
    html = (
        f'<h2 id="s">S</h2><a href="{site}b#s">b</a> <a href="{site}b#gone">b</a> '
        f'<img src="{site}img/there.png"> <img src="{site}img/lost.png"> '
        f'<a href="{site}nowhere">n</a> <a href="https://elsewhere.example/x">x</a>'
    )
    pages = [Sent("a.md", "A", html, f"{site}a"), Sent("b.md", "B", '<p id="s">b</p>', f"{site}b")]
    scan = output_links(pages, site=site, roots=[tmp_path], reported=())
    assert (scan.checked, scan.landed, scan.reported) == (5, 2, 0)
    assert scan.unexplained == (
        f"a.md: link to {site}b#gone lands nowhere, unreported",
        f"a.md: link to {site}nowhere lands nowhere, unreported",
        f"a.md: image to {site}img/lost.png lands nowhere, unreported",
    )
    reported = {
        ("a.md", "link", "b.md#gone", NO_ANCHOR),
        ("a.md", "link", "/nowhere", NO_PAGE),
        ("a.md", "image", "/img/lost.png", NO_FILE),
    }
    scan = output_links(pages, site=site, roots=[tmp_path], reported=reported)
    assert (scan.landed, scan.reported, scan.unexplained) == (2, 3, ())
    # Another page's report, or another kind's, explains nothing.
    elsewhere = {("b.md", kind, target, reason) for _, kind, target, reason in reported}
    assert (
        len(output_links(pages, site=site, roots=[tmp_path], reported=elsewhere).unexplained) == 3
    )


@pytest.mark.parametrize(("setting", "anchors_checked"), [("gfm", True), ("commonmark", False)])
def test_gfm_anchors_are_the_ids_of_tags_and_commonmark_checks_none(
    tmp_path: Path, setting: MarkdownSetting, anchors_checked: bool
) -> None:
    write(
        tmp_path,
        {
            "a.md": "# A\n\n`<b id='code'>` [c](#code) [n](b.md#named) [x](x.md)\n",
            "b.md": '# B\n\n<a name="named"></a>\n',
        },
    )
    site = Site(FolderFiles(tmp_path, max_bytes=1_000_000), setting=setting)
    page = convert_file(
        "a.md",
        (tmp_path / "a.md").read_bytes(),
        url_of=lambda path: f"https://d.example.com/{path}",
        site=site,
    )
    assert isinstance(page, SourcePage)
    missing = (BrokenLink("link", "x.md", NO_FILE),)
    # An id in a code span's text is words, not an id; <a name> is an anchor.
    anchor = (BrokenLink("link", "#code", NO_ANCHOR),) if anchors_checked else ()
    assert page.broken_links == anchor + missing


def test_the_hash_and_the_page_sent_do_not_see_broken_links() -> None:
    document = Document(
        key="a.md",
        version="1",
        external_id="a.md",
        title="A",
        html="<p>a</p>",
        url=None,
        converter_version="x",
        broken_links=(BrokenLink("link", "b.md", NO_FILE),),
    )
    bare = replace(document, broken_links=())
    availability = Availability()
    assert content_hash(document, availability) == content_hash(bare, availability)
    assert Page.of(document, availability) == Page.of(bare, availability)


def test_preview_prints_the_broken_links_on_stderr(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workspace.docs, {"a.md": GFM_PAGE, "c.md": "# C\n\n## Install\n"})
    code = main(["--log-format", "json", "preview", "-c", str(workspace.config), "docs", "a.md"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "<h1" in out
    broken = [line for line in err.splitlines() if line.startswith("broken ")]
    assert broken == [
        "broken link: 'b.md' (no such file in the source)",
        "broken image: 'missing.png' (no such file in the source)",
        "broken link: '../outside.md' (outside the source)",
        "broken link: '#nope' (no such anchor)",
        "broken link: 'c.md#linux' (no such anchor)",
    ]


# ---- an MkDocs site ----------------------------------------------------------------------

MKDOCS_PAGE = (
    "# Page\n\nIntro.\n\n"
    "[gone](gone.md) ![shot](img/none.png) [usage](../usage.md#run) "
    "[bad](../usage.md#nope) [here](#nope) [title](#page)\n\n"
    # Raw HTML is resolved from the page's URL (guide/page/), as the browser does.
    '<p><img src="../../assets/pic.png" alt="found"> <img src="../missing.png" alt="lost"></p>\n'
)
MKDOCS_BROKEN = entries(
    "docs/guide/page.md",
    # The flavour's anchor check (while rendering) first, then the tree's.
    ("link", "../usage.md#nope", NO_ANCHOR),
    ("link", "#nope", NO_ANCHOR),
    ("link", "gone.md", NO_FILE),
    ("image", "img/none.png", NO_FILE),
    ("image", "../missing.png", NO_FILE),
)


def test_an_mkdocs_site_reports_missing_files_images_and_anchors(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    site = tmp_path / "site"
    write(
        site,
        {
            "mkdocs.yml": "site_name: x\nmarkdown_extensions:\n  - toc\n  - attr_list\n",
            "docs/guide/page.md": MKDOCS_PAGE,
            "docs/usage.md": "# Usage\n\n## Run\n",
            "docs/assets/pic.png": b"\x89PNG\r\n",
        },
    )
    configure(
        workspace,
        f"  - name: site\n    type: filesystem\n    path: {site}\n    include: ['**/*.md']\n"
        '    url: https://d.example.com/\n    page_url: "https://d.example.com/{path_stem}"\n',
    )
    assert sync_json(workspace, capsys, "--dry-run")["broken_links"] == MKDOCS_BROKEN
    done = sync_json(workspace, capsys)
    assert done["broken_links"] == MKDOCS_BROKEN
    html = sent_html(workspace, "docs/guide/page.md")
    assert 'src="https://d.example.com/docs/assets/pic.png"' in html
    assert "missing.png" not in html
    assert 'href="https://d.example.com/docs/usage#run"' in html
    assert 'href="https://d.example.com/docs/usage"' in html  # the anchor dropped
    assert "#nope" not in html


# ---- a Docusaurus site -------------------------------------------------------------------

DOCUSAURUS_PAGE = (
    "# Intro\n\n"
    "[gone](./nowhere.md) [route](/docs/nowhere) [usage](./usage.md#run) "
    "[bad](./usage.md#nope) [here](#nope)\n\n"
    "![pic](/img/missing.png) ![logo](/img/logo.png)\n"
)
DOCUSAURUS_BROKEN = entries(
    "docs/intro.md",
    ("link", "./nowhere.md", NO_PAGE),
    ("link", "/docs/nowhere", NO_PAGE),
    ("link", "./usage.md#nope", NO_ANCHOR),
    ("link", "#nope", NO_ANCHOR),
    ("image", "/img/missing.png", NO_FILE),
)


def test_a_docusaurus_site_reports_missing_pages_images_and_anchors(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("syncer.convert.docusaurus")
    site = tmp_path / "site"
    write(
        site,
        {
            "docusaurus.config.js": (
                "export default { title: 'x', url: 'https://d.example.com', baseUrl: '/' };\n"
            ),
            "docs/intro.md": DOCUSAURUS_PAGE,
            "docs/usage.md": "# Usage\n\n## Run\n",
            "static/img/logo.png": b"\x89PNG\r\n",
        },
    )
    configure(
        workspace,
        f"  - name: site\n    type: filesystem\n    path: {site}\n    include: ['docs/**/*.md']\n"
        '    url: https://d.example.com/\n    page_url: "https://d.example.com/{path_stem}"\n',
    )
    planned = sync_json(workspace, capsys, "--dry-run")
    assert planned["broken_links"] == DOCUSAURUS_BROKEN
    assert planned["notes"]["docs/intro.md: link to ./nowhere.md: no such page"] == 1
    done = sync_json(workspace, capsys)
    assert done["broken_links"] == DOCUSAURUS_BROKEN
    html = sent_html(workspace, "docs/intro.md")
    assert "nowhere.md" not in html
    assert 'href="https://d.example.com/docs/usage#run"' in html
    assert "#nope" not in html


# ---- Confluence: a link out of the synced spaces is not broken ---------------------------


@pytest.fixture
def cloud() -> Iterator[FakeConfluence]:
    with FakeConfluence("cloud") as fake:
        yield fake


def test_a_confluence_link_to_a_space_not_synced_stays_a_confluence_link(
    cloud: FakeConfluence, tmp_path: Path
) -> None:
    page = cloud.add_page(
        "SUP",
        "Links",
        body='<p>See <ac:link><ri:page ri:space-key="DEV" ri:content-title="Elsewhere"/>'
        "</ac:link>.</p>",
    )
    connector = connector_for(settings_for(cloud))
    document = fetch_all(connector, connector.list())[str(page.id)]
    assert isinstance(document, Document)
    assert f'href="{cloud.base_url}/display/DEV/Elsewhere"' in document.html
    assert document.broken_links == ()
    runs = Runs(tmp_path)
    try:
        report = runs(settings_for(cloud))
    finally:
        runs.close()
    assert report.status == "succeeded"
    assert report.broken_links == ()
