"""Where each user is in a guided dialogue, kept in SQL so restarts lose nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlmodel import col

from storage.db import Database, conflict_insert
from storage.models import Dialogue

_DIALOGUES: Table = Dialogue.__table__  # type: ignore[attr-defined]


async def load_dialogue(*, db: Database, user_id: int) -> Dialogue | None:
    # Every event of a person in a dialogue reads it: a Core statement, without the ORM's
    # session and identity map.
    async with db.connection() as connection:
        row = (
            await connection.execute(select(_DIALOGUES).where(_DIALOGUES.c.user_id == user_id))
        ).first()
    return Dialogue(**row._mapping) if row is not None else None


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
    async with db.connection() as connection:
        values = {"flow": flow, "step": step, "data": dict(data), "updated_at": now}
        statement = update(_DIALOGUES).where(_DIALOGUES.c.user_id == user_id)
        if answering is not None:
            statement = statement.where(_DIALOGUES.c.flow == flow, _DIALOGUES.c.step == answering)
        moved = await connection.execute(statement.values(**values))
        if moved.rowcount:
            return True
        if answering is not None:
            return False
        insert = conflict_insert(connection.dialect.name)
        await connection.execute(
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
