"""The converters: Markdown, front matter, HTML main content, the normaliser, plain text.

Structure is checked by parsing the output with bs4, not by comparing strings, except
where byte-identical output is the point (determinism).
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup, Tag
from hypothesis import example, given, settings
from hypothesis import strategies as st

from syncer.convert import serialise
from syncer.convert.html import first_heading, main_content, normalise, page_title
from syncer.convert.links import document_links
from syncer.convert.markdown import render_markdown, render_markdown_ids, split_front_matter
from syncer.convert.site import ids_in
from syncer.convert.source_file import (
    EMPTY_FILE,
    NOTHING_LEFT,
    Page,
    Skipped,
    convert_file,
    decode_text,
)
from syncer.convert.text import text_to_html
from syncer.convert.titles import title_from_path


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "lxml")


def tag(parsed: BeautifulSoup, name: str) -> Tag:
    found = parsed.find(name)
    assert isinstance(found, Tag), f"no <{name}> in {parsed}"
    return found


# --- Markdown -------------------------------------------------------------------------

MARKDOWN = """\
# Getting started

Some *emphasis* and ~~struck~~ text.

| Name | Value |
|------|------:|
| a    | 1     |
| b    | 2     |

```python
def hello():
    return "<b>"
```

1. first
2. second
   - nested
"""


def test_markdown_renders_tables_code_lists_and_strikethrough() -> None:
    parsed = soup(render_markdown(MARKDOWN))
    assert tag(parsed, "h1").get_text() == "Getting started"
    assert tag(parsed, "s").get_text() == "struck"
    rows = tag(parsed, "table").find_all("tr")
    assert [[cell.get_text() for cell in row.find_all(["th", "td"])] for row in rows] == [
        ["Name", "Value"],
        ["a", "1"],
        ["b", "2"],
    ]
    code = tag(parsed, "code")
    assert code.get("class") == ["language-python"]
    assert 'return "<b>"' in code.get_text()
    ordered = tag(parsed, "ol")
    assert [li.find(string=True).strip() for li in ordered.find_all("li", recursive=False)] == [
        "first",
        "second",
    ]
    assert tag(ordered, "ul").get_text(strip=True) == "nested"


def test_front_matter_is_split_from_the_body() -> None:
    front, body = split_front_matter("---\ntitle: Hello\ndraft: false\ntags: [a, b]\n---\n# Body\n")
    assert front == {"title": "Hello", "draft": False, "tags": ["a", "b"]}
    assert body == "# Body\n"


def test_no_front_matter_leaves_the_text_alone() -> None:
    assert split_front_matter("# Title\n---\nx: 1\n---\n") == ({}, "# Title\n---\nx: 1\n---\n")
    assert split_front_matter("---\n---\nbody") == ({}, "body")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("---\ntitle: x\n# never closed\n", "never closed"),
        ("---\ntitle: [unclosed\n---\nbody\n", "not valid YAML"),
        ("---\ntitle: a\n  bad: indent\n---\n", "on line 3"),
        ("---\n- a\n- b\n---\nbody\n", "not a YAML list"),
        ("---\njust a string\n---\nbody\n", "not a YAML str"),
        ("---\ndate: 2024-13-45\n---\nbody\n", "not valid YAML"),
    ],
)
def test_malformed_front_matter_is_a_clear_value_error(text: str, expected: str) -> None:
    with pytest.raises(ValueError, match="front matter") as raised:
        split_front_matter(text)
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


# --- HTML main content ----------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head><title>  Page   title </title><style>p{}</style><script>var x</script></head>
<body>
<header><a href="/">Logo</a><h1>Site name</h1></header>
<nav><ul><li>Menu</li></ul></nav>
<main>
  <article>
    <header><h1>The article</h1></header>
    <p>Body text <script>evil()</script></p>
    <aside>Related</aside>
    <form><input name="q"><button>Go</button></form>
    <noscript>enable js</noscript>
    <iframe src="https://x.example.com"></iframe>
    <svg><text>drawn</text></svg>
    <div hidden>secret</div>
  </article>
</main>
<footer>Copyright</footer>
</body></html>"""


def test_main_content_keeps_the_article_and_drops_the_furniture() -> None:
    content = main_content(PAGE)
    text = soup(content).get_text(" ", strip=True)
    assert "The article" in text
    assert "Body text" in text
    for gone in ("Logo", "Site name", "Menu", "Related", "Go", "enable js", "drawn"):
        assert gone not in text, gone
    assert "Copyright" not in text
    assert "secret" not in text
    parsed = soup(content)
    for name in ("script", "style", "nav", "aside", "form", "iframe", "svg", "noscript"):
        assert parsed.find(name) is None, name


