"""engagement work: completion, ratings and outcome, monthly check-ins, vouchers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 22:59:04.359087
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "engagement_checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("engagement_id", "month"),
    )
    with op.batch_alter_table("engagement_checkins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_engagement_checkins_answered_at"), ["answered_at"], unique=False
        )

    op.create_table(
        "vouchers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("daily_rate", sa.Integer(), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("engagement_id"),
    )
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("completion_proposed_by", sa.String(length=16), nullable=True)
        )
        batch_op.add_column(
            sa.Column("completion_proposed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("log_nudged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("rating_of_specialist", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rating_of_enterprise", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("results", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_column("outcome_at")
        batch_op.drop_column("results")
        batch_op.drop_column("outcome")
        batch_op.drop_column("rating_of_enterprise")
        batch_op.drop_column("rating_of_specialist")
        batch_op.drop_column("log_nudged_at")
        batch_op.drop_column("completion_proposed_at")
        batch_op.drop_column("completion_proposed_by")

    op.drop_table("vouchers")
    with op.batch_alter_table("engagement_checkins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagement_checkins_answered_at"))

    op.drop_table("engagement_checkins")
