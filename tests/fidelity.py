"""What Fin reads, scanned: the callouts and content tabs of converted HTML, checked
against their one shape (``syncer.convert.callouts``, ``syncer.convert.tabs``).

A test helper, reused by every converter's tests (Confluence pages, HTML files, Markdown
of any flavour, whole documentation trees): parse the output, list its callouts and tab
sets, and report every way one falls short of the shape, as one line each, so a corpus
test asserts ``shape_problems(html) == []`` rather than a page's exact HTML.

- ``callouts(html)`` / ``tab_sets(html)``: what the page holds, in document order.
- ``shape_problems(html)``: a callout without its ``callout-KIND`` class, without a label
  that starts with the kind's word, or with nothing in its body; a tab without a label or
  content; a code block inside a tab that lost its language or its line breaks.
- ``text_outside(html)``: the page's text with every callout taken out, to check that no
  callout body was left loose beside its block (``loose_texts``).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bs4 import BeautifulSoup, Tag

from syncer.convert import callouts as shape
from syncer.convert import tabs as tab_shape

_SPACE = re.compile(r"\s+")


def words(text: str) -> str:
    """``text`` with its whitespace collapsed: how text is compared here."""
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class Callout:
    """One callout as Fin gets it: its kind (from the class), label and body."""

    kind: str | None
    label: str
    body: str  # the body's text, whitespace collapsed
    element: Tag


@dataclass(frozen=True)
class TabSet:
    """One set of tabs: ``(label, content text)`` per tab, and the element."""

    tabs: tuple[tuple[str, str], ...]
    element: Tag


def parse(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _classes(tag: Tag) -> list[str]:
    value = tag.get("class")
    if isinstance(value, str):
        return value.split()
    return list(value or [])


def _callout_elements(soup: BeautifulSoup) -> list[Tag]:
    return [tag for tag in soup.find_all(shape.TAG) if shape.CLASS in _classes(tag)]


def _kind(tag: Tag) -> str | None:
    prefix = f"{shape.CLASS}-"
    found = [c.removeprefix(prefix) for c in _classes(tag) if c.startswith(prefix)]
    return found[0] if len(found) == 1 else None


def _first_child(tag: Tag) -> Tag | None:
    return next((child for child in tag.children if isinstance(child, Tag)), None)


def _title(tag: Tag, title_class: str) -> Tag | None:
    first = _first_child(tag)
    if first is not None and first.name == "p" and _classes(first) == [title_class]:
        return first
    return None


def _body_text(tag: Tag, title: Tag | None) -> str:
    parts = [
        child.get_text(" ") if isinstance(child, Tag) else str(child)
        for child in tag.children
        if child is not title
    ]
    return words(" ".join(parts))


def callouts(html: str) -> list[Callout]:
    """Every callout of ``html``, outer before inner, in document order."""
    found = []
    for tag in _callout_elements(parse(html)):
        title = _title(tag, shape.TITLE_CLASS)
        label = words(title.get_text(" ")) if title is not None else ""
        found.append(Callout(_kind(tag), label, _body_text(tag, title), tag))
    return found


def tab_sets(html: str) -> list[TabSet]:
    """Every set of tabs of ``html``, in document order."""
    found = []
    for tag in parse(html).find_all("div"):
        if _classes(tag) != [tab_shape.TABS_CLASS]:
            continue
        tabs = []
        for tab in tag.find_all("div", recursive=False):
            title = _title(tab, tab_shape.LABEL_CLASS)
            label = words(title.get_text(" ")) if title is not None else ""
            tabs.append((label, _body_text(tab, title)))
        found.append(TabSet(tuple(tabs), tag))
    return found


def shape_problems(html: str, *, code: bool = True) -> list[str]:
    """Each way a callout or tab set of ``html`` falls short of its shape, one line each.

    ``code=False`` leaves out the check of code blocks in tabs (language, several lines),
    for a caller that checks every code block against its source (``fence_problems``):
    a one-line block without a language is then what the source wrote.
    """
    problems: list[str] = []
    soup = parse(html)
    for tag in _callout_elements(soup):
        where = words(tag.get_text(" "))[:60]
        kind = _kind(tag)
        title = _title(tag, shape.TITLE_CLASS)
        if kind is None:
            problems.append(f"callout without one callout-KIND class: {where!r}")
            continue
        if title is None or title.find("strong") is None:
            problems.append(f"callout without its bold title line first: {where!r}")
            continue
        label = words(title.get_text(" "))
        word = shape.kind_label(kind)
        if not label.casefold().startswith(word.casefold()):
            problems.append(f"callout label {label!r} does not say its kind {word!r}")
        if not _body_text(tag, title) and not tag.find("img"):
            problems.append(f"callout {label!r} has an empty body")
    for tag in soup.find_all("div"):
        classes = _classes(tag)
        if classes == [tab_shape.TAB_CLASS] and not (
            isinstance(tag.parent, Tag) and _classes(tag.parent) == [tab_shape.TABS_CLASS]
        ):
            problems.append(f"tab outside a set of tabs: {words(tag.get_text(' '))[:60]!r}")
        if classes != [tab_shape.TABS_CLASS]:
            continue
        tabs = tag.find_all("div", recursive=False)
        if not tabs:
            problems.append("a set of tabs without a tab")
        for tab in tabs:
            title = _title(tab, tab_shape.LABEL_CLASS)
            if _classes(tab) != [tab_shape.TAB_CLASS] or title is None:
                problems.append(f"tab without its label first: {words(tab.get_text(' '))[:60]!r}")
                continue
            label = words(title.get_text(" "))
            if not label:
                problems.append("tab with an empty label")
            if not _body_text(tab, title) and not tab.find("img"):
                problems.append(f"tab {label!r} has no content")
            if code:
                problems.extend(_code_problems(tab, label))
    return problems


def _code_problems(tab: Tag, label: str) -> list[str]:
    problems = []
    for code in tab.find_all("code"):
        if not isinstance(code.parent, Tag) or code.parent.name != "pre":
            continue
        if not any(c.startswith("language-") for c in _classes(code)):
            problems.append(f"code block in tab {label!r} lost its language")
        if "\n" not in code.get_text().rstrip("\n"):
            problems.append(f"code block in tab {label!r} is one line: {code.get_text()[:40]!r}")
    return problems


def code_blocks(html: str) -> list[tuple[str | None, str]]:
    """``(language, text)`` of every ``<pre><code>`` of ``html``, in document order."""
    found = []
    for code in parse(html).select("pre > code"):
        languages = [c.removeprefix("language-") for c in _classes(code)]
        found.append((languages[0] if languages else None, code.get_text()))
    return found


def text_outside(html: str) -> str:
    """The text of ``html`` with every callout (label and body) taken out."""
    soup = parse(html)
    found = _callout_elements(soup)
    ids = {id(tag) for tag in found}
    for tag in found:
        if not any(id(parent) in ids for parent in tag.parents):
            tag.extract()  # an inner callout goes with its outer one
    return words(soup.get_text(" "))


def loose_texts(html: str, bodies: Iterable[str], *, also_outside: str = "") -> list[str]:
    """The ``bodies`` (texts that belong in callouts) found in ``html`` outside every callout.

    ``also_outside`` is text the source itself holds outside its callouts: a body found
    there may rightly appear outside too, and is not counted.
    """
    outside = text_outside(html)
    allowed = words(also_outside)
    return [
        body
        for body in (words(b) for b in bodies)
        if body and body in outside and body not in allowed
    ]


# ---- whole documentation trees: what a docs site's generator would have shown ----------
#
# ``scan_tree`` takes the pages a sync sent (as the fake Intercom holds them) and the tree
# they came from, and sorts every way the pages fall short of the site into counts:
# generator syntax left in the text, callouts and tabs off their shape, code blocks that
# lost their language or line breaks, headings without an id, internal links or anchors
# that point nowhere, titles that do not follow the generator's rule. Each problem is one
# line naming the page, so a test asserts ``scan.problems() == {}`` over a whole tree.

# Generator syntax that must never reach Fin as text (outside code).
SYNTAX: dict[str, re.Pattern[str]] = {
    "!!!": re.compile(r"!!!"),
    "???": re.compile(r"\?\?\?"),
    '=== "': re.compile(r'=== ?"'),
    ":::": re.compile(r":::"),
    "{#": re.compile(r"\{ ?#"),
    "{:": re.compile(r"\{:"),
    "{!": re.compile(r"\{!"),
    "--8<--": re.compile(r"-{1,2}8<-{1,2}"),
    "*[": re.compile(r"(?:^|\s)\*\[[^\]]+\]:"),
    "import ... from": re.compile(r"\bimport\s+[\w{}\s,*]+\s+from\s+['\"]"),
    "useBaseUrl": re.compile(r"useBaseUrl|require\(['\"]"),
    "JSX tag": re.compile(r"</?[A-Z][A-Za-z0-9]*(?:[\s/>]|$)"),
    "{...}": re.compile(r"\{\s*(?:/\*|[A-Za-z_$][\w.$]*\s*(?:\(|\}))"),
    "front matter": re.compile(
        r"(?:^|\s)(?:title|sidebar_label|sidebar_position|slug|hide_title|description|icon|"
        r"status|hide|search|id):\s+\S[^:]*\s(?:title|sidebar_label|sidebar_position|slug|"
        r"hide_title|description|icon|status|hide|search|id):\s"
    ),
}
_CODE_TAGS = ("pre", "code", "kbd", "samp")
# Docusaurus' magic comments: its code blocks show the lines they mark, never themselves.
_MAGIC_COMMENT = re.compile(
    r"^\s*(?://|#|/\*|\{/\*|<!--|--)\s*(?:highlight-(?:next-line|start|end)|"
    r"(?:error|this-line-is-highlighted)-?\S*)\s*(?:\*/\}?|-->)?\s*$"
)
_PAGE_SUFFIXES = frozenset({"", ".html", ".htm", ".md", ".mdx"})
_FENCE = re.compile(r"^(?P<indent>[ \t>]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\n]*)$")
_LANG_WORD = re.compile(r"[\w+#.-]+(?![\w+#.-]*=)")


@dataclass(frozen=True)
class Sent:
    """One page as Fin got it, and the path of the file it came from in the tree."""

    path: str
    title: str
    html: str
    url: str | None


def text_outside_code(html: str) -> list[str]:
    """The text of each block of ``html`` with code, kbd and samp taken out."""
    soup = parse(html)
    for tag in soup.find_all(_CODE_TAGS):
        tag.replace_with(" ")
    blocks = []
    for tag in soup.find_all(True):
        own = "".join(str(s) for s in tag.find_all(string=True, recursive=False))
        if own.strip():
            blocks.append(words(own))
    return blocks


def syntax_leaks(html: str) -> list[str]:
    """Each piece of generator syntax in the text of ``html`` outside code."""
    found = []
    for block in text_outside_code(html):
        for name, pattern in SYNTAX.items():
            match = pattern.search(block)
            if match:
                start = max(0, match.start() - 20)
                found.append(f"{name}: {block[start : match.end() + 30]!r}")
    return found


def heading_problems(html: str) -> list[str]:
    """Each heading of ``html`` without an id."""
    return [
        f"<{tag.name}> without an id: {words(tag.get_text(' '))[:50]!r}"
        for tag in parse(html).find_all(("h1", "h2", "h3", "h4", "h5", "h6"))
        if not tag.get("id")
    ]


def ids(html: str) -> set[str]:
    """Every ``id`` of ``html``: what a ``#fragment`` may point at."""
    return {str(tag["id"]) for tag in parse(html).find_all(id=True)}


