"""Coordinators' notices to many users: a draft, one guarded start, the delivery count.

    draft --start (creator only, once)--> sending --finish--> done
          --cancel--> cancelled

The move from draft to sending is an UPDATE guarded on the old state, so a double tap on
"Send", a replayed button or a second bot process starts a notice exactly once.
Recipients are people who consented (not those who withdrew), each once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.audit import audit
from storage.db import Database
from storage.models import (
    Broadcast,
    BroadcastStatus,
    Enterprise,
    Specialist,
    SpecialistStatus,
    User,
)

# Specialists a notice reaches: approved ones and those waiting for approval.
REACHED_SPECIALISTS = (SpecialistStatus.APPROVED.value, SpecialistStatus.PENDING.value)


class Audience(StrEnum):
    SPECIALISTS = "specialists"
    ENTERPRISES = "enterprises"
    CITY = "city"  # enterprises in the city and specialists who serve it


@dataclass(frozen=True)
class Recipient:
    user_id: int
    locale: str | None


async def recipients(*, db: Database, audience: Audience, city: str | None) -> list[Recipient]:
    """Who a notice reaches, in user order, each person once (two columns per person read)."""
    person = (col(User.id), col(User.locale))
    found: dict[int, Recipient] = {}
    async with db.transaction() as session:
        if audience in (Audience.SPECIALISTS, Audience.CITY):
            rows = await session.execute(
                select(*person, col(Specialist.cities))
                .join(Specialist, col(Specialist.user_id) == col(User.id))
                .where(col(Specialist.status).in_(REACHED_SPECIALISTS))
                .where(col(User.consent_at).is_not(None))
            )
            for user_id, locale, cities in rows.tuples():
                if user_id is not None and (audience == Audience.SPECIALISTS or city in cities):
                    found[user_id] = Recipient(user_id, locale)
        if audience in (Audience.ENTERPRISES, Audience.CITY):
            query = (
                select(*person)
                .join(Enterprise, col(Enterprise.owner_user_id) == col(User.id))
                .where(col(User.consent_at).is_not(None))
            )
            if audience == Audience.CITY:
                query = query.where(col(Enterprise.city) == city)
            for user_id, locale in (await session.execute(query)).tuples():
                if user_id is not None:
                    found[user_id] = Recipient(user_id, locale)
    return [found[user_id] for user_id in sorted(found)]


async def create_broadcast(
    *,
    db: Database,
    coordinator_user_id: int,
    audience: Audience,
    city: str | None,
    text: str,
    now: dt.datetime,
) -> Broadcast:
    """A draft to preview; nothing is sent yet."""
    async with db.transaction() as session:
        broadcast = Broadcast(
            coordinator_user_id=coordinator_user_id,
            audience=audience.value,
            city=city if audience == Audience.CITY else None,
            text=text,
            created_at=now,
        )
        session.add(broadcast)
        await session.flush()
        return broadcast


async def start_broadcast(
    *, db: Database, broadcast_id: int, coordinator_user_id: int, now: dt.datetime
) -> Broadcast | None:
    """Draft to sending, by its creator, once; None for every other attempt."""
    async with db.transaction() as session:
        started = await session.execute(
            update(Broadcast)
            .where(
                col(Broadcast.id) == broadcast_id,
                col(Broadcast.coordinator_user_id) == coordinator_user_id,
                col(Broadcast.status) == BroadcastStatus.DRAFT.value,
            )
            .values(status=BroadcastStatus.SENDING.value, started_at=now)
        )
        if not started.rowcount:  # type: ignore[attr-defined]
            return None
        broadcast = await session.get(Broadcast, broadcast_id, populate_existing=True)
        assert broadcast is not None
        audit(
            session,
            now=now,
            actor_user_id=coordinator_user_id,
            action="coordinator.broadcast",
            target_type="broadcast",
            target_id=broadcast_id,
            detail={"audience": broadcast.audience, "city": broadcast.city},
        )
        return broadcast


async def cancel_broadcast(*, db: Database, broadcast_id: int, coordinator_user_id: int) -> bool:
    async with db.transaction() as session:
        cancelled = await session.execute(
            update(Broadcast)
            .where(
                col(Broadcast.id) == broadcast_id,
                col(Broadcast.coordinator_user_id) == coordinator_user_id,
                col(Broadcast.status) == BroadcastStatus.DRAFT.value,
            )
            .values(status=BroadcastStatus.CANCELLED.value)
        )
        return bool(cancelled.rowcount)  # type: ignore[attr-defined]


async def get_broadcast(*, db: Database, broadcast_id: int) -> Broadcast | None:
    async with db.transaction() as session:
        return await session.get(Broadcast, broadcast_id)


async def set_recipients(
    *, db: Database, broadcast_id: int, recipients: int, unreachable: int
) -> None:
    """How many the notice went out to, and how many of them had no account to write to
    (counted as failed at once)."""
    async with db.transaction() as session:
        await session.execute(
            update(Broadcast)
            .where(col(Broadcast.id) == broadcast_id)
            .values(recipients=recipients, failed=unreachable)
        )


async def count_delivery(
    *, db: Database, broadcast_id: int, delivered: bool, now: dt.datetime
) -> tuple[Broadcast, User] | None:
    """One recipient's message settled (delivered, or given up on); when it was the last,
    the notice is done: returns it with its author, to be told the count, exactly once."""
    counted = (
        {"delivered": col(Broadcast.delivered) + 1}
        if delivered
        else {"failed": col(Broadcast.failed) + 1}
    )
    async with db.transaction() as session:
        await session.execute(
            update(Broadcast).where(col(Broadcast.id) == broadcast_id).values(**counted)
        )
        return await _finish_if_complete(session, broadcast_id, now)


async def finish_if_complete(
    *, db: Database, broadcast_id: int, now: dt.datetime
) -> tuple[Broadcast, User] | None:
    """Done when every recipient's message settled (or none could be written at all)."""
    async with db.transaction() as session:
        return await _finish_if_complete(session, broadcast_id, now)


async def _finish_if_complete(
    session: AsyncSession, broadcast_id: int, now: dt.datetime
) -> tuple[Broadcast, User] | None:
    finished = await session.execute(
        update(Broadcast)
        .where(
            col(Broadcast.id) == broadcast_id,
            col(Broadcast.status) == BroadcastStatus.SENDING.value,
            col(Broadcast.delivered) + col(Broadcast.failed) >= col(Broadcast.recipients),
        )
        .values(status=BroadcastStatus.DONE.value, finished_at=now)
    )
    if not finished.rowcount:  # type: ignore[attr-defined]
        return None
    row = (
        await session.execute(
            select(Broadcast, User)
            .join(User, col(Broadcast.coordinator_user_id) == col(User.id))
            .where(col(Broadcast.id) == broadcast_id)
        )
    ).one()
    return row[0], row[1]
