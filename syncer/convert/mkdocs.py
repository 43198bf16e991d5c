"""The MkDocs flavour: a page rendered as MkDocs renders it, with Python-Markdown and the
pymdown-extensions its ``mkdocs.yml`` enables, into the HTML the normaliser expects.

``mkdocs_site(files, config_folder=..., config=...)`` reads the site once per run (the
config is ``syncer.convert.mkdocs_config``'s); ``render_mkdocs(path, text, site)`` renders
one file of it (``path`` relative to the tree root) into a ``Rendered``.

What is loaded is decided from an allow-list, never by importing what the config names:
Python-Markdown's own extensions and pymdown-extensions' (pure text processing) load
with the site's options; anything else (``material.*``, a site's own extensions) is
skipped and named in the site's notes. Options that would run code, read disk or the
network are replaced with safe equivalents: emoji become their Unicode text (icon
shortcodes such as ``:material-check:`` are dropped), code is not highlighted (a
``<pre><code class="language-x">`` keeps its language and line breaks), custom fences
are plain code, ``toc`` slugs use the configured ``pymdownx.slugs.slugify`` or
Python-Markdown's own, snippets (``--8<--``) and markdown-include's ``{!file!}`` read
the source's own tree only (``SiteFiles``: confined, with a cycle guard; a missing one is
a note), and mkautodoc/mkdocstrings' ``::: module.Class`` blocks (made from code at build
time) are dropped with a note. Permalink anchors in headings are not drawn.

Admonitions, collapsible ``details`` and content tabs leave here in the shapes the
normaliser keeps: admonitions as MkDocs writes them (``div.admonition``, which
``syncer.convert.callouts.adopt`` turns into a callout), ``details`` rewritten to that
markup, tabs written in ``syncer.convert.tabs``' shape. Task list boxes become ``[x]`` /
``[ ]`` text. The title is MkDocs' own rule (``mkdocs/structure/pages.py``): the ``nav:``
title, else front matter ``title``, else the page's H1 when it is the page's first
element, else the file name; that H1 is dropped from the body when it repeats the title.
"""

from __future__ import annotations

import html
import importlib
import posixpath
import re
import xml.etree.ElementTree as etree  # noqa: N813 (Python-Markdown's own name for it)
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import markdown
from markdown.extensions import Extension, toc
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from pymdownx import snippets

from syncer.convert import tabs
from syncer.convert.flavour import Rendered, SiteFiles
from syncer.convert.markdown import split_front_matter
from syncer.convert.mkdocs_config import MkDocsConfig, Opaque, docs_dir_of
from syncer.convert.titles import title_from_path
from syncer.convert.urls import is_relative
from syncer.model import BrokenLink

