"""channels: identities per platform, the inbox, the outbox and button tokens

A person was a Telegram user (users.telegram_id, users.chat_id); now each platform
account is an identity row. Existing users keep their Telegram account as their
first identity, and update ids already processed move into the inbox (kept as
processed, so a redelivery is still recognised until they are pruned).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:49:37.220992
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("person", sa.String(length=160), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("flood", sa.String(length=8), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "event_id"),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_finished_at"), ["finished_at"], unique=False)
        batch_op.create_index("ix_inbox_person_state", ["person", "state", "id"], unique=False)
        batch_op.create_index("ix_inbox_state_due", ["state", "due_at"], unique=False)

    op.create_table(
        "buttons",
        sa.Column("token", sa.String(length=24), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token"),
    )
    with op.batch_alter_table("buttons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_buttons_issued_at"), ["issued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_buttons_user_id"), ["user_id"], unique=False)

    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unreachable_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("choices", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "account"),
    )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identities_user_id"), ["user_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=24), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=True),
        sa.Column("key", sa.String(length=120), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("platform_message_id", sa.String(length=64), nullable=True),
        sa.Column("shown", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        sa.UniqueConstraint("ref"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_address_state", ["platform", "address", "state", "id"], unique=False
        )
        batch_op.create_index(
            "ix_outbox_platform_message",
            ["platform", "address", "platform_message_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_outbox_sent_at"), ["sent_at"], unique=False)
        batch_op.create_index("ix_outbox_state_due", ["state", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_user_id"), ["user_id"], unique=False)

    # Every user not erased keeps the Telegram account they wrote from (erased users carry
    # minus their row id there, and start afresh when they write again).
    op.execute(
        "INSERT INTO identities (user_id, platform, account, address, created_at, last_seen_at)"
        " SELECT id, 'telegram', CAST(telegram_id AS VARCHAR), CAST(chat_id AS VARCHAR),"
        " created_at, last_seen_at FROM users WHERE telegram_id > 0"
    )
    # Update ids already handled stay recognised until the inbox is pruned.
    op.execute(
        "INSERT INTO inbox (platform, event_id, person, body, state, attempts,"
        " received_at, due_at, finished_at)"
        " SELECT 'telegram', CAST(update_id AS VARCHAR), 'telegram:', '{}', 'done', 0,"
        " processed_at, processed_at, processed_at FROM processed_updates"
    )

    with op.batch_alter_table("processed_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_updates_processed_at"))
    op.drop_table("processed_updates")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("chat_id")
        batch_op.drop_column("telegram_id")


def downgrade() -> None:
    # Telegram accounts go back into users; accounts on other platforms are lost.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("telegram_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE users SET"
        " telegram_id = (SELECT CAST(account AS BIGINT) FROM identities"
        "  WHERE identities.user_id = users.id AND platform = 'telegram'),"
        " chat_id = (SELECT CAST(address AS BIGINT) FROM identities"
        "  WHERE identities.user_id = users.id AND platform = 'telegram')"
    )
    op.execute("UPDATE users SET telegram_id = -id, chat_id = -id WHERE telegram_id IS NULL")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("telegram_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_unique_constraint("users_telegram_id_key", ["telegram_id"])

    op.create_table(
        "processed_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id"),
    )
    with op.batch_alter_table("processed_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processed_updates_processed_at"), ["processed_at"], unique=False
        )
    op.execute(
        "INSERT INTO processed_updates (update_id, processed_at)"
        " SELECT CAST(event_id AS BIGINT), received_at FROM inbox"
        " WHERE platform = 'telegram' AND state <> 'pending'"
    )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_user_id"))
        batch_op.drop_index("ix_outbox_state_due")
        batch_op.drop_index(batch_op.f("ix_outbox_sent_at"))
        batch_op.drop_index("ix_outbox_platform_message")
        batch_op.drop_index("ix_outbox_address_state")
    op.drop_table("outbox")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identities_user_id"))
    op.drop_table("identities")
    with op.batch_alter_table("buttons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_buttons_user_id"))
        batch_op.drop_index(batch_op.f("ix_buttons_issued_at"))
    op.drop_table("buttons")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_state_due")
        batch_op.drop_index("ix_inbox_person_state")
        batch_op.drop_index(batch_op.f("ix_inbox_finished_at"))
    op.drop_table("inbox")
