"""Operations on demands: an enterprise files, lists, edits, pauses, resumes and closes its own.

Every operation takes the acting user and reaches a demand only through the
enterprise that user owns, so a demand id from someone else's button finds
nothing and changes nothing. Status changes are one guarded UPDATE each
(`WHERE status IN (...)`): a double tap or a second process applies one at most.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.audit import audit
from storage.db import Database
from storage.models import Demand, DemandStatus, Enterprise, Proposal, ProposalStatus

CLOSE_REASONS = ("solved", "not_needed", "elsewhere")
EDITABLE = (DemandStatus.OPEN, DemandStatus.PAUSED)
CLOSABLE = (DemandStatus.OPEN, DemandStatus.PAUSED, DemandStatus.MATCHED)
# Proposals still waiting on someone: closing the demand withdraws them.
_PENDING_PROPOSALS = (ProposalStatus.PROPOSED, ProposalStatus.ACCEPTED)
_ACCEPTED_PROPOSALS = (
    ProposalStatus.ACCEPTED,
    ProposalStatus.SELECTED,
    ProposalStatus.NOT_SELECTED,
)


@dataclass(frozen=True)
class DemandDetails:
    """What the demand form collects."""

    title: str
    description: str
    kind: str
    fields: tuple[str, ...]
    keywords: tuple[str, ...]
    work_mode: str
    urgency: str
    desired_start: dt.date | None
    expected_outcome: str
    voucher_interest: bool

    def values(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["fields"], values["keywords"] = list(self.fields), list(self.keywords)
        return values


@dataclass(frozen=True)
class ProposalCounts:
    """Specialists asked about a demand (every proposal), those who accepted, those who declined."""

    proposed: int = 0
    accepted: int = 0
    declined: int = 0
    waiting: int = 0  # accepted and still waiting for the enterprise's choice


@dataclass(frozen=True)
class DemandOverview:
    demand: Demand
    counts: ProposalCounts


def _owned_by(owner_user_id: int) -> Any:
    """The enterprise id of the user, as a subquery for where clauses."""
    return (
        select(col(Enterprise.id))
        .where(col(Enterprise.owner_user_id) == owner_user_id)
        .scalar_subquery()
    )


async def create_demand(
    *, db: Database, owner_user_id: int, details: DemandDetails, now: dt.datetime
) -> Demand | None:
    """File an open demand for the user's enterprise; None when they have not registered one."""
    async with db.transaction() as session:
        enterprise_id = (await session.execute(select(_owned_by(owner_user_id)))).scalar()
        if enterprise_id is None:
            return None
        demand = Demand(
            enterprise_id=enterprise_id,
            status=DemandStatus.OPEN,
            created_at=now,
            updated_at=now,
            **details.values(),
        )
        session.add(demand)
        await session.flush()
        audit(
            session,
            now=now,
            actor_user_id=owner_user_id,
            action="demand.created",
            target_type="demand",
            target_id=demand.id,
        )
        return demand


async def _counts(session: AsyncSession, demand_ids: list[int]) -> dict[int, ProposalCounts]:
    rows = await session.execute(
        select(col(Proposal.demand_id), col(Proposal.status), func.count())
        .where(col(Proposal.demand_id).in_(demand_ids))
        .group_by(col(Proposal.demand_id), col(Proposal.status))
    )
    tallies: dict[int, dict[str, int]] = {}
    for demand_id, status, n in rows:
        tally = tallies.setdefault(
            demand_id, {"proposed": 0, "accepted": 0, "declined": 0, "waiting": 0}
        )
        tally["proposed"] += n
        if status == ProposalStatus.ACCEPTED:
            tally["waiting"] += n
        if status in _ACCEPTED_PROPOSALS:
            tally["accepted"] += n
        elif status == ProposalStatus.DECLINED:
            tally["declined"] += n
    return {demand_id: ProposalCounts(**tally) for demand_id, tally in tallies.items()}


