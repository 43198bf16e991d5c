"""Schema migrations: Alembic driven from code, for ``syncer db upgrade`` and the daemon.

The Alembic ``Config`` is built here, pointing at the installed ``migrations`` package, so
a wheel needs no ``alembic.ini`` (that file is only for developers running
``alembic revision --autogenerate``). Callers either pass a URL or, inside the store, an
open connection that ``migrations/env.py`` picks up from ``Config.attributes``.

Alembic is imported only to migrate (about 100 ms with Mako and Pygments, which it
brings): every store open asks for the store's revision and the newest one, so those two
are read without it (`current_revision`: one query of ``alembic_version``; `head`: the
revision scripts' literal ``revision``/``down_revision``), and an upgrade of a store
already at head returns before Alembic is needed. Anything unusual (two rows, branches,
a script that is not plain) is left to Alembic, which says what is wrong.
"""

from __future__ import annotations

import ast
import functools
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

from syncer.errors import StoreError
from syncer.store import engine as engines

if TYPE_CHECKING:
    from alembic.config import Config

# Taken (per transaction) around upgrades on Postgres, so that daemon replicas starting
# together do not race to create the same tables. Any constant works; this is "syncer".
_MIGRATION_LOCK_ID = 0x73796E636572
# How long a SQLite upgrade waits for another process's upgrade (or write) to finish.
_SQLITE_WAIT_S = 60.0
# Alembic's default version table, which migrations/env.py keeps.
_VERSION_TABLE = "alembic_version"


def script_location() -> Path:
    """The directory of the installed ``migrations`` package (the one holding ``env.py``)."""
    spec = find_spec("syncer.migrations")
    # Walk the search locations rather than trusting __file__: an editable install made
    # before the package had its __init__.py resolves it as a namespace package.
    for entry in (spec.submodule_search_locations or []) if spec else []:
        location = Path(entry)
        if (location / "env.py").is_file():
            return location
    raise StoreError(
        "syncer's migrations package is missing or not on the file system; reinstall syncer"
    )


def config(connection: Connection | None = None) -> Config:
    """An Alembic config for the installed migrations, optionally bound to a connection."""
    from alembic.config import Config  # here, as in every function: alembic costs ~50 ms

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head() -> str:
    """The newest revision this version of syncer knows (read once a process: the
    scripts are this installation's; a sync asks at the upgrade and at the open)."""
    revision = _plain_head()
    if revision is not None:
        return revision
    from alembic.script import ScriptDirectory

    revision = ScriptDirectory.from_config(config()).get_current_head()
    if revision is None:
        raise StoreError("the migrations package has no revisions")
    return revision


def _plain_head() -> str | None:
    """The one head of the revision scripts read as text: each script's literal
    ``revision`` and ``down_revision`` (a single chain, no branch labels or
    dependencies); None when a script is anything else, for Alembic to read instead."""
    revisions: dict[str, str | None] = {}
    for script in sorted((script_location() / "versions").glob("*.py")):
        if script.name == "__init__.py":
            continue
        values = _literals(script, ("revision", "down_revision", "branch_labels", "depends_on"))
        revision, down = values.get("revision"), values.get("down_revision", ...)
        if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
            return None
        if (
            values.get("branch_labels", ...) is not None
            or values.get("depends_on", ...) is not None
        ):
            return None
        if revision in revisions:
            return None
        revisions[revision] = down
    downs = set(revisions.values())
    if not downs <= {None, *revisions}:
        return None
    heads = [revision for revision in revisions if revision not in downs]
    return heads[0] if len(heads) == 1 else None


