"""Every figure coordinators read (the daily digest, /stats, placement targets), in one place.

The digest and /stats both read these functions, so they cannot disagree. Counts are
aggregates computed by the database (COUNT, GROUP BY, CASE sums), never rows fetched to be
counted, so a digest stays cheap at a national programme's scale; lists that name records
are capped and come with their totals. Periods are half-open: [since, until).

Definitions (what a coordinator reads the figure as):
- proposals sent: proposed in the period; accepted / declined: answered in it; expired:
  given up on in it;
- a placement is an engagement started (whatever became of it later);
- a demand waits without a match while it is open and no specialist has said yes to it;
- an enterprise has not chosen while a specialist's yes is waiting for its decision.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Result, and_, case, func, or_, select
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
)

T = TypeVar("T")
DECLINE_REASONS = ("not_my_field", "no_time", "too_far", "other")  # Proposal.decline_reason
SAID_YES = (ProposalStatus.ACCEPTED, ProposalStatus.SELECTED)  # a match, made or on offer


@dataclass(frozen=True)
class Activity:
    """What happened in a period, or since the programme began when the period has no start."""

    demands: int
    specialists: int
    proposals: int
    accepted: int
    declined: int
    expired: int
    engagements_started: int
    engagements_completed: int
    decline_reasons: tuple[tuple[str, int], ...]  # most frequent first


@dataclass(frozen=True)
class Snapshot:
    """How things stand now."""

    enterprises: int
    demands_open: int
    specialists_approved: int
    specialists_pending: int


@dataclass(frozen=True)
class StaleDemand:
    demand_id: int
    title: str
    enterprise: str
    created_at: dt.datetime


@dataclass(frozen=True)
class UnsuitedDemand:
    """An open demand no specialist suits yet, with what says which field it needs."""

    demand_id: int
    title: str
    description: str
    enterprise: str
    fields: list[str]
    keywords: list[str]
    since: dt.datetime


@dataclass(frozen=True)
class UndecidedChoice:
    proposal_id: int
    demand_id: int
    title: str
    enterprise: str
    specialist: str
    accepted_at: dt.datetime


@dataclass(frozen=True)
class Silent:
    specialist_id: int
    name: str
    institution: str
    since: dt.datetime


@dataclass(frozen=True)
class Listed(Generic[T]):
    """The first few records of a kind, and how many there are in all."""

    items: tuple[T, ...]
    total: int


@dataclass(frozen=True)
class Tally:
    """Placements per city or per institution: the largest first, then the rest summed."""

    top: tuple[tuple[str, int], ...]
    rest: int


@dataclass(frozen=True)
class Shortage:
    field: str  # a first-level discipline code
    demands: int  # open demands asking for it
    specialists: int  # available specialists offering it


@dataclass(frozen=True)
class Week:
    start: dt.datetime
    demands: int
    proposals: int
    engagements: int


def _within(column: Any, since: dt.datetime | None, until: dt.datetime) -> Any:
    return column < until if since is None else and_(column >= since, column < until)


async def _count(session: AsyncSession, entity: Any, *where: Any) -> int:
    found = await session.execute(select(func.count()).select_from(entity).where(*where))
    return int(found.scalar_one())


async def activity(*, db: Database, since: dt.datetime | None, until: dt.datetime) -> Activity:
    """Demands and specialists registered, proposals and engagements moved, in [since, until)."""
    answered = _within(col(Proposal.answered_at), since, until)
    declined = and_(answered, col(Proposal.status) == ProposalStatus.DECLINED.value)
    async with db.transaction() as session:
        reasons: Counter[str] = Counter()
        for reason, n in await session.execute(
            select(col(Proposal.decline_reason), func.count())
            .where(declined)
            .group_by(col(Proposal.decline_reason))
        ):
            reasons[reason if reason in DECLINE_REASONS else "other"] += n
        return Activity(
            demands=await _count(session, Demand, _within(col(Demand.created_at), since, until)),
            specialists=await _count(
                session, Specialist, _within(col(Specialist.created_at), since, until)
            ),
            proposals=await _count(
                session, Proposal, _within(col(Proposal.proposed_at), since, until)
            ),
            accepted=await _count(
                session,
                Proposal,
                answered,
                col(Proposal.status) != ProposalStatus.DECLINED.value,
            ),
            declined=await _count(session, Proposal, declined),
            expired=await _count(
                session,
                Proposal,
                _within(col(Proposal.decided_at), since, until),
                col(Proposal.status) == ProposalStatus.EXPIRED.value,
            ),
            engagements_started=await _count(
                session, Engagement, _within(col(Engagement.started_at), since, until)
            ),
            engagements_completed=await _count(
                session,
                Engagement,
                _within(col(Engagement.ended_at), since, until),
                col(Engagement.status) == EngagementStatus.COMPLETED.value,
            ),
            decline_reasons=tuple(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
        )


async def snapshot(*, db: Database) -> Snapshot:
    async with db.transaction() as session:
        specialists = dict(
            (
                await session.execute(
                    select(col(Specialist.status), func.count()).group_by(col(Specialist.status))
                )
            )
            .tuples()
            .all()
        )
        return Snapshot(
            enterprises=await _count(session, Enterprise),
            demands_open=await _count(
                session, Demand, col(Demand.status) == DemandStatus.OPEN.value
            ),
            specialists_approved=specialists.get(SpecialistStatus.APPROVED.value, 0),
            specialists_pending=specialists.get(SpecialistStatus.PENDING.value, 0),
        )


async def stale_demands(
    *, db: Database, created_before: dt.datetime, limit: int
) -> Listed[StaleDemand]:
    """Open demands filed before `created_before` that no specialist has said yes to, oldest
    first: where a coordinator's own proposal (/match) helps most."""
    matched = select(col(Proposal.demand_id)).where(
        col(Proposal.status).in_([s.value for s in SAID_YES])
    )
    where = and_(
        col(Demand.status) == DemandStatus.OPEN.value,
        col(Demand.created_at) < created_before,
        col(Demand.id).not_in(matched),
    )
    async with db.transaction() as session:
        total = await _count(session, Demand, where)
        rows: Result[Any] = await session.execute(
            select(
                col(Demand.id).label("demand_id"),
                col(Demand.title).label("title"),
                col(Enterprise.name).label("enterprise"),
                col(Demand.created_at).label("created_at"),
            )
            .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
            .where(where)
            .order_by(col(Demand.created_at), col(Demand.id))
            .limit(limit)
        )
        return Listed(tuple(StaleDemand(**row) for row in rows.mappings()), total)


