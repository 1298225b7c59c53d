"""The playground's simulated time, kept in its database across restarts.

The clock control moves an OffsetClock forward, and everything the bot does
meanwhile is dated by it: proposals, work logs, job runs. A restart on the same
database that began at the wall's time again would put those records in the
future (a reminder due "in -6 days", a digest for a day already claimed). So
every move is written to the audit log with the offset it reached, and a new
playground resumes that offset: time flows on from where it was, as the wall's
does. A database whose records run ahead of the wall without such a row (moved
by an older playground) sets the clock no earlier than its latest record.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlmodel import col

from storage.audit import audit
from storage.clock import OffsetClock
from storage.db import Database
from storage.models import AuditEvent, JobRun

CLOCK_MOVED = "playground.clock_moved"


async def record_offset(*, db: Database, clock: OffsetClock) -> None:
    """After a move: the offset the clock has reached, for the next start."""
    async with db.transaction() as session:
        audit(
            session,
            now=clock.now(),
            actor_user_id=None,
            action=CLOCK_MOVED,
            detail={"offset_seconds": clock.offset.total_seconds()},
        )


async def kept_offset(*, db: Database, wall: dt.datetime) -> dt.timedelta:
    """How far ahead of `wall` this database's playground clock was, or must be."""
    async with db.transaction() as session:
        moved = (
            await session.execute(
                select(col(AuditEvent.detail))
                .where(col(AuditEvent.action) == CLOCK_MOVED)
                .order_by(col(AuditEvent.id).desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        latest = [
            (await session.execute(select(func.max(column)))).scalar_one_or_none()
            for column in (col(AuditEvent.at), col(JobRun.started_at))
        ]
    offset = dt.timedelta(seconds=float((moved or {}).get("offset_seconds", 0)))
    recorded = [at - wall for at in latest if at is not None]
    return max([offset, *recorded, dt.timedelta()])
