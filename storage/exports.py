"""The rows of the coordinators' CSV exports, read in one transaction per table.

Personal data (names, phones) is in these rows: only coordinators' commands call them.
Rows are returned whole, in id order; at a national programme's scale the export would
be streamed to a file instead (see the issue note).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from storage.db import Database
from storage.models import Demand, Engagement, Enterprise, Proposal, Specialist


async def demands_for_export(*, db: Database) -> list[tuple[Demand, Enterprise]]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(Demand, Enterprise)
            .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
            .order_by(col(Demand.id))
        )
        return [(demand, enterprise) for demand, enterprise in rows.tuples()]


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
