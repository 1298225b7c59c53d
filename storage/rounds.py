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

from sqlalchemy import select, update
from sqlmodel import col

from storage.db import Database
from storage.models import (
    Demand,
    DemandStatus,
    Enterprise,
    Proposal,
    Specialist,
    SpecialistStatus,
    User,
)
from storage.proposals import OPEN, open_load


@dataclass(frozen=True)
class RoundRows:
    demands: list[tuple[Demand, Enterprise]]
    specialists: list[Specialist]
    load: dict[int, int]  # open proposals plus active engagements, per specialist
    open_pairs: set[tuple[int, int]] = field(default_factory=set)
    tried_pairs: set[tuple[int, int]] = field(default_factory=set)  # never proposed again


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
        )


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