# Python-Markdown's extensions, by the names MkDocs accepts for them.
_BUILTIN = frozenset(
    {
        *("abbr", "admonition", "attr_list", "codehilite", "def_list", "extra"),
        *("fenced_code", "footnotes", "legacy_attrs", "legacy_em", "md_in_html", "meta"),
        *("nl2br", "sane_lists", "smarty", "tables", "toc", "wikilinks"),
    }
)
# pymdown-extensions that only transform text. Left out: b64 (embeds files from disk),
# pathconverter (rewrites the relative paths links resolve from); snippets is ours.
_PYMDOWNX = frozenset(
    {
        *("arithmatex", "betterem", "blocks.admonition", "blocks.caption", "blocks.definition"),
        *("blocks.details", "blocks.html", "blocks.tab", "caret", "critic", "details"),
        *("emoji", "escapeall", "extra", "fancylists", "highlight", "inlinehilite", "keys"),
        *("magiclink", "mark", "progressbar", "quotes", "saneheaders", "smartsymbols"),
        *("striphtml", "superfences", "tabbed", "tasklist", "tilde"),
    }
)
_NOT_LOADED = {
    "pymdownx.b64": "it embeds image files from disk",
    "pymdownx.pathconverter": "links are resolved by syncer from the source's paths",
}
# Options replaced whatever the site says: no highlighting (code stays text with its
# language), no permalink marks in headings, fences with unknown options still fences.
_FORCED: dict[str, dict[str, Any]] = {
    "pymdownx.highlight": {
        "use_pygments": False,
        "linenums": False,
        "anchor_linenums": False,
        "line_spans": "",
        "line_anchors": "",
        "auto_title": False,
    },
    "codehilite": {"use_pygments": False, "linenums": False},
    "toc": {"permalink": False, "anchorlink": False},
    "pymdownx.superfences": {"relaxed_headers": True},
    "pymdownx.snippets": {"url_download": False, "check_paths": False},
}
_DROPPED_OPTIONS = {
    "pymdownx.superfences": ("custom_fences",),
    "pymdownx.inlinehilite": ("custom_inline",),
    "toc": ("title",),
}
_EMOJI_INDEXES = ("twemoji", "emojione", "gemoji")
# Material's icon shortcodes: pictures, not words.
_ICON = r":(?:material|fontawesome|octicons|simple)-[a-z0-9-]+:"
_INCLUDE_EXTENSIONS = frozenset({"markdown_include.include", "markdown_include"})
_AUTODOC = frozenset({"mkautodoc"})
_FENCE = re.compile(r"^[ \t>]*(`{3,}|~{3,})")
_AUTODOC_LINE = re.compile(r"^:::[ \t]+[\w.:-]+[ \t]*$")
_INCLUDE = re.compile(r"\{!\s*(.+?)\s*!\}")
_FOLDER_PAGES = ("index.md", "README.md")
_RAW_ID = re.compile(r"""\b(?:id|name)\s*=\s*["']([^"']+)["']""")
_RAW_URL = re.compile(r"""(\b(?:src|href)\s*=\s*)(["'])([^"']*)\2""")


@dataclass
class _Page:
    """What the extensions need to know of the page being rendered.

    ``anchors(path)`` gives the ids of another page of the site (``None``: none are
    checked, as while that other page is rendered to find them); ``ids`` collects this
    page's own. ``raw_url(path, url)`` rewrites a URL of the page's raw HTML
    (``MkDocsSite.raw_url``).
    """

    path: str = ""
    title_hint: str | None = None
    title: str | None = None
    notes: list[str] = field(default_factory=list)
    anchors: Callable[[str], frozenset[str] | None] | None = None
    ids: frozenset[str] = frozenset()
    broken: list[BrokenLink] = field(default_factory=list)
    raw_url: Callable[[str, str], str] | None = None


@dataclass
class MkDocsSite:
    """One MkDocs site of a source, for one run: its files, config and Markdown parser.

    ``config_folder`` is the folder of ``mkdocs.yml`` in the tree (``".."`` when a
    filesystem source is the site's ``docs_dir`` and the config sits just above it);
    ``docs_dir`` the docs folder in the tree. ``notes`` say what of the config could not
    be followed (extensions skipped, options replaced), once for the site.
    """

    files: SiteFiles
    config: MkDocsConfig
    config_folder: str
    docs_dir: str
    notes: tuple[str, ...]
    _markdown: markdown.Markdown
    _page: _Page
    _build: Callable[[_Page], markdown.Markdown]
    _anchors: dict[str, frozenset[str] | None] = field(default_factory=dict)
    _probe: tuple[markdown.Markdown, _Page] | None = None

    def anchors_of(self, path: str) -> frozenset[str] | None:
        """The ids of the page at ``path`` (in the tree), or ``None`` if it is none.

        Rendered once, without checking its own links, by a parser of its own (this one
        may be in the middle of the page that asks); a page rendered for real tells its
        ids here too, so a whole run renders each page about once.
        """
        if path not in self._anchors:
            data = self.files.read(path)
            text = _decoded(data)
            if text is None or self.page_path(path) is None:
                self._anchors[path] = None
            else:
                if self._probe is None:
                    probe = _Page()
                    self._probe = (self._build(probe), probe)
                md, page = self._probe
                page.path, page.title_hint, page.notes, page.broken = path, None, [], []
                try:
                    _, body = split_front_matter(text)
                except ValueError:
                    body = text
                md.reset()
                md.convert(body)
                self._anchors[path] = page.ids
        return self._anchors[path]

    def page_path(self, path: str) -> str | None:
        """``path`` (in the tree) relative to ``docs_dir``, or ``None`` outside it."""
        if self.docs_dir in ("", "."):
            return path
        prefix = self.docs_dir + "/"
        return path[len(prefix) :] if path.startswith(prefix) else None

    def raw_url(self, path: str, url: str) -> str:
        """A URL of raw HTML on the page at ``path`` (in the tree), as a path from the
        page's file to what it names.

        MkDocs rewrites Markdown's links only; raw HTML reaches the browser as written,
        which resolves it against the page's URL (``setup/page/`` with MkDocs' default
        ``use_directory_urls``), not the file's folder: ``<img src="../../assets/x.png">``
        on ``setup/page.md`` is ``assets/x.png``. When that lands on a file of the tree,
        the URL becomes the path a Markdown link would give; otherwise it stays as
        written, and the link check decides.
        """
        rel = self.page_path(path)
        if rel is None or not is_relative(url) or url.strip().startswith(("/", "#")):
            return url
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            return url
        stem, _ = posixpath.splitext(rel)
        folder = stem
        if not self.config.use_directory_urls or posixpath.basename(stem) in ("index", "README"):
            folder = posixpath.dirname(rel)
        target = _tree_path(folder, unquote(parts.path))
        if not parts.path or target == ".." or target.startswith("../"):
            return url
        target = _tree_path(self.docs_dir, target)
        candidates = [target, f"{target}.md", *(f"{target}/{name}" for name in _FOLDER_PAGES)]
        found = next((c for c in candidates if self.files.read(c) is not None), None)
        if found is None:
            return url
        written = posixpath.relpath(found, posixpath.dirname(path) or ".")
        return f"{written}#{parts.fragment}" if parts.fragment else written


