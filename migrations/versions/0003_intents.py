"""Intents and workspace facts: what makes the store rebuildable from Intercom.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

``intents``: a page about to be created, written before the call and removed in the
same transaction that records Intercom's answer, so a run killed in between leaves a
trace the next run resolves against Intercom instead of an orphan page nobody knows.
``workspace``: facts about the Intercom workspace as a whole (how many of its External
Pages belong to no source of this store), for the one-call drift check.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intents",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_intents_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "external_id", name=op.f("pk_intents")),
    )
    op.create_table(
        "workspace",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_workspace")),
    )


def downgrade() -> None:
    op.drop_table("workspace")
    op.drop_table("intents")
