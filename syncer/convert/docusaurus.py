"""The Docusaurus flavour: a docs site read as Docusaurus 3 reads it, each page rendered as
its site shows it.

Two pure functions over a source's tree (``SiteFiles``), never running Node:

- ``docusaurus_site(files)`` reads the site: ``docusaurus.config.{js,ts,mjs,...}``
  statically (``url``, ``baseUrl``, ``staticDirectories``, ``markdown.format`` and the
  docs plugin's ``path`` and ``routeBasePath``: a value that is not a plain literal falls
  back to Docusaurus' default, and a note says so), then every doc's front matter, to
  give each doc the id, slug and route Docusaurus gives it (its rules, from
  ``plugin-content-docs``: the id is the folder plus the file name without its number
  prefix, unless front matter ``id``; the slug is front matter ``slug``, absolute or
  relative to the folder, else ``index``/``README``/``<folder>/<folder>`` files take
  their folder's slug, else the id's; the route is baseUrl, routeBasePath and slug).
  Files and folders whose name starts with ``_`` are partials, not pages.
- ``render_docusaurus(path, text, site)`` renders one page: markdown-it-py with
  mdit-py-plugins (container for ``:::type Title`` / ``:::type[Title]`` admonitions,
  footnotes, task lists; GFM tables and strikethrough) and MDX's syntax
  (``syncer.convert.mdx``). Admonitions and ``<Admonition>`` become the callout shape,
  ``<Tabs>``/``<TabItem>`` the tabs shape (every tab under its label), ``<details>``,
  ``<CodeBlock>`` and ``<Link>`` what they render; an imported ``.md``/``.mdx`` partial is
  rendered in place; another component keeps its children (and a string ``title``), and
  one without children is dropped and named in the notes. ESM lines, JSX comments and
  ``{expressions}`` never reach the output (a string literal is its text). Code fences
  lose Docusaurus' magic comments (``// highlight-next-line``), as the site shows them,
  and keep their ``title``. Headings get Docusaurus' ids (``{#id}``, else
  github-slugger). The title is front matter ``title``, else the first heading when it
  is an H1 (which then leaves the body, as the site shows it as the page title), else
  the id's last part: Docusaurus' own rule (``title ?? contentTitle ?? baseID``), which
  ``sidebar_label`` has no part in (it only labels the sidebar).

Links and images: every link to another document is rewritten to that document's path
in the tree, *relative to the rendered document* (``../api/Store.md#getstate``), and
every image or asset to its file's path likewise, which is what the pipeline's link and
image resolvers (``syncer.convert.links.document_links``) already turn into the target's
page or file URL: ``.md``/``.mdx`` file links by Docusaurus' resolution order, route
links (``/api/api-reference``, under baseUrl and routeBasePath, matched as its router
matches, ignoring case and a trailing slash), doc ids and static files
(``staticDirectories``, ``useBaseUrl()``, ``require('@site/...')``). A target that is not
in the tree stays as written, and a link to an anchor its target does not have links to
the page alone; both are named in ``Rendered.notes``.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import OptionsDict
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from syncer.convert import callouts, tabs
from syncer.convert.flavour import Rendered, SiteFiles
from syncer.convert.jsvalues import Opaque, literal, object_literals
from syncer.convert.links import distinct
from syncer.convert.markdown import split_front_matter
from syncer.convert.mdx import Expression, JsxTag, is_comment, mdx_plugin, string_literal
from syncer.convert.slugger import GithubSlugger
from syncer.convert.urls import is_relative
from syncer.model import BrokenLink

CONFIG_NAMES = tuple(f"docusaurus.config.{ext}" for ext in ("ts", "js", "mjs", "cjs", "mts", "cts"))
DOC_SUFFIXES = (".md", ".mdx")
# Docusaurus 3's defaults (docusaurus-plugin-content-docs, docusaurus types).
DEFAULT_ROUTE_BASE_PATH = "docs"
DEFAULT_DOCS_PATH = "docs"
DEFAULT_STATIC_DIRECTORIES = ("static",)
DEFAULT_BASE_URL = "/"
# Docusaurus 3's admonition keywords (theme-classic's defaults).
ADMONITION_KINDS = frozenset(
    {"note", "tip", "info", "warning", "danger", "caution", "important", "success", "secondary"}
)
_DOCS_PLUGINS = frozenset({"@docusaurus/plugin-content-docs", "content-docs"})
_CLASSIC_PRESETS = frozenset({"@docusaurus/preset-classic", "classic"})
_FORMATS = frozenset({"mdx", "md", "detect"})

# plugin-content-docs' DefaultNumberPrefixParser ("01-intro" -> "intro"), which leaves
# dates and versions alone ("2021-01-notes", "7.0-release").
_NUMBER_PREFIX = re.compile(r"^(?P<number>\d+)\s*[-_.]+\s*(?P<suffix>[^-_.\s].*)$")
_NOT_A_PREFIX = re.compile(r"^\d+[-_.]\d+")
# @docusaurus/utils' parseMarkdownHeadingId (the "classic" {#id} syntax).
_HEADING_ID = re.compile(r"\s*\{#(?P<id>(?:.(?!\{#|\}))*.)\}$")


# ---- the site -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocPage:
    """One doc as Docusaurus knows it: ``id`` (``api/store``), ``slug``, ``route``."""

    path: str
    id: str
    base_id: str
    slug: str
    route: str
    title: str | None = None
    sidebar_label: str | None = None
    hide_title: bool = False
    front: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DocusaurusSite:
    """A Docusaurus site read from its tree: where things are and every doc's route.

    Paths are the tree's (``SiteFiles``): ``site_dir`` holds the config, ``docs_dir`` the
    docs, ``static_dirs`` the static folders. ``routes_by_path`` and ``routes_by_id`` map
    each doc's path and id to its route (``/api/api-reference``). ``notes``: what could
    not be read as Docusaurus would and what was used instead.
    """

    files: SiteFiles = field(repr=False, compare=False)
    paths: frozenset[str] = field(repr=False)
    config_path: str | None
    site_dir: str
    docs_dir: str
    url: str | None
    base_url: str
    route_base_path: str
    static_dirs: tuple[str, ...]
    markdown_format: str
    pages: Mapping[str, DocPage]
    routes_by_path: Mapping[str, str]
    routes_by_id: Mapping[str, str]
    notes: tuple[str, ...] = ()
    _by_route: Mapping[str, str] = field(default_factory=dict, repr=False)
    _by_folded_route: Mapping[str, str] = field(default_factory=dict, repr=False)
    _by_id: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Memo of each doc's anchors and title anchor (``anchors``): filled as links ask.
    _anchors: dict[str, tuple[frozenset[str], str | None]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def page_at_route(self, route: str) -> str | None:
        """The path of the doc served at ``route``, matched as Docusaurus' router does."""
        key = _route_key(route)
        return self._by_route.get(key) or self._by_folded_route.get(key.casefold())

    def page_with_id(self, doc_id: str) -> str | None:
        """The path of the doc whose id is ``doc_id``."""
        return self._by_id.get(doc_id)

    def anchors(self, path: str) -> frozenset[str]:
        """The element ids the page at ``path`` has (its headings', and JSX ``id``s)."""
        return self._page_anchors(path)[0]

    def title_anchor(self, path: str) -> str | None:
        """The id of the H1 the page at ``path`` shows as its title (not in its body)."""
        return self._page_anchors(path)[1]

    def _page_anchors(self, path: str) -> tuple[frozenset[str], str | None]:
        found = self._anchors.get(path)
        if found is None:
            found = _anchors_of(self, path)
            self._anchors[path] = found
        return found