def mkdocs_site(
    files: SiteFiles,
    *,
    config_folder: str = "",
    config: MkDocsConfig | None = None,
    docs_dir: str | None = None,
) -> MkDocsSite:
    """The site whose ``mkdocs.yml`` (read as ``config``) sits in ``config_folder``.

    Without a config, MkDocs' defaults, with ``config_folder`` as ``docs_dir``.
    ``docs_dir`` overrides where the docs folder is in the tree (a config outside it).
    """
    if config is None:
        config = MkDocsConfig(docs_dir=".")
    docs_dir = docs_dir or docs_dir_of(config_folder, config)
    notes = list(config.problems)

    def build(page: _Page) -> markdown.Markdown:
        extensions = _extensions(files, config, config_folder, page, notes)
        return markdown.Markdown(extensions=extensions, output_format="html")

    page = _Page()
    md = build(page)
    site = MkDocsSite(files, config, config_folder, docs_dir, tuple(notes), md, page, build)
    page.anchors = site.anchors_of
    page.raw_url = site.raw_url
    return site


def render_mkdocs(path: str, text: str, site: MkDocsSite) -> Rendered:
    """One page of ``site`` (``path`` in the tree, ``text`` the whole file) as MkDocs
    renders it; ``ValueError`` for front matter that is not YAML."""
    front, body = split_front_matter(text)
    rel = site.page_path(path) or path
    nav_title = site.config.nav.get(posixpath.normpath(rel))
    front_title = front.get("title")
    hint = nav_title or (str(front_title).strip() if front_title not in (None, "") else None)
    page = site._page
    page.path, page.title_hint, page.title, page.notes, page.broken = path, hint, None, [], []
    md = site._markdown
    md.reset()
    rendered = md.convert(body)
    site._anchors[path] = page.ids
    title = hint or page.title or _file_title(rel)
    return Rendered(
        html=rendered,
        title=title,
        front=front,
        notes=tuple(page.notes),
        broken_links=tuple(page.broken),
    )


def _file_title(rel: str) -> str:
    # MkDocs: the home page is "Home"; otherwise the file name (index.md: its folder's).
    return "Home" if rel in _FOLDER_PAGES else title_from_path(rel)


# ---- the extensions, as the site configures them and as they may safely run ----------


