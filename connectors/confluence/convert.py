"""Confluence storage format to the clean HTML Fin reads: macros, links, images, tasks.

Storage format is XHTML with ``ac:`` (content) and ``ri:`` (resource identifier)
elements, as the REST API returns it: no root element, no namespace declarations, HTML
named entities (``&nbsp;``). ``parse_storage`` wraps it in a root that declares the
namespaces, maps entities to characters and parses it with lxml's recovering XML parser,
so malformed markup is repaired, never fatal (libxml2 also bounds the nesting depth).

``convert_page`` then walks the tree once and writes HTML: plain XHTML passes through,
each ``ac:``/``ri:`` element becomes what a reader of the page sees (the table in
``docs/confluence.md`` lists every case); panels become the one callout block every
converter writes (``syncer.convert.callouts``). Anything needing the site (page links,
attachment URLs, user names, included pages) is asked of a ``Resolver``, so the walk
itself does no I/O and tests drive it with dictionaries. The result goes through
``syncer.convert.html.normalise``, the same final step as every other source.

Macros that have no meaning outside Confluence (Jira queries, page trees, reports) are
dropped; unknown macros keep their rich-text body (the author's content) and lose
their behaviour. Each is counted by name in ``Converted.notes`` for the run report.
"""

from __future__ import annotations

import html
import html.entities
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from lxml import etree

from syncer.connectors.confluence.emoticons import emoticon_text, legacy_class_text
from syncer.convert import CONVERTER_VERSION as HTML_VERSION
from syncer.convert import callouts
from syncer.convert.html import normalise

# Bump whenever this module's output changes for the same input: every Confluence page
# is then re-sent once. The shared normaliser's version is part of it.
CONVERTER_VERSION = f"confluence-2+html-{HTML_VERSION}"

AC = "http://atlassian.com/content"
RI = "http://atlassian.com/resource/identifier"
AT = "http://atlassian.com/template"
_ROOT = "syncer-storage-root"
_NAMESPACES = {"ac": AC, "ri": RI, "at": AT}
_PARSER = etree.XMLParser(
    recover=True,
    resolve_entities=False,
    no_network=True,
    remove_comments=True,
    remove_pis=True,
    strip_cdata=True,
)

Tag = etree._Element

# Elements nested deeper than this (across included pages too) keep their text only:
# real pages nest a few dozen levels; hostile ones must not exhaust the stack.
MAX_DEPTH = 150
MAX_INCLUDE_DEPTH = 5

CODE_MACROS = frozenset({"code", "code-pro", "noformat", "paste-code-macro", "sourcecode"})
# Panel macros and the callout kind each becomes (``syncer.convert.callouts``); a plain
# ``panel`` says no kind, so its label is "Panel" (and its title, if it has one).
PANEL_KINDS = {"info": "info", "note": "note", "warning": "warning", "tip": "tip", "panel": "panel"}
ADF_PANEL_KINDS = {
    "info": "info",
    "note": "note",
    "warning": "warning",
    "error": "error",
    "success": "success",
    "tip": "tip",
}
# Layout and grouping macros: their body is the page's content, shown as is.
BODY_MACROS = frozenset({"details", "section", "column", "toc-zone", "div", "span", "center"})
VIEW_FILE_MACROS = frozenset(
    {"view-file", "viewpdf", "viewxls", "viewdoc", "viewppt", "view-file-macro"}
)
# Dropped even when they have a body: their output is not the page's own content.
ALWAYS_DROPPED = frozenset({"jira", "jiraissues", "html", "html-include", "script"})
# Dropped without a note: they show nothing a reader would miss.
SILENT = frozenset({"anchor"})

