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
from syncer.hashing import content_hash
from syncer.model import Availability, BrokenLink, Document, Page
from tests.conftest import Workspace
from tests.fakes.confluence import FakeConfluence
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
