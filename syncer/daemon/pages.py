"""The status page's HTML: Jinja2 templates shipped as package data, rendered on the server.

No front-end build and no external asset: the templates (``templates/``) and the one
stylesheet (``static/status.css``) live in the package and the daemon serves both.
Everything is autoescaped (source names, titles and errors come from outside), undefined
names are errors, and every page goes out with a Content Security Policy that allows
nothing but the daemon's own stylesheet and forms posted back to it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from syncer.daemon.http import HTML_TYPE, Reply

# Nothing loads from anywhere but the daemon; no script runs at all; no other site may
# frame the page or receive its forms.
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)
CSS_TYPE = "text/css; charset=utf-8"


class Pages:
    """The templates, with the filters they format times and durations with."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("syncer.daemon", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["when"] = when
        self.env.filters["ago"] = ago
        self.env.filters["seconds"] = seconds
        self._css = resources.files("syncer.daemon").joinpath("static/status.css").read_bytes()

    def render(self, template: str, *, status: int = 200, **context: Any) -> Reply:
        """``template`` rendered with ``context``, as an HTML reply."""
        html = self.env.get_template(template).render(**context)
        return Reply(status, HTML_TYPE, html.encode(), SECURITY_HEADERS)

    def css(self) -> Reply:
        return Reply(200, CSS_TYPE, self._css, (("Cache-Control", "max-age=300"),))


def _parse(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def when(value: str | datetime | None) -> str:
    """An ISO time as ``2026-12-01 11:20:03 UTC``; a dash for none."""
    at = _parse(value)
    return "—" if at is None else at.strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(value: str | datetime | None, now: datetime) -> str:
    """How far ``value`` is from ``now``, in words: ``3 min ago``, ``in 20 s``."""
    at = _parse(value)
    if at is None:
        return "—"
    delta = (now - at).total_seconds()
    if abs(delta) < 1:
        return "just now"
    words = seconds(abs(delta), precise=False)
    return f"{words} ago" if delta > 0 else f"in {words}"


def seconds(value: float | timedelta, *, precise: bool = True) -> str:
    """A duration in the largest units that fit: ``0.42 s``, ``12 s``, ``3 min 5 s``,
    ``2 h 3 min``, ``4 d 1 h``."""
    total = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if total < 10 and precise:
        return f"{total:.2g} s" if total < 1 else f"{total:.1f} s"
    whole = round(total)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs and minutes < 10 else f"{minutes} min"
    return f"{secs} s"
