"""The normaliser's own tree (``syncer.convert.tree``): built from one libxml2 parse as
bs4's lxml builder built it before (void elements closed where they open, whitespace
runs tidied outside ``<pre>``, comments kept apart from text), written back as bs4's
``str()`` wrote it. bs4 with that builder is the oracle of the property tests; the
cases it is easy to get wrong are spelled out one by one."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from bs4 import BeautifulSoup
from bs4.builder._lxml import LXMLTreeBuilder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncer.convert import tree
from syncer.convert.html import normalise
from syncer.convert.serialise import serialise
from syncer.convert.tree import VOID_ELEMENTS, Comment, Contained, Element

# ---- the oracle: what the normaliser parsed with before ---------------------------------


class _VoidClosingBuilder(LXMLTreeBuilder):
    """bs4's lxml HTML builder closing each void element where it opens (the normaliser's
    builder before ``syncer.convert.tree``)."""

    def start(self, tag: str | bytes, *args: Any, **kwargs: Any) -> None:
        super().start(tag, *args, **kwargs)
        if tag in VOID_ELEMENTS:
            super().end(tag)

    def end(self, tag: str | bytes) -> None:
        if tag not in VOID_ELEMENTS:
            super().end(tag)


def oracle(html: str) -> BeautifulSoup:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bs4 warns when markup looks like a file name
        return BeautifulSoup(html, builder=_VoidClosingBuilder(multi_valued_attributes={}))


def shape(root: Element) -> list[tuple[str, dict[str, str], str, str]]:
    """Each element below ``root`` in document order: name, attributes, text, text by ' '."""
    return [
        (element.name, element.attrs, tree.text(element), tree.text(element, " "))
        for element in tree.elements(root)
    ]


def oracle_shape(soup: BeautifulSoup) -> list[tuple[str, dict[str, str], str, str]]:
    return [
        (tag.name, dict(tag.attrs), tag.get_text(), tag.get_text(" "))
        for tag in soup.find_all(True)
    ]


# ---- generated HTML ------------------------------------------------------------------

_NAMES = [
    *("p", "div", "span", "a", "b", "em", "code", "pre", "ul", "li", "table", "tr", "td"),
    *("h1", "h2", "blockquote", "aside", "details", "summary", "section", "nav", "header"),
    *("br", "hr", "img", "embed", "source", "track", "keygen", "bgsound", "wbr", "input"),
    *("meta", "link", "col", "area", "param", "frame", "basefont"),
    *("title", "style", "script", "noscript", "template", "textarea", "xmp", "svg"),
    *("head", "body", "html", "ruby", "rt", "rp", "font", "center", "o:p", "x-custom"),
]
_TEXTS = [
    *("word", "two words", " ", "\n", "  \n\t ", "\r\n", "\x0c", "lead  ", "  trail"),
    *("&amp;", "&lt;b&gt;", "&nbsp;", "&bogus;", "&#0;", "&#x1F600;", "&copy", "<", ">"),
    *("a & b", "é", "\u00a0", "\x01", "]]>", '"quoted"', "'single'"),
]
_SPECIALS = [
    *("<!-- c -->", "<!---->", "<!--\n-->", "<!DOCTYPE html>", "<!doctype>"),
    *("<![CDATA[x<y]]>", "<?php echo 1 ?>", "</p>", "</div>", "</br>", "</embed>", "<p"),
]
_ATTRIBUTES = ["id", "class", "href", "src", "alt", "title", "role", "hidden", "data-x"]
_VALUES = ["x", "a b", "", " spaced ", "&amp;", "&quot;", "a\"b'c", "<>", "é", "\n"]


@st.composite
def attributes(draw: st.DrawFn) -> str:
    out = []
    for name in draw(st.lists(st.sampled_from(_ATTRIBUTES), max_size=3)):
        if draw(st.booleans()) and draw(st.booleans()):
            out.append(f" {name}")
        else:
            value = draw(st.sampled_from(_VALUES))
            quote = "'" if '"' in value else '"'
            out.append(f" {name}={quote}{value}{quote}")
    return "".join(out)


def fragments() -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(_TEXTS), st.sampled_from(_SPECIALS))

    def nested(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        element = st.tuples(st.sampled_from(_NAMES), attributes(), children, st.booleans()).map(
            lambda t: f"<{t[0]}{t[1]}>{t[2]}{f'</{t[0]}>' if t[3] else ''}"
        )
        return st.lists(st.one_of(leaf, element), min_size=1, max_size=4).map("".join)

    return st.recursive(leaf, nested, max_leaves=25)


# ---- properties against the oracle ---------------------------------------------------

_PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPERTY
@given(fragments())
def test_the_tree_is_the_one_bs4_built(html: str) -> None:
    document = tree.parse(html, specials=True)
    soup = oracle(html)
    assert shape(document) == oracle_shape(soup)
    # The normaliser looks for <head> right under <html> only: libxml2 opens it nowhere else.
    heads = [element for element in tree.elements(document) if element.name == "head"]
    assert all(head.parent is not None and head.parent.name == "html" for head in heads)


@_PROPERTY
@given(fragments())
def test_the_tree_is_written_as_bs4_wrote_it(html: str) -> None:
    document = tree.parse(html, specials=True)
    soup = oracle(html)
    assert tree.outer_html(document) == str(soup)
    for element, tag in zip(tree.elements(document), soup.find_all(True), strict=True):
        assert tree.outer_html(element) == str(tag)


@_PROPERTY
@given(fragments())
def test_without_specials_only_comments_doctypes_and_instructions_are_missing(
    html: str,
) -> None:
    def strings(root: Element) -> list[str]:
        found: list[str] = []
        stack: list[tree.Node] = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, Element):
                stack.extend(reversed(node.children))
            elif not isinstance(node, tree.Special):
                found.append(node)
        return found

    with_specials = tree.parse(html, specials=True)
    without = tree.parse(html)
    assert [(e.name, e.attrs) for e in tree.elements(without)] == [
        (e.name, e.attrs) for e in tree.elements(with_specials)
    ]
    assert strings(without) == strings(with_specials)


# ---- the cases one by one ------------------------------------------------------------


def names(root: Element) -> list[str]:
    return [element.name for element in tree.elements(root)]


@pytest.mark.parametrize("void", sorted(VOID_ELEMENTS))
def test_a_void_element_holds_nothing_and_what_follows_it_is_its_parents(void: str) -> None:
    # libxml2 (HTML 4) takes <embed>, <source>, <track>... for containers of the rest.
    document = tree.parse(f"<div><p>before<{void}>after <em>this</em></p><p>next</p></div>")
    element = tree.named(document, void)
    assert element is not None
    assert element.children == []
    parent = element.parent
    assert parent is not None
    # (<hr> and <col> end the open <p> first, in HTML 4 as in HTML.)
    assert parent.name == ("div" if void in ("hr", "col") else "p")
    siblings = [child if isinstance(child, str) else child.name for child in parent.children]
    at = siblings.index(void)
    assert siblings[at + 1 : at + 3] == ["after ", "em"]
    assert [p.children for p in tree.elements(document) if p.name == "p"][-1] == ["next"]


def test_a_void_element_in_a_list_leaves_the_items_where_they_were() -> None:
    document = tree.parse("<ul><li>a<source src=x>b</li><li>c</li></ul>")
    assert names(document) == ["html", "body", "ul", "li", "source", "li"]
    assert [tree.text(li) for li in tree.elements(document) if li.name == "li"] == ["ab", "c"]


def test_a_stray_end_tag_closes_nothing_and_an_end_tag_closes_its_own_element() -> None:
    document = tree.parse("<div><b>bold<i>both</b>after</div></span>tail")
    body = tree.named(document, "body")
    assert body is not None
    assert tree.outer_html(body) == "<body><div><b>bold<i>both</i></b>after</div>tail</body>"


MALFORMED = {
    **dict.fromkeys(["", " ", "\n\n", "<!--", "<p", "\ufeff", "<?", "<!DOCTYPE"], ""),
    "<": "&lt;",
    "</": "&lt;/",
    "&": "&amp;",
    "\x00": "\ufffd",
}


@pytest.mark.parametrize("html", MALFORMED)
def test_malformed_or_empty_input_never_raises(html: str) -> None:
    document = tree.parse(html, specials=True)
    assert document.name == tree.DOCUMENT
    tree.outer_html(document)
    assert normalise(html, base_url=None) == MALFORMED[html]


def test_nesting_thousands_deep_is_walked_without_recursion() -> None:
    html = "<div>" * 20_000 + "deep" + "</div>" * 20_000
    document = tree.parse(html)
    assert len(tree.elements(document)) == 20_002  # <html>, <body> and every <div>
    assert tree.text(document) == "deep"
    assert tree.outer_html(document).count("<div>") == 20_000
    assert normalise(html, base_url=None) == "<div>deep</div>"


def test_entities_are_text_and_are_written_escaped_once() -> None:
    document = tree.parse("<p title='a &amp; &quot;b&quot;'>&lt;b&gt; &amp; &copy; &bogus;</p>")
    paragraph = tree.named(document, "p")
    assert paragraph is not None
    assert paragraph.attrs == {"title": 'a & "b"'}
    assert tree.text(paragraph) == "<b> & \u00a9 &bogus;"
    written = "<p title='a &amp; \"b\"'>&lt;b&gt; &amp; \u00a9 &amp;bogus;</p>"
    assert tree.outer_html(paragraph) == written
    assert normalise("<p>&lt;b&gt; &amp; &nbsp;x</p>", base_url=None) == (
        "<p>&lt;b&gt; &amp; \u00a0x</p>"
    )


def test_comments_are_kept_apart_from_text_and_only_when_asked_for() -> None:
    html = "<p>one<!-- note -->two <!----> three</p>"
    kept = tree.named(tree.parse(html, specials=True), "p")
    dropped = tree.named(tree.parse(html), "p")
    assert kept is not None
    assert dropped is not None
    assert kept.children == ["one", " note ", "two ", " ", " three"]
    assert [type(child) for child in kept.children][1::2] == [Comment, Comment]
    # The text either side of a comment stays two strings: no space appears between them.
    assert dropped.children == ["one", "two ", " three"]
    assert tree.text(kept) == "onetwo  three"
    assert tree.outer_html(kept) == "<p>one<!-- note -->two <!-- --> three</p>"
    assert normalise(html, base_url=None) == "<p>onetwo three</p>"


def test_whitespace_is_kept_inside_pre_and_tidied_outside() -> None:
    html = "<div>\n\n  <pre>  a\n\n\tb  </pre>  \t  <p> x \n y </p>\n</div>"
    div = tree.named(tree.parse(html), "div")
    assert div is not None
    pre, paragraph = (child for child in div.children if isinstance(child, Element))
    assert pre.children == ["  a\n\n\tb  "]
    assert paragraph.children == [" x \n y "]  # text with words in it is left as it came
    assert [child for child in div.children if isinstance(child, str)] == ["\n", " ", "\n"]
    assert normalise(html, base_url=None) == "<pre>  a\n\n\tb  </pre>\n<p>x y</p>"


def test_whitespace_only_text_inside_pre_stays_as_it_is() -> None:
    pre = tree.named(tree.parse("<pre><code>a</code>\n\n   <code>b</code></pre>"), "pre")
    assert pre is not None
    assert pre.children[1] == "\n\n   "
    assert normalise("<pre><code>a</code>\n\n   <code>b</code></pre>", base_url=None) == (
        "<pre><code>a</code>\n\n   <code>b</code></pre>"
    )


def test_script_style_and_ruby_text_is_their_own() -> None:
    document = tree.parse("<p>base<ruby>漢<rt>kan</rt></ruby><script>x()</script></p>")
    paragraph = tree.named(document, "p")
    rt = tree.named(document, "rt")
    script = tree.named(document, "script")
    assert paragraph is not None
    assert rt is not None
    assert script is not None
    assert tree.text(paragraph) == "base漢"
    assert tree.text(rt) == "kan"
    assert tree.text(script) == "x()"
    assert isinstance(script.children[0], Contained)
    assert tree.outer_html(script) == "<script>x()</script>"  # raw text, not escaped


def test_body_content_libxml2_left_in_head_is_the_pages() -> None:
    assert normalise("<meta charset=utf-8><embed src=x><p>kept</p>", base_url=None) == (
        "<p>kept</p>"
    )
    assert normalise("<title>t</title>loose <b>text</b>", base_url=None) == (
        "loose <strong>text</strong>"
    )


def test_prune_and_remove_where_take_the_whole_element() -> None:
    document = tree.parse("<div><p>a<script>s</script>b</p><nav><p>n</p></nav><p>c</p></div>")
    left = tree.prune(document, frozenset({"script"}))
    assert [element.name for element in left] == ["html", "body", "div", "p", "nav", "p", "p"]
    tree.remove_where(document, lambda element: element.name == "nav")
    assert tree.text(document) == "abc"
    assert all(element.parent is not None for element in tree.elements(document))


def test_serialise_asks_clean_of_each_element_before_its_content() -> None:
    document = tree.parse("<div><span>one</span> <img alt=pic> <b>two</b></div>")
    div = tree.named(document, "div")
    assert div is not None
    asked: list[str] = []

    def clean(element: Element) -> bool | str:
        asked.append(element.name)
        if element.name == "img":
            return element.attrs["alt"]
        return element.name != "span"

    assert serialise(div, clean=clean) == "one pic <b>two</b>"
    assert asked == ["span", "img", "b"]


def test_a_body_libxml2_opened_inside_head_is_the_page() -> None:
    # libxml2 opens <body> where body content first comes, here inside a <noscript> of
    # <head>: the first <body> in document order is the page, not one under <html>.
    html = "<meta><noscript><body><p>in the body</p></body></noscript><p>after</p>"
    body = tree.named(tree.parse(html), "body")
    assert body is not None
    assert [parent.name for parent in body.parents()] == ["noscript", "head", "html", "[document]"]
    assert "<p>in the body</p>" in normalise(html, base_url=None)
