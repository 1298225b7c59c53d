"""Operations on users: first contact, consent, language, role, coordinators."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from storage.db import Database
from storage.models import Demand, Enterprise, Role, Specialist, User


async def touch_user(*, db: Database, telegram_id: int, chat_id: int, now: dt.datetime) -> User:
    """The user behind an update, created on first contact with ids only (no personal data).

    Every update calls this, so the usual case is one cached UPDATE (SQLAlchemy cannot
    cache an upsert's compiled form; compiling it took a millisecond). A user seen for
    the first time gets an upsert, so two processes meeting them at the same moment
    (their first two messages handled in parallel) agree on one row instead of failing.
    """
    async with db.transaction() as session:
        seen = await session.execute(
            update(User)
            .where(col(User.telegram_id) == telegram_id)
            .values(chat_id=chat_id, last_seen_at=now)
            .returning(User)
        )
        user = seen.scalar_one_or_none()
        if user is not None:
            return user
        insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(User)
            .values(telegram_id=telegram_id, chat_id=chat_id, created_at=now, last_seen_at=now)
            .on_conflict_do_update(
                index_elements=["telegram_id"], set_={"chat_id": chat_id, "last_seen_at": now}
            )
            .returning(User)
        )
        return (await session.execute(statement)).scalar_one()


async def get_user(*, db: Database, telegram_id: int) -> User | None:
    async with db.transaction() as session:
        return (
            await session.execute(select(User).where(col(User.telegram_id) == telegram_id))
        ).scalar_one_or_none()


async def record_consent(
    *, db: Database, user_id: int, first_name: str | None, now: dt.datetime
) -> None:
    """Consent given: from now on the bot may keep the user's name."""
    async with db.transaction() as session:
        await session.execute(
            update(User)
            .where(col(User.id) == user_id)
            .values(consent_at=now, first_name=(first_name or "")[:128] or None)
        )


async def set_locale(*, db: Database, user_id: int, locale: str) -> None:
    async with db.transaction() as session:
        await session.execute(update(User).where(col(User.id) == user_id).values(locale=locale))


async def set_role(*, db: Database, user_id: int, role: Role) -> None:
    async with db.transaction() as session:
        await session.execute(update(User).where(col(User.id) == user_id).values(role=role.value))


async def coordinator_chat_ids(*, db: Database, configured: frozenset[int]) -> list[int]:
    """Chats of everyone with coordinator rights: COORDINATOR_IDS and those granted in SQL."""
    async with db.transaction() as session:
        granted = (
            await session.execute(select(col(User.telegram_id)).where(col(User.is_coordinator)))
        ).scalars()
        return sorted(configured | set(granted))


async def programme_counts(*, db: Database) -> dict[str, int]:
    """Headline figures: people by role and demands and specialists by status."""
    async with db.transaction() as session:
        counts: dict[str, int] = {}
        for role, n in await session.execute(
            select(col(User.role), func.count())
            .where(col(User.role).is_not(None))
            .group_by(col(User.role))
        ):
            counts[f"users_{role}"] = n
        counts["enterprises"] = (
            await session.execute(select(func.count()).select_from(Enterprise))
        ).scalar_one()
        for status, n in await session.execute(
            select(col(Demand.status), func.count()).group_by(col(Demand.status))
        ):
            counts[f"demands_{status}"] = n
        for status, n in await session.execute(
            select(col(Specialist.status), func.count()).group_by(col(Specialist.status))
        ):
            counts[f"specialists_{status}"] = n
        return counts
