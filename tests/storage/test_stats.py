"""The coordinators' figures against a programme whose history is known (programme_scenario)."""

from __future__ import annotations

import datetime as dt

from storage import stats
from storage.clock import ManualClock
from storage.db import Database
from storage.digests import claim_digest, mark_digest_sent
from storage.models import DigestSend
from storage.rounds import mark_unsuited
from tests.storage import factories, programme_scenario

H, D = dt.timedelta(hours=1), dt.timedelta(days=1)


async def test_the_last_day_and_the_programme_to_date(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    await programme_scenario.build(db, now)
    day = await stats.activity(db=db, since=now - D, until=now)
    assert day == stats.Activity(
        demands=1,
        specialists=2,
        proposals=3,
        accepted=0,
        declined=3,
        expired=1,
        engagements_started=0,
        engagements_completed=1,
        decline_reasons=(("no_time", 1), ("not_my_field", 1), ("too_far", 1)),
    )
    total = await stats.activity(db=db, since=None, until=now)
    assert (total.demands, total.specialists, total.proposals) == (6, 4, 9)
    assert (total.accepted, total.declined, total.expired) == (3, 3, 2)
    assert (total.engagements_started, total.engagements_completed) == (2, 1)
    assert await stats.snapshot(db=db) == stats.Snapshot(
        enterprises=3, demands_open=3, specialists_approved=3, specialists_pending=1
    )


async def test_what_is_stuck_names_ids_to_act_on(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    p = await programme_scenario.build(db, now)
    stale = await stats.stale_demands(db=db, created_before=now - 7 * D, limit=10)
    assert stale.total == 1
    assert [(s.demand_id, s.title, s.enterprise) for s in stale.items] == [
        (p.demands["d2"].id, "轴承异响", "大连重工机械有限公司")
    ]
    undecided = await stats.undecided_choices(db=db, accepted_before=now - 5 * D, limit=10)
    assert [(u.proposal_id, u.demand_id, u.specialist) for u in undecided.items] == [
        (p.proposals["p5"].id, p.demands["d3"].id, "陈教授")
    ]
    assert (await stats.undecided_choices(db=db, accepted_before=now - 7 * D, limit=10)).total == 0
    silent = await stats.silent_specialists(db=db, limit=10)
    assert [(s.specialist_id, s.name, s.institution) for s in silent.items] == [
        (p.specialists["s4"].id, "赵教授", "东北大学")
    ]


async def test_lists_are_capped_but_totals_are_not(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    enterprise = await factories.enterprise(db, now - 30 * D)
    for n in range(4):
        await factories.demand(db, now - (20 - n) * D, enterprise.id, f"需求{n}")
    stale = await stats.stale_demands(db=db, created_before=now - 7 * D, limit=2)
    assert stale.total == 4 and [s.title for s in stale.items] == ["需求0", "需求1"]


async def test_placements_targets_cities_and_institutions(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    await programme_scenario.build(db, now)
    assert await stats.placements(db=db, until=now) == 2
    assert await stats.placements(db=db, until=now - 20 * D) == 1
    assert await stats.placements_by_city(db=db, limit=8) == stats.Tally(
        (("anshan", 1), ("shenyang", 1)), 0
    )
    assert await stats.placements_by_city(db=db, limit=1) == stats.Tally((("anshan", 1),), 1)
    assert await stats.placements_by_institution(db=db, limit=8) == stats.Tally(
        (("大连理工大学", 2),), 0
    )


async def test_fields_short_of_available_specialists(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    await programme_scenario.build(db, now)
    # Open demands ask 460 twice and 430 once; s1 and s2 offer 460; s4 (430) is silent.
    assert await stats.shortages(db=db, today=now.date(), limit=5) == [
        stats.Shortage("430", demands=1, specialists=0)
    ]


async def test_weekly_counts_over_eight_weeks(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    await programme_scenario.build(db, now)
    # Calendar weeks from Monday 00:00 in Shanghai: this one began 9 hours ago.
    this_monday = now - 9 * H
    weeks = await stats.weekly_counts(db=db, first=this_monday - 7 * 7 * D, weeks=8)
    assert [w.start for w in weeks] == [this_monday - (7 - n) * 7 * D for n in range(8)]
    assert [w.demands for w in weeks] == [0, 0, 1, 0, 1, 3, 0, 1]
    assert [w.proposals for w in weeks] == [0, 0, 1, 0, 1, 1, 3, 3]
    assert [w.engagements for w in weeks] == [0, 0, 0, 1, 0, 1, 0, 0]


async def test_an_empty_programme_counts_zero(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    empty = await stats.activity(db=db, since=None, until=now)
    assert empty.proposals == 0 and empty.decline_reasons == ()
    assert await stats.shortages(db=db, today=now.date(), limit=5) == []
    weeks = await stats.weekly_counts(db=db, first=now - 8 * 7 * D, weeks=8)
    assert [w.demands for w in weeks] == [0] * 8


async def test_a_digest_is_claimed_once_per_coordinator_and_day(
    db: Database, clock: ManualClock
) -> None:
    boss = await factories.user(db, clock.now(), "enterprise")
    other = await factories.user(db, clock.now(), "specialist")
    today = dt.date(2026, 3, 2)
    assert await claim_digest(db=db, user_id=boss.id, day=today, now=clock.now())
    assert not await claim_digest(db=db, user_id=boss.id, day=today, now=clock.now())
    assert await claim_digest(db=db, user_id=other.id, day=today, now=clock.now())
    assert await claim_digest(db=db, user_id=boss.id, day=today + D, now=clock.now())
    await mark_digest_sent(db=db, user_id=boss.id, day=today, now=clock.now())
    async with db.transaction() as session:
        row = await session.get(DigestSend, 1)
    assert row is not None and row.sent_at == clock.now()


async def test_unsuited_demands_keep_their_first_round_until_one_finds_someone(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    enterprise = await factories.enterprise(db, now - 30 * D)
    herbs, bricks, welds = [
        (await factories.demand(db, now - 9 * D, enterprise.id, title)).id
        for title in ("黄芪提取", "镁碳砖", "焊缝开裂")
    ]
    assert herbs is not None and bricks is not None and welds is not None
    everyone = [herbs, bricks, welds]
    await mark_unsuited(db=db, considered=everyone, unsuited=[herbs, bricks], now=now - 2 * D)
    await mark_unsuited(db=db, considered=everyone, unsuited=[herbs], now=now - D)
    listed = await stats.unsuited_demands(db=db, limit=10)
    assert listed.total == 1
    assert [(d.demand_id, d.title, d.since) for d in listed.items] == [
        (herbs, "黄芪提取", now - 2 * D)
    ]
    # A round that did not consider a demand (closed, or its owner withdrew) leaves it be.
    await mark_unsuited(db=db, considered=[bricks], unsuited=[], now=now)
    assert (await stats.unsuited_demands(db=db, limit=10)).total == 1