def _extensions(
    files: SiteFiles, config: MkDocsConfig, folder: str, page: _Page, notes: list[str]
) -> list[Extension]:
    built: list[Extension] = []
    names = {name.removeprefix("markdown.extensions.") for name, _ in config.extensions}
    extensions = list(config.extensions)
    if names & {"pymdownx.superfences", "pymdownx.extra"} and "pymdownx.highlight" not in names:
        # SuperFences highlights with Pygments unless highlight says otherwise.
        extensions.append(("pymdownx.highlight", {}))
    for name, options in extensions:
        key = name.removeprefix("markdown.extensions.")
        if key == "pymdownx.snippets":
            built.append(_SnippetsExtension(files, folder, page, _usable(key, options, notes)))
        elif key in _INCLUDE_EXTENSIONS:
            built.append(_IncludeExtension(files, folder, page, options))
        elif key in _AUTODOC:
            continue  # its blocks are dropped below, whatever loads them
        elif key in _NOT_LOADED:
            notes.append(f"markdown extension {name} not loaded: {_NOT_LOADED[key]}")
        elif key in _BUILTIN or key.removeprefix("pymdownx.") in _PYMDOWNX:
            extension = _built(key, _usable(key, options, notes), notes)
            if extension is not None:
                built.append(extension)
        else:
            notes.append(f"markdown extension {name} not loaded: not one syncer knows to be safe")
    # mkautodoc's blocks (or mkdocstrings', a plugin) mean nothing without the build that
    # fills them, loaded or not: always dropped.
    built.append(_AutodocExtension(page))
    if "pymdownx.emoji" in names:
        built.append(_IconsExtension())
    built.append(_ShapesExtension(page))
    return built


def _built(name: str, options: Mapping[str, Any], notes: list[str]) -> Extension | None:
    module = name if name.startswith("pymdownx.") else f"markdown.extensions.{name}"
    try:
        extension: Extension = importlib.import_module(module).makeExtension()
    except (ImportError, AttributeError) as error:  # pragma: no cover - installed with us
        notes.append(f"markdown extension {name} not loaded: {error}")
        return None
    known = extension.getConfigs()
    unknown = sorted(key for key in options if key not in known)
    if unknown:
        notes.append(f"markdown extension {name}: unknown options {', '.join(unknown)} ignored")
    try:
        extension.setConfigs({key: value for key, value in options.items() if key in known})
    except (TypeError, ValueError, KeyError) as error:
        notes.append(f"markdown extension {name}: options not usable ({error}): defaults used")
        extension = importlib.import_module(module).makeExtension()
    return extension


