"""The proposal life cycle: each transition guarded, exactly one winner under concurrency."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select

from storage.clock import ManualClock
from storage.db import Database
from storage.models import Demand, Engagement, ProposalStatus
from storage.proposals import (
    NewProposal,
    Outcome,
    accept_proposal,
    claim_due_reminders,
    contacts_for,
    create_proposals,
    decline_proposal,
    expire_stale_proposals,
    get_proposal,
    open_load,
    reject_candidate,
    select_candidate,
    withdraw_open_proposals,
)
from storage.rounds import round_rows
from tests.storage import factories

HOUR = dt.timedelta(hours=1)


async def scenario(db: Database, clock: ManualClock, specialists: int = 3):
    enterprise = await factories.enterprise(db, clock.now())
    demand = await factories.demand(db, clock.now(), enterprise.id)
    people = [await factories.specialist(db, clock.now(), f"专家{i}") for i in range(specialists)]
    proposals = await create_proposals(
        db=db,
        proposals=[
            NewProposal(demand.id, s.id, 0.5, [{"kind": "terms", "values": ["铸造"]}])
            for s in people
        ],
        now=clock.now(),
    )
    return enterprise, demand, people, proposals


async def test_a_pair_is_proposed_once(db: Database, clock: ManualClock) -> None:
    _, demand, people, proposals = await scenario(db, clock, 2)
    again = await create_proposals(
        db=db, proposals=[NewProposal(demand.id, people[0].id, 0.9, [])], now=clock.now()
    )
    assert len(proposals) == 2 and again == []
    assert proposals[0].reasons == [{"kind": "terms", "values": ["铸造"]}]


async def test_accept_then_choose_reveals_contacts_and_releases_the_rest(
    db: Database, clock: ManualClock
) -> None:
    enterprise, demand, people, [p0, p1, p2] = await scenario(db, clock)
    assert await contacts_for(db=db, proposal_id=p0.id) is None  # nothing before both agree
    assert (
        await accept_proposal(
            db=db, proposal_id=p0.id, version=1, specialist_id=people[0].id, now=clock.now()
        )
        == Outcome.DONE
    )
    assert (
        await accept_proposal(
            db=db, proposal_id=p1.id, version=1, specialist_id=people[1].id, now=clock.now()
        )
        == Outcome.DONE
    )
    clock.advance(HOUR)
    selection = await select_candidate(
        db=db, proposal_id=p0.id, version=2, enterprise_id=enterprise.id, now=clock.now()
    )
    assert selection.outcome == Outcome.DONE and selection.engagement is not None
    assert {p.id for p in selection.released} == {p1.id, p2.id}
    assert (await get_proposal(db=db, proposal_id=p1.id)).status == ProposalStatus.NOT_SELECTED
    assert (await get_proposal(db=db, proposal_id=p2.id)).status == ProposalStatus.WITHDRAWN
    async with db.transaction() as session:
        assert (await session.get(Demand, demand.id)).status == "matched"
    contacts = await contacts_for(db=db, proposal_id=p0.id)
    assert contacts is not None and contacts[1].phone == "+8613900000002"


async def test_wrong_actor_stale_version_and_wrong_state_change_nothing(
    db: Database, clock: ManualClock
) -> None:
    enterprise, _, people, [p0, p1, _] = await scenario(db, clock)
    other = await factories.enterprise(db, clock.now(), "别家公司")
    assert (
        await accept_proposal(
            db=db, proposal_id=p0.id, version=1, specialist_id=people[1].id, now=clock.now()
        )
        == Outcome.FORBIDDEN
    )
    assert (
        await accept_proposal(
            db=db, proposal_id=p0.id, version=7, specialist_id=people[0].id, now=clock.now()
        )
        == Outcome.STALE
    )
    assert (
        await accept_proposal(
            db=db, proposal_id=999_999, version=1, specialist_id=people[0].id, now=clock.now()
        )
        == Outcome.FORBIDDEN
    )
    # Choosing someone who has not accepted, or another enterprise's candidate, does nothing.
    assert (
        await select_candidate(
            db=db, proposal_id=p1.id, version=1, enterprise_id=enterprise.id, now=clock.now()
        )
    ).outcome == Outcome.STALE
    await accept_proposal(
        db=db, proposal_id=p0.id, version=1, specialist_id=people[0].id, now=clock.now()
    )
    assert (
        await select_candidate(
            db=db, proposal_id=p0.id, version=2, enterprise_id=other.id, now=clock.now()
        )
    ).outcome == Outcome.FORBIDDEN
    assert (
        await decline_proposal(
            db=db,
            proposal_id=p0.id,
            version=2,
            specialist_id=people[0].id,
            reason="no_time",
            text=None,
            now=clock.now(),
        )
        == Outcome.STALE
    )
    assert (await get_proposal(db=db, proposal_id=p0.id)).status == ProposalStatus.ACCEPTED


async def test_decline_and_not_suitable(db: Database, clock: ManualClock) -> None:
    enterprise, _, people, [p0, p1, _] = await scenario(db, clock)
    assert (
        await decline_proposal(
            db=db,
            proposal_id=p0.id,
            version=1,
            specialist_id=people[0].id,
            reason="other",
            text="出国访学",
            now=clock.now(),
        )
        == Outcome.DONE
    )
    declined = await get_proposal(db=db, proposal_id=p0.id)
    assert (declined.status, declined.decline_reason, declined.decline_text) == (
        "declined",
        "other",
        "出国访学",
    )
    await accept_proposal(
        db=db, proposal_id=p1.id, version=1, specialist_id=people[1].id, now=clock.now()
    )
    assert (
        await reject_candidate(
            db=db, proposal_id=p1.id, version=2, enterprise_id=enterprise.id, now=clock.now()
        )
        == Outcome.DONE
    )
    assert (await get_proposal(db=db, proposal_id=p1.id)).status == ProposalStatus.NOT_SELECTED


async def test_concurrent_accepts_have_exactly_one_winner(db: Database, clock: ManualClock) -> None:
    _, _, people, [p0, *_] = await scenario(db, clock)
    results = await asyncio.gather(
        *(
            accept_proposal(
                db=db, proposal_id=p0.id, version=1, specialist_id=people[0].id, now=clock.now()
            )
            for _ in range(30)
        )
    )
    assert results.count(Outcome.DONE) == 1 and results.count(Outcome.STALE) == 29
    assert (await get_proposal(db=db, proposal_id=p0.id)).version == 2


async def test_concurrent_choices_create_exactly_one_engagement(
    db: Database, clock: ManualClock
) -> None:
    enterprise, demand, people, proposals = await scenario(db, clock, 6)
    for proposal, person in zip(proposals, people, strict=True):
        await accept_proposal(
            db=db, proposal_id=proposal.id, version=1, specialist_id=person.id, now=clock.now()
        )
    # Every accepted candidate chosen several times at once, as taps from two phones and a replay.
    attempts = [
        select_candidate(
            db=db, proposal_id=p.id, version=2, enterprise_id=enterprise.id, now=clock.now()
        )
        for p in proposals
        for _ in range(4)
    ]
    results = await asyncio.gather(*attempts)
    assert [r.outcome for r in results].count(Outcome.DONE) == 1
    async with db.transaction() as session:
        count = (
            await session.execute(
                select(func.count())
                .select_from(Engagement)
                .where(Engagement.demand_id == demand.id)
            )
        ).scalar_one()
    assert count == 1


async def test_reminder_once_then_expiry(db: Database, clock: ManualClock) -> None:
    _, _, people, [p0, p1, p2] = await scenario(db, clock)
    await accept_proposal(
        db=db, proposal_id=p2.id, version=1, specialist_id=people[2].id, now=clock.now()
    )
    clock.advance(25 * HOUR)
    first = await claim_due_reminders(db=db, older_than=clock.now() - 24 * HOUR, now=clock.now())
    second = await claim_due_reminders(db=db, older_than=clock.now() - 24 * HOUR, now=clock.now())
    assert {p.id for p in first} == {p0.id, p1.id} and second == []
    clock.advance(48 * HOUR)
    expired = await expire_stale_proposals(
        db=db, older_than=clock.now() - 72 * HOUR, now=clock.now()
    )
    assert {p.id for p in expired} == {p0.id, p1.id}
    assert (
        await expire_stale_proposals(db=db, older_than=clock.now() - 72 * HOUR, now=clock.now())
        == []
    )
    assert (await get_proposal(db=db, proposal_id=p2.id)).status == ProposalStatus.ACCEPTED


async def test_load_and_withdrawal(db: Database, clock: ManualClock) -> None:
    _, demand, people, [p0, *_] = await scenario(db, clock)
    await accept_proposal(
        db=db, proposal_id=p0.id, version=1, specialist_id=people[0].id, now=clock.now()
    )
    assert await open_load(db=db) == {p.id: 1 for p in people}
    withdrawn = await withdraw_open_proposals(db=db, demand_id=demand.id, now=clock.now())
    assert len(withdrawn) == 3 and await open_load(db=db) == {}
    assert (await get_proposal(db=db, proposal_id=p0.id)).status == ProposalStatus.WITHDRAWN


async def test_a_round_reads_what_earlier_pairings_taught(db: Database, clock: ManualClock) -> None:
    enterprise, demand, people, [p0, p1, p2, p3] = await scenario(db, clock, 4)
    ids = [person.id for person in people]
    await decline_proposal(
        db=db,
        proposal_id=p0.id,
        version=1,
        specialist_id=ids[0],
        reason="not_my_field",
        text="",
        now=clock.now(),
    )
    for proposal, specialist in ((p1, ids[1]), (p2, ids[2]), (p3, ids[3])):
        await accept_proposal(
            db=db, proposal_id=proposal.id, version=1, specialist_id=specialist, now=clock.now()
        )
    await reject_candidate(
        db=db, proposal_id=p1.id, version=2, enterprise_id=enterprise.id, now=clock.now()
    )
    clock.advance(HOUR)
    chosen = await select_candidate(
        db=db, proposal_id=p2.id, version=2, enterprise_id=enterprise.id, now=clock.now()
    )
    assert chosen.engagement is not None
    async with db.transaction() as session:
        engagement = await session.get(Engagement, chosen.engagement.id)
        assert engagement is not None
        engagement.status, engagement.rating_of_specialist = "completed", 5
    learnt = (await round_rows(db=db)).learnt
    # The candidate left when another was chosen (p3) taught nothing about fit.
    assert sorted((specialist, kind) for d, specialist, kind in learnt if d.id == demand.id) == [
        (ids[0], "not_my_field"),
        (ids[1], "passed"),
        (ids[2], "worked"),
    ]
