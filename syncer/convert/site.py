"""The flavour seam: which generator a source's Markdown is written for, and ``Site``, the
one object a file connector asks to render a Markdown file that way.

``markdown:`` in a filesystem or git source picks the flavour: ``commonmark``, ``gfm``
(CommonMark with GitHub's tables, strikethrough, alerts and heading ids), ``mkdocs``
(``syncer.convert.mkdocs``), ``docusaurus`` (``syncer.convert.docusaurus``), or ``auto``,
the default, decided from the tree without reading a page (``detect``): from the
source's folder up to the tree's root, nearest first, the first folder that holds
``mkdocs.yml`` (or ``mkdocs.yaml``) makes it MkDocs, one that holds
``docusaurus.config.{js,ts,mjs}`` (itself or in its ``website/`` folder) makes it
Docusaurus; none makes it GFM. A filesystem source may also be the ``docs_dir`` of a site
whose ``mkdocs.yml`` sits just above it (a checkout's ``docs/``): the connector reads that
one file from the parent folder (``outside``), and only when its ``docs_dir`` is this
folder; everything else, snippets included, is read from the source's own tree.

A ``Site`` is built once per run, lazily (a run that converts nothing reads nothing), and
renders only the files its generator would: MkDocs renders what lies under its
``docs_dir``, Docusaurus what lies under its docs folder; any other Markdown file (a
``README.md`` beside them) is rendered as GFM, as the repository host shows it. What the
site itself could not follow (an extension skipped) is a site note, counted once per page
it touched (``notes``), under the config's path. The ids of the pages rendered as GFM
(``anchors``) are what a link's ``#fragment`` between such pages is checked against (a
flavour checks its own pages').
"""

from __future__ import annotations

import importlib
import posixpath
from collections import Counter
from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from typing import Any

from syncer.convert.flavour import (
    Flavour,
    MarkdownSetting,
    Rendered,
    SiteFiles,
)
from syncer.convert.mkdocs_config import CONFIG_NAMES, MkDocsConfig, parse_config
from syncer.convert.stamp import DOCUSAURUS_CONFIGS, PARENT_CONFIG
from syncer.convert.stamp import folders_up as _folders_up
from syncer.convert.stamp import join as _join

_DOCUSAURUS_MODULE = "syncer.convert.docusaurus"


def exists(files: SiteFiles, path: str) -> bool:
    """Whether ``path`` is a file of the tree (cheaply, when ``files`` can say so)."""
    check: Callable[[str], bool] | None = getattr(files, "exists", None)
    if check is not None:
        return check(path)
    return files.read(path) is not None


def detect(
    files: SiteFiles, base: str = "", *, outside: Mapping[str, bytes] | None = None
) -> tuple[Flavour, str | None]:
    """The flavour ``auto`` means for a source at ``base``, and the config that decided."""
    for folder in _folders_up(base):
        for name in CONFIG_NAMES:
            if exists(files, _join(folder, name)):
                return "mkdocs", _join(folder, name)
        for where in (folder, _join(folder, "website")):
            for name in DOCUSAURUS_CONFIGS:
                if exists(files, _join(where, name)):
                    return "docusaurus", _join(where, name)
    if outside and PARENT_CONFIG in outside:
        return "mkdocs", PARENT_CONFIG
    return "gfm", None