def source_fences(markdown: str) -> list[tuple[str | None, int]]:
    """``(language, lines of code)`` of every fenced block of a Markdown source, in order.

    Fences nested in a longer fence are its content, not blocks of their own; a fence
    may be indented (in a list, an admonition, a tab) or quoted.
    """
    found: list[tuple[str | None, int]] = []
    lines = markdown.split("\n")
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        index += 1
        if match is None or (match["fence"][0] == "`" and "`" in match["info"]):
            continue
        fence = match["fence"]
        info = match["info"].strip().lstrip("{ \t.")
        language = _LANG_WORD.match(info)
        indent = len(match["indent"].expandtabs(4))
        body = 0
        while index < len(lines):
            raw = lines[index].expandtabs(4)
            line = raw.lstrip(" >")
            index += 1
            # A closing fence is indented at most 3 columns more than its opening.
            closes = len(raw) - len(line) <= indent + 3
            if closes and line.startswith(fence) and not line.strip().strip(fence[0]):
                break
            if line.strip() and not _MAGIC_COMMENT.match(line):
                body += 1
        found.append((language.group(0).lower() if language else None, body))
    return found


def fence_problems(markdown: str, html: str) -> list[str]:
    """Each fenced block of ``markdown`` with a language that ``html`` lost: its language,
    or its line breaks (a block of several lines that came out as fewer).

    Blocks are matched per language, in order.
    """
    produced: dict[str, list[int]] = {}
    for language, text in code_blocks(html):
        lines = sum(1 for line in text.split("\n") if line.strip())
        produced.setdefault((language or "").lower(), []).append(lines)
    wanted: dict[str, list[int]] = {}
    for language, lines in source_fences(markdown):
        if language:
            wanted.setdefault(language, []).append(lines)
    problems = []
    for language, counts in wanted.items():
        got = produced.get(language, [])
        if len(got) < len(counts):
            problems.append(
                f"{len(counts) - len(got)} of {len(counts)} {language!r} code blocks lost "
                "their language"
            )
        for want, have in zip(counts, got, strict=False):
            if want > 1 and have < want:
                problems.append(f"a {language!r} code block of {want} lines came out as {have}")
    return problems