def _usable(name: str, options: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    """The site's options for ``name`` with what cannot run here replaced or dropped."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key in _DROPPED_OPTIONS.get(name, ()):
            notes.append(f"markdown extension {name}: option {key} ignored (it runs site code)")
            continue
        if key == "slugify":
            slug = _slugify(value)
            if slug is None:
                notes.append(f"{name} slugify {_shown(value)} not known: the default slugs used")
                continue
            out[key] = slug
        elif name == "pymdownx.emoji" and key in ("emoji_index", "emoji_generator"):
            continue
        elif _has_opaque(value):
            notes.append(f"markdown extension {name}: option {key} ({_shown(value)}) ignored")
        else:
            out[key] = value
    if name == "pymdownx.emoji":
        out.update(_emoji(options, notes))
    out.update(_FORCED.get(name, {}))
    return out


def _has_opaque(value: Any) -> bool:
    if isinstance(value, Opaque):
        return True
    if isinstance(value, dict):
        return any(_has_opaque(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_opaque(v) for v in value)
    return False


def _shown(value: Any) -> str:
    return value.name if isinstance(value, Opaque) and value.name else repr(value)


def _slugify(value: Any) -> Callable[[str, str], str] | None:
    """The slug function a config names, from the few that are known to be pure."""
    from pymdownx import slugs

    if not isinstance(value, Opaque):
        return None
    if value.name == "pymdownx.slugs.slugify":
        kwds = value.value.get("kwds", {}) if isinstance(value.value, dict) else {}
        allowed = {k: v for k, v in (kwds or {}).items() if k in ("case", "percent_encode")}
        made: Callable[[str, str], str] = slugs.slugify(**allowed)
        return made
    named: dict[str, Callable[[str, str], str]] = {
        "markdown.extensions.toc.slugify": toc.slugify,
        "markdown.extensions.toc.slugify_unicode": toc.slugify_unicode,
    }
    return named.get(value.name)


def _emoji(options: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    from pymdownx import emoji

    index = options.get("emoji_index")
    name = index.name if isinstance(index, Opaque) else ""
    chosen = next((kind for kind in _EMOJI_INDEXES if name.endswith(kind)), "twemoji")
    if name and name != f"pymdownx.emoji.{chosen}":
        notes.append(f"pymdownx.emoji index {name} replaced by pymdownx.emoji.{chosen}")
    return {"emoji_index": getattr(emoji, chosen), "emoji_generator": emoji.to_alt}


# ---- includes: snippets and markdown-include, from the source's own tree -------------


def _tree_path(folder: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(folder or ".", path))


def _decoded(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


class _ConfinedSnippets(snippets.SnippetPreprocessor):  # type: ignore[misc]
    """pymdownx.snippets, reading snippets from the tree (``SiteFiles``) alone."""

    def __init__(
        self,
        config: dict[str, Any],
        md: markdown.Markdown,
        files: SiteFiles,
        folder: str,
        page: _Page,
    ) -> None:
        bases = config.get("base_path") or ["."]
        config = {**config, "base_path": []}
        super().__init__(config, md)
        self.files, self.page = files, page
        self.tree_bases = [
            _tree_path(folder, str(base))
            for base in (bases if isinstance(bases, list) else [bases])
        ]

    def get_bases(self) -> list[tuple[str, bool]]:
        return [(base, True) for base in self.tree_bases]

    def get_snippet_path(self, path: str) -> str | None:
        if "://" not in path:
            for base in self.tree_bases:
                target = _tree_path(base, path)
                outside = base not in (".", "") and not target.startswith(base + "/")
                if self.restrict_base_path and outside:
                    continue
                if self.files.read(target) is not None:
                    return target
        self.page.notes.append(f"snippet {path!r} is not in the source: left out")
        return None

    def read_lines(self, path: str) -> list[str]:
        text = _decoded(self.files.read(path)) or ""
        return text.split("\n") if text else []


class _SnippetsExtension(Extension):
    def __init__(self, files: SiteFiles, folder: str, page: _Page, options: dict[str, Any]):
        self.files, self.folder, self.page = files, folder, page
        extension = snippets.SnippetExtension()
        known = extension.getConfigs()
        extension.setConfigs({k: v for k, v in options.items() if k in known})
        self.options = extension.getConfigs()
        super().__init__()

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        md.registerExtension(self)
        processor = _ConfinedSnippets(self.options, md, self.files, self.folder, self.page)
        md.preprocessors.register(processor, "snippet", 32)


def _outside_fences(lines: list[str]) -> Iterator[tuple[int, bool]]:
    """Each line's index, and whether it lies outside fenced code."""
    fence: str | None = None
    for index, line in enumerate(lines):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(1)
            yield index, fence is None
        else:
            if (
                match
                and match.group(1).startswith(fence)
                and not line.strip()[len(fence) :].strip(fence[0])
            ):
                fence = None
            yield index, False


class _Includes(Preprocessor):
    """markdown-include's ``{!path!}``: the file's lines in place, from the tree only."""

    def __init__(
        self, md: markdown.Markdown, files: SiteFiles, folder: str, page: _Page, base: str
    ) -> None:
        super().__init__(md)
        self.files, self.page = files, page
        self.base = _tree_path(folder, base)

    def run(self, lines: list[str]) -> list[str]:
        return self._expand(lines, ())

    def _expand(self, lines: list[str], seen: tuple[str, ...]) -> list[str]:
        out: list[str] = []
        outside = dict(_outside_fences(lines))
        for index, line in enumerate(lines):
            match = _INCLUDE.search(line) if outside[index] else None
            if match is None:
                out.append(line)
                continue
            target = _tree_path(self.base, match.group(1))
            text = _decoded(self.files.read(target))
            if target in seen or len(seen) > 20:
                self.page.notes.append(f"include {match.group(1)!r} includes itself: left out")
                text = ""
            elif text is None:
                self.page.notes.append(f"include {match.group(1)!r} is not in the source: left out")
                text = ""
            inner = self._expand(text.split("\n"), (*seen, target)) if text else []
            before, after = line[: match.start()], line[match.end() :]
            if inner:
                inner[0] = before + inner[0]
                inner[-1] = inner[-1] + after
                out.extend(inner)
            elif (before + after).strip():
                out.append(before + after)
        return out


class _IncludeExtension(Extension):
    def __init__(self, files: SiteFiles, folder: str, page: _Page, options: Mapping[str, Any]):
        self.files, self.folder, self.page = files, folder, page
        base = options.get("base_path", ".")
        self.base = base if isinstance(base, str) else "."
        super().__init__()

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        includes = _Includes(md, self.files, self.folder, self.page, self.base)
        md.preprocessors.register(includes, "syncer_include", 101)


class _Autodoc(Preprocessor):
    """Drop ``::: module.Class`` blocks (and their indented options): API documentation
    that mkautodoc and mkdocstrings make from code at build time, not in the source."""

    def __init__(self, md: markdown.Markdown, page: _Page) -> None:
        super().__init__(md)
        self.page = page

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        dropped = 0
        in_block = False
        for index, outside in _outside_fences(lines):
            line = lines[index]
            if in_block and (not line.strip() or line[:1] in (" ", "\t")):
                continue
            in_block = False
            if outside and _AUTODOC_LINE.match(line):
                in_block = True
                dropped += 1
                continue
            out.append(line)
        if dropped:
            self.page.notes.append(
                f"{dropped} '::: identifier' API block(s) (made from code by mkautodoc or "
                "mkdocstrings) left out"
            )
        return out


class _AutodocExtension(Extension):
    def __init__(self, page: _Page) -> None:
        self.page = page
        super().__init__()

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        md.preprocessors.register(_Autodoc(md, self.page), "syncer_autodoc", 31)


class _Icon(InlineProcessor):
    def handleMatch(  # type: ignore[override]  # noqa: N802
        self, m: re.Match[str], data: str
    ) -> tuple[str, int, int]:
        return "", m.start(0), m.end(0)


class _IconsExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        md.inlinePatterns.register(_Icon(_ICON, md), "syncer_icons", 76)


# ---- the shapes Fin reads ---------------------------------------------------------------


def _classes(element: etree.Element) -> list[str]:
    return (element.get("class") or "").split()


def _text(element: etree.Element) -> str:
    return " ".join("".join(element.itertext()).split())


class _Shapes(Treeprocessor):
    """The last step: the title, then details, tabs and task boxes in the project's shapes."""

    def __init__(self, md: markdown.Markdown, page: _Page) -> None:
        super().__init__(md)
        self.page = page

    def run(self, root: etree.Element) -> None:
        first = next(iter(root), None)
        title_id = first.get("id") if first is not None and first.tag == "h1" else None
        self._title(root)
        parents = {child: parent for parent in root.iter() for child in parent}
        for element in list(root.iter()):
            classes = _classes(element)
            if element.tag == "details":
                _details(element)
            elif element.tag == "div" and "tabbed-set" in classes:
                _tabbed(element)
            elif element.tag == "input" and element.get("type") == "checkbox":
                _checkbox(element, parents)
        ids = {str(e.get("id")) for e in root.iter() if e.get("id")}
        if title_id:
            ids.add(title_id)  # the H1 that became the title: the site's page still has it
        stash = self.md.htmlStash.rawHtmlBlocks
        for index, raw in enumerate(stash):  # raw HTML's anchors count too
            ids.update(_RAW_ID.findall(str(raw)))
            if isinstance(raw, str) and self.page.raw_url is not None:
                stash[index] = self._raw_urls(raw, self.page.raw_url)
        self.page.ids = frozenset(ids)
        if self.page.anchors is not None:
            for link in root.iter("a"):
                self._check_anchor(link)

    def _raw_urls(self, raw: str, rewrite: Callable[[str, str], str]) -> str:
        def one(match: re.Match[str]) -> str:
            written = html.unescape(match[3])
            url = rewrite(self.page.path, written)
            if url == written:
                return match[0]
            return f"{match[1]}{match[2]}{html.escape(url, quote=True)}{match[2]}"

        return _RAW_URL.sub(one, raw)

    def _check_anchor(self, link: etree.Element) -> None:
        """A ``#fragment`` no heading or element of its page has: noted, and dropped
        (the link still leads to the page), as MkDocs' own validation would warn."""
        href = link.get("href") or ""
        path, _, fragment = href.partition("#")
        if not fragment or "://" in path or path.startswith(("/", "mailto:")):
            return
        ids = self.page.ids
        if path:
            target = _tree_path(posixpath.dirname(self.page.path), unquote(path.partition("?")[0]))
            if not target.endswith((".md", ".markdown")) or self.page.anchors is None:
                return
            found = self.page.anchors(target)
            if found is None:
                return  # not a page of the site: the link check says so
            ids = found
        if unquote(fragment) not in ids:
            self.page.notes.append(f"link to {href!r}: no such anchor on that page, dropped")
            self.page.broken.append(BrokenLink("link", href, "no such anchor"))
            link.set("href", path or "#")

    def _title(self, root: etree.Element) -> None:
        first = next(iter(root), None)
        if first is None or first.tag != "h1":
            return
        # As MkDocs reads it: inline HTML and escapes put back as text.
        heading = " ".join(
            html.unescape(toc.strip_tags(toc.render_inner_html(first, self.md))).split()
        )
        if self.page.title_hint is None:
            self.page.title = heading
        alone = len(root) == 1 and not (first.tail or "").strip()
        if heading == " ".join((self.page.title_hint or heading).split()) and not alone:
            tail = first.tail
            root.remove(first)
            if tail and tail.strip():
                root.text = (root.text or "") + tail


def _details(element: etree.Element) -> None:
    """``<details class="warning"><summary>T</summary>…`` -> MkDocs' admonition markup."""
    kinds = [c for c in _classes(element) if c not in ("open",)]
    element.tag = "div"
    element.attrib.clear()
    element.set("class", " ".join(["admonition", *kinds]))
    summary = next((child for child in element if child.tag == "summary"), None)
    if summary is not None:
        summary.tag = "p"
        summary.attrib.clear()
        summary.set("class", "admonition-title")


def _tabbed(element: etree.Element) -> None:
    """A pymdownx.tabbed set (either style) -> one ``div.tab`` per tab under its label."""
    labels: list[etree.Element] = []
    blocks: list[etree.Element] = []
    ids: list[str] = []  # the radio inputs carry each tab's anchor (``#tab-slug``)
    for child in element:
        classes = _classes(child)
        if child.tag == "input":
            ids.append(child.get("id") or "")
        elif child.tag == "label":
            labels.append(child)
        elif "tabbed-labels" in classes:
            labels.extend(label for label in child if label.tag == "label")
        elif "tabbed-content" in classes:
            inner = [block for block in child if "tabbed-block" in _classes(block)]
            blocks.extend(inner or [child])
    element.clear()
    element.set("class", tabs.TABS_CLASS)
    element.text = None
    ids += [""] * (len(labels) - len(ids))
    for label, block, ident in zip(labels, blocks, ids, strict=False):
        tab = etree.SubElement(element, "div", {"class": tabs.TAB_CLASS})
        if ident and not ident.startswith("__tabbed_"):
            tab.set("id", ident)
        heading = etree.SubElement(tab, "p", {"class": tabs.LABEL_CLASS})
        strong = etree.SubElement(heading, "strong")
        strong.text = _text(label) or "Tab"
        tab.extend(list(block))
        if block.text and block.text.strip():
            heading.tail = block.text


def _checkbox(element: etree.Element, parents: dict[etree.Element, etree.Element]) -> None:
    """A task list box -> ``[x]`` or ``[ ]``, as text where the box was."""
    parent = parents.get(element)
    if parent is None:
        return
    mark = "[x] " if element.get("checked") is not None else "[ ] "
    index = list(parent).index(element)
    if index == 0:
        parent.text = (parent.text or "") + mark
    else:
        previous = parent[index - 1]
        previous.tail = (previous.tail or "") + mark
    tail = element.tail
    parent.remove(element)
    if tail:
        if index == 0:
            parent.text = (parent.text or "") + tail
        else:
            previous = parent[index - 1]
            previous.tail = (previous.tail or "") + tail


class _ShapesExtension(Extension):
    def __init__(self, page: _Page) -> None:
        self.page = page
        super().__init__()

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        md.treeprocessors.register(_Shapes(md, self.page), "syncer_shapes", 0.5)