def docusaurus_site(files: SiteFiles, *, docs_dir: str = DEFAULT_DOCS_PATH) -> DocusaurusSite:
    """The Docusaurus site in ``files``, read without running Node.

    ``docs_dir`` (a folder of the tree) is used when the config does not say where the
    docs are in a plain value (or there is no config).
    """
    paths = frozenset(files.paths())
    notes: list[str] = []
    config_path = _config_path(paths)
    site_dir = posixpath.dirname(config_path) if config_path else ""
    config: Mapping[str, Any] = {}
    if config_path is not None:
        config = _read_config(files, config_path, notes)
    where = config_path or "no docusaurus.config"
    url = _plain(config, "url", None, str, where, notes, default_text="none")
    base_url = _plain(config, "baseUrl", DEFAULT_BASE_URL, str, where, notes)
    base_url = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
    static = _plain(
        config, "staticDirectories", list(DEFAULT_STATIC_DIRECTORIES), list, where, notes
    )
    static_dirs = tuple(
        _join(site_dir, item) for item in static if isinstance(item, str) and item.strip()
    )
    markdown = config.get("markdown")
    markdown_format = "mdx"
    if isinstance(markdown, dict):
        markdown_format = _plain(
            markdown, "format", "mdx", str, where, notes, key_path="markdown.format"
        )
        if markdown_format not in _FORMATS:
            notes.append(
                f"{where}: markdown.format {markdown_format!r} is not mdx, md or detect; mdx used"
            )
            markdown_format = "mdx"
    docs_options = _docs_options(config, where, notes)
    path_value = _plain(
        docs_options,
        "path",
        None,
        str,
        where,
        notes,
        key_path="docs path",
        default_text=f"{docs_dir!r}",
    )
    docs_root = _join(site_dir, path_value) if path_value else docs_dir.strip("/")
    route_base_path = _plain(
        docs_options,
        "routeBasePath",
        DEFAULT_ROUTE_BASE_PATH,
        str,
        where,
        notes,
        key_path="docs routeBasePath",
    )
    pages = _read_pages(files, paths, docs_root, base_url, route_base_path, notes)
    by_route: dict[str, str] = {}
    by_folded: dict[str, str] = {}
    for page in pages.values():
        key = _route_key(page.route)
        if key in by_route:
            notes.append(
                f"{page.path}: route {page.route} is also {by_route[key]}'s; the first one keeps it"
            )
            continue
        by_route[key] = page.path
        by_folded.setdefault(key.casefold(), page.path)
    return DocusaurusSite(
        files=files,
        paths=paths,
        config_path=config_path,
        site_dir=site_dir,
        docs_dir=docs_root,
        url=url,
        base_url=base_url,
        route_base_path=route_base_path,
        static_dirs=static_dirs,
        markdown_format=markdown_format,
        pages=pages,
        routes_by_path={path: page.route for path, page in pages.items()},
        routes_by_id={page.id: page.route for page in pages.values()},
        notes=tuple(notes),
        _by_route=by_route,
        _by_folded_route=by_folded,
        _by_id={page.id: page.path for page in pages.values()},
    )


def _config_path(paths: Iterable[str]) -> str | None:
    """The config nearest the root (``docusaurus.config.ts`` before ``.js`` in one folder)."""
    found = [path for path in paths if posixpath.basename(path) in CONFIG_NAMES]
    if not found:
        return None
    return min(
        found,
        key=lambda p: (
            p.count("/"),
            posixpath.dirname(p),
            CONFIG_NAMES.index(posixpath.basename(p)),
        ),
    )


def _decode(data: bytes) -> str:
    return data.decode("utf-8-sig", errors="replace")


def _read_config(files: SiteFiles, path: str, notes: list[str]) -> Mapping[str, Any]:
    data = files.read(path)
    if data is None:
        notes.append(f"{path}: cannot be read; Docusaurus' defaults used")
        return {}
    candidates = list(object_literals(_decode(data)))
    for wanted in ("baseUrl", "presets", "plugins", "url"):
        for candidate in candidates:
            if wanted in candidate:
                return candidate
    notes.append(f"{path}: no config object written as a literal; Docusaurus' defaults used")
    return {}