def test_main_content_falls_back_to_role_main_a_lone_article_then_body() -> None:
    assert "kept" in main_content('<div role="main">kept</div><div>other</div>')
    assert "other" not in main_content('<div role="main">kept</div><div>other</div>')
    assert "other" not in main_content("<article>kept</article><p>other</p>")
    both = main_content("<article>one</article><article>two</article><nav>menu</nav>")
    assert "one" in both
    assert "two" in both
    assert "menu" not in both


def test_page_title_and_first_heading() -> None:
    assert page_title(PAGE) == "Page title"
    assert page_title("<p>no title</p>") is None
    assert first_heading("<p>x</p><h2>  Second <em>level</em></h2><h1>First</h1>") == "Second level"
    assert first_heading("<h1> </h1><h3>Real</h3>") == "Real"
    assert first_heading("<p>none</p>") is None


@pytest.mark.parametrize(
    ("page", "heading"),
    [
        ("<p>x</p><h2>  Second <em>level</em></h2><h1>First</h1>", "Second level"),
        ("<h1> </h1><h3>Real</h3>", "Real"),
        ("<p>none</p>", None),
        ("<h1>Fish &amp; <code>&lt;chips&gt;</code></h1>", "Fish & <chips>"),
        ('<h2>Logo <img alt="the logo"> here</h2>', "Logo the logo here"),  # alt in its place
        ('<h2>Logo <img src="https://x.example/l.png" alt="the logo"> here</h2>', "Logo here"),
        ("<pre><h1>in code</h1></pre><h1>After</h1>", "in code"),
        ("<h1><div>a block</div> and text</h1>", "a block and text"),
        ("<blockquote><ul><li><h3>Deep</h3></li></ul></blockquote>", "Deep"),
        ("<h1>one\nline\xa0break</h1>", "one line break"),
        ("<h1>\x01</h1><h2>Next</h2>", "\x01"),
    ],
)
def test_the_first_heading_of_normalised_html_is_read_off_its_lines(
    page: str, heading: str | None
) -> None:
    """``normalised=True`` reads ``normalise`` 's lines instead of parsing them again:
    the same answer, or a parse where the lines cannot tell (a <pre> first, blocks in
    the heading, characters a parse might not give back)."""
    html = normalise(page, base_url=None)
    assert first_heading(html, normalised=True) == first_heading(html) == heading


# --- normalise ------------------------------------------------------------------------

DIRTY = """
<div onclick="steal()" style="color:red" id="x" class="wrapper">
  <h2 onmouseover="x()">Heading</h2>
  <p>A <a href="javascript:alert(1)">bad link</a>,
     a <a href=" JaVa&#x09;Script:alert(1)">sneaky one</a>,
     an <a href="https://example.com/a" onclick="x()" target="_blank" rel="noopener">outside</a>
     and an <a href="setup.md#install">inside</a> link.</p>
  <p><img src="img/logo.png" alt="Logo" onerror="x()" width="10">
     <img src="data:image/png;base64,AA" alt="inline"></p>
  <table><tr><td colspan="2" rowspan="x" style="a">wide</td></tr></table>
  <pre><code class="language-js extra">  keep   spacing
</code></pre>
  <!-- a comment -->
  <custom-widget>unknown <span>tags</span> unwrapped</custom-widget>
  <object data="x.swf">flash</object>
</div>
"""


def normalised(
    html: str = DIRTY, base_url: str | None = "https://docs.example.com/guide/page"
) -> str:
    def resolver(href: str) -> str | None:
        return (
            "https://docs.example.com/guide/setup#install" if href.startswith("setup.md") else None
        )

    return normalise(html, base_url=base_url, link_resolver=resolver)


def test_normalise_is_deterministic() -> None:
    first = normalised()
    assert all(normalised() == first for _ in range(5))
    # Attribute order and insignificant whitespace do not change the output.
    assert normalise('<a title="t" href="https://x.y/">a</a>', base_url=None) == normalise(
        '<a   href="https://x.y/"\n title="t">a</a>', base_url=None
    )


def test_normalise_strips_scripts_handlers_and_javascript_urls() -> None:
    parsed = soup(normalised())
    hrefs = [a["href"] for a in parsed.find_all("a")]
    assert not any("javascript" in href.lower() for href in hrefs)
    assert "bad link" in parsed.get_text()
    assert "sneaky one" in parsed.get_text()
    for element in parsed.find_all(True):
        assert not any(name.startswith("on") for name in element.attrs), element
        assert "style" not in element.attrs
        assert "id" not in element.attrs
    assert parsed.find("object") is None
    assert "flash" not in parsed.get_text()
    assert "a comment" not in str(parsed)


