"""Rows for storage tests, inserted directly so each test states only what it is about."""

from __future__ import annotations

import datetime as dt
import itertools

from storage.db import Database
from storage.models import Demand, Enterprise, Identity, Specialist, SpecialistStatus, User

_ids = itertools.count(10_000)


async def user(db: Database, now: dt.datetime, role: str) -> User:
    account = str(next(_ids))
    row = User(role=role, consent_at=now, created_at=now, last_seen_at=now)
    async with db.transaction() as session:
        session.add(row)
        await session.flush()
        session.add(
            Identity(
                user_id=row.id,
                platform="telegram",
                account=account,
                address=account,
                created_at=now,
                last_seen_at=now,
            )
        )
    return row


async def enterprise(
    db: Database, now: dt.datetime, name: str = "鞍山精密铸造有限公司"
) -> Enterprise:
    owner = await user(db, now, "enterprise")
    row = Enterprise(
        owner_user_id=owner.id,
        name=name,
        city="anshan",
        industry_code="C33",
        size="small",
        contact_name="刘经理",
        phone="+8613800000001",
        created_at=now,
        updated_at=now,
    )
    async with db.transaction() as session:
        session.add(row)
    return row


async def demand(
    db: Database, now: dt.datetime, enterprise_id: int, title: str = "铸件气孔"
) -> Demand:
    row = Demand(
        enterprise_id=enterprise_id,
        title=title,
        description="铝合金铸件内部气孔多，废品率高，想找专家分析。",
        kind="technology",
        fields=["43050"],
        keywords=["铸造"],
        work_mode="either",
        urgency="normal",
        created_at=now,
        updated_at=now,
    )
    async with db.transaction() as session:
        session.add(row)
    return row


async def specialist(db: Database, now: dt.datetime, name: str = "陈教授") -> Specialist:
    owner = await user(db, now, "specialist")
    row = Specialist(
        user_id=owner.id,
        name=name,
        institution="大连理工大学",
        institution_type="university",
        location="liaoning",
        disciplines=["43050"],
        expertise="铸造工艺与缺陷分析",
        keywords=["铸造"],
        cities=["dalian", "anshan"],
        phone="+8613900000002",
        status=SpecialistStatus.APPROVED,
        created_at=now,
        updated_at=now,
    )
    async with db.transaction() as session:
        session.add(row)
    return row