def _plain(
    options: Mapping[str, Any],
    key: str,
    default: Any,
    kind: type,
    where: str,
    notes: list[str],
    *,
    key_path: str | None = None,
    default_text: str | None = None,
) -> Any:
    """``options[key]`` when it is a plain value of ``kind``, else ``default`` (noted)."""
    if key not in options:
        return default
    value = options[key]
    if isinstance(value, kind) and not (
        isinstance(value, list) and any(isinstance(item, Opaque) for item in value)
    ):
        return value
    shown = value.source if isinstance(value, Opaque) else repr(value)
    fallback = default_text or repr(default)
    notes.append(
        f"{where}: {key_path or key} is not a plain value ({shown[:60]}); "
        f"Docusaurus' default {fallback} used"
    )
    return default


def _docs_options(config: Mapping[str, Any], where: str, notes: list[str]) -> Mapping[str, Any]:
    """The options of the site's default docs instance (classic preset's ``docs``, or the
    ``plugin-content-docs`` entry without an ``id``)."""
    for preset in _entries(config.get("presets")):
        name, options = preset
        if name in _CLASSIC_PRESETS or (isinstance(options, dict) and "docs" in options):
            docs = options.get("docs") if isinstance(options, dict) else None
            if isinstance(docs, dict):
                return docs
            if isinstance(docs, Opaque):
                notes.append(
                    f"{where}: the docs options are not a plain value ({docs.source[:60]}); "
                    "Docusaurus' defaults used"
                )
            if docs is not False:
                return {}
    for name, options in _entries(config.get("plugins")):
        if (
            name in _DOCS_PLUGINS
            and isinstance(options, dict)
            and options.get("id", "default") == "default"
        ):
            return options
    return {}


def _entries(value: Any) -> Iterable[tuple[Any, Any]]:
    if not isinstance(value, list):
        return
    for item in value:
        if isinstance(item, str):
            yield item, {}
        elif isinstance(item, list) and item:
            yield item[0], item[1] if len(item) > 1 else {}


def _join(base: str, relative: str) -> str:
    joined = (
        posixpath.normpath(posixpath.join(base, relative)) if base else posixpath.normpath(relative)
    )
    return "" if joined == "." else joined.lstrip("/")


def is_partial(relative: str) -> bool:
    """Whether a file of the docs folder is not a page (plugin-content-docs' default
    ``exclude``: ``_``-prefixed files and folders, tests)."""
    parts = relative.split("/")
    if any(part.startswith("_") for part in parts) or "__tests__" in parts:
        return True
    return ".test." in parts[-1]


def _read_pages(
    files: SiteFiles,
    paths: frozenset[str],
    docs_root: str,
    base_url: str,
    route_base_path: str,
    notes: list[str],
) -> dict[str, DocPage]:
    prefix = f"{docs_root}/" if docs_root else ""
    pages: dict[str, DocPage] = {}
    for path in sorted(paths):
        if not path.startswith(prefix) or not path.lower().endswith(DOC_SUFFIXES):
            continue
        relative = path[len(prefix) :]
        if is_partial(relative):
            continue
        data = files.read(path)
        if data is None:
            continue
        try:
            front, _ = split_front_matter(_decode(data))
        except ValueError as error:
            notes.append(f"{path}: {error}; its id and slug come from its file name")
            front = {}
        page = doc_page(
            path, relative, front, base_url=base_url, route_base_path=route_base_path, notes=notes
        )
        pages[path] = page
    return pages


def number_prefix_stripped(name: str) -> str:
    """``01-intro`` -> ``intro``, as Docusaurus' default number prefix parser reads it."""
    if _NOT_A_PREFIX.match(name):
        return name
    match = _NUMBER_PREFIX.match(name)
    return match.group("suffix") if match else name


def _strip_dir_prefixes(directory: str) -> str:
    return "/".join(number_prefix_stripped(part) for part in directory.split("/"))


def is_category_index(relative: str) -> bool:
    """``index.md``, ``README.md`` and ``guide/guide.md``: docs that take their folder's slug."""
    directory, name = posixpath.split(relative)
    stem = posixpath.splitext(name)[0].lower()
    folder = directory.split("/")[-1].lower() if directory else "."
    return stem in ("index", "readme", folder)


def doc_slug(
    base_id: str, relative: str, front_slug: str | None, *, number_prefixes: bool = True
) -> str:
    """The slug of the doc at ``relative`` (in the docs folder), by plugin-content-docs'
    ``getSlug``: an absolute front matter slug as it is, else the slug (or the id)
    resolved against the folder, which an index doc takes for itself."""
    if front_slug is not None and front_slug.startswith("/"):
        return front_slug
    directory = posixpath.dirname(relative) or "."
    folder = (
        "/"
        if directory == "."
        else "/"
        + (_strip_dir_prefixes(directory) if number_prefixes else directory).strip("/")
        + "/"
    )
    if front_slug is None and is_category_index(relative):
        return folder
    return _resolve_pathname(front_slug if front_slug is not None else base_id, folder)


def _resolve_pathname(to: str, base: str) -> str:
    # resolve-pathname's rules are URL resolution's: "../x" from "/a/b/" is "/a/x".
    return urlsplit(urljoin(f"https://site{base}", to)).path or "/"


def normalize_url(*parts: str) -> str:
    """@docusaurus/utils' ``normalizeUrl`` for paths: joined by single slashes."""
    joined = "/".join(part for part in parts if part)
    joined = re.sub(r"/{2,}", "/", joined)
    return joined if joined.startswith("/") else f"/{joined}"