def link_problems(pages: Iterable[Sent], *, site: str) -> list[str]:
    """Each link of ``pages`` into ``site`` (a URL prefix) whose page or id does not exist."""
    pages = list(pages)
    by_url = {page.url: page for page in pages if page.url}
    page_ids = {page.url: ids(page.html) for page in pages if page.url}
    problems = []
    for page in pages:
        for link in parse(page.html).find_all("a", href=True):
            href = str(link["href"])
            if not href.startswith(site):
                continue
            url, _, fragment = href.partition("#")
            url = url.partition("?")[0]  # a search query on the page is still the page
            if posixpath.splitext(url)[1].lower() not in _PAGE_SUFFIXES:
                continue  # a file (an image, a download), not a page
            if url not in by_url:
                problems.append(f"{page.path}: link to {href} (no such page)")
            elif fragment and fragment not in page_ids[url]:
                problems.append(f"{page.path}: link to {href} (no such id on that page)")
    return problems


_EMPTY_TAB = re.compile(r"^tab '(.*)' has no content$")


def _empty_in_source(problem: str, source: str) -> bool:
    """Whether ``problem`` is a tab the source itself leaves empty (``=== "Label"`` with
    nothing indented under it): then an empty tab is what the site shows too."""
    match = _EMPTY_TAB.match(problem)
    if match is None:
        return False
    lines = source.split("\n")
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith("===") and match.group(1) in stripped:
            indent = len(line) - len(stripped)
            following = next((ln for ln in lines[index + 1 :] if ln.strip()), "")
            return len(following) - len(following.lstrip()) <= indent
    return False


