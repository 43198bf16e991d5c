"""The callout and tabs shapes (``syncer.convert.callouts``, ``syncer.convert.tabs``):
their builders round-trip through the normaliser, the normaliser keeps no other class,
HTML files' admonitions, asides and alerts become callouts, and Markdown's GitHub alerts
do too. Checked with the ``tests.fidelity`` scan, on real parses, never string by string
except where the exact shape is the point."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.convert.callouts import KNOWN_KINDS, callout_html, kind_label, label
from syncer.convert.html import normalise
from syncer.convert.markdown import render_markdown
from syncer.convert.source_file import Page, convert_file
from syncer.convert.tabs import tabs_html
from tests import fidelity

BASE = "https://docs.example.com/guide/page"


def clean(html: str) -> str:
    out = normalise(html, base_url=BASE)
    assert normalise(out, base_url=BASE) == out, "normalising twice changed the output"
    return out


def page(path: str, data: str) -> Page:
    converted = convert_file(path, data.encode(), url_of=lambda p: f"https://docs.example.com/{p}")
    assert isinstance(converted, Page)
    return converted


# ---- the callout shape ------------------------------------------------------------------


def test_a_callout_round_trips_through_the_normaliser_exactly() -> None:
    html = callout_html("warning", "Back up <first> & then", "<p>Body <em>one</em>.</p>")
    assert clean(html) == (
        '<blockquote class="callout callout-warning">\n'
        '<p class="callout-title"><strong>Warning: Back up &lt;first&gt; &amp; then</strong></p>\n'
        "<p>Body <em>one</em>.</p>\n"
        "</blockquote>"
    )


@pytest.mark.parametrize("kind", sorted(KNOWN_KINDS | {"panel", "pied-piper"}))
def test_every_kind_keeps_its_class_label_and_body(kind: str) -> None:
    body = '<p>First.</p><ul><li>item</li></ul><pre><code class="language-sh">a\nb\n</code></pre>'
    html = clean(callout_html(kind, None, body))
    assert fidelity.shape_problems(html) == []
    (callout,) = fidelity.callouts(html)
    assert callout.kind == ("info" if kind == "information" else kind)
    assert callout.label == kind_label(callout.kind)
    assert callout.body == "First. item a b"
    assert fidelity.code_blocks(html) == [("sh", "a\nb\n")]


@pytest.mark.parametrize(
    ("kind", "title", "expected"),
    [
        ("note", None, "Note"),
        ("note", "", "Note"),
        ("note", "note", "Note"),
        ("tip", "Tip of the day", "Tip of the day"),
        ("warning", "Back up first", "Warning: Back up first"),
        ("warning", "Warnings ahead", "Warning: Warnings ahead"),
        ("seealso", None, "See also"),
        ("pied-piper", "Pied Piper", "Pied Piper"),
        ("danger", "  many\n spaces ", "Danger: many spaces"),
        ("Not a kind!", None, "Note"),
    ],
)
def test_labels_say_the_kind_then_the_title(kind: str, title: str | None, expected: str) -> None:
    assert label(kind, title) == expected


def test_callouts_nest_and_sit_in_lists_and_tables() -> None:
    inner = callout_html("tip", None, "<p>Inner.</p>")
    html = clean(
        "<ul><li>"
        + callout_html("note", "Outer", f"<p>Outer.</p>{inner}")
        + "</li></ul><table><tr><td>"
        + callout_html("danger", None, "<p>In a cell.</p>")
        + "</td></tr></table>"
    )
    assert fidelity.shape_problems(html) == []
    assert [(c.kind, c.label, c.body) for c in fidelity.callouts(html)] == [
        ("note", "Note: Outer", "Outer. Tip Inner."),
        ("tip", "Tip", "Inner."),
        ("danger", "Danger", "In a cell."),
    ]
    assert fidelity.text_outside(html) == ""


def test_the_normaliser_keeps_no_class_beyond_the_shapes() -> None:
    html = clean(
        '<blockquote class="callout callout-warning extra"><p>x</p></blockquote>'
        '<blockquote class="fancy">quote</blockquote><p class="callout-title lead">p</p>'
        '<div class="tabs wide"><p>d</p></div><div class="tab">t</div><span class="tab">s</span>'
    )
    parsed = BeautifulSoup(html, "html.parser")
    assert [tag.get("class") for tag in parsed.find_all(class_=True)] == [
        ["callout", "callout-warning"],  # adopted: a callout class, rebuilt to the shape
        ["callout-title"],
        ["tab"],
    ]
    assert parsed.find("blockquote", class_=False) is not None  # a plain quote stays one


CLASSES = st.lists(
    st.sampled_from(
        [
            *("callout", "callout-note", "callout-title", "tabs", "tab", "tab-label"),
            *("admonition", "note", "warning", "alert", "alert-info", "x", "language-py"),
            "markdown-alert",
        ]
    ),
    max_size=3,
).map(" ".join)
TAGS = st.sampled_from(["div", "p", "blockquote", "aside", "details", "span", "code", "pre"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(TAGS, CLASSES, st.text(max_size=8)), max_size=8))
def test_any_classes_in_come_out_as_the_shapes_or_nothing(
    parts: list[tuple[str, str, str]],
) -> None:
    html = "".join(f'<{tag} class="{classes}">{text}' for tag, classes, text in parts)
    out = normalise(html, base_url=BASE)
    allowed = {
        ("blockquote", "callout"),
        ("p", "callout-title"),
        ("div", "tabs"),
        ("div", "tab"),
        ("p", "tab-label"),
    }
    for element in BeautifulSoup(out, "html.parser").find_all(class_=True):
        classes = element["class"]
        if element.name == "code":
            assert len(classes) == 1
            assert classes[0].startswith("language-")
        elif element.name == "blockquote":
            assert classes[0] == "callout"
            assert classes[1].startswith("callout-")
        else:
            assert (element.name, classes[0]) in allowed
            assert len(classes) == 1
    for problem in fidelity.shape_problems(out):
        assert not problem.startswith("callout") or "empty body" in problem, problem


# ---- the tabs shape ---------------------------------------------------------------------

TOML = 'name = "site"\n\n[build]\ncommand = "make"\n'
CLI = "syncer sync \\\n  --dry-run\n"


def test_tabs_round_trip_with_every_tab_under_its_label_and_code_intact() -> None:
    html = clean(
        tabs_html(
            [
                ("TOML", f'<pre><code class="language-toml">{TOML}</code></pre>'),
                ("CLI & <shell>", f'<p>Run:</p><pre><code class="language-sh">{CLI}</code></pre>'),
                ("Notes", callout_html("tip", None, "<p>Either works.</p>")),
            ]
        )
    )
    assert fidelity.shape_problems(html) == []
    (tab_set,) = fidelity.tab_sets(html)
    assert [label for label, _ in tab_set.tabs] == ["TOML", "CLI & <shell>", "Notes"]
    assert tab_set.tabs[2][1] == "Tip Either works."
    assert fidelity.code_blocks(html) == [("toml", TOML), ("sh", CLI)]
    assert html.startswith('<div class="tabs">\n<div class="tab">\n<p class="tab-label">')


def test_the_tabs_scan_reports_what_falls_short() -> None:
    broken = (
        '<div class="tabs"><div class="tab"><p class="tab-label"><strong>A</strong></p>'
        "<pre><code>one line</code></pre></div>"
        '<div class="tab"><p>no label</p></div></div><div class="tab">alone</div>'
    )
    problems = fidelity.shape_problems(broken)
    assert "code block in tab 'A' lost its language" in problems
    assert "code block in tab 'A' is one line: 'one line'" in problems
    assert "tab without its label first: 'no label'" in problems
    assert "tab outside a set of tabs: 'alone'" in problems


# ---- HTML files -------------------------------------------------------------------------

MKDOCS_PAGE = """<!doctype html><html><head><title>Install - Docs</title></head><body>
<header class="md-header"><nav>Site</nav></header>
<div class="md-container"><main class="md-main"><div class="md-content"><article>
<h1>Install</h1>
<div class="admonition warning">
<p class="admonition-title">Back up first</p>
<p>Copy <code>data/</code> somewhere safe.</p>
<ul><li>once</li></ul>
</div>
<div class="admonition note"><p class="admonition-title">Note</p><p>Plain note.</p></div>
<div class="admonition info inline end"><p class="admonition-title">Info</p><p>Inline.</p></div>
<details class="tip" open="open"><summary>Click for a tip</summary><p>Collapsed tip.</p></details>
<details><summary>Plain details</summary><p>Stays a disclosure.</p></details>
<aside class="note"><p>An aside that is a note.</p></aside>
<aside role="note"><p>An aside by role.</p></aside>
<aside class="md-sidebar"><p>Sidebar furniture</p></aside>
<p>After the callouts.</p>
</article></div></main></div></body></html>"""

OTHER_TOOLS = """<main>
<div class="theme-admonition theme-admonition-caution alert alert--warning admonition_x">
<div class="admonitionHeading_y"><span class="admonitionIcon_z"><svg><path/></svg></span>
caution</div>
<div class="admonitionContent_w"><p>Docusaurus 3.</p></div></div>
<div class="admonition admonition-tip alert alert--success"><div class="admonition-heading">
<h5><span class="admonition-icon"><svg/></span>Pro tip</h5></div>
<div class="admonition-content"><p>Docusaurus 2.</p></div></div>
<div class="markdown-alert markdown-alert-important"><p class="markdown-alert-title">
<svg class="octicon"><path/></svg>Important</p><p>GitHub's rendering.</p></div>
<div class="alert alert-danger alert-dismissible" role="alert"><button>x</button>
<h4 class="alert-heading">Careful!</h4>Bootstrap <b>loose</b> text.</div>
<div class="confluence-information-macro confluence-information-macro-information">
<p class="title">Exported</p><span class="aui-icon"></span>
<div class="confluence-information-macro-body"><p>Confluence export.</p></div></div>
<div class="admonition seealso"><p class="admonition-title">See also</p><p>Sphinx.</p></div>
</main>"""


def test_mkdocs_built_html_admonitions_details_and_asides_become_callouts() -> None:
    converted = page("install.html", MKDOCS_PAGE)
    html = converted.html
    assert fidelity.shape_problems(html) == []
    assert [(c.kind, c.label, c.body) for c in fidelity.callouts(html)] == [
        ("warning", "Warning: Back up first", "Copy data/ somewhere safe. once"),
        ("note", "Note", "Plain note."),
        ("info", "Info", "Inline."),
        ("tip", "Tip: Click for a tip", "Collapsed tip."),
        ("note", "Note", "An aside that is a note."),
        ("note", "Note", "An aside by role."),
    ]
    outside = fidelity.text_outside(html)
    assert outside == "Install Plain details Stays a disclosure. After the callouts."
    assert "Sidebar furniture" not in html  # an aside that is not a callout is furniture
    assert "<details>" in html  # a disclosure without a kind is kept as one
    assert converted.title == "Install - Docs"


def test_other_tools_callouts_in_html_files_become_callouts() -> None:
    html = page("other.htm", OTHER_TOOLS).html
    assert fidelity.shape_problems(html) == []
    assert [(c.kind, c.label, c.body) for c in fidelity.callouts(html)] == [
        ("caution", "Caution", "Docusaurus 3."),
        ("tip", "Tip: Pro tip", "Docusaurus 2."),
        ("important", "Important", "GitHub's rendering."),
        ("danger", "Danger: Careful!", "Bootstrap loose text."),
        ("info", "Info: Exported", "Confluence export."),
        ("seealso", "See also", "Sphinx."),
    ]
    assert fidelity.text_outside(html) == ""
    assert "<svg" not in html
    assert "<p>Bootstrap <strong>loose</strong> text.</p>" in html  # loose text in a <p>


def test_raw_html_admonitions_inside_markdown_become_callouts_too() -> None:
    markdown = (
        "# Page\n\n"
        '<div class="admonition danger">\n<p class="admonition-title">Stop</p>\n'
        "<p>Raw HTML in Markdown.</p>\n</div>\n\nAfter.\n"
    )
    html = page("raw.md", markdown).html
    assert [(c.kind, c.label, c.body) for c in fidelity.callouts(html)] == [
        ("danger", "Danger: Stop", "Raw HTML in Markdown.")
    ]


# ---- Markdown: GitHub alerts ------------------------------------------------------------

ALERTS = """\
# Alerts

