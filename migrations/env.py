"""Alembic's entry point: runs the revision scripts against the store's database.

``syncer.store.migrate`` passes an open connection in ``config.attributes["connection"]``
and the migration runs inside that connection's transaction. Developers running the
``alembic`` command instead get a URL from ``-x url=...``, else ``$SYNCER_STORE_URL``, else
``sqlalchemy.url`` in ``alembic.ini``. Autogenerate compares against
``syncer.store.schema.metadata`` (the task engine's tables left out: ``schema.ours``).
"""

from __future__ import annotations

import os
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, DateTime

from syncer.store import engine as engines
from syncer.store.schema import UTCDateTime, metadata, ours


def _url() -> str:
    config = context.config
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "SYNCER_STORE_URL"
    )
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "no database URL: pass -x url=..., set SYNCER_STORE_URL or sqlalchemy.url"
        )
    return url


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Revision scripts must not import application code, which changes after they are
    # written: the store's UTC type is rendered as the plain column type it stores.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return repr(DateTime(timezone=True)).replace("DateTime", "sa.DateTime", 1)
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=_render_item,
        compare_type=True,
        include_name=ours,  # the task engine's tables are procrastinate's (revision 0006)
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Emit the migration SQL for ``alembic upgrade --sql`` without a database."""
    context.configure(
        url=_url(),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate through the connection syncer passed in, or one made from the URL."""
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = _url()
    engine = engines.create(url)
    try:
        with engines.translated_errors(url), engine.begin() as own:
            _run(own)
    finally:
        engine.dispose()


if context.config.config_file_name is not None:
    # Only the developer's alembic.ini configures logging; syncer's own runs keep theirs.
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_offline()
else:
    run_online()
