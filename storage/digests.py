"""Daily digest sends: one row per coordinator and day, inserted before the digest goes out.

The unique (user_id, day) key is the whole guarantee: whichever run inserts the row first
sends, and a job that fires twice, a restart at the scheduled minute or a second bot
process finds the row taken and sends nothing. A crash between the claim and the send
loses that day's digest rather than risking two (the row then has no sent_at).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlmodel import col

from storage.db import Database, conflict_insert
from storage.models import DigestSend


async def claim_digest(*, db: Database, user_id: int, day: dt.date, now: dt.datetime) -> bool:
    """True for the one caller that claims this coordinator's digest of this day."""
    async with db.transaction() as session:
        insert = conflict_insert(session.bind.dialect.name)
        claimed = await session.execute(
            insert(DigestSend)
            .values(user_id=user_id, day=day, claimed_at=now)
            .on_conflict_do_nothing(index_elements=["user_id", "day"])
            .returning(col(DigestSend.id))
        )
        return claimed.scalar_one_or_none() is not None


async def mark_digest_sent(*, db: Database, user_id: int, day: dt.date, now: dt.datetime) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(DigestSend)
            .where(col(DigestSend.user_id) == user_id, col(DigestSend.day) == day)
            .values(sent_at=now)
        )
