"""sentence-embedding vectors of profiles and demands, kept between rounds

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _meanings(table: str, owner: str, parent: str) -> None:
    op.create_table(
        table,
        sa.Column(owner, sa.Integer(), sa.ForeignKey(f"{parent}.id"), primary_key=True),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=40), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
    )


def upgrade() -> None:
    _meanings("specialist_meanings", "specialist_id", "specialists")
    _meanings("demand_meanings", "demand_id", "demands")


def downgrade() -> None:
    op.drop_table("demand_meanings")
    op.drop_table("specialist_meanings")
