"""Triggers: each source's last webhook, ``syncer trigger`` or "sync now", and what served it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

``triggers``: one row per source (``syncer.store.triggers``): a serial counting its
triggers, the last one's time, what it was and when its change happened; the serial the
newest run began at and the one the newest finished run served, with how it ended and
how fresh Intercom then was.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "triggers",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("begun", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("begun_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_status", sa.String(length=16), nullable=True),
        sa.Column("done_exit", sa.Integer(), nullable=True),
        sa.Column("freshness_s", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_triggers")),
    )


def downgrade() -> None:
    op.drop_table("triggers")
