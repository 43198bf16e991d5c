"""Which URLs a page may keep, and how a relative one becomes absolute.

Fin shows a page outside its source, so a relative URL means nothing there: every
``href`` and ``src`` that survives is absolute and uses a scheme a reader can follow.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin, urlsplit

LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
IMAGE_SCHEMES = frozenset({"http", "https"})

# Browsers drop ASCII whitespace and control characters inside a URL, so
# "java\tscript:" runs as "javascript:"; the scheme is read the way they read it.
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
# Reserved and unreserved characters stay; spaces and non-ASCII are percent-encoded.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


def scheme_of(url: str) -> str | None:
    """The lower-cased scheme as a browser would see it, or ``None`` for a relative URL."""
    match = _SCHEME.match(_INVISIBLE.sub("", url))
    return match.group(1).lower() if match else None


def is_relative(url: str) -> bool:
    """True for a URL that needs a base: no scheme, not protocol-relative (``//host``)."""
    stripped = url.strip()
    return scheme_of(stripped) is None and not stripped.startswith("//")


def absolute_url(url: str, *, base_url: str | None, schemes: frozenset[str]) -> str | None:
    """``url`` made absolute against ``base_url``, or ``None`` if it cannot be safe.

    ``None`` means: no scheme in ``schemes`` (``javascript:``, ``data:``), or relative
    with no base to resolve it against.
    """
    url = url.strip()
    if not url:
        return None
    try:
        if scheme_of(url) is None:
            if url.startswith("//"):
                base_scheme = scheme_of(base_url) if base_url else None
                url = f"{base_scheme or 'https'}:{url}"
            elif base_url is None:
                return None
            else:
                url = urljoin(base_url, url)
        scheme = scheme_of(url)
        if scheme not in schemes:
            return None
        if scheme in ("http", "https") and not urlsplit(url).netloc:
            return None
    except ValueError:
        # urllib rejects some malformed URLs ("http://[::1"): such a link cannot be kept.
        return None
    return quote(url, safe=_URL_SAFE)