def _literals(script: Path, names: tuple[str, ...]) -> dict[str, object]:
    """The module-level ``name = <literal>`` (or ``name: T = <literal>``) of ``script``."""
    try:
        tree = ast.parse(script.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return {}
    found: dict[str, object] = {}
    for node in tree.body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id in names and value is not None:
            try:
                found[target.id] = ast.literal_eval(value)
            except ValueError:
                found[target.id] = ...
    return found


def known_revisions() -> frozenset[str]:
    """Every revision this version of syncer has a script for."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(config())
    return frozenset(script.revision for script in scripts.walk_revisions())


def require_head(url: str, revision: str | None) -> None:
    """Raise the ``StoreError`` that says how to bring a store at ``revision`` to head."""
    current_head = head()
    if revision == current_head:
        return  # the every-run case: no need to read which revisions exist
    problem = revision_problem(
        engines.safe_url(url), revision, current_head, known=revision in known_revisions()
    )
    if problem is not None:
        raise problem


def revision_problem(
    shown_url: str, revision: str | None, head: str, *, known: bool
) -> StoreError | None:
    """Why a store at ``revision`` cannot be used by a syncer at ``head``; None if it can.

    ``known`` says whether this syncer has a script for ``revision``: a known revision
    is behind (upgrade the store), an unknown one was written by a newer syncer.
    """
    context: dict[str, str | None] = {"url": shown_url, "revision": revision, "head": head}
    if revision is None:
        return StoreError(
            f"store {shown_url} is not initialised: run `syncer db upgrade`", **context
        )
    if revision == head:
        return None
    if known:
        return StoreError(
            f"store {shown_url} is at schema revision {revision}, behind this syncer's "
            f"revision {head}: run `syncer db upgrade`",
            **context,
        )
    return StoreError(
        f"store {shown_url} is at schema revision {revision}, which this syncer (revision "
        f"{head}) does not know: a newer syncer upgraded it. Run that newer syncer, or use it "
        f"to downgrade the store to {head} before running this one",
        **context,
    )


def current_revision(connection: Connection) -> str | None:
    """The revision the database behind ``connection`` is at; None when uninitialised.

    Alembic's ``MigrationContext.get_current_revision``, read with one query (Alembic
    itself says what is wrong with a table of more than one row).
    """
    if not connection.dialect.has_table(connection, _VERSION_TABLE):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    if len(rows) < 2:
        return str(rows[0][0]) if rows else None
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade_connection(connection: Connection, revision: str = "head") -> None:
    """Upgrade through an open connection, inside its transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    if revision == "head" and current_revision(connection) == head():
        return  # Alembic would find nothing to do
    from alembic import command

    command.upgrade(config(connection), revision)


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the store at ``url`` to ``revision`` (default: the newest), all or nothing.

    Postgres runs DDL in transactions anyway. Python's sqlite3 does not: it commits
    before and runs outside a transaction every ``CREATE TABLE``, so a disk filling up
    halfway left a store that failed every later run ("table sources already exists"),
    and two first runs at once raced to create the same tables. A SQLite upgrade
    therefore gets an engine of its own that opens the transaction itself with
    ``BEGIN IMMEDIATE`` (the write lock first, so a second upgrade waits and then finds
    the store at head) and keeps every statement in it.
    """
    engine = _transactional_engine(url)
    try:
        with engines.translated_errors(url), engine.begin() as connection:
            upgrade_connection(connection, revision)
    finally:
        engine.dispose()


def _transactional_engine(url: str) -> Engine:
    parsed = engines.parse_url(url)
    if engines.sqlite_path(parsed) is None:
        return engines.create(url)
    engine = create_engine(parsed, poolclass=NullPool, connect_args={"timeout": _SQLITE_WAIT_S})

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # sqlite3 neither begins nor commits
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def downgrade(url: str, revision: str) -> None:
    """Downgrade the store at ``url`` to ``revision`` (``base`` drops every table)."""
    from alembic import command

    engine = _transactional_engine(url)
    try:
        with engines.translated_errors(url), engine.begin() as connection:
            command.downgrade(config(connection), revision)
    finally:
        engine.dispose()


def current(url: str) -> str | None:
    """The revision the store at ``url`` is at; None when it is uninitialised.

    A missing SQLite file is uninitialised and is not created by asking.
    """
    path = engines.sqlite_path(engines.parse_url(url))
    if path is not None and not path.exists():
        return None
    engine = engines.create(url, read_only=True)
    try:
        with engines.translated_errors(url), engine.connect() as connection:
            return current_revision(connection)
    finally:
        engine.dispose()
