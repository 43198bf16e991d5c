"""The task engine's schema: procrastinate's tables and functions, on PostgreSQL only.

Revision ID: 0006
Revises: 0005
Create Date: 2027-01-10

``syncer worker`` runs sources' syncs as procrastinate jobs (``syncer.engine``), whose
queue, locks and workers live in the store's Postgres. Its schema is applied here, from
``migrations/sql/procrastinate-3.10.0.sql``: procrastinate 3.10.0's own ``schema.sql``,
copied byte for byte, so this revision applies the same SQL whatever procrastinate
version is installed (or none: ``syncer db upgrade`` does not need the package). The
schema holds procrastinate's migrations up to ``03.04.00_50``; a worker refuses a
procrastinate whose schema differs (``syncer.engine.schema``), and a procrastinate
release that changes its schema comes with a revision of ours applying its migration
files. SQLite has no engine (the daemon runs everything in-process): nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = Path(__file__).resolve().parents[1] / "sql" / "procrastinate-3.10.0.sql"

# What SCHEMA creates, dropped on the way down (triggers and indexes go with the tables).
TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)
FUNCTIONS = (
    "procrastinate_defer_jobs_v1",
    "procrastinate_defer_periodic_job_v2",
    "procrastinate_fetch_job_v2",
    "procrastinate_finish_job_v1",
    "procrastinate_cancel_job_v1",
    "procrastinate_retry_job_v1",
    "procrastinate_retry_job_v2",
    "procrastinate_notify_queue_job_inserted_v1",
    "procrastinate_notify_queue_abort_job_v1",
    "procrastinate_trigger_function_status_events_insert_v1",
    "procrastinate_trigger_function_status_events_update_v1",
    "procrastinate_trigger_function_scheduled_events_v1",
    "procrastinate_trigger_abort_requested_events_procedure_v1",
    "procrastinate_unlink_periodic_defers_v1",
    "procrastinate_register_worker_v1",
    "procrastinate_unregister_worker_v1",
    "procrastinate_update_heartbeat_v1",
    "procrastinate_prune_stalled_workers_v1",
)
TYPES = (
    "procrastinate_job_to_defer_v1",
    "procrastinate_job_event_type",
    "procrastinate_job_status",
)


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgres():
        return
    # no_parameters: the driver gets the text as it is (its `%` are PL/pgSQL's, not
    # placeholders), and psycopg runs a parameterless text of many statements at once.
    op.get_bind().execution_options(no_parameters=True).exec_driver_sql(
        SCHEMA.read_text(encoding="utf-8")
    )


def downgrade() -> None:
    if not _postgres():
        return
    bind = op.get_bind()
    for table in TABLES:
        bind.exec_driver_sql(f"DROP TABLE IF EXISTS {table} CASCADE")
    for function in FUNCTIONS:
        bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function} CASCADE")
    for type_ in TYPES:
        bind.exec_driver_sql(f"DROP TYPE IF EXISTS {type_} CASCADE")