@dataclass
class Scan:
    """What ``scan_tree`` found, by kind of problem: one line per problem."""

    found: dict[str, list[str]]

    def counts(self) -> dict[str, int]:
        return {kind: len(lines) for kind, lines in self.found.items()}

    def problems(self) -> dict[str, list[str]]:
        return {kind: lines for kind, lines in self.found.items() if lines}


def scan_tree(
    pages: Iterable[Sent],
    sources: Callable[[str], str],
    *,
    site: str,
    title_of: Callable[[str], str] | None = None,
) -> Scan:
    """Every problem of ``pages`` (sent from one tree), sorted by kind.

    ``sources(path)`` is the Markdown a page came from; ``site`` the URL prefix of the
    source's pages (links under it are internal); ``title_of(path)`` the title the
    generator would show, when the test knows its rule.
    """
    pages = list(pages)
    found: dict[str, list[str]] = {
        "syntax": [],
        "shape": [],
        "code": [],
        "heading ids": [],
        "links": [],
        "titles": [],
    }
    for page in pages:
        source = sources(page.path)
        found["syntax"].extend(f"{page.path}: {line}" for line in syntax_leaks(page.html))
        found["shape"].extend(
            f"{page.path}: {line}"
            for line in shape_problems(page.html, code=False)
            if not _empty_in_source(line, source)
        )
        found["code"].extend(f"{page.path}: {line}" for line in fence_problems(source, page.html))
        found["heading ids"].extend(f"{page.path}: {line}" for line in heading_problems(page.html))
        if title_of is not None:
            want = title_of(page.path)
            if words(page.title) != words(want):
                found["titles"].append(f"{page.path}: title {page.title!r}, not {want!r}")
            blocks = parse(page.html).find_all(True, recursive=False)
            first = blocks[0] if blocks else None
            if (
                first is not None
                and len(blocks) > 1
                and first.name == "h1"
                and words(first.get_text(" ")) == words(page.title)
            ):
                found["titles"].append(f"{page.path}: the body repeats the title as its <h1>")
    found["links"] = link_problems(pages, site=site)
    return Scan(found)
