"""Scheduled job runs: one row per job and slot, so each slot runs once across processes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from storage.db import Database
from storage.models import JobRun


async def claim_job_run(
    *, db: Database, name: str, slot: dt.datetime, now: dt.datetime
) -> int | None:
    """The run's id for whoever claims the slot first; None for everyone else."""
    try:
        async with db.transaction(savepoint=True) as session:
            run = JobRun(name=name, slot=slot, started_at=now)
            session.add(run)
            await session.flush()
            return run.id
    except IntegrityError:
        return None


async def finish_job_run(*, db: Database, run_id: int, now: dt.datetime, failed: bool) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(JobRun).where(col(JobRun.id) == run_id).values(finished_at=now, failed=failed)
        )
