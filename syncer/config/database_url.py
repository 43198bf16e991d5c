"""A store URL read as SQLAlchemy reads it, without importing SQLAlchemy.

``syncer validate`` checks ``store.url`` but opens no database, and importing SQLAlchemy
takes about 100 ms. `parse` splits a URL with the pattern of SQLAlchemy 2's
``make_url`` (``sqlalchemy.engine.url._parse_url``, copied below), so it accepts what
``make_url`` accepts, fails where it fails and names the same backend and database;
`DatabaseURL.render` gives ``URL.render_as_string(hide_password=False)`` of the URL with
its database replaced, here for a URL that holds nothing but a driver and a database (a
SQLite file), through SQLAlchemy for any other. ``tests/test_database_url.py`` holds
both to SQLAlchemy over generated URLs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

# sqlalchemy/engine/url.py, _parse_url (SQLAlchemy 2.0 and 2.1).
_PATTERN = re.compile(
    r"""
        (?P<name>[\w\+]+)://
        (?:
            (?P<username>[^:/]*)
            (?::(?P<password>[^@]*))?
        @)?
        (?:
            (?:
                \[(?P<ipv6host>[^/\?]+)\] |
                (?P<ipv4host>[^/:\?]+)
            )?
            (?::(?P<port>[^/\?]*))?
        )?
        (?:/(?P<database>[^\?]*))?
        (?:\?(?P<query>.*))?
        """,
    re.X,
)


class NotADatabaseURLError(ValueError):
    """The text is not a URL at all (SQLAlchemy's ``ArgumentError``)."""


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    """The parts of a store URL that the settings look at."""

    text: str
    drivername: str
    database: str | None
    # Only a driver and a database (``sqlite:///syncer.db``): rendered here.
    plain: bool

    @property
    def backend(self) -> str:
        """The backend's name: the driver name up to any ``+`` (``postgresql+psycopg``)."""
        return self.drivername.split("+")[0]

    def render(self, database: str | None) -> str:
        """The URL with ``database`` instead of its own (None: its own), as SQLAlchemy
        writes it (``URL.set(database=...).render_as_string(hide_password=False)``)."""
        if database is None:
            database = self.database
        if self.plain:
            tail = "" if database is None else "/" + quote(database, safe=" +/")
            return f"{self.drivername}://{tail}"
        from sqlalchemy.engine import make_url

        return make_url(self.text).set(database=database).render_as_string(hide_password=False)


def parse(text: str) -> DatabaseURL:
    """``text`` split as ``make_url`` splits it; `NotADatabaseURLError` when it is no URL.

    A port that is not a number (an empty one too) raises ``ValueError`` from ``int``,
    as ``make_url`` does.
    """
    match = _PATTERN.match(text)
    if match is None:
        raise NotADatabaseURLError(text)
    parts = match.groupdict()
    if parts["port"] is not None:
        int(parts["port"])
    database = parts["database"]
    others = ("username", "password", "ipv4host", "ipv6host", "port", "query")
    return DatabaseURL(
        text=text,
        drivername=parts["name"],
        database=None if database is None else unquote(database),
        plain=all(parts[name] is None for name in others),
    )
