"""What a split run's batches need of its listing to fetch without listing again.

Revision ID: 0009
Revises: 0008
Create Date: 2027-02-03

A connector that can resume a fetch from its listing (``syncer.connector.Resumable``:
the git commit listed, the Confluence pages' kinds, titles and spaces) says so in
``run_listings.connector_state``; each batch job restores it instead of listing the
whole source again (``syncer.engine.batches``). Null: the batch lists again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("run_listings") as batch:
        batch.add_column(sa.Column("connector_state", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("run_listings") as batch:
        batch.drop_column("connector_state")
