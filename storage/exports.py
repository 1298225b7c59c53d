"""The rows of the coordinators' exports (CSV files and the workbook), read in one
transaction per table.

Personal data (names, phones) is in these rows: only coordinators' commands call them.
Rows are returned whole, in id order; at a national programme's scale the export would
be streamed to a file instead (see the issue note). An erased person's rows come as
storage.privacy left them: ids, states, dates and codes, their personal columns blank.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlmodel import col

from storage.db import Database
from storage.models import Demand, Engagement, Enterprise, Proposal, Role, Specialist, WorkLog


async def demands_for_export(*, db: Database) -> list[tuple[Demand, Enterprise]]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(Demand, Enterprise)
            .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
            .order_by(col(Demand.id))
        )
        return [(demand, enterprise) for demand, enterprise in rows.tuples()]


async def enterprises_for_export(*, db: Database) -> list[Enterprise]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Enterprise).order_by(col(Enterprise.id))))


async def specialists_for_export(*, db: Database) -> list[Specialist]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Specialist).order_by(col(Specialist.id))))


async def proposals_for_export(*, db: Database) -> list[Proposal]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Proposal).order_by(col(Proposal.id))))


async def engagements_for_export(
    *, db: Database
) -> list[tuple[Engagement, Demand, Enterprise, Specialist]]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(Engagement, Demand, Enterprise, Specialist)
            .join(Demand, col(Demand.id) == col(Engagement.demand_id))
            .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
            .join(Specialist, col(Specialist.id) == col(Engagement.specialist_id))
            .order_by(col(Engagement.id))
        )
        return [(e, d, ent, s) for e, d, ent, s in rows.tuples()]


async def work_logs_for_export(
    *, db: Database
) -> list[tuple[WorkLog, Demand, Enterprise, Specialist]]:
    """Every work log with the demand, enterprise and specialist of its engagement."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(WorkLog, Demand, Enterprise, Specialist)
            .join(Engagement, col(Engagement.id) == col(WorkLog.engagement_id))
            .join(Demand, col(Demand.id) == col(Engagement.demand_id))
            .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
            .join(Specialist, col(Specialist.id) == col(Engagement.specialist_id))
            .order_by(col(WorkLog.id))
        )
        return [(log, d, ent, s) for log, d, ent, s in rows.tuples()]


@dataclass(frozen=True)
class Rating:
    """One side's rating of the other once an engagement was completed (kept as columns
    of the engagement): the enterprise's comes with the outcome and results."""

    engagement_id: int
    given_by: str  # Role: the side that rated
    stars: int  # 1-5
    comment: str | None
    outcome: str | None  # solved, partly, not_solved: with the enterprise's rating only
    results: list[str]
    ended_at: dt.datetime | None


async def ratings_for_export(
    *, db: Database
) -> list[tuple[Rating, Demand, Enterprise, Specialist]]:
    """Every rating given, the enterprise's before the specialist's on each engagement."""
    found = []
    for engagement, demand, enterprise, specialist in await engagements_with_ratings(db=db):
        if engagement.rating_of_specialist is not None:
            rating = Rating(
                engagement.id or 0,
                Role.ENTERPRISE.value,
                engagement.rating_of_specialist,
                engagement.comment_on_specialist,
                engagement.outcome,
                engagement.results or [],
                engagement.ended_at,
            )
            found.append((rating, demand, enterprise, specialist))
        if engagement.rating_of_enterprise is not None:
            rating = Rating(
                engagement.id or 0,
                Role.SPECIALIST.value,
                engagement.rating_of_enterprise,
                engagement.comment_on_enterprise,
                None,
                [],
                engagement.ended_at,
            )
            found.append((rating, demand, enterprise, specialist))
    return found


async def engagements_with_ratings(
    *, db: Database
) -> list[tuple[Engagement, Demand, Enterprise, Specialist]]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(Engagement, Demand, Enterprise, Specialist)
            .join(Demand, col(Demand.id) == col(Engagement.demand_id))
            .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
            .join(Specialist, col(Specialist.id) == col(Engagement.specialist_id))
            .where(
                or_(
                    col(Engagement.rating_of_specialist).is_not(None),
                    col(Engagement.rating_of_enterprise).is_not(None),
                )
            )
            .order_by(col(Engagement.id))
        )
        return [(e, d, ent, s) for e, d, ent, s in rows.tuples()]
