"""The flavour seam and the MkDocs flavour on small real trees: detection, the safe
reading of ``mkdocs.yml``, includes confined to the tree, titles, links to nothing, the
commonmark flavour, the render stamp, and ``syncer preview`` for files and git."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncer.cli import main
from syncer.connectors.filesystem import FilesystemConnector, FilesystemSettings
from syncer.connectors.filesystem.site_files import FolderFiles, parent_config
from syncer.convert.mkdocs_config import Opaque, load_yaml, parse_config
from syncer.convert.site import Site, detect
from syncer.convert.source_file import Page, convert_file
from syncer.model import Document, Stub
from tests import fidelity
from tests.test_git_support import GitRepo

MKDOCS_YML = """\
site_name: Test
nav:
  - Start here: index.md
  - guide/setup.md
markdown_extensions:
  - admonition
  - attr_list
  - abbr
  - footnotes
  - pymdownx.details
  - pymdownx.superfences
  - pymdownx.tabbed:
      alternate_style: true
  - pymdownx.snippets:
      base_path: [snippets]
  - pymdownx.emoji:
      emoji_index: !!python/name:material.extensions.emoji.twemoji
      emoji_generator: !!python/name:material.extensions.emoji.to_svg
  - toc:
      permalink: true
      slugify: !!python/object/apply:pymdownx.slugs.slugify {kwds: {case: lower}}
  - markdown_include.include:
      base_path: docs
  - material.extensions.preview
  - my_company.secret_extension
extra:
  key: !ENV [ANALYTICS_KEY, none]
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def site_of(root: Path, **fields: str) -> Site:
    return Site(FolderFiles(root, max_bytes=1_000_000), **fields)  # type: ignore[arg-type]


def page(root: Path, path: str, site: Site | None = None) -> Page:
    site = site or site_of(root)
    result = convert_file(
        path,
        (root / path).read_bytes(),
        url_of=lambda p: f"https://d.example.com/{p.removesuffix('.md')}",
        site=site,
    )
    assert isinstance(result, Page)
    return result


def test_python_tags_load_as_opaque_values_and_nothing_is_imported() -> None:
    data = load_yaml(MKDOCS_YML)
    emoji = data["markdown_extensions"][8]["pymdownx.emoji"]
    assert emoji["emoji_index"] == Opaque("python/name", "material.extensions.emoji.twemoji", "")
    assert data["extra"]["key"] == Opaque("!ENV", "", ["ANALYTICS_KEY", "none"])
    config = parse_config(MKDOCS_YML)
    assert config.nav == {"index.md": "Start here"}
    assert [name for name, _ in config.extensions][:3] == ["toc", "tables", "fenced_code"]
    assert parse_config("nav: [unclosed").problems  # bad YAML is a note, not an error


def test_detection_nearest_config_first(tmp_path: Path) -> None:
    write(tmp_path, {"mkdocs.yml": "site_name: x\n", "docs/a.md": "# A\n"})
    files = FolderFiles(tmp_path, max_bytes=1000)
    assert detect(files, "docs") == ("mkdocs", "mkdocs.yml")
    write(tmp_path, {"docs/website/docusaurus.config.ts": "export default {}\n"})
    assert detect(files, "docs") == ("docusaurus", "docs/website/docusaurus.config.ts")
    assert detect(FolderFiles(tmp_path / "docs" / "website", max_bytes=9), "") == (
        "docusaurus",
        "docusaurus.config.ts",
    )
    other = write(tmp_path / "plain", {"a.md": "# A\n"})
    assert detect(FolderFiles(other, max_bytes=1000), "") == ("gfm", None)


def test_a_docs_folder_reads_mkdocs_yml_above_it_only_when_it_is_the_docs_dir(
    tmp_path: Path,
) -> None:
    write(tmp_path, {"mkdocs.yml": "docs_dir: docs\n", "docs/a.md": "# A\n", "other/b.md": ""})
    assert set(parent_config(tmp_path / "docs")) == {"../mkdocs.yml"}
    assert parent_config(tmp_path / "other") == {}
    # Nothing else above the folder is ever read, not even through a snippet path.
    files = FolderFiles(tmp_path / "docs", max_bytes=1000)
    assert files.read("../mkdocs.yml") is None
    assert files.read("a.md") == b"# A\n"


