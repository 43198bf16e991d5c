"""Leases: one daemon replica syncs a source at a time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

One row per source while a replica syncs it (``syncer.daemon.leases``): the holder and
when its claim expires unless renewed. Retired by revision 0010: the source locks do it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    op.drop_table("leases")