def test_normalise_keeps_allowed_attributes_only() -> None:
    parsed = soup(normalised())
    cell = tag(parsed, "td")
    assert cell.attrs == {"colspan": "2"}
    assert tag(parsed, "code").get("class") == ["language-js"]
    assert tag(parsed, "pre").get_text() == "  keep   spacing\n"
    outside = parsed.find("a", string="outside")
    assert isinstance(outside, Tag)
    assert outside.attrs == {"href": "https://example.com/a"}
    assert "unknown tags unwrapped" in parsed.get_text()
    assert parsed.find("custom-widget") is None
    assert parsed.find("span") is None


def test_normalise_rewrites_links_and_images() -> None:
    parsed = soup(normalised())
    inside = parsed.find("a", string="inside")
    assert isinstance(inside, Tag)
    assert inside["href"] == "https://docs.example.com/guide/setup#install"
    image = tag(parsed, "img")
    assert image["src"] == "https://docs.example.com/guide/img/logo.png"
    assert image["alt"] == "Logo"
    assert len(parsed.find_all("img")) == 1  # the data: image is gone...
    assert "inline" in parsed.get_text()  # ...leaving its alt text


def test_without_a_base_url_relative_links_lose_their_href_but_keep_their_text() -> None:
    parsed = soup(
        normalise('<p><a href="other.md">other</a> <img src="x.png" alt="pic"></p>', base_url=None)
    )
    assert parsed.find("a") is None
    assert parsed.find("img") is None
    assert parsed.get_text() == "other pic"
    kept = soup(normalise('<a href="https://x.example.com/">abs</a>', base_url=None))
    assert tag(kept, "a")["href"] == "https://x.example.com/"


def test_normalise_tidies_whitespace_and_drops_empty_elements() -> None:
    html = (
        "<p>  Hello \n\n <strong> big </strong>world  </p><p> </p><p><em></em></p>"
        "<ul>\n<li> a </li>\n</ul>"
    )
    out = normalise(html, base_url=None)
    parsed = soup(out)
    paragraphs = parsed.find_all("p")
    assert len(paragraphs) == 1
    assert paragraphs[0].get_text() == "Hello big world"
    assert tag(parsed, "li").get_text() == "a"


def test_document_links_map_paths_to_page_urls() -> None:
    def url_of(path: str) -> str | None:
        return f"https://d.example.com/{path}" if path.endswith(".md") else None

    resolve = document_links("guide/intro.md", url_of)
    assert resolve("../api/setup.md#x") == "https://d.example.com/api/setup.md#x"
    assert resolve("setup.md") == "https://d.example.com/guide/setup.md"
    assert resolve("picture.png") is None
    assert resolve("#local") is None
    assert resolve("../../outside.md") is None
    assert resolve("https://example.com/a.md") is None
    assert resolve("/site/root.md") is None


def test_text_becomes_escaped_paragraphs() -> None:
    parsed = soup(text_to_html("First line\nsecond <line>\n\n\n  Next & last  \n"))
    paragraphs = parsed.find_all("p")
    assert len(paragraphs) == 2
    assert paragraphs[0].get_text() == "First line\nsecond <line>"
    assert paragraphs[0].find("br") is not None
    assert paragraphs[1].get_text().strip() == "Next & last"


def test_titles_from_file_names() -> None:
    assert title_from_path("getting-started.md") == "Getting started"
    assert title_from_path("docs/api_reference.html") == "Api reference"
    assert title_from_path("setup/README.md") == "Setup"
    assert title_from_path("FAQ.txt") == "FAQ"


def test_convert_file_by_suffix() -> None:
    def url_of(path: str) -> str | None:
        return f"https://d.example.com/{path}"

    page = convert_file("a.md", b"---\ntitle: T\nexternal_id: 7\n---\nbody", url_of=url_of)
    assert page == Page(
        title="T", html="<p>body</p>", url="https://d.example.com/a.md", external_id="7"
    )
    skipped = convert_file("a.md", b"---\ndraft: true\n---\nbody", url_of=url_of)
    assert skipped == Skipped("front matter draft: true")
    text_page = convert_file("notes.txt", b"<b>not html</b>", url_of=url_of)
    assert isinstance(text_page, Page)
    assert soup(text_page.html).find("b") is None
    with pytest.raises(ValueError, match="draft: must be true or false"):
        convert_file("a.md", b"---\ndraft: maybe\n---\nbody", url_of=url_of)
    with pytest.raises(ValueError, match="url: 'docs/x' must start with http"):
        convert_file("a.md", b"---\nurl: docs/x\n---\nbody", url_of=url_of)


def test_decode_text_reasons() -> None:
    assert decode_text("\ufeffh\u00e9".encode()) == "h\u00e9"
    with pytest.raises(ValueError, match="binary file"):
        decode_text(b"ab\x00cd")
    with pytest.raises(ValueError, match="byte 0xff at offset 3"):
        decode_text(b"abc\xffdef")
    assert decode_text(b" \n\t ") == " \n\t "


