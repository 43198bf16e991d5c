"""The Docusaurus flavour (syncer.convert.docusaurus) on Redux's real documentation, and
its rules one by one, as Docusaurus documents them.

The corpus tests render every doc of ``../shared/corpus/docs/redux`` and scan what Fin
would get (``tests.fidelity``): no generator syntax outside code, callouts in their
shape, fenced code intact, an id on every heading, every internal link and anchor
pointing at a document and heading id that exist (or named in the page's notes), titles
by Docusaurus' rule. The expectations are computed from the Markdown sources with rules
written here from Docusaurus' documentation, not from the renderer's own code.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from syncer.convert import callouts as callout_shape
from syncer.convert.docusaurus import (
    DocusaurusSite,
    doc_page,
    docusaurus_site,
    number_prefix_stripped,
    render_docusaurus,
)
from syncer.convert.flavour import Rendered
from syncer.convert.html import normalise
from syncer.convert.links import document_links
from syncer.convert.markdown import split_front_matter
from syncer.convert.slugger import GithubSlugger, slug
from tests.fidelity import (
    callouts,
    code_blocks,
    fence_problems,
    heading_problems,
    ids,
    parse,
    shape_problems,
    syntax_leaks,
    tab_sets,
    words,
)

REDUX = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "docs" / "redux"


class FolderFiles:
    """A folder as ``SiteFiles``: read-only, nothing outside it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def read(self, path: str) -> bytes | None:
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            return None
        return target.read_bytes()

    def paths(self) -> Iterable[str]:
        return sorted(
            p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()
        )