_HTML_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_KEPT_ATTRIBUTES = frozenset({"href", "src", "alt", "title", "colspan", "rowspan", "start", "lang"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
# Elements that end a line of text: a date after one starts afresh.
_BLOCKS = frozenset(
    {
        *("p", "div", "ul", "ol", "li", "table", "tr", "td", "th", "h1", "h2", "h3", "h4"),
        *("h5", "h6", "pre", "blockquote", "br", "hr", "task-list", "task", "structured-macro"),
    }
)
_LANGUAGE = re.compile(r"^[a-z0-9_+#.-]{1,40}$")
_SPACE_PREFIX = re.compile(r"^(~?[A-Za-z0-9_]+):(.+)$")
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_REFERENCE = re.compile(r"&(#[0-9]{1,8};|#[xX][0-9a-fA-F]{1,7};|[A-Za-z][A-Za-z0-9]{0,31};)?")
_CDATA = re.compile(r"(<!\[CDATA\[.*?\]\]>)", re.DOTALL)
_DOCTYPE = re.compile(r"<!DOCTYPE[^>]*>", re.IGNORECASE)
_XML_ENTITIES = frozenset({"amp;", "lt;", "gt;", "quot;", "apos;"})


@dataclass(frozen=True, slots=True)
class PageRef:
    """The page being converted: where its relative links and attachments point."""

    id: str | None
    space_key: str
    title: str
    url: str | None


@dataclass(frozen=True, slots=True)
class UserRef:
    """A user as storage format names one: Cloud account id, Data Center key or name."""

    account_id: str | None = None
    userkey: str | None = None
    username: str | None = None


@dataclass(frozen=True, slots=True)
class Included:
    """An included page's storage body, and the page it belongs to."""

    page: PageRef
    storage: str


class Resolver(Protocol):
    """What the converter asks of the site; ``None`` means "not known", never an error."""

    def page_link(self, space_key: str, title: str) -> str | None: ...

    def blogpost_link(self, space_key: str, title: str, posting_day: str | None) -> str | None: ...

    def space_link(self, space_key: str) -> str | None: ...

    def content_link(self, content_id: str) -> str | None: ...

    def attachment(
        self, owner: PageRef | None, space_key: str, title: str | None, filename: str
    ) -> str | None:
        """The URL of ``filename`` attached to ``owner`` (this page) or to the page
        ``title`` in ``space_key`` (an attachment of another page)."""
        ...

    def site_link(self, href: str) -> str | None:
        """A root-relative ``href`` written in a page, made absolute on the site."""
        ...

    def user(self, ref: UserRef) -> str | None:
        """The display name of a mentioned user."""
        ...

    def page_body(self, space_key: str, title: str) -> Included | None:
        """The storage body of the page ``title`` (for include and excerpt-include)."""
        ...


@dataclass(frozen=True, slots=True)
class Converted:
    html: str
    notes: dict[str, int]


@dataclass
class _State:
    resolver: Resolver
    notes: Counter[str] = field(default_factory=Counter)
    # (space key, title) of the pages being converted, outermost first: the cycle guard.
    including: list[tuple[str, str]] = field(default_factory=list)
    depth: int = 0
    # How many task bodies the walk is inside: a date there is the task's due date.
    tasks: int = 0


def convert_page(storage: str, page: PageRef, resolver: Resolver) -> Converted:
    """The clean HTML of one page's storage body, and what was dropped on the way."""
    state = _State(resolver)
    state.including.append(_page_key(page.space_key, page.title))
    try:
        body = _convert(storage, page, state)
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps the walk shallow
        state.notes["converter fell back to text"] += 1
        body = f"<p>{_esc(_get_text(parse_storage(storage), ' '))}</p>"
    return Converted(
        normalise(body, base_url=page.url, link_resolver=resolver.site_link), dict(state.notes)
    )


def parse_storage(storage: str) -> Tag:
    """A storage body as a tree; never raises, whatever the markup."""
    # References are rewritten outside CDATA sections only: inside, "&" is just text.
    parts = _CDATA.split(_INVALID_XML.sub("", storage))
    text = "".join(
        part if part.startswith("<![CDATA[") else _REFERENCE.sub(_reference, _DOCTYPE.sub("", part))
        for part in parts
    )
    wrapped = f'<{_ROOT} xmlns:ac="{AC}" xmlns:ri="{RI}" xmlns:at="{AT}">{text}</{_ROOT}>'
    try:
        root = etree.fromstring(wrapped.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError:  # nothing at all could be recovered
        root = None
    return root if root is not None else etree.Element(_ROOT)


def _reference(match: re.Match[str]) -> str:
    """An entity or character reference as XML understands it; a bare ``&`` as text."""
    ref = match.group(1)
    if ref is None:
        return "&amp;"
    if ref.startswith("#"):
        digits = ref[2:-1] if ref[1] in "xX" else ref[1:-1]
        point = int(digits, 16 if ref[1] in "xX" else 10)
        valid = point in (9, 10, 13) or 0x20 <= point <= 0x10FFFF
        return f"&#{point};" if valid and not 0xD800 <= point <= 0xDFFF else ""
    if ref in _XML_ENTITIES:
        return "&" + ref
    chars = html.entities.html5.get(ref)
    if chars is None:
        return "&amp;" + ref
    return "".join(f"&#{ord(char)};" for char in chars)


def _convert(storage: str, page: PageRef, state: _State) -> str:
    out: list[str] = []
    _Walk(page, state).children(parse_storage(storage), out)
    return "".join(out)


def _page_key(space_key: str, title: str) -> tuple[str, str]:
    return space_key.casefold(), title.strip().casefold()


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _ns(tag: Tag) -> str | None:
    """The namespace of an element (``AC``, ``RI``, ``AT``), ``None`` for plain XHTML."""
    name = tag.tag
    if isinstance(name, str) and name.startswith("{"):
        return name[1 : name.index("}")]
    return None


def _name(tag: Tag) -> str:
    """An element's local name (``structured-macro``, ``p``); ``''`` for non-elements."""
    name = tag.tag
    if not isinstance(name, str):
        return ""
    return name[name.index("}") + 1 :] if name.startswith("{") else name


def _get_text(tag: Tag, separator: str = "") -> str:
    return separator.join(text for text in tag.itertext() if isinstance(text, str))


def _ac_children(tag: Tag, name: str) -> list[Tag]:
    return [c for c in tag if _ns(c) == AC and _name(c) == name]


def _ac_child(tag: Tag, name: str) -> Tag | None:
    found = _ac_children(tag, name)
    return found[0] if found else None


def _ri_child(tag: Tag) -> Tag | None:
    for child in tag:
        if _ns(child) == RI:
            return child
    return None


def _attr(tag: Tag, name: str) -> str:
    """An attribute by its storage-format name: ``ac:name``, ``ri:filename``, ``href``."""
    prefix, colon, local = name.partition(":")
    key = f"{{{_NAMESPACES[prefix]}}}{local}" if colon and prefix in _NAMESPACES else name
    value = tag.get(key)
    return str(value) if value is not None else ""


def _params(macro: Tag) -> dict[str, Tag]:
    params: dict[str, Tag] = {}
    for param in _ac_children(macro, "parameter"):
        params.setdefault(_attr(param, "ac:name").strip().lower(), param)
    return params


def _text(tag: Tag | None) -> str:
    return _get_text(tag).strip() if tag is not None else ""


class _Walk:
    """Writes one page's tree as HTML into a list of strings."""

    def __init__(self, page: PageRef, state: _State) -> None:
        self.page = page
        self.state = state
        self.resolver = state.resolver
        self.notes = state.notes

    # ---- the walk -------------------------------------------------------------------

    def children(self, tag: Tag, out: list[str]) -> None:
        """An element's content: its text, then each child followed by its tail."""
        if tag.text:
            out.append(_esc(tag.text))
        for child in tag:
            self.node(child, out)
            if child.tail:
                out.append(_esc(child.tail))

    def node(self, node: Tag, out: list[str]) -> None:
        if not isinstance(node.tag, str):  # an entity lxml kept as a node
            return
        if self.state.depth >= MAX_DEPTH:
            out.append(_esc(_get_text(node, " ")))
            return
        self.state.depth += 1
        try:
            namespace = _ns(node)
            if namespace == AC:
                self.content_element(node, out)
            elif namespace == AT:
                self.children(node, out)
            elif namespace != RI:  # a resource outside a link or image says nothing
                self.html_element(node, out)
        finally:
            self.state.depth -= 1

    def html_element(self, tag: Tag, out: list[str]) -> None:
        name = _name(tag).lower()
        if not _HTML_NAME.match(name):
            self.children(tag, out)
            return
        if name == "p" and _blank(tag):
            return  # an empty line the editor keeps around macros and images
        if name == "time" and not _get_text(tag).strip():
            self.date(tag, out)
            return
        if name == "img":
            emoticon = legacy_class_text(_attr(tag, "class"))
            if emoticon is not None:
                out.append(_esc(emoticon or _attr(tag, "alt")))
                return
        attributes = "".join(
            f' {key}="{_esc(_attr(tag, key))}"'
            for key in sorted(str(k) for k in tag.attrib)
            if key in _KEPT_ATTRIBUTES
        )
        if name in _VOID:
            out.append(f"<{name}{attributes}>")
            return
        out.append(f"<{name}{attributes}>")
        self.children(tag, out)
        out.append(f"</{name}>")

    def content_element(self, tag: Tag, out: list[str]) -> None:
        name = _name(tag)
        if name in ("structured-macro", "macro"):
            self.macro(tag, out)
        elif name == "link":
            self.link(tag, out)
        elif name == "image":
            self.image(tag, out)
        elif name == "emoticon":
            out.append(
                _esc(
                    emoticon_text(
                        _attr(tag, "ac:name") or None,
                        _attr(tag, "ac:emoji-id") or None,
                        _attr(tag, "ac:emoji-shortname") or None,
                        _attr(tag, "ac:emoji-fallback") or None,
                    )
                )
            )
        elif name == "task-list":
            self.task_list(tag, out)
        elif name == "task":
            out.append("<ul>")
            self.task(tag, out)
            out.append("</ul>")
        elif name == "adf-extension":
            self.adf_extension(tag, out)
        elif name in ("layout", "layout-section", "layout-cell"):
            out.append("<div>")
            self.children(tag, out)
            out.append("</div>")
        elif name in ("plain-text-body", "plain-text-link-body"):
            out.append(_esc(_get_text(tag)))
        elif name in ("placeholder", "parameter", "task-id", "task-uuid", "task-status"):
            return  # editor hints and macro settings: nothing a reader sees
        else:  # inline-comment-marker, rich-text-body, link-body, task-body, caption...
            self.children(tag, out)

    # ---- macros ---------------------------------------------------------------------

    def macro(self, tag: Tag, out: list[str]) -> None:
        name = _attr(tag, "ac:name").strip().lower()
        params = _params(tag)
        body = _ac_child(tag, "rich-text-body")
        if name in CODE_MACROS:
            self.code(params, tag, out)
        elif name in PANEL_KINDS:
            self.callout(PANEL_KINDS[name], _text(params.get("title")), body, out)
        elif name == "expand":
            self.block(_text(params.get("title")), body, out)
        elif name == "excerpt":
            if body is not None and _text(params.get("hidden")).lower() != "true":
                self.children(body, out)
        elif name in ("include", "excerpt-include"):
            self.include(name, params, out)
        elif name == "status":
            out.append(_esc(_text(params.get("title"))))
        elif name in BODY_MACROS:
            if body is not None:
                self.children(body, out)
        elif name in VIEW_FILE_MACROS:
            self.view_file(params.get("name"), out)
        elif name in SILENT:
            return
        elif body is not None and name not in ALWAYS_DROPPED:
            self.notes[f"unwrapped macro: {name or '(unnamed)'}"] += 1
            out.append("<div>")
            self.children(body, out)
            out.append("</div>")
        else:
            self.notes[f"dropped macro: {name or '(unnamed)'}"] += 1

    def code(self, params: dict[str, Tag], macro: Tag, out: list[str]) -> None:
        language = (_text(params.get("language")) or _text(params.get(""))).lower()
        title = _text(params.get("title"))
        plain = _ac_child(macro, "plain-text-body")
        source = plain if plain is not None else _ac_child(macro, "rich-text-body")
        text = _get_text(source) if source is not None else ""
        text = text.strip("\r\n")
        if title:
            out.append(f"<p><strong>{_esc(title)}</strong></p>")
        if _LANGUAGE.match(language):
            out.append(f'<pre><code class="language-{_esc(language)}">')
        else:
            out.append("<pre><code>")
        out.append(_esc(text))
        out.append("</code></pre>")

    def callout(self, kind: str, title: str, body: Tag | None, out: list[str]) -> None:
        """A panel: one callout block that says its kind and title and holds its body."""
        out.append(callouts.callout_open(kind, title))
        if body is not None:
            self.children(body, out)
        out.append(callouts.CLOSE)

    def block(self, heading: str, body: Tag | None, out: list[str]) -> None:
        """An expand: a bold heading line, then the body."""
        out.append("<div>")
        if heading:
            out.append(f"<p><strong>{_esc(heading)}</strong></p>")
        if body is not None:
            self.children(body, out)
        out.append("</div>")

    def view_file(self, param: Tag | None, out: list[str]) -> None:
        attachment = _ri_child(param) if param is not None else None
        if attachment is None or _name(attachment) != "attachment":
            self.notes["dropped macro: view-file"] += 1
            return
        filename = _attr(attachment, "ri:filename")
        url = self.attachment_url(attachment)
        if url:
            out.append(f'<p><a href="{_esc(url)}">{_esc(filename)}</a></p>')

    def include(self, name: str, params: dict[str, Tag], out: list[str]) -> None:
        target = self.include_target(params.get(""))
        if target is None:
            self.notes[f"{name}: no target page"] += 1
            return
        space_key, title = target
        key = _page_key(space_key, title)
        if key in self.state.including:
            self.notes[f"{name}: cycle skipped"] += 1
            return
        if len(self.state.including) > MAX_INCLUDE_DEPTH:
            self.notes[f"{name}: nested too deep"] += 1
            return
        included = self.resolver.page_body(space_key, title)
        if included is None:
            self.notes[f"{name}: target not found"] += 1
            return
        self.state.including.append(key)
        try:
            walk = _Walk(included.page, self.state)
            root = parse_storage(included.storage)
            if name == "include":
                out.append("<div>")
                walk.children(root, out)
                out.append("</div>")
                return
            excerpt = _find_excerpt(root, _text(params.get("name")))
            if excerpt is None:
                self.notes["excerpt-include: no excerpt on the target"] += 1
                return
            out.append("<div>")
            walk.children(excerpt, out)
            out.append("</div>")
        finally:
            self.state.including.pop()

    def include_target(self, param: Tag | None) -> tuple[str, str] | None:
        """(space key, title) named by an include's default parameter."""
        if param is None:
            return None
        link = _ac_child(param, "link")
        page = _ri_child(link) if link is not None else None
        if page is not None and _name(page) in ("page", "blog-post"):
            title = _attr(page, "ri:content-title").strip()
            space = _attr(page, "ri:space-key").strip() or self.page.space_key
            return (space, title) if title else None
        text = _text(param)
        if not text:
            return None
        prefixed = _SPACE_PREFIX.match(text)
        if prefixed:
            return prefixed.group(1), prefixed.group(2).strip()
        return self.page.space_key, text

    # ---- links, images, users ---------------------------------------------------------

    def link(self, tag: Tag, out: list[str]) -> None:
        resource = _ri_child(tag)
        anchor = _attr(tag, "ac:anchor").strip()
        rich = _ac_child(tag, "link-body")
        plain = _ac_child(tag, "plain-text-link-body")
        if resource is not None and _name(resource) == "user":
            # Link text the page holds is what Confluence shows, before any lookup.
            if rich is not None and _get_text(rich).strip():
                self.children(rich, out)
            elif plain is not None and _get_text(plain).strip():
                out.append(_esc(_get_text(plain).strip()))
            else:
                out.append(_esc(self.user_name(resource)))
            return
        href, text = self.link_target(resource, anchor)
        if href and anchor and "#" not in href:
            href = f"{href}#{anchor}"
        if href:
            out.append(f'<a href="{_esc(href)}">')
        if rich is not None:
            self.children(rich, out)
        elif plain is not None and _get_text(plain).strip():
            out.append(_esc(_get_text(plain).strip()))
        else:
            out.append(_esc(text))
        if href:
            out.append("</a>")

    def link_target(self, resource: Tag | None, anchor: str) -> tuple[str | None, str]:
        """(URL or None, the text a link shows when it has no body of its own)."""
        if resource is None:
            return (f"#{anchor}" if anchor else None), anchor
        kind = _name(resource)
        space = _attr(resource, "ri:space-key").strip() or self.page.space_key
        title = _attr(resource, "ri:content-title").strip()
        if kind == "page":
            if not title or title == "@self":
                return (self.page.url or (f"#{anchor}" if anchor else None)), self.page.title
            return self.resolver.page_link(space, title), title
        if kind == "blog-post":
            day = _attr(resource, "ri:posting-day") or None
            return self.resolver.blogpost_link(space, title, day), title
        if kind == "attachment":
            return self.attachment_url(resource), _attr(resource, "ri:filename")
        if kind == "space":
            key = _attr(resource, "ri:space-key").strip()
            return (self.resolver.space_link(key) if key else None), key
        if kind == "url":
            value = _attr(resource, "ri:value").strip()
            return value or None, value
        if kind == "content-entity":
            content_id = _attr(resource, "ri:content-id").strip()
            return (self.resolver.content_link(content_id) if content_id else None), ""
        if kind == "shortcut":
            return None, _attr(resource, "ri:parameter")
        return None, ""

    def attachment_url(self, attachment: Tag) -> str | None:
        filename = _attr(attachment, "ri:filename").strip()
        if not filename:
            return None
        owner = _ri_child(attachment)
        if owner is not None and _name(owner) in ("page", "blog-post"):
            space = _attr(owner, "ri:space-key").strip() or self.page.space_key
            title = _attr(owner, "ri:content-title").strip()
            if title and _page_key(space, title) != _page_key(self.page.space_key, self.page.title):
                return self.resolver.attachment(None, space, title, filename)
        return self.resolver.attachment(self.page, self.page.space_key, None, filename)

    def user_name(self, resource: Tag) -> str:
        ref = UserRef(
            account_id=_attr(resource, "ri:account-id").strip() or None,
            userkey=_attr(resource, "ri:userkey").strip() or None,
            username=_attr(resource, "ri:username").strip() or None,
        )
        name = self.resolver.user(ref)
        if name:
            return name
        self.notes["user not found"] += 1
        return ref.username or "(unknown user)"

    def image(self, tag: Tag, out: list[str]) -> None:
        css_class = _attr(tag, "ac:class")
        alt = _attr(tag, "ac:alt") or _attr(tag, "ac:title")
        emoticon = legacy_class_text(css_class)
        if emoticon is not None:
            out.append(_esc(emoticon or alt))
            return
        resource = _ri_child(tag)
        src: str | None = None
        kind = _name(resource) if resource is not None else ""
        if resource is not None and kind == "attachment":
            src = self.attachment_url(resource)
            alt = alt or _attr(resource, "ri:filename")
        elif resource is not None and kind == "url":
            src = _attr(resource, "ri:value").strip() or None
        if src:
            title = _attr(tag, "ac:title")
            extra = f' title="{_esc(title)}"' if title else ""
            out.append(f'<img src="{_esc(src)}" alt="{_esc(alt)}"{extra}>')
        elif alt:
            out.append(_esc(alt))
        caption = _ac_child(tag, "caption")
        if caption is not None:
            out.append(" ")
            self.children(caption, out)

    # ---- tasks and Cloud (ADF) nodes --------------------------------------------------

    def task_list(self, tag: Tag, out: list[str]) -> None:
        out.append("<ul>")
        for child in tag:
            if _ns(child) == AC and _name(child) == "task":
                self.task(child, out)
            else:
                self.node(child, out)
        out.append("</ul>")

    def task(self, tag: Tag, out: list[str]) -> None:
        done = _text(_ac_child(tag, "task-status")).lower() == "complete"
        out.append("<li>[x] " if done else "<li>[ ] ")
        for child in tag:
            # The body, then any task list nested beside it (Cloud nests them so).
            if _ns(child) == AC and _name(child) == "task-body":
                self.state.tasks += 1
                try:
                    self.children(child, out)
                finally:
                    self.state.tasks -= 1
            else:
                self.node(child, out)
        out.append("</li>")

    def date(self, tag: Tag, out: list[str]) -> None:
        """A date lozenge (``<time datetime>``) as text, never glued to the words around it.

        Confluence shows the lozenge apart from the text it was typed against
        (``proident<time/>``): such a date in a task is the task's due date, and says so
        ("proident (due 2023-01-18)"); one the author set off with a space reads as the
        sentence has it ("completed on 2020-01-01").
        """
        value = _attr(tag, "datetime").strip()
        if not value:
            return
        if _glued_before(tag):
            out.append(f" (due {_esc(value)})" if self.state.tasks else f" {_esc(value)}")
        else:
            out.append(_esc(value))
        if tag.tail and tag.tail[0].isalnum():
            out.append(" ")

    def adf_extension(self, tag: Tag, out: list[str]) -> None:
        node = _ac_child(tag, "adf-node")
        fallback = _ac_child(tag, "adf-fallback")
        if node is None:
            if fallback is not None:
                self.children(fallback, out)
            return
        kind = _attr(node, "type")
        if kind == "panel":
            attributes = _adf_attributes(node)
            panel_kind = ADF_PANEL_KINDS.get(attributes.get("panel-type", ""), "panel")
            self.callout(panel_kind, "", _ac_child(node, "adf-content"), out)
        elif kind == "decision-list":
            out.append("<ul>")
            for item in _ac_children(node, "adf-node"):
                out.append("<li>Decision: ")
                content = _ac_child(item, "adf-content")
                if content is not None:
                    self.children(content, out)
                out.append("</li>")
            out.append("</ul>")
        else:
            self.notes[f"unwrapped Cloud node: {kind or '(unnamed)'}"] += 1
            source = fallback if fallback is not None else _ac_child(node, "adf-content")
            if source is not None:
                out.append("<div>")
                self.children(source, out)
                out.append("</div>")


def _glued_before(tag: Tag) -> bool:
    """Whether text runs into ``tag`` with no space: ``word<time/>``, ``<b>x</b><time/>``."""
    previous = tag.getprevious()
    if previous is None:
        parent = tag.getparent()
        text = parent.text if parent is not None else None
        return bool(text) and not str(text)[-1].isspace()
    if previous.tail:
        return not previous.tail[-1].isspace()
    name = _name(previous).lower()
    if name == "link":  # a mention or a link: its text is written where it stands
        return True
    return name not in _BLOCKS and bool(_get_text(previous).strip())


def _blank(tag: Tag) -> bool:
    """No text and nothing but line breaks: ``<p><br/></p>``."""
    if _get_text(tag).strip():
        return False
    return all(child.tag == "br" for child in tag)


def _adf_attributes(node: Tag) -> dict[str, str]:
    return {_attr(a, "key"): _get_text(a).strip() for a in _ac_children(node, "adf-attribute")}


def _find_excerpt(root: Tag, name: str) -> Tag | None:
    """The rich body of the excerpt macro called ``name`` (or the first one)."""
    candidates: list[tuple[str, Tag]] = []
    for macro in _macros(root):
        if _attr(macro, "ac:name").strip().lower() != "excerpt":
            continue
        body = _ac_child(macro, "rich-text-body")
        if body is not None:
            candidates.append((_text(_params(macro).get("name")), body))
    if name:
        return next((body for found, body in candidates if found == name), None)
    unnamed = [body for found, body in candidates if not found]
    ordered = unnamed or [body for _, body in candidates]
    return ordered[0] if ordered else None


def _macros(root: Tag) -> Iterable[Tag]:
    yield from root.iter(f"{{{AC}}}structured-macro", f"{{{AC}}}macro")
