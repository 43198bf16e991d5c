"""Runs split into jobs: a run's listing, its batches and the external ids they claim.

Revision ID: 0008
Revises: 0007
Create Date: 2027-01-20

``syncer worker`` splits a large run of a source into a listing job, batch jobs any
worker may take, and a finishing job (``syncer.engine.batches``): ``run_listings`` keeps
what the listing job saw for the others, ``run_batches`` each batch's stubs and, once
done, what it decided, ``run_claims`` which document of the run claimed each external
id. On SQLite too (the schema is one), though only Postgres runs the engine.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _run_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["run_id"], ["runs.id"], name=op.f(f"fk_{table}_run_id_runs"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "run_listings",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("stubs", sa.JSON(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.Column("left_out", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("import_source_id", sa.String(length=64), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("known", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("trigger_serial", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("trigger_previous", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        _run_fk("run_listings"),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_run_listings_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_listings")),
    )
    op.create_index(
        op.f("ix_run_listings_source_id_finished_at"),
        "run_listings",
        ["source_id", "finished_at"],
    )
    op.create_table(
        "run_batches",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("stubs", sa.JSON(), nullable=False),
        sa.Column("done", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("worker", sa.String(length=128), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        _run_fk("run_batches"),
        sa.PrimaryKeyConstraint("run_id", "number", name=op.f("pk_run_batches")),
    )
    op.create_table(
        "run_claims",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        _run_fk("run_claims"),
        sa.PrimaryKeyConstraint("run_id", "external_id", name=op.f("pk_run_claims")),
    )


def downgrade() -> None:
    op.drop_table("run_claims")
    op.drop_table("run_batches")
    op.drop_index(op.f("ix_run_listings_source_id_finished_at"), table_name="run_listings")
    op.drop_table("run_listings")