def doc_page(
    path: str,
    relative: str,
    front: Mapping[str, Any],
    *,
    base_url: str = DEFAULT_BASE_URL,
    route_base_path: str = DEFAULT_ROUTE_BASE_PATH,
    notes: list[str] | None = None,
) -> DocPage:
    """The id, slug and route Docusaurus gives the doc at ``relative`` in the docs folder."""
    notes = notes if notes is not None else []
    number_prefixes = front.get("parse_number_prefixes", True) is not False
    directory, name = posixpath.split(relative)
    stem = posixpath.splitext(name)[0]
    file_id = number_prefix_stripped(stem) if number_prefixes else stem
    front_id = _front_text(front, "id")
    if front_id is not None and "/" in front_id:
        notes.append(
            f"{path}: front matter id {front_id!r} has a slash, which Docusaurus refuses; "
            f"{file_id!r} used"
        )
        front_id = None
    base_id = front_id or file_id
    folder_id = (
        (_strip_dir_prefixes(directory) if number_prefixes else directory) if directory else ""
    )
    doc_id = f"{folder_id}/{base_id}" if folder_id else base_id
    slug = doc_slug(base_id, relative, _front_text(front, "slug"), number_prefixes=number_prefixes)
    route = normalize_url(base_url, route_base_path, slug)
    return DocPage(
        path=path,
        id=doc_id,
        base_id=base_id,
        slug=slug,
        route=route,
        title=_front_text(front, "title"),
        sidebar_label=_front_text(front, "sidebar_label"),
        hide_title=front.get("hide_title") is True,
        front=dict(front),
    )


def _front_text(front: Mapping[str, Any], key: str) -> str | None:
    value = front.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    return text or None


def _route_key(route: str) -> str:
    path = unquote(urlsplit(route).path) or "/"
    return path.rstrip("/") or "/"


# ---- rendering ------------------------------------------------------------------------

# Components Docusaurus' theme gives meaning to, by the module they are imported from,
# and by the name a page uses for them when it imports nothing (MDXComponents).
_THEME_MODULES = {
    "@theme/Tabs": "tabs",
    "@theme/TabItem": "tabitem",
    "@theme/Admonition": "admonition",
    "@theme/CodeBlock": "codeblock",
    "@theme/Details": "details",
    "@docusaurus/Link": "link",
    "@docusaurus/Head": "head",
}
_THEME_NAMES = {
    "Tabs": "tabs",
    "TabItem": "tabitem",
    "Admonition": "admonition",
    "CodeBlock": "codeblock",
    "Details": "details",
    "Link": "link",
    "Head": "head",
}
_VOID = frozenset({"area", "br", "col", "embed", "hr", "img", "input", "source", "track", "wbr"})
_ATTRIBUTE_NAMES = {"className": "class", "htmlFor": "for"}
_IMPORT = re.compile(
    r"""\bimport\s+(?:type\s+)?(?P<clause>[^'";]*?)\s*\bfrom\s*(?P<q>['"])(?P<spec>[^'"]+)(?P=q)""",
    re.DOTALL,
)
_USE_BASE_URL = re.compile(r"""\s*(?:useBaseUrl|withBaseUrl)\s*\(\s*(['"`])(?P<url>[^'"`]*)\1""")
_REQUIRE = re.compile(
    r"""\s*require\s*\(\s*(['"`])(?P<spec>[^'"`]*)\1\s*\)(?:\s*\.\s*default)?\s*$"""
)
_FENCE_TITLE = re.compile(r"""\btitle=(?:"([^"]*)"|'([^']*)')""")
# Docusaurus' default magic comments (highlight-next-line, -start, -end), in each
# language's comment syntax; the site does not show them.
_MAGIC_COMMENT = re.compile(
    r"^[ \t]*(?:(?://|#|--|%|;)[ \t]*highlight-(?:next-line|start|end)[ \t]*"
    r"|(?:/\*|\{/\*|<!--|\(\*)[ \t]*highlight-(?:next-line|start|end)[ \t]*"
    r"(?:\*/\}|\*/|-->|\*\))[ \t]*)$"
)
_ADMONITION = re.compile(
    r"^(?P<kind>[a-z]+)(?:\[(?P<bracketed>.*)\]|[ \t]+(?P<spaced>.*?))?[ \t]*(?:\{[^}]*\})?[ \t]*$"
)
_MAX_PARTIAL_DEPTH = 8
_NO_FILE = "no such file in the source"


