"""Status page and alerts: per-run document outcomes, alert states, config reloads.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

``run_documents``: what each recent run did with each document it touched (created,
updated, deleted, failed, skipped, held back by the guard) and why, bounded per run and
per source (``syncer.store.runs``). ``alert_states``: each source's health as its alerts
last reported it, changed by compare-and-set so one message goes per transition.
``config_reloads``: the daemon replicas' SIGHUP reloads and their problems.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_documents",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint(
            "action IN ('failed', 'held', 'skipped', 'deleted', 'created', 'updated')",
            name=op.f("ck_run_documents_action"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_run_documents_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "position", name=op.f("pk_run_documents")),
    )
    op.create_table(
        "alert_states",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("run_state", sa.String(length=16), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_alert_states")),
    )
    op.create_table(
        "config_reloads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("replica", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_reloads")),
    )


def downgrade() -> None:
    op.drop_table("config_reloads")
    op.drop_table("alert_states")
    op.drop_table("run_documents")
