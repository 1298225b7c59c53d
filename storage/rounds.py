"""What a match round reads (open demands, available specialists, their load, pairs
tried) and the demands it found nobody for.

Read in one transaction so a round sees one consistent picture. Only people
who consented take part: a demand whose owner withdrew consent is not
matched, nor is a specialist who did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import Database
from storage.models import (
    Demand,
    DemandStatus,
    Engagement,
    EngagementStatus,
    Enterprise,
    Proposal,
    ProposalStatus,
    Specialist,
    SpecialistStatus,
    User,
)
from storage.proposals import OPEN, open_load

GOOD_RATING, POOR_RATING = 4, 2  # an enterprise's rating that says the pairing worked, or not


@dataclass(frozen=True)
class RoundRows:
    demands: list[tuple[Demand, Enterprise]]
    specialists: list[Specialist]
    load: dict[int, int]  # open proposals plus active engagements, per specialist
    open_pairs: set[tuple[int, int]] = field(default_factory=set)
    tried_pairs: set[tuple[int, int]] = field(default_factory=set)  # never proposed again
    # What earlier pairings taught (matching.signals): (demand, specialist id, kind).
    learnt: list[tuple[Demand, int, str]] = field(default_factory=list)


async def round_rows(*, db: Database) -> RoundRows:
    load = await open_load(db=db)
    async with db.transaction() as session:
        demands = await session.execute(
            select(Demand, Enterprise)
            .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
            .join(User, col(User.id) == col(Enterprise.owner_user_id))
            .where(col(Demand.status) == DemandStatus.OPEN.value)
            .where(col(User.consent_at).is_not(None))
            .order_by(col(Demand.id))
        )
        specialists = await session.execute(
            select(Specialist)
            .join(User, col(User.id) == col(Specialist.user_id))
            .where(col(Specialist.status) == SpecialistStatus.APPROVED.value)
            .where(col(User.consent_at).is_not(None))
            .order_by(col(Specialist.id))
        )
        pairs = await session.execute(
            select(col(Proposal.demand_id), col(Proposal.specialist_id), col(Proposal.status))
        )
        open_pairs: set[tuple[int, int]] = set()
        tried: set[tuple[int, int]] = set()
        for demand_id, specialist_id, status in pairs:
            (open_pairs if status in OPEN else tried).add((demand_id, specialist_id))
        return RoundRows(
            demands=[(d, e) for d, e in demands.tuples()],
            specialists=list(specialists.scalars()),
            load=load,
            open_pairs=open_pairs,
            tried_pairs=tried,
            learnt=await _learnt(session),
        )


async def _learnt(session: AsyncSession) -> list[tuple[Demand, int, str]]:
    """Outcomes that say something of a pairing's fit: a specialist's "not my field", an
    enterprise's pass on an accepted candidate (not the candidates left when it chose
    another), and the enterprise's rating of a completed engagement (4-5 worked, 1-2 not)."""
    found: list[tuple[Demand, int, str]] = []
    rows = await session.execute(
        select(Demand, Proposal)
        .join(Proposal, col(Proposal.demand_id) == col(Demand.id))
        .where(
            or_(
                and_(
                    col(Proposal.status) == ProposalStatus.DECLINED.value,
                    col(Proposal.decline_reason) == "not_my_field",
                ),
                col(Proposal.status).in_(
                    [ProposalStatus.NOT_SELECTED.value, ProposalStatus.SELECTED.value]
                ),
            )
        )
    )
    chosen_at: dict[int, set[object]] = {}
    candidates = []
    for demand, proposal in rows.tuples():
        if proposal.status == ProposalStatus.DECLINED:
            found.append((demand, proposal.specialist_id, "not_my_field"))
        elif proposal.status == ProposalStatus.SELECTED:
            chosen_at.setdefault(proposal.demand_id, set()).add(proposal.decided_at)
        else:
            candidates.append((demand, proposal))
    found += [
        (demand, proposal.specialist_id, "passed")
        for demand, proposal in candidates
        if proposal.decided_at not in chosen_at.get(proposal.demand_id, set())
    ]
    rated = await session.execute(
        select(Demand, col(Engagement.specialist_id), col(Engagement.rating_of_specialist))
        .join(Engagement, col(Engagement.demand_id) == col(Demand.id))
        .where(col(Engagement.status) == EngagementStatus.COMPLETED.value)
        .where(col(Engagement.rating_of_specialist).is_not(None))
    )
    for demand, specialist_id, rating in rated.tuples():
        if rating is not None and rating >= GOOD_RATING:
            found.append((demand, specialist_id, "worked"))
        elif rating is not None and rating <= POOR_RATING:
            found.append((demand, specialist_id, "passed"))
    return found


async def mark_unsuited(
    *, db: Database, considered: Collection[int], unsuited: Collection[int], now: dt.datetime
) -> None:
    """Record which of a round's demands nobody suits (keeping since when), and clear
    the mark of the others the round considered."""
    async with db.transaction() as session:
        await session.execute(
            update(Demand)
            .where(col(Demand.id).in_(list(unsuited)), col(Demand.unsuited_since).is_(None))
            .values(unsuited_since=now)
        )
        await session.execute(
            update(Demand)
            .where(
                col(Demand.id).in_([d for d in considered if d not in unsuited]),
                col(Demand.unsuited_since).is_not(None),
            )
            .values(unsuited_since=None)
        )
