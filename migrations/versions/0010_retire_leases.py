"""The lease table is retired: each run's source lock alone keeps replicas apart.

Revision ID: 0010
Revises: 0009
Create Date: 2027-02-10

``leases`` (revision 0002) held which daemon replica synced a source, renewed while its
run went on. Every run that writes also holds its source's lock (``syncer.store.locks``),
checked before each write, and procrastinate's job locks keep workers apart: nothing
reads or writes the table any more (issue 14), so it is dropped. Its rows were claims
that lapse within a minute; none is carried over. The downgrade makes the table again as
0002 did, empty, for a release that still claims leases.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("leases")


def downgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_leases")),
    )
