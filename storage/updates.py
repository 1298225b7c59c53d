"""Telegram delivers an update again after a crash or a lost confirmation: remember ids."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from storage.db import Database
from storage.models import ProcessedUpdate


async def claim_update(*, db: Database, update_id: int, now: dt.datetime) -> bool:
    """True the first time an update id is seen, False for a repeat (in any process).

    No savepoint: this is the update's first statement, so a repeat that fails here
    rolls back nothing of its own update."""
    try:
        async with db.transaction() as session:
            await session.execute(
                insert(ProcessedUpdate).values(update_id=update_id, processed_at=now)
            )
    except IntegrityError:
        return False
    return True


async def forget_processed_updates(*, db: Database, before: dt.datetime) -> int:
    """Drop ids older than Telegram's redelivery window; returns how many."""
    async with db.transaction() as session:
        result = await session.execute(
            delete(ProcessedUpdate).where(col(ProcessedUpdate.processed_at) < before)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