class MemoryFiles:
    """A few files in memory as ``SiteFiles``."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def read(self, path: str) -> bytes | None:
        text = self.files.get(path)
        return text.encode() if text is not None else None

    def paths(self) -> Iterable[str]:
        return list(self.files)


# ---- the Redux tree ------------------------------------------------------------------


@pytest.fixture(scope="module")
def redux() -> tuple[DocusaurusSite, dict[str, Rendered], dict[str, str]]:
    if not REDUX.is_dir():
        pytest.skip(f"the shared docs corpus is not at {REDUX}")
    site = docusaurus_site(FolderFiles(REDUX))
    sources = {path: (REDUX / path).read_text() for path in site.pages}
    rendered = {path: render_docusaurus(path, text, site) for path, text in sources.items()}
    return site, rendered, sources


def test_the_site_is_read_from_its_config_without_node(
    redux: tuple[DocusaurusSite, dict[str, Rendered], dict[str, str]],
) -> None:
    site, _, _ = redux
    assert site.config_path == "website/docusaurus.config.ts"
    assert (site.base_url, site.route_base_path, site.url) == ("/", "/", "https://redux.js.org")
    assert site.docs_dir == "docs"  # path: '../docs' beside website/
    assert site.static_dirs == ("website/static",)
    assert site.notes == ()
    # Every .md/.mdx under docs/ is a page but the _-prefixed partial.
    on_disk = {p.relative_to(REDUX).as_posix() for p in (REDUX / "docs").rglob("*.md*")}
    assert set(site.pages) == on_disk - {"docs/components/_FundamentalsWarning.mdx"}


def test_routes_follow_docusaurus_rules_on_the_tree(
    redux: tuple[DocusaurusSite, dict[str, Rendered], dict[str, str]],
) -> None:
    site, _, _ = redux
    routes = site.routes_by_path
    assert routes["docs/FAQ.md"] == "/faq"  # front matter id: faq, at the docs root
    assert routes["docs/introduction/README.md"] == "/introduction/"  # README: its folder
    assert routes["docs/usage/index.md"] == "/usage/"  # index: its folder
    assert routes["docs/style-guide/style-guide.md"] == "/style-guide/"  # <folder>/<folder>.md
    assert routes["docs/api/Store.md"] == "/api/store"  # front matter id
    assert site.routes_by_id["api/api-reference"] == "/api/api-reference"
    assert site.page_at_route("/API/API-Reference/") == "docs/api/api-reference.md"


def test_no_generator_syntax_reaches_fin(
    redux: tuple[DocusaurusSite, dict[str, Rendered], dict[str, str]],
) -> None:
    site, rendered, _ = redux
    leaks: list[str] = []
    for path, page in rendered.items():
        leaks += [f"{path}: {leak}" for leak in syntax_leaks(page.html)]
        sent = normalise(
            page.html, base_url="https://redux.js.org/", link_resolver=_resolver(site, path)
        )
        leaks += [f"{path} (sent): {leak}" for leak in syntax_leaks(sent)]
        leaks += [f"{path}: <{name}>" for name in _elements(page.html) - _HTML]
    assert leaks == []


def test_every_admonition_is_a_labelled_block_with_its_body(
    redux: tuple[DocusaurusSite, dict[str, Rendered], dict[str, str]],
) -> None:
    _, rendered, sources = redux
    partial = (REDUX / "docs/components/_FundamentalsWarning.mdx").read_text()
    expected = found = 0
    for path, page in rendered.items():
        assert shape_problems(page.html) == [], path
        uses = len(re.findall(r"<FundamentalsWarning\s*/>", _outside_fences(sources[path])))
        expected += _admonitions(sources[path]) + uses * _admonitions(partial)
        found += len(callouts(page.html))
        for callout in callouts(page.html):
            assert callout.body, (path, callout.label)
    assert found == expected


def test_fenced_code_keeps_its_language_and_line_breaks(
    redux: tuple[DocusaurusSite, dict[str, Rendered], dict[str, str]],
) -> None:
    _, rendered, sources = redux
    problems: list[str] = []
    for path, page in rendered.items():
        # Docusaurus shows code without its magic comments (`// highlight-next-line`).
        shown = _MAGIC.sub("", sources[path])
        problems += [f"{path}: {p}" for p in fence_problems(shown, page.html)]
        assert not any("highlight-next-line" in code for _, code in code_blocks(page.html))
    assert problems == []


def test_every_heading_has_its_docusaurus_id(
    redux: tuple[DocusaurusSite, dict[str, Rendered], dict[str, str]],
) -> None:
    _, rendered, _ = redux
    problems = [
        f"{path}: {p}" for path, page in rendered.items() for p in heading_problems(page.html)
    ]
    assert problems == []
    store = parse(rendered["docs/api/Store.md"].html)
    assert [h["id"] for h in store.find_all("h3")][:2] == ["getstate", "dispatchaction"]


def test_internal_links_and_anchors_point_at_what_exists(
    redux: tuple[DocusaurusSite, dict[str, Rendered], dict[str, str]],
) -> None:
    site, rendered, _ = redux
    page_ids = {path: ids(page.html) for path, page in rendered.items()}
    resolved = 0
    for path, page in rendered.items():
        for href in _hrefs(page.html):
            target, fragment = _target(path, href)
            if target is None:
                continue
            if target == path or target in site.pages:
                resolved += 1
                # Every anchor left is an id of the target's rendering (one the source
                # points at but the target lacks is dropped, and noted).
                assert not fragment or fragment in page_ids[target], (path, href)
            else:
                assert f"link to {href}: no such page" in page.notes, (path, href)
        for note in page.notes:  # what a note says is true of the target's rendering
            broken = re.match(r"link to (\S+): no heading #(\S+) in (\S+)", note)
            if broken:
                where = path if broken[3] == "this" else broken[3]
                assert broken[2] not in page_ids.get(where, set()), note
    assert resolved >= 580  # every one of the 586 internal links of the tree, 2026-08


def test_titles_follow_docusaurus_rule(
    redux: tuple[DocusaurusSite, dict[str, Rendered], dict[str, str]],
) -> None:
    _, rendered, sources = redux
    for path, page in rendered.items():
        front, body = split_front_matter(sources[path])
        first = _first_heading(body)
        content_title = first[1] if first and first[0] == 1 else None
        file_id = number_prefix_stripped(posixpath.splitext(posixpath.basename(path))[0])
        want = front.get("title") or content_title or front.get("id") or file_id
        assert page.title == words(str(want)), path
        h1 = parse(page.html).find("h1")
        if content_title is not None and words(content_title) == page.title:
            assert h1 is None or words(h1.get_text(" ")) != page.title, path


def test_redux_pages_with_components(
    redux: tuple[DocusaurusSite, dict[str, Rendered], dict[str, str]],
) -> None:
    _, rendered, _ = redux
    started = rendered["docs/introduction/GettingStarted.md"]
    assert "dropped component: LiteYouTubeEmbed" in started.notes
    overview = rendered["docs/tutorials/fundamentals/part-1-overview.md"]
    caution = next(c for c in callouts(overview.html) if c.kind == "caution")
    assert "intentionally shows older-style Redux logic patterns" in caution.body  # the partial
    assert '<a href="../essentials/part-1-overview-concepts.md">' in overview.html
    style = rendered["docs/style-guide/style-guide.md"].html
    assert "<strong>Detailed Explanation: Example Folder Structure</strong>" in style


# ---- the slugger: github-slugger's own fixtures ----------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bravoCharlieDelta", "bravocharliedelta"),
        ("heading with a - dash", "heading-with-a---dash"),
        ("heading with an _ underscore", "heading-with-an-_-underscore"),
        ("heading with a period.txt", "heading-with-a-periodtxt"),
        (
            "exchange.bind_headers(exchange, routing [, bindCallback])",
            "exchangebind_headersexchange-routing--bindcallback",
        ),
        (" a ", "-a-"),
        ("apostrophe’s should be trimmed", "apostrophes-should-be-trimmed"),
        ("I ♥ unicode", "i--unicode"),
        ("en–dash", "endash"),
        ("😄 unicode emoji", "-unicode-emoji"),
        ("😄_😄 unicode emoji", "_-unicode-emoji"),
        (":ok_hand: Single", "ok_hand-single"),
        ("Привет non-latin 你好", "привет-non-latin-你好"),
        ("a) ] } ༻ ⁆", "a----"),
        ("aⅠ Ⅱ", "aⅰ-ⅱ"),  # letter numbers stay
        ("a҈ ҉", "a҈-҉"),  # marks stay
        ("a\u2028b", "ab"),  # a line separator goes
        ("Ⓐ circled", "ⓐ-circled"),  # alphabetic symbols stay
    ],
)
def test_slug_follows_github_slugger(text: str, expected: str) -> None:
    assert slug(text) == expected


def test_slugger_counts_repeats_as_github_slugger_does() -> None:
    slugger = GithubSlugger()
    given = [
        slugger.slug(t)
        for t in ("echo", "echo", "echo 1", "echo-1", "echo", "__proto__", "__proto__")
    ]
    assert given == ["echo", "echo-1", "echo-1-1", "echo-1-2", "echo-2", "__proto__", "__proto__-1"]
    again = GithubSlugger()
    assert [again.slug(t) for t in ("foxtrot-1", "foxtrot", "foxtrot")] == [
        "foxtrot-1",
        "foxtrot",
        "foxtrot-2",
    ]


# ---- ids, slugs and routes, as Docusaurus documents them -------------------------------


def test_number_prefixes_are_not_part_of_ids() -> None:
    assert number_prefix_stripped("01-intro") == "intro"
    assert number_prefix_stripped("003 - my doc") == "my doc"
    assert number_prefix_stripped("2021-01-notes") == "2021-01-notes"  # a date, not a prefix
    assert number_prefix_stripped("7.0-release") == "7.0-release"  # a version
    page = doc_page("docs/01-guides/02-hello.md", "01-guides/02-hello.md", {})
    assert (page.id, page.route) == ("guides/hello", "/docs/guides/hello")


@pytest.mark.parametrize(
    ("relative", "front", "route"),
    [
        ("greeting.md", {}, "/docs/greeting"),
        ("guide/hello.md", {}, "/docs/guide/hello"),
        ("guide/hello.md", {"id": "part1"}, "/docs/guide/part1"),  # the id makes the slug
        ("guide/hello.md", {"slug": "/bonjour"}, "/docs/bonjour"),  # absolute slug
        ("guide/hello.md", {"slug": "bonjour"}, "/docs/guide/bonjour"),  # relative slug
        ("guide/hello.md", {"slug": "../bonjour"}, "/docs/bonjour"),
        ("guide/hello.md", {"slug": "/"}, "/docs/"),  # the docs home
        ("guide/index.md", {}, "/docs/guide/"),
        ("guide/README.md", {}, "/docs/guide/"),
        ("Guide/Guide.md", {}, "/docs/Guide/"),  # <folder>/<folder>.md
        ("guide/index.md", {"slug": "start"}, "/docs/guide/start"),  # a slug wins over index
        ("index.md", {}, "/docs/"),
    ],
)
def test_doc_routes(relative: str, front: dict[str, str], route: str) -> None:
    assert doc_page(f"docs/{relative}", relative, front).route == route


def test_routes_take_base_url_and_route_base_path() -> None:
    page = doc_page("docs/a/b.md", "a/b.md", {}, base_url="/site/", route_base_path="/")
    assert (page.id, page.route) == ("a/b", "/site/a/b")
    assert doc_page("docs/a.md", "a.md", {"id": "x"}, route_base_path="guides").route == "/guides/x"


# ---- a small site: config, MDX, components, links --------------------------------------

CONFIG = """
// @ts-check
const path = require('path');
/** @type {import('@docusaurus/types').Config} */
module.exports = {
  title: 'Acme',
  url: 'https://docs.acme.test',
  baseUrl: '/help/',  // served under /help/
  staticDirectories: ['static', 'public'],
  presets: [
    ['classic', /** @type {import('@docusaurus/preset-classic').Options} */ ({
      docs: {
        path: 'content',
        routeBasePath: 'guides',
        sidebarPath: require.resolve('./sidebars.js'),
      },
      blog: false,
    })],
  ],
};
"""

PAGE = """---
id: setup
title: Setting up
---
import Tabs from '@theme/Tabs';
import TabItem from '@theme/TabItem';
import useBaseUrl from '@docusaurus/useBaseUrl';
import Shared from './_shared.mdx';
import {
  PlanFeatureNote,
} from '@site/src/components/Plans';

