"""``store.url`` is read without SQLAlchemy, and read as SQLAlchemy reads it.

``syncer.config.database_url`` copies ``make_url``'s pattern so that ``syncer validate``
need not import SQLAlchemy; these tests hold it, and the settings' validator built on it,
to SQLAlchemy over generated URLs: what parses, what fails and how, the backend, the
database, and the URL the store is given.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from syncer.config import database_url
from syncer.config.settings import StoreSettings

SCHEMES = ["sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg", "mysql", "Ünï", "a-b"]
TEXT = st.text(alphabet="ab:/@?&=%20 +é[]#.\n_-", max_size=12)


@st.composite
def urls(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=30))
    url = draw(st.sampled_from(SCHEMES)) + draw(st.sampled_from(["://", ":/", "://", ":"]))
    if draw(st.booleans()):
        url += draw(TEXT) + (":" + draw(TEXT) if draw(st.booleans()) else "") + "@"
    if draw(st.booleans()):
        url += draw(st.sampled_from(["db.example.com", "[::1]", "h", ""]))
        if draw(st.booleans()):
            url += ":" + draw(st.sampled_from(["5432", "", "x1", " 7", "+3", "٣"]))
    url += draw(st.sampled_from(["/", "//", "/tmp/", ""])) + draw(TEXT)
    if draw(st.booleans()):
        url += draw(st.sampled_from(["", "/:memory:", "/syncer.db", "/a%20b.db"]))
    if draw(st.booleans()):
        url += "?" + draw(TEXT)
    return url


def sqlalchemy_reads(text: str) -> tuple[str, object]:
    try:
        url = make_url(text)
    except ArgumentError:
        return "not a url", None
    except ValueError as error:
        return "value error", str(error)
    return "url", url


@settings(max_examples=1500, deadline=None)
@given(urls(), st.sampled_from([None, "/abs/x y.db", "rel/a%b é.db", ""]))
def test_a_url_is_read_as_sqlalchemy_reads_it(text: str, database: str | None) -> None:
    kind, expected = sqlalchemy_reads(text)
    if kind == "not a url":
        with pytest.raises(database_url.NotADatabaseURLError):
            database_url.parse(text)
        return
    if kind == "value error":
        with pytest.raises(ValueError, match="invalid literal") as caught:
            database_url.parse(text)
        assert str(caught.value) == expected
        return
    url = database_url.parse(text)
    assert url.drivername == expected.drivername  # type: ignore[attr-defined]
    assert url.backend == expected.get_backend_name()  # type: ignore[attr-defined]
    assert url.database == expected.database  # type: ignore[attr-defined]
    for replaced in (url.database, database):
        rendered = expected.set(database=replaced).render_as_string(hide_password=False)  # type: ignore[attr-defined]
        assert url.render(replaced) == rendered


def validated_before(value: str, base: Path | None) -> str:
    """``StoreSettings``' validator as it was, on SQLAlchemy's ``make_url``."""
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError("not a database URL") from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"database {backend!r} is not supported")
    if backend == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
            url = url.set(database=str(path))
        return url.render_as_string(hide_password=False)
    return value


@settings(max_examples=800, deadline=None)
@given(urls(), st.sampled_from([None, Path("/work/con fig"), Path("/x%y/é")]))
def test_the_store_gets_the_url_it_got_before(text: str, base: Path | None) -> None:
    try:
        expected: str | None = validated_before(text, base)
    except ValueError:
        expected = None
    context = {"base_dir": base} if base is not None else None
    try:
        got: str | None = StoreSettings.model_validate({"url": text}, context=context).url
    except ValidationError:
        got = None
    assert got == expected


def test_plain_sqlite_urls_are_rendered_without_sqlalchemy() -> None:
    url = database_url.parse("sqlite:///store%20one.db")
    assert url.plain
    assert url.database == "store one.db"
    assert url.render("/srv/a b/store one.db") == "sqlite:////srv/a b/store one.db"
    assert not database_url.parse("sqlite:///x.db?timeout=5").plain
    assert database_url.parse("postgresql+psycopg://u:p@h:5432/db").backend == "postgresql"
