"""The inbox: every event kept before its platform is told it arrived, then processed.

`accept_event` commits on its own, before the acknowledgement. Processing reads
a person's oldest pending event inside the unit of work that applies it and
marks it done in the same transaction, so an event is applied once whatever
crashes. On PostgreSQL a transaction-scoped advisory lock on the person makes
several processes take one person's events one at a time, in arrival order.

Times here are the wall clock's: they pace retries and tell operators how long
events wait.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, bindparam, delete, func, select, text, update
from sqlmodel import col

from storage.db import Database
from storage.models import InboxEvent
from storage.types import UTCDateTime

PENDING, DONE, FAILED = "pending", "done", "failed"

_ACCEPT = text(
    "INSERT INTO inbox (platform, event_id, person, body, flood, state, attempts, received_at,"
    " due_at) VALUES (:platform, :event_id, :person, :body, :flood, 'pending', 0, :now, :now)"
    " ON CONFLICT (platform, event_id) DO NOTHING"
).bindparams(bindparam("body", type_=JSON()), bindparam("now", type_=UTCDateTime()))
_LOCK_PERSON = text("SELECT pg_advisory_xact_lock(hashtext(:person))")
# Only from pending: a failure recorded late (after its rollback, another process may have
# applied the event meanwhile) never turns an applied event into a failed one.
_FINISH = text(
    "UPDATE inbox SET state = :state, finished_at = :now, error = :error"
    " WHERE id = :id AND state = 'pending'"
).bindparams(bindparam("now", type_=UTCDateTime()))


@dataclass(frozen=True)
class Pending:
    id: int
    body: dict[str, Any]
    flood: str | None
    attempts: int
    due_at: dt.datetime


async def accept_event(
    *,
    db: Database,
    platform: str,
    event_id: str,
    person: str,
    body: dict[str, Any],
    flood: str | None,
    now: dt.datetime,
) -> bool:
    """Keep an event; False when it was kept before (a redelivery)."""
    async with db.connection() as connection:
        result = await connection.execute(
            _ACCEPT,
            {
                "platform": platform,
                "event_id": event_id,
                "person": person,
                "body": body,
                "flood": flood,
                "now": now,
            },
        )
        return bool(result.rowcount)


# Run for every event: built once, each call binds only the person.
_OLDEST = (
    select(
        col(InboxEvent.id),
        col(InboxEvent.body),
        col(InboxEvent.flood),
        col(InboxEvent.attempts),
        col(InboxEvent.due_at),
    )
    .where(col(InboxEvent.person) == bindparam("p_person"))
    .where(col(InboxEvent.state) == PENDING)
    .order_by(col(InboxEvent.id))
    .limit(1)
)
_ANY_PENDING = (
    select(col(InboxEvent.id))
    .where(col(InboxEvent.person) == bindparam("p_person"))
    .where(col(InboxEvent.state) == PENDING)
    .limit(1)
)


async def oldest_pending(*, db: Database, person: str) -> Pending | None:
    """The person's oldest event not yet applied, taking the person's lock on PostgreSQL
    (held until the transaction ends). Call inside the unit of work that applies it."""
    async with db.connection() as connection:
        if not db.is_sqlite:
            await connection.execute(_LOCK_PERSON, {"person": person})
        row = (await connection.execute(_OLDEST, {"p_person": person})).first()
    return Pending(*row) if row else None


async def has_pending(*, db: Database, person: str) -> bool:
    """Whether the person has an event waiting (asked in the unit that applied one, so the
    worker ends without another transaction when none does)."""
    async with db.connection() as connection:
        found = await connection.execute(_ANY_PENDING, {"p_person": person})
        return found.first() is not None


async def finish_event(
    *, db: Database, event_id: int, now: dt.datetime, failed: str | None = None
) -> None:
    """Applied (or given up on with the reason), in the transaction that applied it."""
    async with db.connection() as connection:
        await connection.execute(
            _FINISH,
            {
                "id": event_id,
                "state": FAILED if failed else DONE,
                "now": now,
                "error": failed[:300] if failed else None,
            },
        )


async def postpone_event(*, db: Database, event_id: int, due: dt.datetime, error: str) -> None:
    """Try again later (the database or a service was away)."""
    async with db.transaction() as session:
        await session.execute(
            update(InboxEvent)
            .where(col(InboxEvent.id) == event_id)
            .values(attempts=col(InboxEvent.attempts) + 1, due_at=due, error=error[:300])
        )


async def waiting_people(*, db: Database, limit: int = 1000) -> list[str]:
    """People with events not yet applied (after a restart, or left by a process that died)."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(col(InboxEvent.person))
            .where(col(InboxEvent.state) == PENDING)
            .group_by(col(InboxEvent.person))
            .order_by(func.min(col(InboxEvent.id)))
            .limit(limit)
        )
        return list(rows.scalars())


@dataclass(frozen=True)
class Depth:
    waiting: int
    oldest: dt.datetime | None


async def inbox_depth(*, db: Database) -> Depth:
    async with db.transaction() as session:
        waiting, oldest = (
            await session.execute(
                select(func.count(), func.min(col(InboxEvent.received_at))).where(
                    col(InboxEvent.state) == PENDING
                )
            )
        ).one()
    return Depth(int(waiting), oldest)


async def prune_inbox(*, db: Database, before: dt.datetime) -> int:
    """Forget events finished before `before`; their ids are then new again (platforms
    reuse ids: Telegram picks them at random after a week without updates)."""
    async with db.transaction() as session:
        result = await session.execute(
            delete(InboxEvent)
            .where(col(InboxEvent.state) != PENDING)
            .where(col(InboxEvent.finished_at) < before)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


async def forget_person(*, db: Database, people: list[str]) -> None:
    """Erase what a person did (their data is being erased): the events' texts go."""
    if people:
        async with db.transaction() as session:
            await session.execute(delete(InboxEvent).where(col(InboxEvent.person).in_(people)))