@dataclass
class _Context:
    """What one render knows and collects; ``env["docusaurus"]`` in markdown-it's rules."""

    site: DocusaurusSite
    source: str  # the file whose text this is (links resolve from it)
    host: str  # the document being rendered (links are written relative to it)
    notes: list[str]
    dropped: Counter[str]
    partials: tuple[str, ...] = ()
    broken: list[BrokenLink] = field(default_factory=list)
    ids_only: bool = False
    imports: dict[str, str] = field(default_factory=dict)
    anchors: set[str] = field(default_factory=set)
    host_anchors: set[str] | None = None
    host_title_anchor: str | None = None
    content_title: tuple[int, str] | None = None
    front_title: str | None = None
    # The id of the H1 that leaves the body as the page's title: a link to it is a link
    # to the page.
    title_anchor: str | None = None
    stack: list[tuple[str, str, str, dict[str, str]]] = field(default_factory=list)

    # -- what a component is --

    def kind(self, name: str) -> str:
        if not name:
            return "fragment"
        if name[0].islower() and "." not in name:
            return "html"
        spec = self.imports.get(name)
        if spec is not None:
            if spec in _THEME_MODULES:
                return _THEME_MODULES[spec]
            if self.partial_path(spec) is not None:
                return "partial"
        return _THEME_NAMES.get(name, "unknown")

    def partial_path(self, spec: str) -> str | None:
        base = self._module_path(spec)
        if base is None:
            return None
        for candidate in (base, f"{base}.mdx", f"{base}.md"):
            if candidate.lower().endswith(DOC_SUFFIXES) and candidate in self.site.paths:
                return candidate
        return None

    def _module_path(self, spec: str) -> str | None:
        if spec.startswith("@site/"):
            return _join(self.site.site_dir, spec[len("@site/") :])
        if spec.startswith(("./", "../")):
            return _join(posixpath.dirname(self.source), spec)
        return None

    # -- where links and images go --

    def _written(self, target: str, fragment: str = "") -> str:
        relative = posixpath.relpath(target, posixpath.dirname(self.host) or ".")
        return f"{relative}#{fragment}" if fragment else relative

    def link(self, href: str) -> str:
        """``href`` rewritten to its target's tree path, or as it is (and noted)."""
        if self.ids_only or not is_relative(href) or href.strip().startswith("//"):
            return href
        try:
            parts = urlsplit(href.strip())
        except ValueError:
            return href
        fragment = unquote(parts.fragment)
        target = self._target(unquote(parts.path)) if parts.path else self.host
        if target is None:
            self.notes.append(f"link to {href}: no such page")
            self.broken.append(BrokenLink("link", href, "no such page in the source"))
            return href
        if fragment and fragment == self._title_anchor(target):
            return self._written(target)  # the heading is the page's title now
        if fragment and target in self.site.pages and fragment not in self._anchors_of(target):
            # The page is there, the heading is not (the site's own broken anchor): the
            # link lands on the page, as the MkDocs flavour does.
            where = "this page" if target == self.host else target
            self.notes.append(
                f"link to {href}: no heading #{fragment} in {where}; linked to the page"
            )
            self.broken.append(BrokenLink("link", href, "no such anchor"))
            return self._written(target)
        if not parts.path:
            return href
        return self._written(target, parts.fragment)

    def _title_anchor(self, path: str) -> str | None:
        if path == self.host:
            return self.title_anchor if not self.partials else self.host_title_anchor
        return self.site.title_anchor(path)

    def _anchors_of(self, path: str) -> set[str] | frozenset[str]:
        if path == self.host:
            return self.host_anchors if self.host_anchors is not None else self.anchors
        return self.site.anchors(path)

    def _target(self, path: str) -> str | None:
        site = self.site
        if path.lower().endswith(DOC_SUFFIXES):
            return self._markdown_file(path)
        page = site.pages.get(self.host)
        if page is not None:
            found = site.page_at_route(urljoin(page.route, path))
            if found is not None:
                return found
        elif path.startswith("/"):
            found = site.page_at_route(path)
            if found is not None:
                return found
        by_id = site.page_with_id(path.strip("/"))
        if by_id is not None:
            return by_id
        return self._asset(path, url=True)

    def _markdown_file(self, path: str) -> str | None:
        """Docusaurus 3's ``resolveMarkdownLinkPathname``: which folders a file link is
        looked up from, in order (``@site/``: the site; ``/x.md``: the docs, then the
        site; ``./``/``../``: the file's folder; else its folder, the docs, the site)."""
        site = self.site
        here = posixpath.dirname(self.source)
        if path.startswith("@site/"):
            bases, path = [site.site_dir], path[len("@site/") :]
        elif path.startswith("/"):
            bases, path = [site.docs_dir, site.site_dir], path.lstrip("/")
        elif path.startswith(("./", "../")):
            bases = [here]
        else:
            bases = [here, site.docs_dir, site.site_dir]
        for base in bases:
            candidate = _join(base, path)
            if candidate in site.pages:
                return candidate
        return None

    def _asset(self, path: str, *, url: bool) -> str | None:
        """The file a link or image points at: a static file (by its URL under baseUrl, or
        for an image written ``/x.png`` by its path in a static folder), a ``@site/``
        path, or a path relative to the file."""
        site = self.site
        if path.startswith("@site/"):
            candidate = _join(site.site_dir, path[len("@site/") :])
            return candidate if candidate in site.paths else None
        if path.startswith("/"):
            inside = path
            if url and site.base_url != "/" and path.startswith(site.base_url):
                inside = path[len(site.base_url) - 1 :]
            for static in site.static_dirs:
                candidate = _join(static, inside.lstrip("/"))
                if candidate in site.paths:
                    return candidate
            return None
        candidate = _join(posixpath.dirname(self.source), path)
        return candidate if candidate in site.paths else None

    def image(self, src: str) -> str:
        """An image's ``src`` rewritten to its file's tree path, or as it is (and noted)."""
        if self.ids_only or not is_relative(src) or src.strip().startswith("//"):
            return src
        path = unquote(urlsplit(src.strip()).path)
        target = self._asset(path, url=False)
        if target is None:
            self.notes.append(f"image {src}: no such file")
            self.broken.append(BrokenLink("image", src, _NO_FILE))
            return src
        return self._written(target)

    def static_url(self, url: str) -> str:
        """``useBaseUrl(url)``: the static file served at baseUrl + ``url``."""
        if not is_relative(url) or url.startswith("//"):
            return url
        target = self._asset("/" + url.lstrip("/"), url=False)
        if target is None:
            self.notes.append(f"image useBaseUrl({url!r}): no such file")
            self.broken.append(BrokenLink("image", url, _NO_FILE))
            return normalize_url(self.site.base_url, url)
        return self._written(target)

    def required_file(self, spec: str) -> str:
        """``require(spec).default``: the file ``spec`` names."""
        path = self._module_path(spec) if not spec.startswith("/") else None
        if path is None or path not in self.site.paths:
            self.notes.append(f"image require({spec!r}): no such file")
            self.broken.append(BrokenLink("image", spec, _NO_FILE))
            return spec
        return self._written(path)


# -- the parser -----------------------------------------------------------------------


def _context(env: Any) -> _Context:
    context = env.get("docusaurus") if isinstance(env, dict) else None
    if not isinstance(context, _Context):
        raise TypeError("render with syncer.convert.docusaurus.render_docusaurus")
    return context


