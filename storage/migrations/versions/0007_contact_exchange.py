"""contact exchange: when both sides' contact details went out, and the one reminder

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("contacts_shared_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("contacts_reminded_at", sa.DateTime(timezone=True), nullable=True)
        )
    # Engagements made before contact consent existed already exchanged contacts at the choice.
    op.execute("UPDATE engagements SET contacts_shared_at = started_at")


def downgrade() -> None:
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_column("contacts_reminded_at")
        batch_op.drop_column("contacts_shared_at")
