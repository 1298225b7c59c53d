"""A small, realistic programme for the playground: `python -m bot playground --demo`.

Thirty-odd Liaoning enterprises with their demands (enterprises.json) and about a
hundred approved specialists from Liaoning's universities and institutes, a few
from other provinces and abroad (specialists.json), written for this project so
that matching shows something real at once. Codes are the taxonomy's
(matching/taxonomy.py); tests/test_demo.py checks every one.

Demo people have Telegram ids from DEMO_ID_BASE up, far above the ids Telegram
hands out today, so they never collide with a real user or a playground persona.
Everything is written in one transaction and only for ids not present yet: a
second load adds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import Database
from storage.models import (
    Demand,
    Enterprise,
    Identity,
    Role,
    Specialist,
    SpecialistStatus,
    User,
)

DEMO_ID_BASE = 900_000_000_000
SPECIALIST_OFFSET = 100_000  # specialist n is DEMO_ID_BASE + SPECIALIST_OFFSET + n
_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class DemoPerson:
    """Someone in the demo data, as the playground offers them to be played."""

    telegram_id: int
    name: str
    role: str
    locale: str
    detail: str  # the enterprise or the institution
    phone: str


@dataclass(frozen=True)
class DemoCounts:
    """Rows a load added."""

    users: int = 0
    enterprises: int = 0
    demands: int = 0
    specialists: int = 0


@cache
def _records(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(json.loads((_HERE / name).read_text(encoding="utf-8")))


def enterprise_records() -> tuple[dict[str, Any], ...]:
    return _records("enterprises.json")


def specialist_records() -> tuple[dict[str, Any], ...]:
    return _records("specialists.json")


def _enterprise_id(number: int) -> int:
    return DEMO_ID_BASE + number


def _specialist_id(number: int) -> int:
    return DEMO_ID_BASE + SPECIALIST_OFFSET + number


def _locale(text: str) -> str:
    return "en" if text.isascii() else "zh_CN"


def people() -> list[DemoPerson]:
    """Every demo enterprise contact and specialist, enterprises first."""
    found = [
        DemoPerson(
            _enterprise_id(n),
            e["contact"],
            Role.ENTERPRISE,
            _locale(e["name"]),
            e["name"],
            _phone("liaoning", n, "138"),
        )
        for n, e in enumerate(enterprise_records(), 1)
    ]
    found += [
        DemoPerson(
            _specialist_id(n),
            s["name"],
            Role.SPECIALIST,
            s.get("locale", "zh_CN"),
            s["institution"],
            _phone(s["location"], n, "139"),
        )
        for n, s in enumerate(specialist_records(), 1)
    ]
    return found


def _phone(location: str, serial: int, mobile_prefix: str) -> str:
    if location == "abroad":
        return f"+44207946{serial:04d}"  # a range the UK keeps for fiction
    return f"+86{mobile_prefix}{serial:08d}"


async def load_demo(*, db: Database, now: dt.datetime) -> DemoCounts:
    """Add the demo programme; people already present (by Telegram id) are left alone."""
    wanted = {str(p.telegram_id) for p in people()}
    async with db.transaction() as session:
        present = {
            int(account)
            for account in (
                await session.execute(
                    select(col(Identity.account))
                    .where(col(Identity.platform) == "telegram")
                    .where(col(Identity.account).in_(wanted))
                )
            ).scalars()
        }
        enterprises = demands = specialists = 0
        for n, record in enumerate(enterprise_records(), 1):
            telegram_id = _enterprise_id(n)
            if telegram_id in present:
                continue
            user = await _person(
                session,
                telegram_id,
                record["contact"],
                Role.ENTERPRISE,
                _locale(record["name"]),
                now,
            )
            enterprise = Enterprise(
                owner_user_id=user.id or 0,
                name=record["name"],
                city=record["city"],
                industry_code=record["industry"],
                size=record["size"],
                contact_name=record["contact"],
                phone=_phone("liaoning", n, "138"),
                created_at=now,
                updated_at=now,
            )
            session.add(enterprise)
            await session.flush()
            assert enterprise.id is not None
            for k, demand in enumerate(record["demands"]):
                # Filed over the past weeks, so lists and digests have an order to show.
                filed = now - dt.timedelta(days=(3 * n + 5 * k) % 40, hours=n % 9)
                session.add(_demand(enterprise.id, demand, filed))
            enterprises += 1
            demands += len(record["demands"])
        for n, record in enumerate(specialist_records(), 1):
            telegram_id = _specialist_id(n)
            if telegram_id in present:
                continue
            locale = record.get("locale", "zh_CN")
            user = await _person(session, telegram_id, record["name"], Role.SPECIALIST, locale, now)
            session.add(
                _specialist(user.id or 0, record, _phone(record["location"], n, "139"), now)
            )
            specialists += 1
        return DemoCounts(enterprises + specialists, enterprises, demands, specialists)


async def _person(
    session: AsyncSession, telegram_id: int, name: str, role: Role, locale: str, now: dt.datetime
) -> User:
    """A user who registered on Telegram: their row and their Telegram account."""
    user = User(
        first_name=name,
        role=role.value,
        locale=locale,
        consent_at=now,
        created_at=now,
        last_seen_at=now,
    )
    session.add(user)
    await session.flush()
    assert user.id is not None
    account = str(telegram_id)
    session.add(
        Identity(
            user_id=user.id,
            platform="telegram",
            account=account,
            address=account,
            created_at=now,
            last_seen_at=now,
        )
    )
    return user


def _demand(enterprise_id: int, record: dict[str, Any], filed: dt.datetime) -> Demand:
    return Demand(
        enterprise_id=enterprise_id,
        title=record["title"],
        description=record["description"],
        kind=record["kind"],
        fields=list(record["fields"]),
        keywords=list(record["keywords"]),
        work_mode=record["mode"],
        urgency=record["urgency"],
        expected_outcome=record["outcome"],
        voucher_interest=record["voucher"],
        created_at=filed,
        updated_at=filed,
    )


def _specialist(user_id: int, record: dict[str, Any], phone: str, now: dt.datetime) -> Specialist:
    return Specialist(
        user_id=user_id,
        name=record["name"],
        institution=record["institution"],
        institution_type=record["type"],
        location=record["location"],
        title=record["title"],
        disciplines=list(record["disciplines"]),
        expertise=record["expertise"],
        keywords=list(record["keywords"]),
        cities=list(record["cities"]),
        # "remote" in the data means "also works at a distance"; the table can only say
        # "remote only", which is true of those who travel to no city.
        remote_only=record.get("remote", False) and not record["cities"],
        days_per_month=record["days"],
        capacity=record["capacity"],
        phone=phone,
        status=SpecialistStatus.APPROVED,
        created_at=now,
        updated_at=now,
    )
