"""Where each user is in a guided dialogue, kept in SQL so restarts lose nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from storage.db import Database
from storage.models import Dialogue


async def load_dialogue(*, db: Database, user_id: int) -> Dialogue | None:
    async with db.transaction() as session:
        return (
            await session.execute(select(Dialogue).where(col(Dialogue.user_id) == user_id))
        ).scalar_one_or_none()


async def save_dialogue(
    *,
    db: Database,
    user_id: int,
    flow: str,
    step: str,
    data: dict[str, Any],
    now: dt.datetime,
    answering: str | None = None,
) -> bool:
    """Store the step and the draft; one row per user, replaced as the user moves on.

    With `answering`, only if the dialogue of this flow still waits at that step (False
    when it moved on: an answer to a question already answered changes nothing).
    An UPDATE first, which SQLAlchemy caches (an upsert it compiles anew each time);
    the upsert for a first step."""
    async with db.transaction() as session:
        values = {"flow": flow, "step": step, "data": dict(data), "updated_at": now}
        statement = update(Dialogue).where(col(Dialogue.user_id) == user_id)
        if answering is not None:
            statement = statement.where(col(Dialogue.flow) == flow, col(Dialogue.step) == answering)
        moved = await session.execute(statement.values(**values))
        if moved.rowcount:  # type: ignore[attr-defined]
            return True
        if answering is not None:
            return False
        insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            insert(Dialogue)
            .values(user_id=user_id, **values)
            .on_conflict_do_update(index_elements=["user_id"], set_=values)
        )
        return True


async def end_dialogue(*, db: Database, user_id: int) -> bool:
    """Forget the dialogue; True when there was one."""
    async with db.transaction() as session:
        result = await session.execute(delete(Dialogue).where(col(Dialogue.user_id) == user_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]
