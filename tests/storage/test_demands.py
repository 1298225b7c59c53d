"""Storage operations on enterprises and demands, on every backend: ownership, guarded
status changes, proposal counts, and closing that withdraws what is still open."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from storage.clock import ManualClock
from storage.db import Database
from storage.demands import (
    DemandDetails,
    ProposalCounts,
    close_demand,
    create_demand,
    get_demand,
    list_demands,
    pause_demand,
    resume_demand,
    update_demand,
)
from storage.enterprises import EnterpriseDetails, get_enterprise, save_enterprise
from storage.models import AuditEvent, Demand, Proposal, Specialist
from tests.people import touch_user

ANSHAN_STEEL = EnterpriseDetails(
    name="鞍山精工钢构有限公司",
    credit_code="91210300MA0UQ0XX1W",
    city="anshan",
    industry_code="33",
    size="small",
    contact_name="王工",
    phone="+8613800138000",
)
DEMAND = DemandDetails(
    title="焊缝经常开裂",
    description="钢结构件焊接后焊缝经常出现裂纹，想找专家分析原因并改进焊接工艺。",
    kind="technology",
    fields=("46025", "430"),
    keywords=("焊接", "裂纹"),
    work_mode="onsite",
    urgency="urgent",
    desired_start=dt.date(2026, 3, 16),
    expected_outcome="裂纹率降到1%以下",
    voucher_interest=True,
)


async def new_user(db: Database, clock: ManualClock, telegram_id: int) -> int:
    user = await touch_user(db=db, telegram_id=telegram_id, now=clock.now())
    assert user.id is not None
    return user.id


async def registered(db: Database, clock: ManualClock, telegram_id: int) -> int:
    owner = await new_user(db, clock, telegram_id)
    await save_enterprise(db=db, owner_user_id=owner, details=ANSHAN_STEEL, now=clock.now())
    return owner


async def filed(db: Database, clock: ManualClock, owner: int, title: str = "焊缝经常开裂") -> int:
    demand = await create_demand(
        db=db,
        owner_user_id=owner,
        details=dataclasses.replace(DEMAND, title=title),
        now=clock.now(),
    )
    assert demand is not None and demand.id is not None
    return demand.id


async def test_registration_is_one_row_per_user_and_edits_replace_it(
    db: Database, clock: ManualClock
) -> None:
    owner = await registered(db, clock, 10)
    first = await get_enterprise(db=db, owner_user_id=owner)
    assert first is not None and first.city == "anshan" and first.created_at == clock.now()
    clock.advance(dt.timedelta(days=1))
    edited = dataclasses.replace(ANSHAN_STEEL, city="北京", size="medium")
    await save_enterprise(db=db, owner_user_id=owner, details=edited, now=clock.now())
    again = await get_enterprise(db=db, owner_user_id=owner)
    assert again is not None and again.id == first.id
    assert (again.city, again.size) == ("北京", "medium")
    assert again.created_at == first.created_at and again.updated_at == clock.now()
    assert await get_enterprise(db=db, owner_user_id=await new_user(db, clock, 11)) is None


async def test_a_demand_needs_a_registered_enterprise(db: Database, clock: ManualClock) -> None:
    stranger = await new_user(db, clock, 20)
    assert (
        await create_demand(db=db, owner_user_id=stranger, details=DEMAND, now=clock.now()) is None
    )


async def test_filed_demand_is_open_and_stored_as_given(db: Database, clock: ManualClock) -> None:
    owner = await registered(db, clock, 30)
    demand_id = await filed(db, clock, owner)
    overview = await get_demand(db=db, owner_user_id=owner, demand_id=demand_id)
    assert overview is not None
    demand = overview.demand
    assert demand.status == "open" and demand.close_reason is None
    assert demand.fields == ["46025", "430"] and demand.keywords == ["焊接", "裂纹"]
    assert demand.desired_start == dt.date(2026, 3, 16) and demand.voucher_interest is True
    assert overview.counts == ProposalCounts(0, 0, 0)


async def test_another_enterprise_sees_and_changes_nothing(
    db: Database, clock: ManualClock
) -> None:
    owner = await registered(db, clock, 40)
    other = await registered(db, clock, 41)
    demand_id = await filed(db, clock, owner)
    now = clock.now()
    assert await get_demand(db=db, owner_user_id=other, demand_id=demand_id) is None
    assert await list_demands(db=db, owner_user_id=other, limit=5) == (0, [])
    forged = dataclasses.replace(DEMAND, title="被人改了")
    assert not await update_demand(
        db=db, owner_user_id=other, demand_id=demand_id, details=forged, now=now
    )
    assert not await pause_demand(db=db, owner_user_id=other, demand_id=demand_id, now=now)
    assert not await close_demand(
        db=db, owner_user_id=other, demand_id=demand_id, reason="solved", now=now
    )
    overview = await get_demand(db=db, owner_user_id=owner, demand_id=demand_id)
    assert overview is not None
    assert (overview.demand.title, overview.demand.status) == ("焊缝经常开裂", "open")


async def test_status_changes_are_guarded_on_the_current_status(
    db: Database, clock: ManualClock
) -> None:
    owner = await registered(db, clock, 50)
    demand_id = await filed(db, clock, owner)
    ids: Any = {"db": db, "owner_user_id": owner, "demand_id": demand_id, "now": clock.now()}
    assert not await resume_demand(**ids)  # open: nothing to resume
    assert await pause_demand(**ids)
    assert not await pause_demand(**ids)  # a double tap applies once
    assert await update_demand(**ids, details=DEMAND)  # paused demands can be edited
    assert await resume_demand(**ids)
    assert await close_demand(**ids, reason="elsewhere")
    assert not await close_demand(**ids, reason="solved")
    assert not await pause_demand(**ids)
    assert not await update_demand(**ids, details=DEMAND)
    overview = await get_demand(db=db, owner_user_id=owner, demand_id=demand_id)
    assert overview is not None
    assert (overview.demand.status, overview.demand.close_reason) == ("closed", "elsewhere")
    async with db.transaction() as session:
        actions = (
            await session.execute(
                select(col(AuditEvent.action)).where(
                    col(AuditEvent.target_type) == "demand", col(AuditEvent.target_id) == demand_id
                )
            )
        ).scalars()
        assert sorted(actions) == [
            "demand.closed",
            "demand.created",
            "demand.edited",
            "demand.paused",
            "demand.resumed",
        ]


async def test_concurrent_closes_apply_once(db: Database, clock: ManualClock) -> None:
    owner = await registered(db, clock, 60)
    demand_id = await filed(db, clock, owner)
    results = await asyncio.gather(
        *(
            close_demand(
                db=db, owner_user_id=owner, demand_id=demand_id, reason="solved", now=clock.now()
            )
            for _ in range(5)
        )
    )
    assert results.count(True) == 1


async def add_proposals(db: Database, clock: ManualClock, demand_id: int, *statuses: str) -> None:
    """Specialists proposed the demand, each proposal in one of the given states."""
    now = clock.now()
    users = [await new_user(db, clock, 5000 + demand_id * 100 + n) for n in range(len(statuses))]
    async with db.transaction() as session:
        for n, (user_id, status) in enumerate(zip(users, statuses, strict=True)):
            specialist = Specialist(
                user_id=user_id,
                name=f"专家{n}",
                institution="大连理工大学",
                institution_type="university",
                location="liaoning",
                expertise="焊接",
                phone="+8613900000000",
                created_at=now,
                updated_at=now,
            )
            session.add(specialist)
            await session.flush()
            assert specialist.id is not None
            session.add(
                Proposal(
                    demand_id=demand_id,
                    specialist_id=specialist.id,
                    status=status,
                    proposed_at=now,
                )
            )


async def test_counts_come_from_proposals_and_closing_withdraws_open_ones(
    db: Database, clock: ManualClock
) -> None:
    owner = await registered(db, clock, 70)
    demand_id = await filed(db, clock, owner)
    await add_proposals(db, clock, demand_id, "proposed", "accepted", "declined", "expired")
    overview = await get_demand(db=db, owner_user_id=owner, demand_id=demand_id)
    assert overview is not None and overview.counts == ProposalCounts(4, 1, 1, waiting=1)
    clock.advance(dt.timedelta(hours=2))
    assert await close_demand(
        db=db, owner_user_id=owner, demand_id=demand_id, reason="solved", now=clock.now()
    )
    async with db.transaction() as session:
        proposals = (
            await session.execute(select(Proposal).where(col(Proposal.demand_id) == demand_id))
        ).scalars()
        after = sorted((p.status, p.version, p.decided_at == clock.now()) for p in proposals)
    assert after == [
        ("declined", 1, False),
        ("expired", 1, False),
        ("withdrawn", 2, True),
        ("withdrawn", 2, True),
    ]


async def test_list_is_newest_first_and_paged(db: Database, clock: ManualClock) -> None:
    owner = await registered(db, clock, 80)
    for n in range(7):
        await filed(db, clock, owner, title=f"需求{n}")
        clock.advance(dt.timedelta(minutes=1))
    total, first_page = await list_demands(db=db, owner_user_id=owner, limit=5)
    _, second_page = await list_demands(db=db, owner_user_id=owner, limit=5, offset=5)
    assert total == 7
    assert [o.demand.title for o in first_page] == ["需求6", "需求5", "需求4", "需求3", "需求2"]
    assert [o.demand.title for o in second_page] == ["需求1", "需求0"]
    async with db.transaction() as session:
        assert len((await session.execute(select(Demand))).scalars().all()) == 7
