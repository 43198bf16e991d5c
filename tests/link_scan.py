"""The links of a documentation tree, read from its Markdown source and checked against
the tree and what Fin got: the oracle a source's reported broken links are held to.

A test helper, written from the generators' rules rather than from syncer's link code,
so the two do not share a mistake:

- ``source_links(markdown)``: every link and image the source writes outside code:
  inline ``[text](href)`` and ``![alt](src)``, reference definitions a page uses
  (``[text][label]``, ``[label]``), raw HTML's ``src`` and ``href``.
- a *rule* says where a link leads by its generator's resolution (``mkdocs_rule``: a
  file path from the page's file, raw HTML from the page's URL; ``docusaurus_rule``: a
  file, a route, a doc id or a static file, in Docusaurus' order).
- ``broken_links(pages, tree, rule)``: ``(key, kind, target, reason)`` for each link to
  nothing in the tree, and each ``#fragment`` that is not an id of its page as sent
  (the page's ids in Fin are what an anchor must name).
- ``output_links(pages, ...)``: the other way round, from what Fin got: every ``<a
  href>`` and ``<img src>`` into the site lands on a page sent (and an id of it), or on
  a file of the tree, or is one of its page's reported broken links.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin

from syncer.connectors.filesystem.site_files import FolderFiles
from syncer.convert.docusaurus import docusaurus_site
from tests.fidelity import Sent, ids, parse

NO_FILE = "no such file in the source"
NO_PAGE = "no such page in the source"
OUTSIDE = "outside the source"
NO_ANCHOR = "no such anchor"


@dataclass(frozen=True)
class Leads:
    """Where a link leads: ``page`` (a Markdown file of the tree, whose anchors count), a
    ``file``, or ``missing`` (``reason``: what is not there)."""

    to: str  # page | file | missing
    path: str = ""
    reason: str = ""


Rule = Callable[[str, str, str, bool], Leads | None]  # page, target, kind, raw
BrokenLink = tuple[str, str, str, str]  # key, kind, target, reason

_FENCE = re.compile(r"^[ \t>]*(`{3,}|~{3,})")
# A code span ends in its paragraph: never past a blank line.
_CODE_SPAN = re.compile(r"(`+)(?!`)(?:[^\n]|\n(?![ \t]*\n))*?(?<!`)\1(?!`)")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# [text](href "title"): the text may hold one level of brackets (an image, a code span).
_INLINE = re.compile(
    r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*(<[^>\n]*>|[^\s()]+(?:\([^\s()]*\))?)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
_DEFINITION = re.compile(r"^[ \t]*\[([^\]^][^\]]*)\]:[ \t]*<?([^\s>]+)>?", re.MULTILINE)
_USE = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\](?:\[([^\]]*)\]|(?![(:]))")
_RAW = re.compile(r"""<(img|a|source)\b[^>]*?\b(src|href)\s*=\s*(["'])(.*?)\3""", re.DOTALL)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")


def _without_code(markdown: str) -> str:
    """``markdown`` with fenced blocks, code spans and HTML comments blanked."""
    kept: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            kept.append("")
        elif fence is not None:
            marker = match.group(1) if match else ""
            closes = marker[:1] == fence[0] and len(marker) >= len(fence)
            if closes and not line.strip().strip(fence[0]):
                fence = None
            kept.append("")
        else:
            kept.append(line)
    text = _CODE_SPAN.sub("", "\n".join(kept))
    return _COMMENT.sub("", text)


def _inline(text: str) -> Iterator[tuple[str, str, bool]]:
    for match in _INLINE.finditer(text):
        yield from _inline(match.group(2))  # an image inside a link's text
        kind = "image" if match.group(1) else "link"
        yield kind, match.group(3).strip("<>"), False


def source_links(markdown: str) -> list[tuple[str, str, bool]]:
    """``(kind, target, in raw HTML)`` of every link and image ``markdown`` writes."""
    text = _without_code(markdown)
    found = list(_inline(text))
    definitions = {m.group(1).strip().casefold(): m.group(2) for m in _DEFINITION.finditer(text)}
    for match in _USE.finditer(_DEFINITION.sub("", _INLINE.sub("", text))):
        label = (match.group(3) or match.group(2)).strip().casefold()
        if label in definitions:
            found.append(("image" if match.group(1) else "link", definitions[label], False))
    for match in _RAW.finditer(text):
        found.append(("image" if match.group(2) == "src" else "link", match.group(4), True))
    return found


def broken_links(
    pages: Iterable[Sent], tree: Path, rule: Rule, *, unsent: Collection[str] = ()
) -> set[BrokenLink]:
    """Every link of ``pages`` (sent from ``tree``, keyed by their path in it) that
    ``rule`` finds leading nowhere, or to an id its page as sent does not have.

    ``unsent``: pages of the tree the source listed but did not send (one it leaves
    empty); with no ids to check against, their anchors are not checked. A link to a
    page neither sent nor unsent fails the scan: the test must say what it is.
    """
    pages = list(pages)
    sent = {page.path: page for page in pages}
    page_ids = {page.path: ids(page.html) for page in pages}
    found: set[BrokenLink] = set()
    for page in pages:
        source = (tree / page.path).read_text(encoding="utf-8")
        for kind, target, raw in source_links(source):
            if _SCHEME.match(target):
                continue
            leads = rule(page.path, target, kind, raw)
            if leads is None:
                continue
            if leads.to == "missing":
                found.add((page.path, kind, target, leads.reason))
                continue
            fragment = unquote(target.partition("#")[2])
            if leads.to != "page" or not fragment or kind != "link":
                continue
            if leads.path not in sent:
                assert leads.path in unsent, (page.path, target, leads.path)
                continue
            # The H1 that became the page's title left the body with its id: a link to it
            # is a link to the page, as on the site.
            if fragment not in page_ids[leads.path] and fragment != slug(sent[leads.path].title):
                found.add((page.path, kind, target, NO_ANCHOR))
    return found


@dataclass
class OutputScan:
    """What ``output_links`` found in the pages' HTML, counting each ``<a href>`` and
    ``<img src>`` into the site (``checked``): how many land on a page sent and an id it
    has, or on a file of the tree (``landed``); how many on a page the source leaves
    empty (``to_unsent``); how many land nowhere but are a reported broken link of their
    page (``reported``); and a line for each that is neither (``unexplained``)."""

    checked: int = 0
    landed: int = 0
    to_unsent: int = 0
    reported: int = 0
    unexplained: tuple[str, ...] = ()


def output_links(
    pages: Iterable[Sent],
    *,
    site: str,
    roots: Collection[Path],
    reported: Collection[BrokenLink],
    unsent: Collection[str] = (),
) -> OutputScan:
    """Every link and image of ``pages`` (as Fin got them) whose URL is under ``site``:
    where it lands. A file's URL is its path under ``site``, looked up under each of
    ``roots``; ``unsent`` are the URLs of pages the source lists but does not send.

    One that lands nowhere must be one of ``reported`` (``(key, kind, target, reason)``)
    of its own page, of its kind, whose target's path (or, for a missing anchor, its
    ``#fragment``) the URL ends with: a site path the tree lacks (``/img/x.png``) stays a
    URL on the site, and a missing anchor's fragment stays where the flavour keeps it.
    """
    pages = list(pages)
    page_ids = {page.url: ids(page.html) for page in pages if page.url}
    scan = OutputScan()
    unexplained: list[str] = []
    for page in pages:
        own = [link for link in reported if link[0] == page.path]
        soup = parse(page.html)
        found = [("link", str(a["href"])) for a in soup.find_all("a", href=True)]
        found += [("image", str(img["src"])) for img in soup.find_all("img", src=True)]
        for kind, url in found:
            if not url.startswith(site):
                continue
            scan.checked += 1
            address, _, fragment = url.partition("#")
            address = address.partition("?")[0]
            if address in page_ids and (not fragment or unquote(fragment) in page_ids[address]):
                scan.landed += 1
            elif address in unsent:
                scan.to_unsent += 1
            elif address not in page_ids and _is_file(roots, unquote(address[len(site) :])):
                scan.landed += 1
            elif any(_names(link, kind, url) for link in own):
                scan.reported += 1
            else:
                unexplained.append(f"{page.path}: {kind} to {url} lands nowhere, unreported")
    scan.unexplained = tuple(unexplained)
    return scan


def _is_file(roots: Collection[Path], path: str) -> bool:
    return bool(path) and any((root / path).is_file() for root in roots)


def _names(link: BrokenLink, kind: str, url: str) -> bool:
    """Whether the reported ``link`` is the one Fin got as ``url``."""
    _, reported_kind, target, reason = link
    if reported_kind != kind:
        return False
    path, _, fragment = unquote(target).partition("#")
    if reason == NO_ANCHOR:
        return bool(fragment) and unquote(url).endswith("#" + fragment)
    tail = _LEADING.sub("", path.partition("?")[0])
    return bool(tail) and unquote(url).partition("#")[0].partition("?")[0].endswith(tail)


_LEADING = re.compile(r"^(?:\.{1,2}/|/)+")


def slug(heading: str) -> str:
    """GitHub's slug of a plain heading (``Set up`` -> ``set-up``), which MkDocs' toc and
    Docusaurus give a heading of words too."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _found(tree: Path, path: str, suffixes: tuple[str, ...]) -> Leads | None:
    """The file at ``path`` (a folder: its index page), as a page or a file, if any."""
    for candidate in (path, *(posixpath.join(path, name) for name in _FOLDER_PAGES)):
        if (tree / candidate).is_file():
            to = "page" if candidate.endswith(suffixes) else "file"
            return Leads(to, posixpath.normpath(candidate))
    return None


_FOLDER_PAGES = ("index.md", "README.md")
_MAX_BYTES = 10_000_000


def mkdocs_rule(tree: Path, docs: str = "") -> Rule:
    """MkDocs' resolution (``mkdocs/structure/pages.py``) on a tree whose ``docs_dir`` is
    ``docs``: a Markdown link is a path from the page's file; raw HTML is left as written,
    so the browser resolves it from the page's URL (``setup/page/`` with the default
    ``use_directory_urls``; ``index.md`` and ``README.md`` are their folder's URL)."""

    def resolve(page: str, target: str, kind: str, raw: bool) -> Leads | None:
        path = target.partition("#")[0].partition("?")[0]
        if path.startswith("/"):
            return None  # the site's root: not a path of the tree
        if not path:
            return Leads("page", page)
        base = posixpath.dirname(page)
        if raw:
            stem = posixpath.splitext(page)[0]
            base = base if posixpath.basename(stem) in ("index", "README") else stem
        joined = posixpath.normpath(posixpath.join(base or ".", unquote(path)))
        inside = posixpath.relpath(joined, docs or ".")
        if joined.startswith("../") or inside.startswith("../"):
            return Leads("missing", reason=OUTSIDE)
        return _found(tree, joined, (".md",)) or Leads("missing", reason=NO_FILE)

    return resolve


def docusaurus_rule(tree: Path) -> Rule:
    """Docusaurus 3's resolution: a ``.md``/``.mdx`` path is a file, looked up from the
    page's folder, then the docs folder, then the site's (``resolveMarkdownLinkPathname``);
    anything else is a route from the page's (or the docs root's, for ``/x``), else a doc
    id, else a static file (``/img/x.png``: ``static/img/x.png``) or a file beside the page.
    Each doc's route and id are the site's as ``syncer.convert.docusaurus`` reads them
    from ``tree`` (its routes are held to Docusaurus' own rules by
    ``tests/test_docusaurus.py``)."""
    site = docusaurus_site(FolderFiles(tree, max_bytes=_MAX_BYTES))

    def resolve(page: str, target: str, kind: str, raw: bool) -> Leads | None:
        path = unquote(target.partition("#")[0].partition("?")[0])
        if not path:
            return Leads("page", page)
        here = posixpath.dirname(page)
        if kind == "image":
            return _static(path, here) or Leads("missing", reason=NO_FILE)
        if path.endswith((".md", ".mdx")):
            if path.startswith("/"):
                bases = [site.docs_dir, site.site_dir]
            elif path.startswith(("./", "../")):
                bases = [here]
            else:
                bases = [here, site.docs_dir, site.site_dir]
            for base in bases:
                candidate = posixpath.normpath(posixpath.join(base, path.lstrip("/")))
                if candidate in site.pages:
                    return Leads("page", candidate)
            return Leads("missing", reason=NO_PAGE)
        own = site.pages.get(page)
        route = urljoin(own.route, path) if own is not None else path
        found = site.page_at_route(route) or site.page_with_id(path.strip("/"))
        if found is not None:
            return Leads("page", found)
        return _static(path, here) or Leads("missing", reason=NO_PAGE)

    def _static(path: str, here: str) -> Leads | None:
        if path.startswith("/"):
            for static in site.static_dirs:
                if (tree / static / path.lstrip("/")).is_file():
                    return Leads("file", posixpath.join(static, path.lstrip("/")))
        elif (tree / here / path).is_file():
            return Leads("file", posixpath.normpath(posixpath.join(here, path)))
        return None

    return resolve
