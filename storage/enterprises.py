"""Operations on enterprises: one registration per user, created once and edited later."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import col

from storage.audit import audit
from storage.db import Database
from storage.models import Enterprise


@dataclass(frozen=True)
class EnterpriseDetails:
    """What the registration form collects; `city` is a taxonomy code or the typed name."""

    name: str
    credit_code: str | None
    city: str
    industry_code: str
    size: str
    contact_name: str
    phone: str


async def get_enterprise(*, db: Database, owner_user_id: int) -> Enterprise | None:
    async with db.transaction() as session:
        return (
            await session.execute(
                select(Enterprise).where(col(Enterprise.owner_user_id) == owner_user_id)
            )
        ).scalar_one_or_none()


async def save_enterprise(
    *, db: Database, owner_user_id: int, details: EnterpriseDetails, now: dt.datetime
) -> Enterprise:
    """Register the user's enterprise, or replace its details when it is registered already."""
    values = dataclasses.asdict(details)
    async with db.transaction() as session:
        enterprise = (
            await session.execute(
                select(Enterprise).where(col(Enterprise.owner_user_id) == owner_user_id)
            )
        ).scalar_one_or_none()
        if enterprise is None:
            enterprise = Enterprise(
                owner_user_id=owner_user_id, created_at=now, updated_at=now, **values
            )
            session.add(enterprise)
            action = "enterprise.registered"
        else:
            for name, value in values.items():
                setattr(enterprise, name, value)
            enterprise.updated_at = now
            action = "enterprise.edited"
        await session.flush()
        audit(
            session,
            now=now,
            actor_user_id=owner_user_id,
            action=action,
            target_type="enterprise",
            target_id=enterprise.id,
        )
        return enterprise