def test_a_file_with_nothing_to_send_is_skipped_not_an_error() -> None:
    """Blank, or nothing left once rendered (an MkDocs redirect page is front matter alone):
    the file's state at its version, which the store remembers, not a failure to retry."""

    def url_of(path: str) -> str | None:
        return f"https://d.example.com/{path}"

    assert convert_file("blank.txt", b" \n\t ", url_of=url_of) == Skipped(EMPTY_FILE)
    assert convert_file("empty.md", b"", url_of=url_of) == Skipped(EMPTY_FILE)
    redirect = b"---\ntemplate: redirect.html\nlocation: getting-started/\n---\n"
    assert convert_file("index.md", redirect, url_of=url_of) == Skipped(NOTHING_LEFT)
    assert convert_file("x.html", b"<main><script>x()</script></main>", url_of=url_of) == (
        Skipped(NOTHING_LEFT)
    )


# --- never raises ---------------------------------------------------------------------

TAGS = [
    "p",
    "div",
    "a",
    "img",
    "script",
    "table",
    "tr",
    "td",
    "pre",
    "code",
    "b",
    "li",
    "ul",
    "svg",
    "style",
    "h1",
    "span",
    "x-y",
    "br",
    "!--",
    "/p",
    "iframe",
    "template",
]
ATTRS = [
    "",
    ' href="javascript:x"',
    ' src="a.png"',
    " onclick=x",
    ' href="../a.md#f"',
    ' colspan="3"',
    ' class="language-py"',
    " href=",
    ' href="//h"',
    ' src="http://[::1"',
]


@st.composite
def html_soup(draw: st.DrawFn) -> str:
    parts = draw(
        st.lists(
            st.one_of(
                st.builds(lambda t, a: f"<{t}{a}>", st.sampled_from(TAGS), st.sampled_from(ATTRS)),
                st.builds(lambda t: f"</{t}>", st.sampled_from(TAGS)),
                st.text(max_size=12),
                st.sampled_from(["&amp;", "&#0;", "&bogus;", "<", ">", "<!--", "]]>", "\x00"]),
            ),
            max_size=40,
        )
    )
    return "".join(parts)


@settings(max_examples=150, deadline=None)
@given(html_soup())
def test_normalise_never_raises_and_is_stable(html: str) -> None:
    out = normalise(html, base_url="https://d.example.com/x/", link_resolver=lambda h: None)
    assert normalise(html, base_url="https://d.example.com/x/", link_resolver=lambda h: None) == out
    parsed = soup(out)
    assert parsed.find(["script", "style", "svg", "iframe", "template"]) is None
    for element in parsed.find_all(True):
        assert not any(name.startswith("on") for name in element.attrs)
        assert "javascript" not in str(element.get("href", "")).lower()
    main_content(html)
    first_heading(html)


def test_deep_nesting_does_not_overflow() -> None:
    html = "<div><span>" * 3000 + "deep" + "</span></div>" * 3000
    assert "deep" in normalise(html, base_url=None)


@pytest.mark.parametrize(
    "body",
    [
        "# Title\n\n## Set up\n\n## Set up\n\ntext",
        "# Fish & *chips* `<x>`\n\n> [!NOTE]\n> ## Inside a callout\n\n- ## in a list",
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n#\n\n# !!!",
        "no heading at all",
    ],
)
def test_markdown_without_raw_html_tells_its_ids_from_its_tokens(body: str) -> None:
    html, ids = render_markdown_ids(body)
    assert html == render_markdown(body)
    assert ids is not None
    assert ids == ids_in(html)


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ('# Title\n\n<div id="raw">x</div>', {"title", "raw"}),
        ('Text <a name="here"></a> and <span id=s>', {"here", "s"}),
    ],
)
def test_markdown_with_raw_html_leaves_its_ids_to_the_html(body: str, found: set[str]) -> None:
    html, ids = render_markdown_ids(body)
    assert ids is None
    assert ids_in(html) == found


@given(st.text(alphabet=" \t\n\r\f\xa0\u2028ab&<", max_size=40))
@example("a  b")
@example(" a\nb\tc\rd\fe ")
@example("a\xa0 b")
def test_text_is_written_with_its_whitespace_collapsed_as_one_substitution_would(
    text: str,
) -> None:
    """The serialiser skips the substitution where it would change nothing."""
    collapsed = re.sub(r"[ \t\n\r\f]+", " ", serialise._escape(text))
    expected = (collapsed.strip(" "), collapsed.startswith(" "), collapsed.endswith(" "))
    html, _, before, after = serialise._text(text, False)
    assert (html, before, after) == expected
