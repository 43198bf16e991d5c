"""Absolute URLs on one Confluence site: pages, blog posts, spaces, attachments.

Cloud and Data Center spell some URLs differently, but both understand
``/pages/viewpage.action?pageId=``, ``/display/SPACE/Title`` and
``/download/attachments/PAGE_ID/FILE``, so those are used wherever no nicer form is
certain to work. ``base_url`` is the site with its context path
(``https://acme.atlassian.net/wiki``, ``https://wiki.acme.com/confluence``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, quote_plus, urlsplit

Deployment = Literal["cloud", "datacenter"]
PAGE_URL_PLACEHOLDERS = ("id", "space", "title")
_DAY = re.compile(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$")


@dataclass(frozen=True, slots=True)
class Site:
    """Builds the URLs a converted page links to; ``page_url`` is the admin's template."""

    base_url: str
    deployment: Deployment = "cloud"
    page_url_template: str | None = None

    @property
    def origin(self) -> str:
        """Scheme and host, without the context path (``https://acme.atlassian.net``)."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def context_path(self) -> str:
        """The site's path under the host (``/wiki``, ``/confluence`` or ``''``)."""
        return urlsplit(self.base_url).path.rstrip("/")

    def document_url(self, page_id: str, space_key: str, title: str) -> str:
        """The URL Fin cites for a page: the template if set, else Confluence's own."""
        if self.page_url_template:
            return fill_page_url(self.page_url_template, page_id, space_key, title)
        if self.deployment == "cloud" and space_key:
            return f"{self.base_url}/spaces/{quote(space_key, safe='~')}/pages/{page_id}"
        return self.content_url(page_id)

    def content_url(self, content_id: str) -> str:
        """Any content (page, blog post) by id; works on Cloud and Data Center."""
        return f"{self.base_url}/pages/viewpage.action?pageId={quote(content_id, safe='')}"

    def page_by_title(self, space_key: str, title: str) -> str:
        """A page known only by title (not in this source's listing)."""
        return f"{self.base_url}/display/{quote(space_key, safe='~')}/{quote_plus(title)}"

    def blogpost_by_title(self, space_key: str, title: str, posting_day: str | None) -> str:
        match = _DAY.match(posting_day or "")
        if match is None:
            return self.page_by_title(space_key, title)
        year, month, day = (int(part) for part in match.groups())
        return (
            f"{self.base_url}/display/{quote(space_key, safe='~')}/"
            f"{year:04d}/{month:02d}/{day:02d}/{quote_plus(title)}"
        )

    def space_url(self, space_key: str) -> str:
        key = quote(space_key, safe="~")
        if self.deployment == "cloud":
            return f"{self.base_url}/spaces/{key}"
        return f"{self.base_url}/display/{key}"

    def attachment_url(self, page_id: str, filename: str) -> str:
        return f"{self.base_url}/download/attachments/{quote(page_id, safe='')}/{quote(filename)}"

    def resolve_site_path(self, href: str) -> str | None:
        """A root-relative link written in a page (``/display/X/Y``) made absolute.

        Confluence stores such links without its context path on some versions and
        with it on others; both must land on the site, not on the bare host.
        """
        if not href.startswith("/") or href.startswith("//"):
            return None
        context = self.context_path
        if context and (href == context or href.startswith(context + "/")):
            return self.origin + href
        return self.base_url + href


def fill_page_url(template: str, page_id: str, space_key: str, title: str) -> str:
    """``template`` with ``{id}``, ``{space}`` and ``{title}`` filled, percent-encoded."""
    return template.format(
        id=quote(page_id, safe=""), space=quote(space_key, safe="~"), title=quote(title, safe="")
    )