def test_mkdocs_page_in_the_project_shapes(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "mkdocs.yml": MKDOCS_YML,
            "snippets/note.md": "Snippet text.\n",
            "snippets/loop.md": '--8<-- "loop.md"\n',
            "docs/shared.md": "Included text.\n",
            "docs/index.md": (
                "---\ntitle: From front matter\n---\n"
                "# Start here\n\n"
                '!!! warning "Back up"\n\n    Body of the warning.\n\n'
                '??? tip "More"\n\n    Hidden tip.\n\n'
                '=== "TOML"\n\n    ``` toml\n    a = 1\n    b = 2\n    ```\n\n'
                '=== "CLI"\n\n    Run it.\n\n'
                "## Set up { #custom-id }\n\n"
                "Uses HTML[^1] :smile: :material-check: ok.\n\n"
                '--8<-- "note.md"\n\n--8<-- "loop.md"\n\n--8<-- "../../etc/passwd"\n\n'
                "{!shared.md!}\n\n{!missing.md!}\n\n"
                "::: my_module.MyClass\n    options:\n      show: true\n\n"
                "```\n::: kept.inside.code\n```\n\n"
                "[gone](nowhere.md) and [self](#custom-id) and [bad](#nope)\n\n"
                "*[HTML]: Hyper Text Markup Language\n\n[^1]: The footnote.\n"
            ),
        },
    )
    result = page(tmp_path, "docs/index.md")
    assert result.title == "Start here"  # nav first, then front matter, then the H1
    html = result.html
    assert "<h1" not in html  # the H1 repeats the title
    assert fidelity.shape_problems(html) == []
    assert fidelity.syntax_leaks(html) == []
    (warning, tip) = fidelity.callouts(html)
    assert (warning.label, warning.body) == ("Warning: Back up", "Body of the warning.")
    assert (tip.label, tip.body) == ("Tip: More", "Hidden tip.")
    (tabs,) = fidelity.tab_sets(html)
    assert [label for label, _ in tabs.tabs] == ["TOML", "CLI"]
    assert ("toml", "a = 1\nb = 2") in fidelity.code_blocks(html)
    assert '<h2 id="custom-id">Set up</h2>' in html
    assert '<abbr title="Hyper Text Markup Language">HTML</abbr>' in html
    assert "😄" in html
    assert "material-check" not in html
    assert "Snippet text." in html
    assert "Included text." in html
    assert "::: kept.inside.code" in html
    assert "my_module" not in html
    assert 'href="https://d.example.com/docs/index#custom-id"' in html
    notes = " | ".join(result.notes)
    for expected in (
        "snippet '../../etc/passwd' is not in the source",
        "include 'missing.md' is not in the source",
        "'::: identifier' API block",
        "link to 'nowhere.md': no such file in the source",
        "link to '#nope': no such anchor on that page",
    ):
        assert expected in notes, (expected, notes)
    site = site_of(tmp_path)
    page(tmp_path, "docs/index.md", site)
    site_notes = " | ".join(site.notes())
    assert "material.extensions.preview not loaded" in site_notes
    assert "my_company.secret_extension not loaded" in site_notes
    assert "index material.extensions.emoji.twemoji replaced" in site_notes


def test_mkdocs_title_rule(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "mkdocs.yml": MKDOCS_YML,
            "docs/guide/setup.md": "Intro first.\n\n# Not the title\n",
            "docs/guide/front.md": "---\ntitle: Front\n---\n# Front\n\nText.\n",
            "docs/guide/only.md": "# Only a heading\n",
        },
    )
    site = site_of(tmp_path)
    # Not opening with an H1, no nav title, no front matter: the file's name.
    assert page(tmp_path, "docs/guide/setup.md", site).title == "Setup"
    front = page(tmp_path, "docs/guide/front.md", site)
    assert (front.title, "<h1" in front.html) == ("Front", False)
    assert "Only a heading" in page(tmp_path, "docs/guide/only.md", site).html


def test_files_outside_docs_dir_are_gfm_and_commonmark_is_plain(tmp_path: Path) -> None:
    write(tmp_path, {"mkdocs.yml": "site_name: x\n", "README.md": "| a |\n|---|\n| 1 |\n"})
    assert "<table>" in page(tmp_path, "README.md").html
    plain = page(tmp_path, "README.md", site_of(tmp_path, setting="commonmark"))
    assert "<table>" not in plain.html


