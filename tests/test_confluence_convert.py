"""The storage-format converter on real pages (the shared corpus) and on hand-made
fixtures, checked structurally: the HTML is parsed and its elements inspected, never
compared as a string. A hypothesis test feeds it arbitrary nested storage markup."""

from __future__ import annotations

import html.parser
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncer.connectors.confluence.convert import (
    CONVERTER_VERSION,
    Converted,
    PageRef,
    UserRef,
    convert_page,
)
from syncer.connectors.confluence.resolve import FoundPage, SiteResolver, title_key
from syncer.connectors.confluence.site import Site

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "confluence"
BASE = "https://acme.atlassian.net/wiki"
SITE = Site(BASE)
PAGE = PageRef("1001", "DOC", "This page", SITE.document_url("1001", "DOC", "This page"))


class Lookups:
    """Dictionaries behind a SiteResolver, counting every lookup the converter causes."""

    def __init__(
        self,
        pages: Mapping[tuple[str, str], FoundPage] | None = None,
        users: Mapping[UserRef, str] | None = None,
    ) -> None:
        self.pages = {title_key(*key): page for key, page in (pages or {}).items()}
        self.users = dict(users or {})
        self.page_lookups: Counter[tuple[str, str]] = Counter()
        self.user_lookups: Counter[UserRef] = Counter()

    def find_page(self, space: str, title: str) -> FoundPage | None:
        self.page_lookups[title_key(space, title)] += 1
        return self.pages.get(title_key(space, title))

    def find_users(self, refs: list[UserRef]) -> dict[UserRef, str]:
        self.user_lookups.update(refs)
        return {ref: self.users[ref] for ref in refs if ref in self.users}

    def resolver(self, **kwargs: object) -> SiteResolver:
        return SiteResolver(
            SITE,
            find_page=self.find_page,
            find_users=self.find_users,
            **kwargs,  # type: ignore[arg-type]
        )


def corpus(name: str) -> str:
    matches = sorted(CORPUS.glob(f"{name}*.xml"))
    if not matches:
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    return matches[0].read_text(encoding="utf-8")


def convert(storage: str, resolver: SiteResolver | None = None) -> tuple[BeautifulSoup, Converted]:
    done = convert_page(storage, PAGE, resolver or Lookups().resolver())
    assert_well_formed(done.html)
    return BeautifulSoup(done.html, "html.parser"), done


def texts(soup: BeautifulSoup, selector: str) -> list[str]:
    return [" ".join(tag.get_text(" ").split()) for tag in soup.select(selector)]


# ---- well-formedness ----------------------------------------------------------------

VOID = {"br", "hr", "img"}


