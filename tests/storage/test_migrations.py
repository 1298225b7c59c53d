"""Migrations are the only way a schema is made: upgrade, downgrade, upgrade on each backend."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.db import sync_url
from storage.migrate import downgrade, upgrade


def tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    expected = set(SQLModel.metadata.tables)
    assert tables(database_url) == expected
    downgrade(database_url, "base")
    assert tables(database_url) == set()
    upgrade(database_url)
    assert tables(database_url) == expected


def test_models_and_migrations_agree(database_url: str) -> None:
    """A model changed without a migration shows up here as a pending autogenerate diff."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(sync_url(database_url))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_people_keep_their_telegram_account_across_the_channel_migration(
    database_url: str,
) -> None:
    """0008 makes each user's Telegram account an identity and moves the update ids already
    handled into the inbox; going back restores both."""
    downgrade(database_url, "0007")
    engine = create_engine(sync_url(database_url))
    at = "2026-11-30 08:00:00"
    try:
        with engine.begin() as connection:
            for user_id, telegram_id, chat_id, erased in (
                (1, 7_000_000_001, 7_000_000_001, None),
                (2, 5_301, 5_301, None),
                (3, -3, -3, at),  # erased: it carries minus its row id
            ):
                connection.execute(
                    text(
                        "INSERT INTO users (id, telegram_id, chat_id, first_name, is_coordinator,"
                        " erased_at, created_at, last_seen_at)"
                        " VALUES (:id, :tg, :chat, 'x', false, :erased, :at, :at)"
                    ),
                    {"id": user_id, "tg": telegram_id, "chat": chat_id, "erased": erased, "at": at},
                )
            connection.execute(
                text("INSERT INTO processed_updates (update_id, processed_at) VALUES (:u, :at)"),
                [{"u": 901, "at": at}, {"u": 902, "at": at}],
            )
        upgrade(database_url)
        with engine.connect() as connection:
            accounts = connection.execute(
                text("SELECT user_id, platform, account, address FROM identities ORDER BY user_id")
            ).all()
            events = connection.execute(
                text("SELECT platform, event_id, state FROM inbox ORDER BY event_id")
            ).all()
        assert [tuple(a) for a in accounts] == [
            (1, "telegram", "7000000001", "7000000001"),
            (2, "telegram", "5301", "5301"),
        ]
        assert [tuple(e) for e in events] == [
            ("telegram", "901", "done"),
            ("telegram", "902", "done"),
        ]
        assert "telegram_id" not in {c["name"] for c in inspect(engine).get_columns("users")}

        downgrade(database_url, "0007")
        with engine.connect() as connection:
            back = connection.execute(
                text("SELECT id, telegram_id, chat_id FROM users ORDER BY id")
            ).all()
            updates = connection.execute(
                text("SELECT update_id FROM processed_updates ORDER BY update_id")
            ).all()
        assert [tuple(b) for b in back] == [
            (1, 7_000_000_001, 7_000_000_001),
            (2, 5_301, 5_301),
            (3, -3, -3),
        ]
        assert [u for (u,) in updates] == [901, 902]
        upgrade(database_url)
    finally:
        engine.dispose()