async def list_demands(
    *, db: Database, owner_user_id: int, limit: int, offset: int = 0
) -> tuple[int, list[DemandOverview]]:
    """How many demands the user's enterprise has, and one page of them, newest first."""
    owned = col(Demand.enterprise_id) == _owned_by(owner_user_id)
    async with db.transaction() as session:
        total = (
            await session.execute(select(func.count()).select_from(Demand).where(owned))
        ).scalar_one()
        demands = list(
            (
                await session.execute(
                    select(Demand)
                    .where(owned)
                    .order_by(col(Demand.created_at).desc(), col(Demand.id).desc())
                    .limit(limit)
                    .offset(offset)
                )
            ).scalars()
        )
        counts = await _counts(session, [d.id for d in demands if d.id is not None])
    return total, [DemandOverview(d, counts.get(d.id or 0, ProposalCounts())) for d in demands]


async def get_demand(*, db: Database, owner_user_id: int, demand_id: int) -> DemandOverview | None:
    """One demand of the user's enterprise; None for anyone else's id."""
    async with db.transaction() as session:
        demand = (
            await session.execute(
                select(Demand).where(
                    col(Demand.id) == demand_id,
                    col(Demand.enterprise_id) == _owned_by(owner_user_id),
                )
            )
        ).scalar_one_or_none()
        if demand is None:
            return None
        counts = await _counts(session, [demand_id])
    return DemandOverview(demand, counts.get(demand_id, ProposalCounts()))


async def _change(
    session: AsyncSession,
    *,
    owner_user_id: int,
    demand_id: int,
    allowed: Collection[str],
    values: dict[str, Any],
    now: dt.datetime,
    action: str,
    detail: dict[str, Any] | None = None,
) -> bool:
    """One guarded UPDATE of the user's own demand; True when it applied."""
    result = await session.execute(
        update(Demand)
        .where(
            col(Demand.id) == demand_id,
            col(Demand.enterprise_id) == _owned_by(owner_user_id),
            col(Demand.status).in_(allowed),
        )
        .values(**values, updated_at=now)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    audit(
        session,
        now=now,
        actor_user_id=owner_user_id,
        action=action,
        target_type="demand",
        target_id=demand_id,
        detail=detail,
    )
    return True


async def update_demand(
    *,
    db: Database,
    owner_user_id: int,
    demand_id: int,
    details: DemandDetails,
    now: dt.datetime,
) -> bool:
    """Replace the details of an open or paused demand of the user's own."""
    async with db.transaction() as session:
        return await _change(
            session,
            owner_user_id=owner_user_id,
            demand_id=demand_id,
            allowed=EDITABLE,
            values=details.values(),
            now=now,
            action="demand.edited",
        )


async def pause_demand(
    *, db: Database, owner_user_id: int, demand_id: int, now: dt.datetime
) -> bool:
    """Open -> paused: no new proposals until it is resumed."""
    async with db.transaction() as session:
        return await _change(
            session,
            owner_user_id=owner_user_id,
            demand_id=demand_id,
            allowed=(DemandStatus.OPEN,),
            values={"status": DemandStatus.PAUSED},
            now=now,
            action="demand.paused",
        )


async def resume_demand(
    *, db: Database, owner_user_id: int, demand_id: int, now: dt.datetime
) -> bool:
    """Paused -> open."""
    async with db.transaction() as session:
        return await _change(
            session,
            owner_user_id=owner_user_id,
            demand_id=demand_id,
            allowed=(DemandStatus.PAUSED,),
            values={"status": DemandStatus.OPEN},
            now=now,
            action="demand.resumed",
        )


async def close_demand(
    *, db: Database, owner_user_id: int, demand_id: int, reason: str, now: dt.datetime
) -> bool:
    """Close with a reason; in the same transaction, proposals still waiting on an answer or
    a choice are withdrawn (as `storage.proposals.withdraw_open_proposals` does)."""
    if reason not in CLOSE_REASONS:
        raise ValueError(f"unknown close reason {reason!r}")
    async with db.transaction() as session:
        closed = await _change(
            session,
            owner_user_id=owner_user_id,
            demand_id=demand_id,
            allowed=CLOSABLE,
            values={"status": DemandStatus.CLOSED, "close_reason": reason},
            now=now,
            action="demand.closed",
            detail={"reason": reason},
        )
        if closed:
            await session.execute(
                update(Proposal)
                .where(
                    col(Proposal.demand_id) == demand_id,
                    col(Proposal.status).in_(_PENDING_PROPOSALS),
                )
                .values(
                    status=ProposalStatus.WITHDRAWN,
                    version=col(Proposal.version) + 1,
                    decided_at=now,
                )
            )
        return closed
