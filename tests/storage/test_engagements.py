"""Engagement operations: logs confirmed once, completion agreed by both sides, check-ins
claimed once, vouchers that grow with confirmed work, and the dispatching units' figures."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from storage.clock import ManualClock
from storage.db import Database
from storage.demands import get_demand
from storage.engagements import (
    EngagementCard,
    NewWorkLog,
    add_work_log,
    answer_checkin,
    answer_completion,
    cancel_engagement,
    claim_checkin,
    claim_log_nudges,
    decide_work_log,
    due_for_checkin,
    engagement_card,
    engagement_figures,
    engagement_for,
    engagement_of_demand,
    list_engagements,
    propose_completion,
    rate_enterprise,
    recent_logs,
    record_outcome,
    record_voucher,
    troubled_engagements,
    unit_figures,
    voucher_lines,
    voucher_totals,
)
from storage.models import DemandStatus, Engagement, EngagementStatus, Specialist, WorkLogStatus
from storage.proposals import NewProposal, accept_proposal, create_proposals, select_candidate
from tests.storage import factories

DAY = dt.timedelta(days=1)


async def engage(
    db: Database,
    now: dt.datetime,
    specialist: Specialist | None = None,
    *,
    enterprise_name: str = "鞍山精密铸造有限公司",
    title: str = "铸件气孔",
) -> Engagement:
    """An engagement made the way the chat makes it: proposed, accepted, chosen."""
    enterprise = await factories.enterprise(db, now, enterprise_name)
    demand = await factories.demand(db, now, enterprise.id, title)
    specialist = specialist or await factories.specialist(db, now)
    [proposal] = await create_proposals(
        db=db, proposals=[NewProposal(demand.id, specialist.id, 0.5, [])], now=now
    )
    accepted = await accept_proposal(
        db=db, proposal_id=proposal.id, version=1, specialist_id=specialist.id, now=now
    )
    assert accepted == "done"
    selection = await select_candidate(
        db=db, proposal_id=proposal.id, version=2, enterprise_id=enterprise.id, now=now
    )
    assert selection.engagement is not None
    return selection.engagement


async def card_of(db: Database, engagement: Engagement) -> EngagementCard:
    card = await engagement_card(db=db, engagement_id=engagement.id)
    assert card is not None
    return card


async def log(
    db: Database, card: EngagementCard, now: dt.datetime, hours: float, confirm: bool | None
) -> int:
    added = await add_work_log(
        db=db,
        engagement_id=card.id,
        specialist_user_id=card.specialist_user.id,
        entry=NewWorkLog(now.date(), "onsite", hours, "现场分析气孔成因"),
        now=now,
    )
    assert added is not None
    entry, _ = added
    if confirm is not None:
        result, _, _ = await decide_work_log(
            db=db, log_id=entry.id, owner_user_id=card.owner.id, confirm=confirm, now=now
        )
        assert result == "done"
    return entry.id


async def test_only_the_enterprise_confirms_a_log_and_only_once(
    db: Database, clock: ManualClock
) -> None:
    card = await card_of(db, await engage(db, clock.now()))
    added = await add_work_log(
        db=db,
        engagement_id=card.id,
        specialist_user_id=card.owner.id,  # the enterprise cannot log the specialist's work
        entry=NewWorkLog(clock.now().date(), "remote", 2, "远程讨论工艺"),
        now=clock.now(),
    )
    assert added is None
    first = await log(db, card, clock.now(), 3.5, None)
    second = await log(db, card, clock.now(), 2, None)

    assert (
        await decide_work_log(
            db=db,
            log_id=first,
            owner_user_id=card.specialist_user.id,
            confirm=True,
            now=clock.now(),
        )
    )[0] == "unknown"
    result, entry, fresh = await decide_work_log(
        db=db, log_id=first, owner_user_id=card.owner.id, confirm=True, now=clock.now()
    )
    assert result == "done" and entry is not None and entry.status == WorkLogStatus.CONFIRMED
    assert fresh is not None and (fresh.confirmed_hours, fresh.pending_logs) == (3.5, 1)
    # A second tap, even the opposite one, changes nothing.
    again = await decide_work_log(
        db=db, log_id=first, owner_user_id=card.owner.id, confirm=False, now=clock.now()
    )
    assert again[0] == "stale"
    await decide_work_log(
        db=db, log_id=second, owner_user_id=card.owner.id, confirm=False, now=clock.now()
    )
    fresh = await card_of(db, card.engagement)
    assert (fresh.confirmed_hours, fresh.pending_logs) == (3.5, 0)
    statuses = [
        e.status
        for e in await recent_logs(db=db, engagement_id=card.id, user_id=card.owner.id, limit=5)
    ]
    assert sorted(statuses) == ["confirmed", "disputed"]
    assert await recent_logs(db=db, engagement_id=card.id, user_id=999_999, limit=5) == []


async def test_completion_needs_both_sides_then_each_rates_once(
    db: Database, clock: ManualClock
) -> None:
    card = await card_of(db, await engage(db, clock.now()))
    expert, owner = card.specialist_user.id, card.owner.id
    assert (
        await propose_completion(db=db, engagement_id=card.id, user_id=999_999, now=clock.now())
    ).result == "unknown"
    proposed = await propose_completion(
        db=db, engagement_id=card.id, user_id=expert, now=clock.now()
    )
    assert proposed.result == "done" and proposed.card is not None
    assert proposed.card.engagement.completion_proposed_by == "specialist"
    # The proposer cannot confirm their own proposal; the enterprise says not yet, then agrees.
    assert (
        await answer_completion(
            db=db, engagement_id=card.id, user_id=expert, agree=True, now=clock.now()
        )
    ).result == "stale"
    not_yet = await answer_completion(
        db=db, engagement_id=card.id, user_id=owner, agree=False, now=clock.now()
    )
    assert not_yet.card is not None and not_yet.card.engagement.completion_proposed_by is None
    await propose_completion(db=db, engagement_id=card.id, user_id=owner, now=clock.now())
    # Ratings wait for completion.
    assert (
        await rate_enterprise(
            db=db, engagement_id=card.id, user_id=expert, rating=4, now=clock.now()
        )
    ).result == "stale"
    clock.advance(DAY)
    done = await answer_completion(
        db=db, engagement_id=card.id, user_id=expert, agree=True, now=clock.now()
    )
    assert done.card is not None and done.card.engagement.status == EngagementStatus.COMPLETED
    assert done.card.engagement.ended_at == clock.now()

    assert (
        await rate_enterprise(
            db=db, engagement_id=card.id, user_id=owner, rating=4, now=clock.now()
        )
    ).result == "stale"  # the enterprise rates the specialist, with the outcome
    assert (
        await rate_enterprise(
            db=db, engagement_id=card.id, user_id=expert, rating=4, now=clock.now()
        )
    ).result == "done"
    assert (
        await rate_enterprise(
            db=db, engagement_id=card.id, user_id=expert, rating=1, now=clock.now()
        )
    ).result == "stale"
    recorded = await record_outcome(
        db=db,
        engagement_id=card.id,
        user_id=owner,
        rating=5,
        outcome="solved",
        results=["trained", "patent"],
        now=clock.now(),
    )
    assert recorded.card is not None
    final = recorded.card.engagement
    assert (final.rating_of_specialist, final.rating_of_enterprise) == (5, 4)
    assert (final.outcome, final.results) == ("solved", ["patent", "trained"])
    with pytest.raises(ValueError):
        await record_outcome(
            db=db,
            engagement_id=card.id,
            user_id=owner,
            rating=6,
            outcome="solved",
            results=[],
            now=clock.now(),
        )
    figures = await engagement_figures(db=db)
    assert figures.by_status == {"active": 0, "completed": 1, "cancelled": 0}
    assert figures.outcomes["solved"] == 1 and figures.results["patent"] == 1
    assert figures.average_rating_of_specialists == 5.0


async def test_cancelling_opens_the_demand_again(db: Database, clock: ManualClock) -> None:
    card = await card_of(db, await engage(db, clock.now()))
    cancelled = await cancel_engagement(
        db=db, engagement_id=card.id, user_id=card.owner.id, reason="not_a_fit", now=clock.now()
    )
    assert cancelled.card is not None
    assert (cancelled.card.engagement.status, cancelled.card.engagement.end_reason) == (
        "cancelled",
        "not_a_fit",
    )
    demand = await get_demand(db=db, owner_user_id=card.owner.id, demand_id=card.demand.id)
    assert demand is not None and demand.demand.status == DemandStatus.OPEN
    again = await cancel_engagement(
        db=db, engagement_id=card.id, user_id=card.owner.id, reason="other", now=clock.now()
    )
    assert again.result == "stale"
    assert (
        await engagement_of_demand(db=db, demand_id=card.demand.id, owner_user_id=card.owner.id)
        == card.id
    )
    assert (
        await engagement_of_demand(
            db=db, demand_id=card.demand.id, owner_user_id=card.specialist_user.id
        )
        is None
    )


async def test_list_shows_active_first_and_only_ones_own(db: Database, clock: ManualClock) -> None:
    expert = await factories.specialist(db, clock.now())
    old = await engage(db, clock.now(), expert, enterprise_name="甲公司")
    clock.advance(DAY)
    await engage(db, clock.now(), expert, enterprise_name="乙公司")
    old_card = await card_of(db, old)
    await cancel_engagement(
        db=db, engagement_id=old.id, user_id=old_card.owner.id, reason="other", now=clock.now()
    )
    clock.advance(DAY)
    newest = await engage(db, clock.now(), expert, enterprise_name="丙公司")
    total, cards = await list_engagements(db=db, user_id=expert.user_id, limit=10)
    assert total == 3
    assert [c.enterprise.name for c in cards] == ["丙公司", "乙公司", "甲公司"]
    total, cards = await list_engagements(db=db, user_id=expert.user_id, limit=10, active_only=True)
    assert total == 2
    newest_card = await card_of(db, newest)
    total, cards = await list_engagements(db=db, user_id=newest_card.owner.id, limit=10)
    assert total == 1 and cards[0].id == newest.id
    assert await engagement_for(db=db, engagement_id=old.id, user_id=newest_card.owner.id) is None
    found = await engagement_for(db=db, engagement_id=newest.id, user_id=expert.user_id)
    assert found is not None and found[1] == "specialist"


async def test_log_nudges_are_claimed_once_a_week_while_nothing_is_logged(
    db: Database, clock: ManualClock
) -> None:
    start = clock.now()
    quiet = await card_of(db, await engage(db, start, title="铸件气孔"))
    busy = await card_of(db, await engage(db, start, title="焊缝开裂"))

    async def nudged() -> list[int]:
        now = clock.now()
        found = await claim_log_nudges(
            db=db, quiet_since=now - 14 * DAY, nudged_before=now - 7 * DAY, now=now
        )
        return [c.id for c, _ in found]

    clock.advance(13 * DAY)
    await log(db, busy, clock.now(), 2, None)
    assert await nudged() == []  # not yet 14 days
    clock.advance(DAY)
    assert await nudged() == [quiet.id]  # the busy one logged a day ago
    assert await nudged() == []  # a second run nudges nobody again
    clock.advance(6 * DAY)
    assert await nudged() == []
    clock.advance(DAY)
    assert await nudged() == [quiet.id]  # a week on, still silent
    clock.advance(7 * DAY)  # the busy one's log is now 15 days old
    now = clock.now()
    found = await claim_log_nudges(
        db=db, quiet_since=now - 14 * DAY, nudged_before=now - 7 * DAY, now=now
    )
    # Silent since the last log, or since the start where nothing was logged.
    assert sorted((c.id, (now - since).days) for c, since in found) == sorted(
        [(quiet.id, 28), (busy.id, 15)]
    )


async def test_checkins_are_asked_once_and_a_no_is_troubled(
    db: Database, clock: ManualClock
) -> None:
    card = await card_of(db, await engage(db, clock.now()))
    later = clock.now() + DAY
    assert await due_for_checkin(db=db, month="2026-03", started_before=clock.now()) == []
    assert await due_for_checkin(db=db, month="2026-03", started_before=later) == [card.id]
    claims = await asyncio.gather(
        *(claim_checkin(db=db, engagement_id=card.id, month="2026-03", now=later) for _ in range(3))
    )
    [claimed] = [c for c in claims if c is not None]
    checkin_id, _ = claimed
    assert await due_for_checkin(db=db, month="2026-03", started_before=later) == []

    wrong = await answer_checkin(
        db=db, checkin_id=checkin_id, owner_user_id=card.specialist_user.id, answer="no", now=later
    )
    assert wrong[0] == "unknown"
    result, _ = await answer_checkin(
        db=db, checkin_id=checkin_id, owner_user_id=card.owner.id, answer="no", now=later
    )
    assert result == "done"
    again = await answer_checkin(
        db=db, checkin_id=checkin_id, owner_user_id=card.owner.id, answer="good", now=later
    )
    assert again[0] == "stale"
    [troubled] = await troubled_engagements(db=db, since=later - DAY)
    assert (troubled.engagement_id, troubled.answer, troubled.enterprise_name) == (
        card.id,
        "no",
        "鞍山精密铸造有限公司",
    )
    assert troubled.answered_at == later and troubled.institution == "大连理工大学"
    assert await troubled_engagements(db=db, since=later + DAY) == []


async def test_a_voucher_is_usable_as_confirmed_work_grows(
    db: Database, clock: ManualClock
) -> None:
    boss = await factories.user(db, clock.now(), "enterprise")
    card = await card_of(db, await engage(db, clock.now()))
    result, recorded = await record_voucher(
        db=db,
        engagement_id=card.id,
        amount=5_000,
        purpose="铸造缺陷检测",
        daily_rate=1_000,
        coordinator_user_id=boss.id,
        now=clock.now(),
    )
    assert result == "done" and recorded is not None and recorded.voucher_usable == 0
    again, _ = await record_voucher(
        db=db,
        engagement_id=card.id,
        amount=9_000,
        purpose="再来一张",
        daily_rate=1_000,
        coordinator_user_id=boss.id,
        now=clock.now(),
    )
    assert again == "exists"
    await log(db, card, clock.now(), 12, True)  # 1.5 service days -> 1,500 yuan
    await log(db, card, clock.now(), 8, False)  # disputed: does not count
    await log(db, card, clock.now(), 8, None)  # pending: does not count yet
    assert (await card_of(db, card.engagement)).voucher_usable == 1_500
    await log(db, card, clock.now(), 40 / 2, True)
    await log(db, card, clock.now(), 20, True)  # 52 h = 6.5 days, capped at the amount
    assert (await card_of(db, card.engagement)).voucher_usable == 5_000
    [line] = await voucher_lines(db=db)
    assert (line.usable, line.service_days, line.city) == (5_000, 6.5, "anshan")
    [by_city] = await voucher_totals(db=db, by="city")
    assert (by_city.key, by_city.vouchers, by_city.amount, by_city.usable) == (
        "anshan",
        1,
        5_000,
        5_000,
    )
    [by_unit] = await voucher_totals(db=db, by="institution")
    assert by_unit.label == "大连理工大学"


async def test_units_add_up_a_known_scenario(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    dlut = [await factories.specialist(db, now, f"大工{i}") for i in range(3)]
    neu = await factories.specialist(db, now, "东大一")
    school = await factories.specialist(db, now, "大工材料")
    async with db.transaction() as session:
        neu = await session.merge(neu)
        neu.institution = "东北大学"
        school = await session.merge(school)
        school.institution = "大连理工大学材料科学与工程学院"  # counts for its university
    one = await card_of(db, await engage(db, now, dlut[0], enterprise_name="甲"))
    two = await card_of(db, await engage(db, now, dlut[0], enterprise_name="乙"))
    three = await card_of(db, await engage(db, now, dlut[1], enterprise_name="丙"))
    four = await card_of(db, await engage(db, now, neu, enterprise_name="丁"))
    await log(db, one, now, 8, True)
    await log(db, two, now, 4, True)
    await log(db, three, now, 12, True)
    await log(db, three, now, 24, False)
    await log(db, four, now, 2, True)
    five = await card_of(db, await engage(db, now, school, enterprise_name="戊"))
    await log(db, five, now, 8, True)
    for card, rating in ((one, 4), (three, 5), (five, 3)):
        await propose_completion(db=db, engagement_id=card.id, user_id=card.owner.id, now=now)
        await answer_completion(
            db=db, engagement_id=card.id, user_id=card.specialist_user.id, agree=True, now=now
        )
        await record_outcome(
            db=db,
            engagement_id=card.id,
            user_id=card.owner.id,
            rating=rating,
            outcome="partly",
            results=[],
            now=now,
        )
    await cancel_engagement(
        db=db, engagement_id=four.id, user_id=four.owner.id, reason="no_time", now=now
    )
    units = {u.institution: u for u in await unit_figures(db=db)}
    dalian = units["大连理工大学"]
    assert (dalian.specialists, dalian.dispatched, dalian.active, dalian.completed) == (4, 3, 1, 3)
    assert dalian.service_days == 4.0  # (8 + 4 + 12 + 8) / 8; the disputed 24 h do not count
    assert (dalian.average_rating, dalian.ratings) == (4.0, 3)  # (4 + 5 + 3) / 3
    assert dalian.parts == ("大连理工大学材料科学与工程学院",)
    northeast = units["东北大学"]
    assert (northeast.dispatched, northeast.active, northeast.completed) == (0, 0, 0)
    assert northeast.service_days == 0.25 and northeast.average_rating is None
    assert list(units) == ["大连理工大学", "东北大学"]