def test_the_render_stamp_moves_with_mkdocs_yml_and_a_no_op_reads_nothing(
    tmp_path: Path,
) -> None:
    write(tmp_path, {"mkdocs.yml": "site_name: x\n", "docs/a.md": "# A\n"})
    settings = FilesystemSettings.model_validate(
        {"name": "d", "type": "filesystem", "path": str(tmp_path)}
    )
    before = FilesystemConnector(settings).list().stubs
    assert FilesystemConnector(settings).list().stubs == before  # stable
    (tmp_path / "mkdocs.yml").write_text("site_name: x\nnav:\n  - A: a.md\n")
    after = FilesystemConnector(settings).list().stubs
    assert [s.version.split("@")[0] for s in after] == [s.version.split("@")[0] for s in before]
    assert after != before
    commonmark = settings.model_copy(update={"markdown": "commonmark"})
    assert FilesystemConnector(commonmark).list().stubs != after


def test_preview_prints_one_document_of_a_filesystem_and_a_git_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(tmp_path / "repo")
    write(repo.path, {"mkdocs.yml": MKDOCS_YML, "docs/index.md": "# Hi\n\n[x](gone.md)\n"})
    repo.commit()
    config = tmp_path / "syncer.yaml"
    config.write_text(
        "intercom:\n  token: t\nstore:\n  url: sqlite:///" + str(tmp_path / "s.db") + "\n"
        "sources:\n"
        f"  - name: files\n    type: filesystem\n    path: {repo.path}\n"
        "    url: https://f.example.com/\n"
        f"  - name: repo\n    type: git\n    repo: {repo.path}\n    subpath: docs\n"
        f"    url: https://g.example.com/\n    cache_dir: {tmp_path / 'cache'}\n"
    )
    for source, key in (("files", "docs/index.md"), ("repo", "docs/index.md")):
        assert main(["--log-format", "json", "preview", "-c", str(config), source, key]) == 0
        out, err = capsys.readouterr()
        # nav titles it "Start here": the H1 says something else, so it stays.
        assert '<h1 id="hi">Hi</h1>' in out
        assert "[x]" not in out
        assert "title: Start here" in err
        assert "note: link to 'gone.md': no such file in the source" in err
        assert "my_company.secret_extension not loaded" in err
    code = main(["--log-format", "json", "preview", "-c", str(config), "repo", "docs/indx.md"])
    assert code == 2
    assert "did you mean docs/index.md" in capsys.readouterr().err


def test_links_to_nothing_are_in_the_dry_run_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "docs", {"a.md": "# A\n\n[b](b.md) ![pic](missing.png)\n"})
    config = tmp_path / "syncer.yaml"
    config.write_text(
        "intercom:\n  token: t\nstore:\n  url: sqlite:///" + str(tmp_path / "s.db") + "\n"
        f"sources:\n  - name: d\n    type: filesystem\n    path: {tmp_path / 'docs'}\n"
        "    url: https://d.example.com/\n"
    )
    assert main(["--log-format", "json", "sync", "--dry-run", "--json", "-c", str(config)]) == 0
    notes = json.loads(capsys.readouterr().out)["sources"][0]["notes"]
    assert notes == {
        "a.md: image to 'missing.png': no such file in the source, left out": 1,
        "a.md: link to 'b.md': no such file in the source, left out": 1,
    }


def test_a_git_site_reads_its_config_from_the_repository_root(tmp_path: Path) -> None:
    from syncer.connectors.git import GitConnector, GitSettings

    repo = GitRepo(tmp_path / "repo")
    write(repo.path, {"mkdocs.yml": MKDOCS_YML, "snippets/note.md": "Snip.\n"})
    write(repo.path, {"docs/index.md": '# Hi\n\n--8<-- "note.md"\n'})
    repo.commit()
    settings = GitSettings.model_validate(
        {"name": "g", "type": "git", "repo": str(repo.path), "subpath": "docs"}
    )
    connector = GitConnector(settings, tmp_path / "cache")
    (stub,) = connector.list().stubs
    (document,) = connector.fetch([Stub(stub.key, stub.version)])
    assert isinstance(document, Document)
    assert document.title == "Start here"
    assert "Snip." in document.html
    assert connector.blobs_read == 1  # the page; the config and snippet come from the tree
