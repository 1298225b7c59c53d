"""Where each user is in a guided dialogue, kept in SQL so restarts lose nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import col

from storage.db import Database
from storage.models import Dialogue


async def load_dialogue(*, db: Database, user_id: int) -> Dialogue | None:
    async with db.transaction() as session:
        return (
            await session.execute(select(Dialogue).where(col(Dialogue.user_id) == user_id))
        ).scalar_one_or_none()


async def save_dialogue(
    *, db: Database, user_id: int, flow: str, step: str, data: dict[str, Any], now: dt.datetime
) -> None:
    """Store the step and the draft; one row per user, replaced as the user moves on."""
    async with db.transaction() as session:
        dialogue = await session.get(Dialogue, user_id)
        if dialogue is None:
            session.add(Dialogue(user_id=user_id, flow=flow, step=step, data=data, updated_at=now))
        else:
            dialogue.flow, dialogue.step, dialogue.updated_at = flow, step, now
            dialogue.data = dict(data)  # a new object, so the JSON change is detected


async def end_dialogue(*, db: Database, user_id: int) -> bool:
    """Forget the dialogue; True when there was one."""
    async with db.transaction() as session:
        result = await session.execute(delete(Dialogue).where(col(Dialogue.user_id) == user_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]
