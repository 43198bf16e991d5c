"""Which procrastinate the store's engine schema is, and the check made before using it.

Store revision 0006 applies procrastinate 3.10.0's ``schema.sql`` (a copy kept in
``migrations/sql/``); the library's queries expect exactly that schema. Its schema
changes only with a new file in its ``sql/migrations/``, so a library is fit when its
newest migration is the one that schema ends with. A worker (or a daemon that defers)
with another procrastinate refuses to start, saying which range to install, rather than
failing on its first query.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from syncer.errors import UsageError

# The release the schema was copied from, and the range pyproject pins (the postgres extra).
SCHEMA_RELEASE = "3.10.0"
SUPPORTED = ">=3.10,<3.11"
# The newest of procrastinate's own migrations that schema includes.
NEWEST_MIGRATION = "03.04.00_50_post_add_retry_failed_job_procedure.sql"
INSTALL = (
    f"pip install 'procrastinate{SUPPORTED}' (or reinstall syncer: pip install 'syncer[postgres]')"
)


def problem(version: str, migrations: Iterable[str]) -> str | None:
    """Why procrastinate ``version``, whose migration files are ``migrations``, cannot
    use the store's schema; None when it can."""
    from packaging.specifiers import SpecifierSet  # procrastinate's own dependency

    newest = max((name for name in migrations if name.endswith(".sql")), default=None)
    if version in SpecifierSet(SUPPORTED) and newest == NEWEST_MIGRATION:
        return None
    return (
        f"procrastinate {version} is installed, but the store's engine schema (revision "
        f"0006) is procrastinate {SCHEMA_RELEASE}'s, for procrastinate{SUPPORTED} (its "
        f"newest migration {newest or 'none'}, the schema's {NEWEST_MIGRATION}): {INSTALL}"
    )


def check() -> None:
    """Raise ``UsageError`` unless the installed procrastinate fits the store's schema."""
    try:
        import procrastinate
        from procrastinate.schema import SchemaManager
    except ModuleNotFoundError:
        raise UsageError(
            f"the task engine needs the procrastinate package, which is not installed: {INSTALL}"
        ) from None
    migrations = [path.name for path in Path(SchemaManager.get_migrations_path()).iterdir()]
    found = problem(str(procrastinate.__version__), migrations)
    if found is not None:
        raise UsageError(found)