def _heading_ids_from_text(state: StateCore) -> None:
    """Take ``{#id}`` off the end of each heading (before inline parsing: in MDX it would
    be an expression; Docusaurus escapes it first for the same reason)."""
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or index + 1 >= len(tokens):
            continue
        inline = tokens[index + 1]
        match = _HEADING_ID.search(inline.content)
        if match:
            token.meta = {**(token.meta or {}), "explicit_id": match.group("id")}
            inline.content = inline.content[: match.start()]


def _collect_imports(state: StateCore) -> None:
    context = _context(state.env)
    for token in state.tokens:
        if token.type != "mdx_esm":
            continue
        for match in _IMPORT.finditer(token.content):
            for local in _imported_names(match.group("clause")):
                context.imports[local] = match.group("spec")


def _imported_names(clause: str) -> list[str]:
    names: list[str] = []
    named = re.search(r"\{([^}]*)\}", clause)
    if named:
        for item in named.group(1).split(","):
            words = item.replace("type ", "").split(" as ")
            if words[-1].strip():
                names.append(words[-1].strip())
        clause = clause[: named.start()] + clause[named.end() :]
    for item in clause.split(","):
        item = item.strip()
        if item.startswith("*"):
            item = item.split(" as ")[-1].strip()
        if re.fullmatch(r"[A-Za-z_$][\w$]*", item):
            names.append(item)
    return names


def _closing_index(tokens: Sequence[Token], start: int, name: str) -> int | None:
    depth = 0
    for index in range(start + 1, len(tokens)):
        token = tokens[index]
        if token.type != "mdx_jsx_flow":
            continue
        tag: JsxTag = token.meta["tag"]
        if tag.name != name or tag.self_closing:
            continue
        if not tag.closing:
            depth += 1
        elif depth == 0:
            return index
        else:
            depth -= 1
    return None


def _collapse_elements(state: StateCore) -> None:
    """``<CodeBlock>`` becomes the code block it shows; ``<Head>`` (page metadata) goes."""
    context = _context(state.env)
    tokens = state.tokens
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "mdx_jsx_flow" and not token.meta["tag"].closing:
            tag: JsxTag = token.meta["tag"]
            kind = context.kind(tag.name)
            if kind in ("codeblock", "head"):
                end = index if tag.self_closing else _closing_index(tokens, index, tag.name)
                if end is not None:
                    replacement = (
                        [_code_token(tag, tokens[index + 1 : end], token)]
                        if kind == "codeblock"
                        else []
                    )
                    tokens[index : end + 1] = replacement
                    index += len(replacement)
                    continue
        index += 1


def _code_token(tag: JsxTag, inner: Sequence[Token], opening: Token) -> Token:
    parts: list[str] = []
    for token in inner:
        if token.type in ("mdx_expression_flow", "mdx_expression_text"):
            text = string_literal(token.content)
            if text is not None:
                parts.append(text)
        elif token.type in ("inline", "fence"):
            parts.append(token.content)
    text = "\n".join(parts).strip("\n")
    fence = Token("fence", "code", 0)
    language = tag.text_attribute("language") or ""
    title = tag.text_attribute("title")
    fence.info = language + (f' title="{title}"' if title else "")
    fence.content = text + "\n"
    fence.map = opening.map
    fence.block = True
    return fence


def _inline_text(children: Sequence[Token] | None) -> str:
    """A heading's text as mdast-util-to-string gives it (text, code, image alt)."""
    parts: list[str] = []
    for child in children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "image":
            parts.append(_inline_text(child.children))
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "mdx_expression_text":
            parts.append(string_literal(child.content) or "")
    return "".join(parts)


def _headings(state: StateCore) -> None:
    """Give each heading its id; note the anchors and the content title."""
    context = _context(state.env)
    slugger = GithubSlugger()
    for index, token in enumerate(state.tokens):
        if token.type == "heading_open":
            text = _inline_text(state.tokens[index + 1].children)
            explicit = (token.meta or {}).get("explicit_id")
            # Docusaurus does not count an explicit id in the slugger (remark headings).
            heading_id = explicit if explicit else slugger.slug(text)
            token.attrSet("id", heading_id)
            context.anchors.add(heading_id)
            if context.content_title is None and not context.partials:
                context.content_title = (
                    (index, " ".join(text.split())) if token.tag == "h1" else (-1, "")
                )
                front = context.front_title
                if token.tag == "h1" and (
                    front is None or " ".join(front.split()) == " ".join(text.split())
                ):
                    context.title_anchor = heading_id
        elif token.type == "hr" and context.content_title is None:
            context.content_title = (-1, "")
        for tag in _tags_in(token):
            for key in ("id", "name"):
                value = tag.text_attribute(key)
                if value:
                    context.anchors.add(value)


def _tags_in(token: Token) -> Iterable[JsxTag]:
    if token.type == "mdx_jsx_flow":
        yield token.meta["tag"]
    for child in token.children or ():
        if child.type == "mdx_jsx_text":
            yield child.meta["tag"]


def _links(state: StateCore) -> None:
    context = _context(state.env)
    if context.ids_only:
        return
    for token in state.tokens:
        for child in token.children or ():
            if child.type == "link_open":
                href = child.attrGet("href")
                if isinstance(href, str):
                    child.attrSet("href", context.link(href))
            elif child.type == "image":
                src = child.attrGet("src")
                if isinstance(src, str):
                    child.attrSet("src", context.image(src))


@cache
def _inline_parser() -> MarkdownIt:
    return MarkdownIt("commonmark")


def _plain_title(text: str) -> str:
    """An admonition title's words (its Markdown read, its markup left out)."""
    tokens = _inline_parser().parseInline(text)
    return " ".join(_inline_text(tokens[0].children if tokens else None).split())


def _admonition_render() -> Callable[..., str]:
    def render(
        renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
    ) -> str:
        token = tokens[idx]
        if token.nesting != 1:
            return callouts.CLOSE + "\n"
        match = _ADMONITION.match(token.info.strip())
        kind = match.group("kind") if match else callouts.DEFAULT_KIND
        raw_title = (match.group("bracketed") or match.group("spaced") or "") if match else ""
        title = _plain_title(raw_title) if raw_title.strip() else None
        return callouts.callout_open(kind, title) + "\n"

    return render