export const version = '2.0';

{/* a comment for the writers */}

## Install {#install}

<Tabs groupId="os" values={[{label: 'macOS', value: 'mac'}, {label: 'Windows', value: 'win'}]}>
<TabItem value="mac">

```bash title="install.sh"
brew install acme
# highlight-next-line
acme --version
```

</TabItem>
<TabItem value="win" label="Windows (PowerShell)">

```powershell
winget install acme
acme --version
```

</TabItem>
</Tabs>

:::warning[Back up first]

Copy `~/.acme` before you upgrade.

:::

<Admonition type="tip" title="Faster">
Use the **cache**.
</Admonition>

<details>
<summary>Why a cache?</summary>

It saves a download each time.

</details>

<CodeBlock language="js" title="acme.config.js">
{`module.exports = {
  cache: true,
};`}
</CodeBlock>

<img src={useBaseUrl('img/logo.png')} alt="Logo" />
<img src={require('@site/public/img/chart.png').default} alt="Chart" />

Plans: <PlanFeatureNote plan="business" /> and {version} and {'literal text'}.

<Shared />

See [usage](./usage.md#run), [the same by route](/help/guides/guides-usage#run),
[by id](guides-usage), [by slug](/help/guides/start-here), [a download](/files/acme.pdf),
[missing](/help/guides/nowhere), [anchor](#install), [bad anchor](./usage.md#nope)
and [outside](https://example.com/x.md).

## Install {#install-again}

## Configure

## Configure
"""

FILES = {
    "website/docusaurus.config.js": CONFIG,
    "website/content/setup.mdx": PAGE,
    "website/content/_shared.mdx": (
        "Shared text with a [link](usage.md).\n\n:::note\n\nShared note.\n\n:::\n"
    ),
    "website/content/usage.md": "---\nid: guides-usage\n---\n# Usage\n\n## Run\n",
    "website/content/intro/01-start.md": "---\nslug: /start-here\n---\nStart.\n",
    "website/static/img/logo.png": "png",
    "website/public/img/chart.png": "png",
    "website/static/files/acme.pdf": "pdf",
}


@pytest.fixture(scope="module")
def small() -> tuple[DocusaurusSite, Rendered]:
    site = docusaurus_site(MemoryFiles(FILES))
    return site, render_docusaurus("website/content/setup.mdx", PAGE, site)


def test_a_config_is_read_statically(small: tuple[DocusaurusSite, Rendered]) -> None:
    site, _ = small
    assert (site.base_url, site.route_base_path, site.docs_dir) == (
        "/help/",
        "guides",
        "website/content",
    )
    assert site.static_dirs == ("website/static", "website/public")
    assert site.url == "https://docs.acme.test"
    assert site.routes_by_path == {
        "website/content/setup.mdx": "/help/guides/setup",
        "website/content/usage.md": "/help/guides/guides-usage",
        "website/content/intro/01-start.md": "/help/guides/start-here",
    }
    assert site.routes_by_id["intro/start"] == "/help/guides/start-here"


def test_a_value_that_is_code_falls_back_to_the_default_and_says_so() -> None:
    config = (
        "export default { baseUrl: process.env.BASE || '/', "
        "presets: [['classic', {docs: docsOptions}]] }"
    )
    site = docusaurus_site(MemoryFiles({"docusaurus.config.mjs": config, "docs/a.md": "# A\n"}))
    assert site.base_url == "/"
    assert site.routes_by_path == {"docs/a.md": "/docs/a"}
    assert any("baseUrl is not a plain value (process.env.BASE || '/')" in n for n in site.notes)
    assert any("docs options are not a plain value (docsOptions)" in n for n in site.notes)


def test_mdx_leaves_no_code_behind(small: tuple[DocusaurusSite, Rendered]) -> None:
    _, page = small
    assert syntax_leaks(page.html) == []
    text = words(parse(page.html).get_text(" "))
    for code in ("import", "export const", "a comment for the writers", "useBaseUrl", "{version}"):
        assert code not in text
    assert "Plans: and and literal text." in text  # a string literal is its text


def test_tabs_keep_every_tab_under_its_label(small: tuple[DocusaurusSite, Rendered]) -> None:
    _, page = small
    (tab_set,) = tab_sets(page.html)
    assert [label for label, _ in tab_set.tabs] == ["macOS", "Windows (PowerShell)"]
    assert shape_problems(page.html) == []
    blocks = dict(code_blocks(page.html))
    assert blocks["bash"] == "brew install acme\nacme --version\n"  # magic comment gone
    assert blocks["powershell"] == "winget install acme\nacme --version\n"
    assert "<p><code>install.sh</code></p>" in page.html


def test_admonitions_details_and_code_blocks(small: tuple[DocusaurusSite, Rendered]) -> None:
    _, page = small
    found = {c.label: c.body for c in callouts(page.html)}
    assert found["Warning: Back up first"] == "Copy ~/.acme before you upgrade."
    assert found["Tip: Faster"] == "Use the cache ."
    assert found["Note"] == "Shared note."  # from the imported partial
    assert "<summary>Why a cache?</summary>" in page.html
    assert "It saves a download each time." in page.html
    assert dict(code_blocks(page.html))["js"] == "module.exports = {\n  cache: true,\n};\n"
    assert "<p><code>acme.config.js</code></p>" in page.html


def test_images_resolve_to_their_static_files(small: tuple[DocusaurusSite, Rendered]) -> None:
    _, page = small
    assert '<img src="../static/img/logo.png" alt="Logo">' in page.html
    assert '<img src="../public/img/chart.png" alt="Chart">' in page.html


def test_links_become_tree_paths_relative_to_the_page(
    small: tuple[DocusaurusSite, Rendered],
) -> None:
    _, page = small
    hrefs = _hrefs(page.html)
    assert hrefs == [
        "usage.md",  # from the partial, which sits beside the page
        "usage.md#run",
        "usage.md#run",
        "usage.md",
        "intro/01-start.md",
        "../static/files/acme.pdf",
        "/help/guides/nowhere",
        "#install",
        "usage.md",  # its anchor is not there: the page
        "https://example.com/x.md",
    ]
    assert "link to /help/guides/nowhere: no such page" in page.notes
    assert (
        "link to ./usage.md#nope: no heading #nope in website/content/usage.md; linked to the page"
        in page.notes
    )


def test_heading_ids_explicit_first_then_slugs(small: tuple[DocusaurusSite, Rendered]) -> None:
    _, page = small
    headings = [(h["id"], words(h.get_text())) for h in parse(page.html).find_all("h2")]
    assert headings == [
        ("install", "Install"),
        ("install-again", "Install"),
        ("configure", "Configure"),
        ("configure-1", "Configure"),
    ]


def test_title_and_notes(small: tuple[DocusaurusSite, Rendered]) -> None:
    _, page = small
    assert page.title == "Setting up"
    assert page.front["id"] == "setup"
    assert "dropped component: PlanFeatureNote" in page.notes


def test_the_first_h1_is_the_title_and_leaves_the_body() -> None:
    files = {"docs/a.md": "# Alpha *one*\n\nText.\n\n# Second\n", "docs/b.md": "## Not a title\n"}
    site = docusaurus_site(MemoryFiles(files))
    alpha = render_docusaurus("docs/a.md", files["docs/a.md"], site)
    assert alpha.title == "Alpha one"
    assert "<h1" not in alpha.html.split("Text.")[0]
    assert '<h1 id="second">Second</h1>' in alpha.html
    assert render_docusaurus("docs/b.md", files["docs/b.md"], site).title == "b"


def test_detect_format_renders_md_files_as_commonmark() -> None:
    config = "export default { baseUrl: '/', markdown: { format: 'detect' } }"
    text = "# T\n\n<Foo /> stays HTML in .md\n\n    indented code\n"
    site = docusaurus_site(MemoryFiles({"docusaurus.config.js": config, "docs/a.md": text}))
    page = render_docusaurus("docs/a.md", text, site)
    assert site.markdown_format == "detect"
    assert "<pre><code>indented code" in page.html
    assert "dropped component" not in " ".join(page.notes)


def test_callout_labels_say_their_kind(
    redux: tuple[DocusaurusSite, dict[str, Rendered], dict[str, str]],
) -> None:
    _, rendered, _ = redux
    for page in rendered.values():
        for callout in callouts(page.html):
            assert callout.label.startswith(callout_shape.kind_label(callout.kind or "note"))


def test_sidebar_label_labels_the_sidebar_not_the_page() -> None:
    text = (
        "---\nsidebar_label: Short\n---\nimport {\n  A,\n  B,\n} from './x'\n\nNo heading here.\n"
    )
    site = docusaurus_site(MemoryFiles({"docs/guide/02-long-name.md": text}))
    page = render_docusaurus("docs/guide/02-long-name.md", text, site)
    assert page.title == "long-name"  # Docusaurus: title ?? contentTitle ?? baseID
    assert words(parse(page.html).get_text(" ")) == "No heading here."  # the import is gone


# ---- helpers -----------------------------------------------------------------------

_FENCE_LINE = re.compile(r"^\s*(```+|~~~+)")
_ADMONITION_LINE = re.compile(
    r"^\s*:::(note|tip|info|warning|danger|caution|important|success|secondary)\b"
)
_MAGIC = re.compile(r"^[ \t]*//[ \t]*highlight-(?:next-line|start|end)[ \t]*\n", re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML = frozenset(
    {
        *("a", "blockquote", "br", "code", "del", "details", "div", "em", "h1", "h2", "h3"),
        *("h4", "h5", "h6", "hr", "img", "input", "li", "ol", "p", "pre", "s", "section"),
        *("strong", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul", "b"),
        *("i", "span", "sub", "kbd", "iframe"),
    }
)


def _outside_fences(markdown: str) -> str:
    lines, fence = [], None
    for line in markdown.split("\n"):
        match = _FENCE_LINE.match(line)
        if match and (
            fence is None or (match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence))
        ):
            fence = None if fence else match.group(1)
            continue
        if fence is None:
            lines.append(line)
    return "\n".join(lines)


def _admonitions(markdown: str) -> int:
    return sum(1 for line in _outside_fences(markdown).split("\n") if _ADMONITION_LINE.match(line))


def _first_heading(body: str) -> tuple[int, str] | None:
    for line in _outside_fences(body).split("\n"):
        if re.match(r"^\s*(---+|\*\*\*+|___+)\s*$", line):
            return None
        match = _HEADING.match(line)
        if match:
            text = re.sub(r"\s*\{#[^}]*\}$", "", match.group(2))
            return len(match.group(1)), words(re.sub(r"[*_`]", "", text))
    return None


def _elements(html: str) -> set[str]:
    return {tag.name for tag in parse(html).find_all(True)}


def _hrefs(html: str) -> list[str]:
    return [
        str(a["href"])
        for a in parse(html).find_all("a", href=True)
        if not str(a["href"]).startswith("#fn")
    ]


def _target(path: str, href: str) -> tuple[str | None, str]:
    """Where a relative link of the page at ``path`` points in the tree (``None``: outside)."""
    if re.match(r"[a-z][a-z0-9+.-]*:|//", href):
        return None, ""
    link, _, fragment = href.partition("#")
    if not link:
        return path, fragment
    if link.startswith("/"):
        return link, fragment  # left as written: not a tree path
    return posixpath.normpath(posixpath.join(posixpath.dirname(path), link)), fragment


def _resolver(site: DocusaurusSite, path: str) -> Callable[[str], str | None]:
    return document_links(
        path,
        lambda p: (
            f"https://redux.js.org{site.routes_by_path[p]}" if p in site.routes_by_path else None
        ),
    )
