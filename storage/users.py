"""Operations on users: consent, language, role, and the programme's headline counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlmodel import col

from storage.db import Database
from storage.models import Demand, Enterprise, Role, Specialist, User


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
