"""The two real documentation trees of ``../shared/corpus/docs/``, synced into the fake
Intercom through a git source and through a filesystem source, and what Fin got scanned
as a whole (``tests.fidelity.scan_tree``): no generator syntax outside code, every
callout and tab a labelled block with its body, every fenced block with its language
and line breaks, every heading with an id, every internal link and anchor landing on a
page and id that exist, and titles by the generator's own rule (``tests.docs_trees``).

The only pages a link may not land on are the ones the source itself leaves empty
(MkDocs Material's ``insiders/index.md`` is a redirect with no body, so it is not sent):
those are counted apart, by rule, not listed by name.

What a run reports as broken links (``broken_links`` in ``--json``) is exactly what the
tree's own links, read from its Markdown by each generator's rule, find missing
(``tests.link_scan``): no link reported that lands, none that does not land left out.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from syncer.cli import main
from tests import docs_trees, fidelity, link_scan
from tests.conftest import Workspace
from tests.test_git_support import GitRepo

SITE = "https://docs.example.com/"


def sync(space: Workspace, capsys: pytest.CaptureFixture[str], source: str) -> dict:  # type: ignore[type-arg]
    space.config.write_text(
        f"intercom:\n  token: ${{TEST_INTERCOM_TOKEN}}\n  base_url: {space.fake.url}\n"
        f"store:\n  url: sqlite:///{space.root / 'store.db'}\n"
        f"sources:\n{source}"
    )
    code = main(["--log-format", "json", "sync", "--json", "-c", str(space.config)])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["exit_code"] == code, err
    return report  # type: ignore[no-any-return]


def sent(space: Workspace, prefix: str = "") -> list[fidelity.Sent]:
    return [
        fidelity.Sent(prefix + page["external_id"], page["title"], page["html"], page.get("url"))
        for page in space.fake.pages()
    ]


def scanned(
    pages: list[fidelity.Sent], root: Path, title_of: Callable[[str], str], failed: set[str]
) -> fidelity.Scan:
    scan = fidelity.scan_tree(
        pages, lambda path: (root / path).read_text(encoding="utf-8"), site=SITE, title_of=title_of
    )
    # A link to a page the source leaves empty lands nowhere in Fin: counted apart.
    unsent = tuple(f"{SITE}{path.rsplit('.', 1)[0]} " for path in failed)
    scan.found["links to pages not sent"] = [
        line for line in scan.found["links"] if any(f"link to {url}" in line for url in unsent)
    ]
    scan.found["links"] = [
        line for line in scan.found["links"] if line not in scan.found["links to pages not sent"]
    ]
    return scan


def _empty(result: dict) -> set[str]:  # type: ignore[type-arg]
    """The pages left out for having nothing to send (a redirect page): the only ones
    that may be missing. No page fails."""
    assert result["failed"] == [], result["failed"]
    excluded = result["excluded"]
    assert all(e["reason"].endswith("nothing to send") for e in excluded), excluded
    return {e["key"] for e in excluded}


def _assert_clean(scan: fidelity.Scan) -> None:
    problems = {k: v for k, v in scan.problems().items() if k != "links to pages not sent"}
    assert problems == {}, json.dumps(problems, indent=1)[:4000]


def _broken_links(
    result: dict,  # type: ignore[type-arg]
    pages: list[fidelity.Sent],
    tree: Path,
    rule: link_scan.Rule,
    failed: set[str],
) -> Counter[str]:
    """The run's broken links, held to the scan of the tree's own links: equal sets, each
    reported once; how many there are of each reason."""
    reported = [(b["key"], b["kind"], b["target"], b["reason"]) for b in result["broken_links"]]
    assert len(set(reported)) == len(reported)
    found = link_scan.broken_links(pages, tree, rule, unsent=failed)
    assert set(reported) - found == set()  # nothing reported that lands
    assert found - set(reported) == set()  # nothing that does not land left unsaid
    return Counter(reason for _, _, _, reason in reported)


def _landed(
    result: dict,  # type: ignore[type-arg]
    pages: list[fidelity.Sent],
    roots: list[Path],
    failed: set[str],
) -> dict[str, int]:
    """Every link and image into the site in what Fin got lands on a page and id, or a
    file of the tree, or is a broken link the run reported for its page: how many of
    each (``link_scan.output_links``)."""
    reported = {(b["key"], b["kind"], b["target"], b["reason"]) for b in result["broken_links"]}
    unsent = {f"{SITE}{path.rsplit('.', 1)[0]}" for path in failed}
    scan = link_scan.output_links(pages, site=SITE, roots=roots, reported=reported, unsent=unsent)
    assert scan.unexplained == (), "\n".join(scan.unexplained[:40])
    return {
        "checked": scan.checked,
        "landed": scan.landed,
        "to pages not sent": scan.to_unsent,
        "reported": scan.reported,
    }


# ---- MkDocs Material's own documentation ------------------------------------------------

MKDOCS_LANDED = {"checked": 1217, "landed": 1213, "to pages not sent": 4, "reported": 0}


def _mkdocs_title(prefix: str) -> Callable[[str], str]:
    root = docs_trees.tree(docs_trees.MKDOCS)
    nav = docs_trees.nav_titles(root / "mkdocs.yml")
    return lambda path: docs_trees.mkdocs_title(root / "docs", path.removeprefix(prefix), nav)


def test_mkdocs_material_through_git(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    docs_trees.copy_tree(docs_trees.MKDOCS, repo.path)
    repo.commit("the docs")
    source = (
        f"  - name: material\n    type: git\n    repo: {repo.path}\n    subpath: docs\n"
        f"    url: {SITE}\n    include: ['**/*.md']\n"
        f'    page_url: "{SITE}{{path_stem}}"\n    cache_dir: {tmp_path / "cache"}\n'
    )
    report = sync(workspace, capsys, source)
    (result,) = report["sources"]
    failed = _empty(result)
    assert result["counts"]["created"] == len(workspace.fake.pages()) > 90
    # What the site's config could not follow is said once, for the site.
    notes = result["notes"]
    assert any(n.startswith("mkdocs.yml: pymdownx.emoji index material.") for n in notes)
    assert any("no such anchor on that page" in n for n in notes)

    scan = scanned(sent(workspace), repo.path, _mkdocs_title("docs/"), failed)
    _assert_clean(scan)
    rule = link_scan.mkdocs_rule(repo.path, "docs")
    # 41 anchors its headings get from Material's own hook, not from Markdown
    # (#### <!-- md:setting config.archive -->), 3 to sections gone (#advanced-settings).
    assert _broken_links(result, sent(workspace), repo.path, rule, failed) == {"no such anchor": 44}
    # Every link and image Fin got lands, but the 4 to the page the source leaves empty.
    assert _landed(result, sent(workspace), [repo.path], failed) == MKDOCS_LANDED
    pages = {page.path: page for page in sent(workspace)}
    admonitions = pages["docs/reference/admonitions.md"]
    assert admonitions.title == "Admonitions"  # nav: "Admonitions: reference/admonitions.md"
    assert len(fidelity.callouts(admonitions.html)) > 10
    tabs = pages["docs/reference/content-tabs.md"]
    assert len(fidelity.tab_sets(tabs.html)) >= 4

    _assert_no_op(workspace, capsys, source, result, failed)


def _assert_no_op(
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    source: str,
    first: dict,  # type: ignore[type-arg]
    empty: set[str],
) -> None:
    """Nothing moved: no file is read again (a page with nothing to send included: it is
    remembered at its version), nothing is written."""
    mark = len(workspace.fake.calls)
    again = sync(workspace, capsys, source)["sources"][0]
    assert again["counts"]["created"] == again["counts"]["updated"] == 0
    assert again["counts"]["unchanged"] == first["counts"]["created"]
    # Read again, a page would be planned (updated, unchanged after reading, excluded).
    assert again["excluded"] == []
    assert again["failed"] == []
    assert set(again["excluded_before"]) == empty
    assert again["broken_links"] == []  # nothing read again, nothing reported
    assert not [call for call in workspace.fake.calls[mark:] if call.write]


def test_mkdocs_material_through_a_filesystem_source_of_its_docs_folder(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # The common layout: the source is the checkout's docs/, mkdocs.yml sits just above
    # it. That one file is read from the parent; the includes/ beside docs/ are not.
    root = docs_trees.tree(docs_trees.MKDOCS)
    source = (
        f"  - name: material\n    type: filesystem\n    path: {root / 'docs'}\n"
        f"    url: {SITE}\n    include: ['**/*.md']\n"
        f'    page_url: "{SITE}{{path_stem}}"\n'
    )
    report = sync(workspace, capsys, source)
    (result,) = report["sources"]
    failed = _empty(result)
    notes = result["notes"]
    assert any("snippet 'includes/mkdocs.md' is not in the source" in n for n in notes)

    scan = scanned(sent(workspace), root / "docs", _mkdocs_title(""), failed)
    _assert_clean(scan)
    # Raw HTML's images (../../assets/ from setup/x/) land, from the page's URL.
    rule = link_scan.mkdocs_rule(root / "docs")
    assert _broken_links(result, sent(workspace), root / "docs", rule, failed) == {
        "no such anchor": 44
    }
    assert _landed(result, sent(workspace), [root / "docs"], failed) == MKDOCS_LANDED
    _assert_no_op(workspace, capsys, source, result, failed)


# ---- Redux's Docusaurus documentation ---------------------------------------------------


def test_redux_through_git_and_a_filesystem_source(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("syncer.convert.docusaurus")
    root = docs_trees.tree(docs_trees.REDUX)
    repo = GitRepo(tmp_path / "repo")
    docs_trees.copy_tree(docs_trees.REDUX, repo.path)
    repo.commit("the docs")
    docs = root / "docs"

    def title_of(path: str) -> str:
        return docs_trees.docusaurus_title(docs, path.removeprefix("docs/"))

    for source in (
        f"  - name: redux\n    type: git\n    repo: {repo.path}\n    subpath: docs\n"
        f"    url: {SITE}\n    include: ['**/*.md', '**/*.mdx']\n    exclude: ['**/_*']\n"
        f'    page_url: "{SITE}{{path_stem}}"\n    cache_dir: {tmp_path / "cache"}\n',
        f"  - name: redux\n    type: filesystem\n    path: {root}\n    markdown: docusaurus\n"
        f"    url: {SITE}\n    include: ['docs/**/*.md', 'docs/**/*.mdx']\n"
        f"    exclude: ['**/_*']\n"
        f'    page_url: "{SITE}{{path_stem}}"\n',
    ):
        workspace.fake.reset()
        (workspace.root / "store.db").unlink(missing_ok=True)
        report = sync(workspace, capsys, source)
        (result,) = report["sources"]
        failed = _empty(result)
        scan = scanned(sent(workspace), repo.path, title_of, failed)
        _assert_clean(scan)
        # The images are in website/static/, which the corpus does not hold.
        rule = link_scan.docusaurus_rule(root)
        assert _broken_links(result, sent(workspace), root, rule, failed) == {
            "no such anchor": 24,
            "no such file in the source": 49,
        }
        # The 49 images stay URLs on the site (/img/x.png), each one reported.
        assert _landed(result, sent(workspace), [root], failed) == {
            "checked": 635,
            "landed": 586,
            "to pages not sent": 0,
            "reported": 49,
        }