async def unsuited_demands(*, db: Database, limit: int) -> Listed[UnsuitedDemand]:
    """Open demands for which match rounds find no specialist with subject evidence,
    longest first: whom the programme should recruit."""
    where = and_(
        col(Demand.status) == DemandStatus.OPEN.value, col(Demand.unsuited_since).is_not(None)
    )
    async with db.transaction() as session:
        total = await _count(session, Demand, where)
        rows: Result[Any] = await session.execute(
            select(
                col(Demand.id).label("demand_id"),
                col(Demand.title).label("title"),
                col(Demand.description).label("description"),
                col(Enterprise.name).label("enterprise"),
                col(Demand.fields).label("fields"),
                col(Demand.keywords).label("keywords"),
                col(Demand.unsuited_since).label("since"),
            )
            .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
            .where(where)
            .order_by(col(Demand.unsuited_since), col(Demand.id))
            .limit(limit)
        )
        return Listed(tuple(UnsuitedDemand(**row) for row in rows.mappings()), total)


async def undecided_choices(
    *, db: Database, accepted_before: dt.datetime, limit: int
) -> Listed[UndecidedChoice]:
    """Specialists' yeses the enterprise has left undecided since before `accepted_before`."""
    where = and_(
        col(Proposal.status) == ProposalStatus.ACCEPTED.value,
        col(Proposal.answered_at) < accepted_before,
    )
    async with db.transaction() as session:
        total = await _count(session, Proposal, where)
        rows: Result[Any] = await session.execute(
            select(
                col(Proposal.id).label("proposal_id"),
                col(Demand.id).label("demand_id"),
                col(Demand.title).label("title"),
                col(Enterprise.name).label("enterprise"),
                col(Specialist.name).label("specialist"),
                col(Proposal.answered_at).label("accepted_at"),
            )
            .join(Demand, col(Demand.id) == col(Proposal.demand_id))
            .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
            .join(Specialist, col(Specialist.id) == col(Proposal.specialist_id))
            .where(where)
            .order_by(col(Proposal.answered_at), col(Proposal.id))
            .limit(limit)
        )
        return Listed(tuple(UndecidedChoice(**row) for row in rows.mappings()), total)


