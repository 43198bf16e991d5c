"""Job failures: each source's newest task-engine job that failed, and why.

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-12

``job_failures``: one row per source (``syncer.store.jobs``), written by ``syncer worker``
when a source's job fails for good: the job's id, when, and its error (redacted).
procrastinate keeps the failed job and the time, not the error, which ``/status`` and
``syncer status`` show beside the source's job counts. On SQLite too, so both stores
have one schema (nothing writes it there).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_failures",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_job_failures")),
    )


def downgrade() -> None:
    op.drop_table("job_failures")