> [!NOTE]
> Useful information that users should know, even when skimming content.

> [!TIP]
> Helpful advice for doing things better or more easily.
>
> A second paragraph of the tip.

> [!IMPORTANT]
> Key information users need to know:
>
> - to achieve
> - their goal

> [!WARNING]
> Urgent info that needs immediate user attention:
>
> ```sh
> rm -rf build/
> make
> ```

> [!CAUTION]
> Advises about risks or negative outcomes of certain actions.

Text after the alerts.
"""


def test_markdown_github_alerts_of_every_kind_become_callouts_holding_their_body() -> None:
    html = page("alerts.md", ALERTS).html
    assert fidelity.shape_problems(html) == []
    assert [(c.kind, c.label, c.body) for c in fidelity.callouts(html)] == [
        (
            "note",
            "Note",
            "Useful information that users should know, even when skimming content.",
        ),
        (
            "tip",
            "Tip",
            "Helpful advice for doing things better or more easily. A second paragraph of the tip.",
        ),
        ("important", "Important", "Key information users need to know: to achieve their goal"),
        (
            "warning",
            "Warning",
            "Urgent info that needs immediate user attention: rm -rf build/ make",
        ),
        ("caution", "Caution", "Advises about risks or negative outcomes of certain actions."),
    ]
    assert fidelity.code_blocks(html) == [("sh", "rm -rf build/\nmake\n")]
    assert fidelity.text_outside(html) == "Alerts Text after the alerts."
    assert "[!" not in html


def test_alerts_follow_githubs_rules_for_what_is_an_alert() -> None:
    html = clean(
        render_markdown(
            "> [!note]\n> Lower case is an alert.\n\n"
            "> [!NOTE] Text on the marker line\n> is a quote, as on GitHub.\n\n"
            "> [!UNKNOWN]\n> Not a kind GitHub knows: a quote.\n\n"
            "- In a list:\n\n  > [!TIP]\n  > Nested.\n\n"
            "> Plain quote.\n"
        )
    )
    assert [(c.kind, c.body) for c in fidelity.callouts(html)] == [
        ("note", "Lower case is an alert."),
        ("tip", "Nested."),
    ]
    quotes = BeautifulSoup(html, "html.parser").find_all("blockquote", class_=False)
    assert [fidelity.words(q.get_text(" ")) for q in quotes] == [
        "[!NOTE] Text on the marker line is a quote, as on GitHub.",
        "[!UNKNOWN] Not a kind GitHub knows: a quote.",
        "Plain quote.",
    ]


def test_an_empty_alert_keeps_its_label() -> None:
    html = clean(render_markdown("> [!WARNING]\n\nAfter.\n"))
    (callout,) = fidelity.callouts(html)
    assert (callout.label, callout.body) == ("Warning", "")
    assert fidelity.shape_problems(html) == ["callout 'Warning' has an empty body"]