class Site:
    """One source's Markdown flavour for one run, and what it renders with.

    ``files`` is the source's tree (a folder, a git commit), ``base`` the source's folder
    in it (a git ``subpath``; ``""`` for a filesystem source), ``setting`` the source's
    ``markdown:``, ``outside`` the one config file a filesystem source may hold from its
    parent folder (``PARENT_CONFIG``).
    """

    def __init__(
        self,
        files: SiteFiles,
        *,
        base: str = "",
        setting: MarkdownSetting = "auto",
        outside: Mapping[str, bytes] | None = None,
    ) -> None:
        self.files = files
        self.base = base
        self.setting = setting
        self.outside = dict(outside or {})
        self._ready = False
        self._flavour: Flavour = "gfm"
        self._config_path: str | None = None
        self._renderer: Callable[[str, str], Rendered | None] | None = None
        self._owns: Callable[[str], bool] = lambda path: False
        self._ids: dict[str, frozenset[str] | None] = {}
        self._site_notes: tuple[str, ...] = ()
        self._touched = 0
        self._paths: frozenset[str] | None = None

    @property
    def flavour(self) -> Flavour:
        """The flavour this source renders with (detected on first use for ``auto``)."""
        self._prepare()
        return self._flavour

    def exists(self, path: str) -> bool:
        """Whether ``path`` is a file of the source's tree."""
        return exists(self.files, path)

    def render(self, path: str, text: str) -> Rendered | None:
        """``text`` (the whole file at ``path``) as the flavour renders it, or ``None``
        when the file is plain CommonMark or GFM (``flavour`` says which)."""
        self._prepare()
        if self._renderer is None:
            return None
        rendered = self._renderer(path, text)
        if rendered is not None and self._site_notes:
            self._touched += 1
        return rendered

    def rendered_gfm(self, path: str, html: str, ids: frozenset[str] | None = None) -> None:
        """Tell the site the ids of the page at ``path``, just rendered as GFM: ``ids``
        when the render knew them all (``render_markdown_ids``), else those of ``html``."""
        self._ids[path] = ids_in(html) if ids is None else ids

    def anchors(self, path: str) -> frozenset[str] | None:
        """The ids of the Markdown file at ``path`` when it renders as GFM (its headings',
        its raw HTML's), rendered once a run to find them; ``None`` for any other file (a
        flavour's page, ``commonmark``, one that cannot be read): its anchors are not
        checked here."""
        self._prepare()
        if path not in self._ids:
            self._ids[path] = None
            if self._flavour != "commonmark" and not self._owns(path):
                self._ids[path] = self._gfm_ids(path)
        return self._ids[path]

    def _gfm_ids(self, path: str) -> frozenset[str] | None:
        data = self.files.read(path)
        if data is None:
            return None
        # Imported here: a listing stamps versions with this module and renders nothing.
        from syncer.convert.markdown import render_markdown_ids, split_front_matter

        try:
            _, body = split_front_matter(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            return None
        html, ids = render_markdown_ids(body)
        return ids_in(html) if ids is None else ids

    def notes(self) -> dict[str, int]:
        """The site's own notes (``"mkdocs.yml: extension x skipped"``), each counted once
        per page the flavour rendered."""
        if not self._touched:
            return {}
        where = self._config_path or "site"
        return dict(Counter({f"{where}: {note}": self._touched for note in self._site_notes}))

    # -- setting up, once ---------------------------------------------------------------

    def _prepare(self) -> None:
        if self._ready:
            return
        self._ready = True
        config_path: str | None = None
        if self.setting == "auto":
            flavour, config_path = detect(self.files, self.base, outside=self.outside)
        else:
            flavour = self.setting
            if flavour in ("mkdocs", "docusaurus"):
                found, config_path = detect(self.files, self.base, outside=self.outside)
                if found != flavour:
                    config_path = None
        self._flavour, self._config_path = flavour, config_path
        if flavour == "mkdocs":
            self._mkdocs(config_path)
        elif flavour == "docusaurus":
            self._docusaurus(config_path)

    def _read_config(self, path: str) -> str | None:
        data = self.outside.get(path) if path == PARENT_CONFIG else self.files.read(path)
        if data is None:
            return None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None

    def _mkdocs(self, config_path: str | None) -> None:
        from syncer.convert.mkdocs import mkdocs_site, render_mkdocs

        config: MkDocsConfig | None = None
        folder, docs_dir = self.base, None
        notes: list[str] = []
        if config_path is not None:
            text = self._read_config(config_path)
            if text is None:
                notes.append("not readable as UTF-8 text: MkDocs' defaults used")
            else:
                config = parse_config(text)
            folder = posixpath.dirname(config_path)
            if config_path == PARENT_CONFIG:
                docs_dir = "."  # the connector checked that its docs_dir is this folder
        site = mkdocs_site(self.files, config_folder=folder, config=config, docs_dir=docs_dir)
        self._site_notes = (*notes, *site.notes)

        def render(path: str, text: str) -> Rendered | None:
            if site.page_path(path) is None:
                return None
            return render_mkdocs(path, text, site)

        self._renderer = render
        self._owns = lambda path: site.page_path(path) is not None

    def _docusaurus(self, config_path: str | None) -> None:
        try:
            module: Any = importlib.import_module(_DOCUSAURUS_MODULE)
        except ImportError:
            self._site_notes = ("Docusaurus rendering is not available: rendered as GFM",)
            self._renderer = lambda path, text: None
            self._touched = 1
            return
        docs_dir = self._docusaurus_docs(config_path)
        site = module.docusaurus_site(self.files, docs_dir=docs_dir)
        prefix = "" if docs_dir in ("", ".") else docs_dir + "/"

        def render(path: str, text: str) -> Rendered | None:
            if not path.startswith(prefix):
                return None
            rendered: Rendered = module.render_docusaurus(path, text, site)
            return rendered

        self._renderer = render
        self._owns = lambda path: path.startswith(prefix)

    def _docusaurus_docs(self, config_path: str | None) -> str:
        """The docs folder of a Docusaurus site: ``docs/`` beside its config, or beside
        the ``website/`` folder the config is in (the ``path: '../docs'`` layout)."""
        if config_path is None:
            return posixpath.normpath(self.base or ".")
        folder = posixpath.dirname(config_path)
        candidates = [_join(folder, "docs")]
        if posixpath.basename(folder) == "website":
            candidates.append(_join(posixpath.dirname(folder), "docs"))
        for candidate in candidates:
            if any(p.startswith(candidate + "/") for p in self._all_paths()):
                return candidate
        return candidates[0]

    def _all_paths(self) -> frozenset[str]:
        if self._paths is None:
            self._paths = frozenset(self.files.paths())
        return self._paths


# ---- a page's ids ----------------------------------------------------------------------
# (When a page must be read again, its render stamp, is ``syncer.convert.stamp``.)


def ids_in(page: str) -> frozenset[str]:
    """Every id (and ``<a name>``) of a page's HTML: what a ``#fragment`` may name. Read
    from its tags, so ``id='x'`` in a code span's text is not one."""
    parser = _Ids()
    parser.feed(page)
    parser.close()
    return frozenset(parser.found)


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "id" or (name == "name" and tag == "a")):
                self.found.add(value)
