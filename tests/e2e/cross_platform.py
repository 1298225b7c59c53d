"""People of several platforms in one programme, made with the storage operations the chat
uses: for journeys about delivery on a platform rather than about the dialogue."""

from __future__ import annotations

import dataclasses
import datetime as dt

from storage.db import Database
from storage.demands import create_demand
from storage.enterprises import save_enterprise
from storage.identities import touch_identity
from storage.models import Role
from storage.privacy import record_contact_consent
from storage.proposals import NewProposal, create_proposals
from storage.specialists import decide_specialist, save_specialist
from storage.users import record_consent, set_locale, set_role
from tests.e2e.engagement_steps import CASTING
from tests.e2e.enterprise_steps import WANG_STEEL
from tests.e2e.specialist_helpers import PROFILE

LI = dataclasses.replace(PROFILE, name="李教授", phone="+8613900139000")


async def person(
    db: Database, platform: str, account: str, name: str, role: Role, now: dt.datetime
) -> int:
    """Someone who wrote to the bot before, consented (to sharing contacts too) and chose a
    side, made with the storage operations the chat uses."""
    async with db.unit_of_work():
        seen = await touch_identity(
            db=db, platform=platform, account=account, address=account, now=now
        )
    user_id = seen.user.id
    assert user_id is not None
    await record_consent(db=db, user_id=user_id, first_name=name, now=now)
    await set_role(db=db, user_id=user_id, role=role)
    await set_locale(db=db, user_id=user_id, locale="zh_CN")
    await record_contact_consent(db=db, user_id=user_id, now=now)
    return user_id


async def proposed(
    db: Database,
    enterprise: tuple[str, str],
    specialist: tuple[str, str],
    *,
    approver: tuple[str, str] | None = None,
) -> None:
    """王工's enterprise (WANG_STEEL) with its casting demand, 李教授 (LI), approved by
    `approver` if given, and the proposal of the one to the other, not yet sent."""
    now = dt.datetime.now(dt.UTC)
    owner = await person(db, *enterprise, "王工", Role.ENTERPRISE, now)
    expert = await person(db, *specialist, "李教授", Role.SPECIALIST, now)
    await save_enterprise(db=db, owner_user_id=owner, details=WANG_STEEL, now=now)
    demand = await create_demand(db=db, owner_user_id=owner, details=CASTING, now=now)
    saved = await save_specialist(db=db, user_id=expert, profile=LI, now=now)
    assert demand and demand.id and saved.specialist.id
    if approver is not None:
        boss = await person(db, *approver, "协调员", Role.SPECIALIST, now)
        await decide_specialist(
            db=db,
            specialist_id=saved.specialist.id,
            coordinator_user_id=boss,
            decision="approve",
            now=now,
        )
    await create_proposals(
        db=db, proposals=[NewProposal(demand.id, saved.specialist.id, 0.8, [])], now=now
    )
