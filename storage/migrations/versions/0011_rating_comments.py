"""a comment with each side's rating of a completed engagement

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("engagements") as batch:
        batch.add_column(sa.Column("comment_on_specialist", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("comment_on_enterprise", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("engagements") as batch:
        batch.drop_column("comment_on_enterprise")
        batch.drop_column("comment_on_specialist")