async def silent_specialists(*, db: Database, limit: int) -> Listed[Silent]:
    """Approved specialists marked as not responding, the longest silent first."""
    where = and_(
        col(Specialist.status) == SpecialistStatus.APPROVED.value,
        col(Specialist.not_responding_since).is_not(None),
    )
    async with db.transaction() as session:
        total = await _count(session, Specialist, where)
        rows: Result[Any] = await session.execute(
            select(
                col(Specialist.id).label("specialist_id"),
                col(Specialist.name).label("name"),
                col(Specialist.institution).label("institution"),
                col(Specialist.not_responding_since).label("since"),
            )
            .where(where)
            .order_by(col(Specialist.not_responding_since), col(Specialist.id))
            .limit(limit)
        )
        return Listed(tuple(Silent(**row) for row in rows.mappings()), total)


async def placements(*, db: Database, until: dt.datetime) -> int:
    """Engagements started before `until`: the figure the programme's targets count."""
    async with db.transaction() as session:
        return await _count(session, Engagement, col(Engagement.started_at) < until)


async def _tally(session: AsyncSession, key: Any, limit: int) -> Tally:
    rows = await session.execute(
        select(key, func.count())
        .select_from(Engagement)
        .join(Demand, col(Demand.id) == col(Engagement.demand_id))
        .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
        .join(Specialist, col(Specialist.id) == col(Engagement.specialist_id))
        .group_by(key)
        .order_by(func.count().desc(), key)
    )
    counted = [(str(name), int(n)) for name, n in rows.tuples()]
    return Tally(tuple(counted[:limit]), sum(n for _, n in counted[limit:]))


async def placements_by_city(*, db: Database, limit: int) -> Tally:
    """Placements per enterprise city (a taxonomy code, or the name typed for another place)."""
    async with db.transaction() as session:
        return await _tally(session, col(Enterprise.city), limit)


async def placements_by_institution(*, db: Database, limit: int) -> Tally:
    """Placements per dispatching university, institute or agency."""
    async with db.transaction() as session:
        return await _tally(session, col(Specialist.institution), limit)


def _first_level(codes: list[str] | None) -> set[str]:
    """GB/T 13745 codes nest by prefix: the first three digits name the first-level field."""
    return {code[:3] for code in codes or () if code}


async def shortages(*, db: Database, today: dt.date, limit: int) -> list[Shortage]:
    """First-level fields where open demands outnumber the specialists available for them,
    the widest gap first: a hint for whom to recruit.

    Only the JSON lists of codes are read (one column per row) and tallied here: a
    portable JSON unnest differs between SQLite and PostgreSQL.
    """
    available = and_(
        col(Specialist.status) == SpecialistStatus.APPROVED.value,
        col(Specialist.not_responding_since).is_(None),
        or_(col(Specialist.paused_until).is_(None), col(Specialist.paused_until) <= today),
        or_(col(Specialist.available_to).is_(None), col(Specialist.available_to) >= today),
    )
    wanted: Counter[str] = Counter()
    offered: Counter[str] = Counter()
    async with db.transaction() as session:
        for fields in await session.scalars(
            select(col(Demand.fields)).where(col(Demand.status) == DemandStatus.OPEN.value)
        ):
            wanted.update(_first_level(fields))
        for disciplines in await session.scalars(
            select(col(Specialist.disciplines)).where(available)
        ):
            offered.update(_first_level(disciplines))
    short = [Shortage(f, n, offered[f]) for f, n in wanted.items() if n > offered[f]]
    short.sort(key=lambda s: (s.specialists - s.demands, s.field))
    return short[:limit]


async def weekly_counts(*, db: Database, first: dt.datetime, weeks: int) -> list[Week]:
    """New demands, proposals sent and engagements started in each of `weeks` weeks from
    `first` (the oldest week's start), oldest first: one query per table, a CASE sum per
    week."""
    starts = [first + dt.timedelta(weeks=n) for n in range(weeks)]
    bounds = [(start, start + dt.timedelta(weeks=1)) for start in starts]
    end = bounds[-1][1]

    async def per_week(session: AsyncSession, column: Any) -> list[int]:
        sums = [func.sum(case((and_(column >= a, column < b), 1), else_=0)) for a, b in bounds]
        row = (await session.execute(select(*sums).where(column >= starts[0], column < end))).one()
        return [int(n or 0) for n in row]

    async with db.transaction() as session:
        demands = await per_week(session, col(Demand.created_at))
        proposals = await per_week(session, col(Proposal.proposed_at))
        engagements = await per_week(session, col(Engagement.started_at))
    return [
        Week(start, d, p, e)
        for start, d, p, e in zip(starts, demands, proposals, engagements, strict=True)
    ]