def _is_admonition(params: str, *args: Any) -> bool:
    match = _ADMONITION.match(params.strip()) if params[:1] not in (" ", "\t") else None
    return match is not None and match.group("kind") in ADMONITION_KINDS


def _fence(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    token = tokens[idx]
    lines = token.content.split("\n")
    kept = [line for line in lines if not _MAGIC_COMMENT.match(line)]
    if len(kept) != len(lines):
        token.content = "\n".join(kept)
    title_match = _FENCE_TITLE.search(token.info)
    heading = ""
    if title_match:
        title = title_match.group(1) if title_match.group(1) is not None else title_match.group(2)
        # The site shows it above the code, in the code's font: mostly a file's path.
        heading = f"<p><code>{html.escape(title)}</code></p>\n"
    return heading + str(RendererHTML.fence(renderer, tokens, idx, options, env))


def _render_jsx(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    token = tokens[idx]
    return _render_tag(_context(env), token.meta["tag"], block=token.type == "mdx_jsx_flow")


def _render_nothing(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    return ""


def _render_expression(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    # React renders a string literal as its text; every other expression (comments
    # included) is code, which Fin never gets.
    source = tokens[idx].content
    text = None if is_comment(source) else string_literal(source)
    return html.escape(text) if text else ""


def _render_html(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    # HTML comments (`<!-- prettier-ignore -->`, which Docusaurus' mdx1Compat keeps
    # working in MDX) are nobody's content.
    content = tokens[idx].content
    if content.strip().startswith("<!--") and content.strip().endswith("-->"):
        return ""
    return content


@cache
def _parser(mdx: bool) -> MarkdownIt:
    # Built once per format: construction compiles every rule chain; state is per call.
    md = MarkdownIt("commonmark", {"html": True, "maxNesting": 100})
    md.enable(["table", "strikethrough"])  # remark-gfm's; its autolink literals need linkify-it
    if mdx:
        mdx_plugin(md)
    container_plugin(md, "admonition", validate=_is_admonition, render=_admonition_render())
    footnote_plugin(md, inline=False)  # GFM footnotes have no inline form
    tasklists_plugin(md)
    md.core.ruler.before("inline", "docusaurus_heading_ids", _heading_ids_from_text)
    md.core.ruler.after("block", "docusaurus_imports", _collect_imports)
    md.core.ruler.after("inline", "docusaurus_elements", _collapse_elements)
    md.core.ruler.after("docusaurus_elements", "docusaurus_headings", _headings)
    md.core.ruler.after("docusaurus_headings", "docusaurus_links", _links)
    md.add_render_rule("fence", _fence)
    for name in ("mdx_jsx_flow", "mdx_jsx_text"):
        md.add_render_rule(name, _render_jsx)
    md.add_render_rule("html_block", _render_html)
    md.add_render_rule("html_inline", _render_html)
    md.add_render_rule("mdx_esm", _render_nothing)
    md.add_render_rule("mdx_expression_flow", _render_nothing)
    md.add_render_rule("mdx_expression_text", _render_expression)
    return md


def _is_mdx(site: DocusaurusSite, path: str) -> bool:
    if site.markdown_format == "detect":
        return path.lower().endswith(".mdx")
    return site.markdown_format != "md"


# -- components -----------------------------------------------------------------------


def _render_tag(context: _Context, tag: JsxTag, *, block: bool) -> str:
    if tag.closing:
        for position in range(len(context.stack) - 1, -1, -1):
            if context.stack[position][0] == tag.name:
                closing = context.stack[position][2]
                del context.stack[position:]
                return closing
        return ""
    kind = context.kind(tag.name)
    if tag.self_closing:
        return _self_closing(context, tag, kind)
    opening, closing, data = _element(context, tag, kind, block=block)
    context.stack.append((tag.name, kind, closing, data))
    return opening


def _self_closing(context: _Context, tag: JsxTag, kind: str) -> str:
    if kind == "html":
        attributes = _html_attributes(context, tag)
        return (
            f"<{tag.name}{attributes}>"
            if tag.name in _VOID
            else f"<{tag.name}{attributes}></{tag.name}>"
        )
    if kind == "partial":
        return _render_partial(context, tag)
    if kind == "unknown":
        context.dropped[tag.name] += 1
    return ""


def _element(
    context: _Context, tag: JsxTag, kind: str, *, block: bool
) -> tuple[str, str, dict[str, str]]:
    """The opening and closing HTML of an element with children, and what its children
    may need of it (a ``<Tabs>``' labels by value)."""
    if kind == "html":
        return f"<{tag.name}{_html_attributes(context, tag)}>", f"</{tag.name}>", {}
    if kind == "tabs":
        return tabs.TABS_OPEN + "\n", tabs.TABS_CLOSE + "\n", _tab_labels(tag)
    if kind == "tabitem":
        labels = next((entry[3] for entry in reversed(context.stack) if entry[1] == "tabs"), {})
        value = tag.text_attribute("value")
        label = tag.text_attribute("label") or labels.get(value or "") or value or "Tab"
        return tabs.tab_open(label) + "\n", tabs.TAB_CLOSE + "\n", {}
    if kind == "admonition":
        kind_word = tag.text_attribute("type") or callouts.DEFAULT_KIND
        return (
            callouts.callout_open(kind_word, tag.text_attribute("title")) + "\n",
            callouts.CLOSE + "\n",
            {},
        )
    if kind == "details":
        summary = tag.text_attribute("summary")
        opening = "<details>" + (f"<summary>{html.escape(summary)}</summary>" if summary else "")
        return opening + "\n", "</details>\n", {}
    if kind == "link":
        href = tag.text_attribute("to") or tag.text_attribute("href")
        if href is None:
            return "", "", {}
        return f'<a href="{html.escape(context.link(href))}">', "</a>", {}
    if kind == "codeblock":  # inline: its children are the code
        return "<code>", "</code>", {}
    if not block or kind == "fragment":
        return "", "", {}
    # A component syncer does not know: its children are content; a string title
    # (<DetailedExplanation title="...">) is words the reader sees on the site.
    title = tag.text_attribute("title")
    heading = f"<p><strong>{html.escape(title)}</strong></p>\n" if title else ""
    return f"<div>\n{heading}", "</div>\n", {}


def _tab_labels(tag: JsxTag) -> dict[str, str]:
    values = tag.attribute("values")
    if not isinstance(values, Expression):
        return {}
    found = literal(values.source)
    labels: dict[str, str] = {}
    if isinstance(found, list):
        for item in found:
            if (
                isinstance(item, dict)
                and isinstance(item.get("value"), str)
                and isinstance(item.get("label"), str)
            ):
                labels[item["value"]] = item["label"]
    return labels


def _html_attributes(context: _Context, tag: JsxTag) -> str:
    out: list[str] = []
    for key, value in tag.attributes:
        if key == "...":
            continue
        name = _ATTRIBUTE_NAMES.get(key, key)
        if value is True:
            out.append(f" {name}")
            continue
        text: str | None
        if isinstance(value, Expression):
            text = _expression_value(context, name, value.source)
        elif isinstance(value, str):
            text = value
            if name == "href":
                text = context.link(value)
            elif name == "src":
                text = context.image(value)
        else:
            continue
        if text is not None:
            out.append(f' {name}="{html.escape(text)}"')
    return "".join(out)


def _expression_value(context: _Context, name: str, source: str) -> str | None:
    """An attribute written as code, when it is a value syncer can know without running it."""
    if name in ("src", "href", "poster"):
        use = _USE_BASE_URL.match(source)
        if use:
            return context.static_url(use.group("url"))
        required = _REQUIRE.match(source)
        if required:
            return context.required_file(required.group("spec"))
    text = string_literal(source)
    if text is None:
        return None
    if name == "href":
        return context.link(text)
    if name == "src":
        return context.image(text)
    return text


def _render_partial(context: _Context, tag: JsxTag) -> str:
    spec = context.imports.get(tag.name, "")
    path = context.partial_path(spec)
    if path is None:
        return ""
    if path in context.partials or len(context.partials) >= _MAX_PARTIAL_DEPTH:
        context.notes.append(f"partial {path} includes itself; not inlined again")
        return ""
    data = context.site.files.read(path)
    if data is None:
        context.notes.append(f"partial {path}: cannot be read")
        return ""
    try:
        _, body = split_front_matter(_decode(data))
    except ValueError as error:
        context.notes.append(f"partial {path}: {error}")
        return ""
    inner = _Context(
        site=context.site,
        source=path,
        host=context.host,
        notes=context.notes,
        dropped=context.dropped,
        partials=(*context.partials, path),
        broken=context.broken,
        host_anchors=context.host_anchors if context.host_anchors is not None else context.anchors,
        host_title_anchor=context.title_anchor
        if not context.partials
        else context.host_title_anchor,
    )
    return _render_body(body, inner)


# -- one page -------------------------------------------------------------------------


def _render_body(body: str, context: _Context) -> str:
    md = _parser(_is_mdx(context.site, context.source))
    env: dict[str, Any] = {"docusaurus": context}
    return str(md.render(body, env))


def _without_content_title(tokens: list[Token], context: _Context, title: str) -> list[Token]:
    if context.content_title is None:
        return tokens
    index, text = context.content_title
    if index < 0 or " ".join(title.split()) != text:
        return tokens
    return tokens[:index] + tokens[index + 3 :]


def _anchors_of(site: DocusaurusSite, path: str) -> tuple[frozenset[str], str | None]:
    data = site.files.read(path)
    if data is None:
        return frozenset(), None
    try:
        front, body = split_front_matter(_decode(data))
    except ValueError:
        return frozenset(), None
    context = _Context(
        site=site,
        source=path,
        host=path,
        notes=[],
        dropped=Counter(),
        ids_only=True,
        front_title=_front_text(front, "title"),
    )
    md = _parser(_is_mdx(site, path))
    md.parse(body, {"docusaurus": context})
    return frozenset(context.anchors), context.title_anchor


def render_docusaurus(path: str, text: str, site: DocusaurusSite) -> Rendered:
    """The page at ``path`` (relative to the tree's root) holding ``text``, as its site
    renders it; see the module's docstring for what that means.

    Raises ``ValueError`` (a one-line reason) when the front matter is not YAML.
    """
    front, body = split_front_matter(text)
    page = site.pages.get(path)
    context = _Context(
        site=site,
        source=path,
        host=path,
        notes=[],
        dropped=Counter(),
        front_title=_front_text(front, "title"),
    )
    md = _parser(_is_mdx(site, path))
    env: dict[str, Any] = {"docusaurus": context}
    tokens = md.parse(body, env)
    content_title = (
        context.content_title[1]
        if context.content_title and context.content_title[0] >= 0
        else None
    )
    title = (
        _front_text(front, "title")
        or content_title
        or (
            page.base_id
            if page
            else number_prefix_stripped(posixpath.splitext(posixpath.basename(path))[0])
        )
    )
    title = " ".join(title.split())
    tokens = _without_content_title(tokens, context, title)
    rendered = str(md.renderer.render(tokens, md.options, env))
    notes = list(dict.fromkeys(context.notes))
    for name, count in sorted(context.dropped.items()):
        notes.append(f"dropped component: {name}" + (f" ({count} times)" if count > 1 else ""))
    return Rendered(
        html=rendered,
        title=title,
        front=front,
        notes=tuple(notes),
        broken_links=distinct(context.broken),
    )
