"""why an enterprise disputed a work log, in its own words

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_logs") as batch:
        batch.add_column(sa.Column("dispute_reason", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_logs") as batch:
        batch.drop_column("dispute_reason")