class _Balance(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if any(value is None for _, value in attrs):
            self.problems.append(f"<{tag}> has an attribute without a value")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def assert_well_formed(text: str) -> None:
    """Every element closed in order, attributes quoted, no namespaced leftovers."""
    checker = _Balance()
    checker.feed(text)
    checker.close()
    assert not checker.problems, checker.problems[:5]
    assert not checker.stack, f"unclosed: {checker.stack}"
    assert not re.search(r"</?(ac|ri|at):", text), "storage elements left in the HTML"


# ---- the whole corpus ---------------------------------------------------------------


@pytest.mark.parametrize("number", [f"{n:03d}" for n in range(1, 41)])
def test_every_corpus_page_converts_to_clean_absolute_html(number: str) -> None:
    soup, done = convert(corpus(number))
    for link in soup.find_all("a"):
        assert re.match(r"(https?|mailto|tel):", link["href"]), link
    for image in soup.find_all("img"):
        assert image["src"].startswith(("https://", "http://")), image
    assert not soup.find(["script", "style", "iframe"])
    assert all(isinstance(count, int) and count > 0 for count in done.notes.values())


def test_code_macros_become_pre_code_with_their_language() -> None:
    soup, _ = convert(corpus("001"))
    blocks = soup.select("pre > code")
    assert len(blocks) == 15  # 14 code-pro + 1 code in the page
    languages = Counter(str(code.get("class") and code["class"][0]) for code in blocks)
    assert languages["language-bash"] == 10
    assert languages["language-xml"] == 1
    assert languages["language-applescript"] == 1
    # CDATA bodies keep their markup characters as text, not as elements.
    assert any("<h1" in code.get_text() or "<div" in code.get_text() for code in blocks)
    assert "${" in " ".join(code.get_text() for code in blocks)


def test_code_titles_defaults_and_unnamed_language() -> None:
    soup, _ = convert(corpus("022"))
    codes = {code.get_text(): code.get("class") for code in soup.select("pre > code")}
    assert codes["select 1"] == ["language-sql"]  # the unnamed default parameter
    java = next(text for text in codes if "Hello World" in text)
    assert codes[java] == ["language-java"]
    assert "Hello World Example" in texts(soup, "p > strong")
    assert codes["int main() {\n    return EXIT_SUCCESS;\n}"] is None

    soup, _ = convert(corpus("040"))
    go = next(c for c in soup.select("pre > code") if "package main" in c.get_text())
    assert go["class"] == ["language-go"]
    assert 'fmt.Println("<hello & goodbye>")' in go.get_text()
    assert "gfs status" in texts(soup, "pre > code")  # a body written without CDATA


def test_code_bodies_keep_fences_and_comment_markers() -> None:
    soup, _ = convert(corpus("037"))
    bodies = [code.get_text() for code in soup.select("pre > code")]
    assert len(bodies) == 14
    assert any("```" in body for body in bodies)
    assert any("-->" in body for body in bodies)
    assert {"language-mermaid", "language-d2"} <= {
        c["class"][0] for c in soup.select("pre > code[class]")
    }


def test_panels_become_headed_blocks() -> None:
    soup, _ = convert(corpus("023"))
    assert texts(soup, "p > strong") == ["Tip: My title", "Note: My title", "Info: My title"]
    heading = soup.find("strong", string="Tip: My title")
    assert isinstance(heading, Tag)
    following = heading.find_next("p")
    assert following is not None
    assert following.get_text() == "Hello tip"

    soup, _ = convert(corpus("038"))
    headings = texts(soup, "p > strong")
    for label in ("Note", "Error", "Info", "Tip", "Warning"):
        assert label in headings
    # A panel holding a list, a task and code keeps all three.
    info = [s for s in soup.find_all("strong") if s.get_text() == "Info"][-1]
    after = info.find_all_next(["li", "code"], limit=3)
    assert [t.get_text().strip() for t in after] == ["list", "[ ] task", "code in a panel"]


def test_cloud_adf_panels_and_decisions() -> None:
    soup, done = convert(corpus("026"))
    assert texts(soup, "p > strong") == ["Note", "Note"]
    assert texts(soup, "p").count("This is a note (woaw) 😯") == 2
    assert done.notes == {"unwrapped Cloud node: imaginarytypeforthetest": 1}

    soup, _ = convert(corpus("038"))
    assert texts(soup, "ul > li")[:2] == [
        "Decision: First decision.",
        "Decision: Second decision with marks .",
    ]


def test_expand_keeps_its_title_and_content() -> None:
    soup, _ = convert(corpus("035"))
    strong = texts(soup, "p > strong")
    assert strong, "the expand title is kept as a heading line"
    ruby = soup.select_one("pre > code.language-ruby")
    assert ruby is not None
    assert ruby.get_text().strip()

    soup, _ = convert(corpus("001"))
    title = soup.find("strong", string=re.compile("Click here to see how to edit cloudy-page.ftl"))
    assert isinstance(title, Tag)
    code = title.find_next("code")
    assert code is not None
    assert "cloudy-page" in soup.get_text()


def test_tables_keep_merged_cells() -> None:
    soup, _ = convert(corpus("006"))
    table = soup.find("table")
    assert isinstance(table, Tag)
    assert table.find("th", colspan="2") is not None
    assert len(table.find_all("td", rowspan="2")) == 2

    soup, _ = convert(corpus("025"))
    assert len(soup.find_all("th", rowspan="2")) == 7
    assert soup.find("th", colspan="7") is not None or soup.find("td", colspan="7") is not None
    assert soup.find(attrs={"rowspan": "2", "colspan": "2"}) is not None
    assert not soup.find("colgroup")


def test_lists_nest_and_headings_survive_inside_them() -> None:
    soup, _ = convert(corpus("016"))
    assert soup.select("ol > li > ol > li")
    assert soup.select("ol > li > h2")
    assert soup.select("blockquote")


def test_tasks_status_and_nested_task_lists() -> None:
    soup, done = convert(corpus("016"))
    task = next(li for li in soup.find_all("li") if "inline status" in li.get_text())
    assert task.get_text().strip().startswith("[ ] ")
    assert "prio 1" in task.get_text()  # the status lozenge is text
    assert task.find("ul") is not None  # the nested task list stays nested
    assert {"dropped macro: mathinline", "dropped macro: pagetree"} <= set(done.notes)

    soup, _ = convert(corpus("028"))
    nested = soup.select("li ul li ul li")
    assert any(li.get_text().strip().startswith("[ ] ") for li in nested)

    soup, _ = convert(corpus("038"))
    assert texts(soup, "li")[-2:] == ["[ ] Open task", "[x] Done task"]
    statuses = " ".join(texts(soup, "p"))
    for colour in ("NEUTRAL", "GREY", "RED", "GREEN", "SUBTLE"):
        assert colour in statuses


def test_mentions_become_display_names_with_one_lookup_per_user() -> None:
    alice, bob = (
        UserRef(userkey="000000005e7f616b01606dc4e2080003"),
        UserRef(userkey="8a24c45f93bbe67901943c7033640000"),
    )
    lookups = Lookups(users={alice: "Alice Adams", bob: "Bob Brown"})
    soup, done = convert(corpus("027"), lookups.resolver())
    text = soup.get_text(" ")
    assert text.count("Alice Adams") == 2
    assert text.count("Bob Brown") == 3
    assert lookups.user_lookups == {alice: 1, bob: 1}
    assert "user not found" not in done.notes

    lookups = Lookups(users={UserRef(username="User1"): "User One"})
    soup, _ = convert(corpus("024"), lookups.resolver())
    assert texts(soup, "li") == [
        "[x] First task completed on 2020-01-01",
        "[ ] Second task assigned to User One deadline on 2020-01-01",
    ]

    account = UserRef(account_id="557058:e1cec712-baf5-4d71-a033-12684497b221")
    soup, done = convert(corpus("038"), Lookups(users={account: "Cloud Carol"}).resolver())
    assert "Cloud Carol" in soup.get_text()
    soup, done = convert(corpus("038"))
    assert "(unknown user)" in soup.get_text()
    assert done.notes["user not found"] == 1


def test_page_links_are_absolute_and_prefer_the_listed_page() -> None:
    resolver = Lookups().resolver(titles={title_key("DOC", "Cockpit"): "4242"})
    soup, _ = convert(corpus("001"), resolver)
    hrefs = {a.get_text(): a["href"] for a in soup.find_all("a")}
    assert hrefs["Cockpit"] == f"{BASE}/spaces/DOC/pages/4242"
    assert hrefs["Magnolia CLI"] == f"{BASE}/display/DOC/Magnolia+CLI"
    assert hrefs["Part A"] == f"{PAGE.url}#A"  # an anchor on this page
    assert hrefs[
        "Installed and started a Magnolia bundle for local development on your machine"
    ] == (
        f"{BASE}/display/DOC/Setting+up+a+Magnolia+bundle+for+local+development"
        "#InstallingthelocalMagnoliabundle"
    )

    soup, _ = convert(corpus("005"))
    cross_space = [a["href"] for a in soup.find_all("a") if "/display/DEV/" in a["href"]]
    assert cross_space == [f"{BASE}/display/DEV/Suggestion+Box"]


def test_attachments_and_images_get_absolute_urls() -> None:
    soup, _ = convert(corpus("001"))
    sources = [img["src"] for img in soup.find_all("img")]
    assert len(sources) == 17
    assert f"{BASE}/download/attachments/1001/cloudy_.gif" in sources
    assert all(src.startswith(f"{BASE}/download/attachments/1001/") for src in sources)
    assert not any(" " in src for src in sources)  # file names with spaces are encoded

    pages = {("DEVOPS", "SomePage"): FoundPage("77", "DEVOPS", "SomePage")}
    lookups = Lookups(pages=pages)
    soup, _ = convert(corpus("032"), lookups.resolver())
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert hrefs == [
        f"{BASE}/download/attachments/1001/SomeImage.png",
        f"{BASE}/download/attachments/1001/SomeImage1.png",
        f"{BASE}/download/attachments/77/SomeImage2.png",
    ]  # the attachment of a page that cannot be found keeps its name, loses its link
    assert "SomeImage3.png" in soup.get_text()
    assert texts(soup, "a")[0] == "Link to a Confluence Attachment"

    soup, _ = convert(corpus("039"))
    assert f"{BASE}/download/attachments/1001/notes.txt" in [a["href"] for a in soup("a")]
    external = [i["src"] for i in soup("img") if "wac-cdn.atlassian.com" in i["src"]]
    assert len(external) == 1


def test_emoticons_become_characters() -> None:
    soup, _ = convert(corpus("017"))
    text = soup.get_text()
    for char in ("🙂", "😮\u200d💨", "🥳", "🧐", "📋", "💭", "✅", "❌", "⚠️", "👍"):
        assert char in text, char
    assert "Legacy image emoticon:⚠️." in texts(soup, "p")

    soup, _ = convert(corpus("011"))
    assert "⚠️" in soup.get_text()


def test_jira_and_unknown_macros_are_dropped_and_counted() -> None:
    soup, done = convert(corpus("018"))
    assert soup.get_text().strip() == ""
    assert done.notes == {"dropped macro: jira": 7, "dropped macro: jiraissues": 1}

    soup, done = convert(corpus("023"))
    assert done.notes["dropped macro: plantuml"] == 1
    assert done.notes["dropped macro: (unnamed)"] == 1
    assert done.notes["dropped macro: children"] == 1
    assert "@startgantt" not in soup.get_text()


def test_wrapping_app_macros_keep_the_content_they_wrap() -> None:
    soup, done = convert(corpus("033"))
    table = soup.find("table")
    assert isinstance(table, Tag)
    assert len(table.find_all("tr")) > 2  # the table the table-filter macro wrapped
    assert done.notes["unwrapped macro: table-filter"] == 1
    assert done.notes["unwrapped macro: align"] == 1
    assert done.notes["dropped macro: toc"] == 1
    assert "lorem ipsum dolor" in soup.get_text()
    assert any(
        a["href"].endswith(".xlsx") or "download/attachments" in a["href"] for a in soup("a")
    )


def test_excerpts_show_unless_hidden() -> None:
    soup, _ = convert(corpus("029"))
    text = soup.get_text(" ")
    assert "I want to reuse" not in text  # both hidden excerpts
    assert "This content is transcluded" in text
    assert soup.select("h2")
    assert soup.select("table")


def test_includes_fetch_their_target_once_and_stop_at_cycles() -> None:
    target = FoundPage(
        "2002",
        "DOC",
        "pagetovalidate",
        storage=(
            "<p>Included body.</p>"
            '<ac:structured-macro ac:name="excerpt"><ac:rich-text-body><p>The excerpt.</p>'
            "</ac:rich-text-body></ac:structured-macro>"
            # The target includes the page that includes it: a cycle.
            '<ac:structured-macro ac:name="include"><ac:parameter ac:name="">'
            '<ac:link><ri:page ri:content-title="This page"/></ac:link>'
            "</ac:parameter></ac:structured-macro>"
        ),
    )
    lookups = Lookups(pages={("DOC", "pagetovalidate"): target})
    soup, done = convert(corpus("019"), lookups.resolver())
    paragraphs = texts(soup, "p")
    assert paragraphs.count("Included body.") == 2  # the block include and the inline one
    assert paragraphs.count("The excerpt.") == 3  # twice inside includes, once by excerpt-include
    assert lookups.page_lookups[title_key("DOC", "pagetovalidate")] == 1
    assert done.notes["include: cycle skipped"] == 2
    assert done.notes["include: target not found"] == 4


def test_excerpt_include_by_name_and_missing_targets() -> None:
    target = FoundPage(
        "3003",
        "DOC",
        "Some Confluence page name",
        storage=(
            '<ac:structured-macro ac:name="excerpt"><ac:parameter ac:name="name">Excerpt Name 1'
            "</ac:parameter><ac:rich-text-body><p>Named one.</p></ac:rich-text-body>"
            '</ac:structured-macro><ac:structured-macro ac:name="excerpt"><ac:rich-text-body>'
            "<p>Unnamed.</p></ac:rich-text-body></ac:structured-macro>"
        ),
    )
    soup, done = convert(corpus("030"), Lookups(pages={("DOC", target.title): target}).resolver())
    paragraphs = texts(soup, "p")
    assert "Named one." in paragraphs
    assert "Unnamed." in paragraphs
    assert done.notes["excerpt-include: no target page"] >= 1
    assert done.notes["excerpt-include: target not found"] >= 1  # the DEF space copy


def test_a_restricted_include_target_is_not_leaked() -> None:
    secret = FoundPage(
        "4004", "DOC", "pagetovalidate", storage="<p>Secret.</p>", restricted="restricted"
    )
    lookups = Lookups(pages={("DOC", "pagetovalidate"): secret})
    resolver = lookups.resolver()
    soup, _ = convert(corpus("019"), resolver)
    assert "Secret." not in soup.get_text()
    assert resolver.notes["include of a read-restricted page skipped"] >= 1
    soup, _ = convert(corpus("019"), lookups.resolver(include_restricted=True))
    assert "Secret." in soup.get_text()


def test_layouts_sections_and_page_properties_keep_their_content() -> None:
    soup, done = convert(corpus("040"))
    text = soup.get_text(" ")
    assert "panel in layout" in text
    assert "table in layout" in text
    assert "Owner" in text
    assert "gfs" in text
    assert "Excerpt text." in text
    for name in ("attachments", "children", "contentbylabel", "detailssummary", "jira"):
        assert done.notes[f"dropped macro: {name}"] == 1, name


def test_storage_quirks_entities_comments_and_empty_lines() -> None:
    storage = (
        "<p>caf&eacute;&nbsp;au&nbsp;lait &amp; more &bogus; AT&T</p><!-- hidden -->"
        '<p class="auto-cursor-target"><br/></p><p>a&#8212;b</p>'
        '<ac:placeholder>Type here</ac:placeholder><ac:inline-comment-marker ac:ref="x">'
        "marked</ac:inline-comment-marker>"
    )
    soup, _ = convert(storage)
    assert [p.get_text() for p in soup("p")] == ["café\xa0au\xa0lait & more &bogus; AT&T", "a—b"]
    assert "hidden" not in soup.get_text()
    assert "Type here" not in soup.get_text()
    assert "marked" in soup.get_text()


def test_converter_version_names_the_normaliser_too() -> None:
    assert CONVERTER_VERSION.startswith("confluence-")
    assert "+html-" in CONVERTER_VERSION


# ---- arbitrary markup ---------------------------------------------------------------

MACROS = [
    "code",
    "info",
    "note",
    "warning",
    "tip",
    "panel",
    "expand",
    "excerpt",
    "include",
    "excerpt-include",
    "status",
    "jira",
    "toc",
    "details",
    "view-file",
    "anything-else",
    "",
]
HTML_TAGS = ["p", "div", "span", "ul", "ol", "li", "table", "tbody", "tr", "td", "th", "h2", "a"]
TEXT = st.lists(
    st.sampled_from([*"ab <>&;\"'#]\n\t\xa0é😀", "&nbsp;", "&amp;", "]]>", "&#0;", "\x00"]),
    max_size=12,
).map("".join)
ATTRIBUTE_VALUE = st.lists(st.sampled_from([*'ab "<&:/#.', "&nbsp;"]), max_size=8).map("".join)


def _element(children: list[str]) -> st.SearchStrategy[str]:
    inner = "".join(children)
    return st.one_of(
        st.builds(lambda t: f"<{t}>{inner}</{t}>", st.sampled_from(HTML_TAGS)),
        st.builds(
            lambda name, value, body: (
                f'<ac:structured-macro ac:name="{name}"><ac:parameter ac:name="title">{value}'
                f'</ac:parameter><ac:parameter ac:name=""><ac:link><ri:page ri:content-title='
                f'"{value}"/></ac:link></ac:parameter><ac:{body}>{inner}</ac:{body}>'
                "</ac:structured-macro>"
            ),
            st.sampled_from(MACROS),
            ATTRIBUTE_VALUE,
            st.sampled_from(["rich-text-body", "plain-text-body"]),
        ),
        st.builds(
            lambda value: (
                f'<ac:link ac:anchor="{value}"><ri:page ri:content-title="{value}"/>'
                f"<ac:link-body>{inner}</ac:link-body></ac:link>"
            ),
            ATTRIBUTE_VALUE,
        ),
        st.just(
            f"<ac:task-list><ac:task><ac:task-status>complete</ac:task-status>"
            f"<ac:task-body>{inner}</ac:task-body></ac:task></ac:task-list>"
        ),
        st.just(
            f'<ac:adf-extension><ac:adf-node type="panel"><ac:adf-content>{inner}'
            "</ac:adf-content></ac:adf-node></ac:adf-extension>"
        ),
        st.builds(
            lambda value: (
                f'<ac:image ac:alt="{value}"><ri:attachment ri:filename="{value}"/>'
                f"</ac:image>{inner}"
            ),
            ATTRIBUTE_VALUE,
        ),
        st.just(f'<ac:emoticon ac:name="smile"/>{inner}'),
        st.just(f"<![CDATA[{inner}]]>"),
        # Broken markup: stray closing tags, unclosed openings, lone prefixes.
        st.sampled_from(["</p>", "<li>", "</ac:rich-text-body>", "<ri:page", "<ac:", "&"]).map(
            lambda broken: broken + inner
        ),
    )


STORAGE = st.recursive(
    TEXT,
    lambda children: st.lists(children, min_size=1, max_size=4).flatmap(_element),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STORAGE)
def test_any_storage_markup_converts_without_error_to_well_formed_html(storage: str) -> None:
    looping = FoundPage("9", "DOC", "x", storage=storage)  # every include includes itself
    resolver = SiteResolver(SITE, find_page=lambda space, title: looping)
    done = convert_page(storage, PAGE, resolver)
    assert_well_formed(done.html)


def test_deep_nesting_is_bounded_not_fatal() -> None:
    storage = "<ul><li>" * 3000 + "deep" + "</li></ul>" * 3000
    storage += '<ac:structured-macro ac:name="info"><ac:rich-text-body>' * 400
    storage += "inner" + "</ac:rich-text-body></ac:structured-macro>" * 400
    done = convert_page(storage, PAGE, Lookups().resolver())
    assert_well_formed(done.html)
