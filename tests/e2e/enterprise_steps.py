"""Steps the enterprise journeys share: an enterprise user, a registered enterprise, hooks for
the entry points the /start and /profile flows call, and kinds of input the harness lacks."""

from __future__ import annotations

import dataclasses

from channels.telegram.emulator.models import SentMessage, User
from storage.enterprises import EnterpriseDetails, get_enterprise, save_enterprise
from storage.models import Enterprise, Proposal, Role, Specialist
from storage.users import record_consent, set_role
from tests.e2e.conftest import Journey
from tests.people import get_user, touch_user

WANG_STEEL = EnterpriseDetails(
    name="鞍山精工钢构有限公司",
    credit_code="91210300MA0UQ0XX1W",
    city="anshan",
    industry_code="31",
    size="small",
    contact_name="王工",
    phone="+8613800138000",
)


async def enterprise_user(j: Journey, telegram_id: int, name: str, language: str) -> User:
    """Someone who agreed to the notice at /start and chose the enterprise side."""
    user = j.user(telegram_id, name, language)
    stored = await touch_user(db=j.db, telegram_id=telegram_id, now=j.clock.now())
    assert stored.id is not None
    await record_consent(db=j.db, user_id=stored.id, first_name=name, now=j.clock.now())
    await set_role(db=j.db, user_id=stored.id, role=Role.ENTERPRISE)
    return user


async def registered_enterprise(
    j: Journey, telegram_id: int, first_name: str, language: str, **changes: str
) -> User:
    """An enterprise user whose registration is already stored."""
    user = await enterprise_user(j, telegram_id, first_name, language)
    details = dataclasses.replace(WANG_STEEL, **changes)
    await save_enterprise(
        db=j.db, owner_user_id=await user_id(j, telegram_id), details=details, now=j.clock.now()
    )
    return user


async def user_id(j: Journey, telegram_id: int) -> int:
    stored = await get_user(db=j.db, telegram_id=telegram_id)
    assert stored is not None and stored.id is not None
    return stored.id


async def stored_enterprise(j: Journey, telegram_id: int) -> Enterprise:
    found = await get_enterprise(db=j.db, owner_user_id=await user_id(j, telegram_id))
    assert found is not None
    return found


def texts(messages: list[SentMessage]) -> list[str]:
    return [m.text for m in messages]


async def propose(j: Journey, demand_id: int, *statuses: str) -> None:
    """Specialists were proposed the demand, each proposal now in one of the given states."""
    now = j.clock.now()
    users = [
        await touch_user(db=j.db, telegram_id=8_000_000 + demand_id * 100 + n, now=now)
        for n in range(len(statuses))
    ]
    async with j.db.transaction() as session:
        for n, (user, status) in enumerate(zip(users, statuses, strict=True)):
            assert user.id is not None
            specialist = Specialist(
                user_id=user.id,
                name=f"专家{n}",
                institution="大连理工大学",
                institution_type="university",
                location="liaoning",
                expertise="焊接工艺",
                phone="+8613900000000",
                created_at=now,
                updated_at=now,
            )
            session.add(specialist)
            await session.flush()
            assert specialist.id is not None
            session.add(
                Proposal(
                    demand_id=demand_id, specialist_id=specialist.id, status=status, proposed_at=now
                )
            )
