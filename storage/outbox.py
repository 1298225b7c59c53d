"""The outbox: messages written with the change that caused them, delivered after commit.

Rows of one address (a chat) go out strictly in id order, also with several bot
processes: a row is claimed with a lease, and only the oldest unfinished row of
an address can be claimed, so a later message never overtakes an earlier one.
A claimed row whose lease ran out (its process died mid-send) is claimed again:
delivery is at least once, and the platform's own idempotency key, where it has
one, keeps a repeat from showing twice.

Times here are the wall clock's (retries and leases are about real seconds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Integer,
    LargeBinary,
    String,
    bindparam,
    column,
    delete,
    func,
    select,
    text,
    update,
)
from sqlmodel import col

from storage.db import Database
from storage.models import OutboxMessage
from storage.types import UTCDateTime

PENDING, SENDING, SENT, FAILED, UNREACHABLE = "pending", "sending", "sent", "failed", "unreachable"
FINISHED = (SENT, FAILED, UNREACHABLE)

_INSERT = text(
    "INSERT INTO outbox (ref, platform, address, user_id, kind, target, body, blob, key, state,"
    " attempts, created_at, due_at, shown)"
    " VALUES (:ref, :platform, :address, :user_id, :kind, :target, :body, :blob, :key, 'pending',"
    " 0, :created_at, :due_at, :shown)"
    " ON CONFLICT DO NOTHING"
).bindparams(
    bindparam("body", type_=JSON()),
    bindparam("shown", type_=JSON()),
    bindparam("blob", type_=LargeBinary()),
    bindparam("created_at", type_=UTCDateTime()),
    bindparam("due_at", type_=UTCDateTime()),
)
_CLAIM = (
    text(
        "UPDATE outbox SET state = 'sending', lease_until = :lease, attempts = attempts + 1"
        " WHERE id = (SELECT id FROM outbox WHERE platform = :platform AND address = :address"
        "  AND state IN ('pending', 'sending') ORDER BY id LIMIT 1)"
        " AND ((state = 'pending' AND due_at <= :now)"
        "  OR (state = 'sending' AND lease_until < :now))"
        " RETURNING id, ref, kind, target, body, blob, user_id, attempts, key"
    )
    .bindparams(
        bindparam("lease", type_=UTCDateTime()),
        bindparam("now", type_=UTCDateTime()),
    )
    .columns(
        column("id", Integer),
        column("ref", String),
        column("kind", String),
        column("target", String),
        column("body", JSON),
        column("blob", LargeBinary),
        column("user_id", Integer),
        column("attempts", Integer),
        column("key", String),
    )
)
_NEXT_DUE = text(
    "SELECT state, due_at, lease_until FROM outbox WHERE platform = :platform"
    " AND address = :address AND state IN ('pending', 'sending') ORDER BY id LIMIT 1"
).columns(
    column("state", String), column("due_at", UTCDateTime), column("lease_until", UTCDateTime)
)
_SENT = text(
    "UPDATE outbox SET state = 'sent', sent_at = :now, lease_until = NULL,"
    " platform_message_id = :message, error = NULL WHERE id = :id"
).bindparams(bindparam("now", type_=UTCDateTime()))
# A message to someone whose data was erased (the confirmation that it was) is forgotten once
# it has gone: nothing of theirs stays, not even the address it went to.
_FORGET_ERASED = text(
    "DELETE FROM outbox WHERE id = :id"
    " AND user_id IN (SELECT id FROM users WHERE erased_at IS NOT NULL)"
)
_MOVED = text("UPDATE outbox SET platform_message_id = :message WHERE ref = :target")


@dataclass(frozen=True)
class Item:
    """A row to deliver, as the channel gets it."""

    id: int
    ref: str
    platform: str
    address: str
    kind: str
    target: str | None
    body: dict[str, Any]
    blob: bytes | None
    user_id: int | None
    attempts: int
    key: str | None
    target_message: str | None = None  # the platform's id of the message an edit changes


@dataclass(frozen=True)
class Shown:
    """A message the bot sent, as it stands: where, and the view it shows now."""

    ref: str
    platform: str
    address: str
    user_id: int | None
    shown: dict[str, Any] | None
    state: str


async def enqueue(*, db: Database, rows: Sequence[dict[str, Any]]) -> None:
    """Add rows (dicts of the INSERT's parameters); a row whose key exists is skipped."""
    if rows:
        async with db.connection() as connection:
            await connection.execute(_INSERT, list(rows))


async def shown_message(*, db: Database, ref: str) -> Shown | None:
    async with db.connection() as connection:
        row = (
            await connection.execute(
                select(
                    col(OutboxMessage.platform),
                    col(OutboxMessage.address),
                    col(OutboxMessage.user_id),
                    col(OutboxMessage.shown),
                    col(OutboxMessage.state),
                ).where(col(OutboxMessage.ref) == ref)
            )
        ).first()
    if row is None:
        return None
    return Shown(ref, row[0], row[1], row[2], row[3], row[4])


async def message_by_platform_id(
    *, db: Database, platform: str, address: str, message: str
) -> Shown | None:
    """The message a press was on, by the platform's id of it."""
    async with db.connection() as connection:
        row = (
            await connection.execute(
                select(
                    col(OutboxMessage.ref),
                    col(OutboxMessage.user_id),
                    col(OutboxMessage.shown),
                    col(OutboxMessage.state),
                )
                .where(col(OutboxMessage.platform) == platform)
                .where(col(OutboxMessage.address) == address)
                .where(col(OutboxMessage.platform_message_id) == message)
                .where(col(OutboxMessage.kind).in_(("send", "file")))
                .order_by(col(OutboxMessage.id).desc())
                .limit(1)
            )
        ).first()
    if row is None:
        return None
    return Shown(row[0], platform, address, row[1], row[2], row[3])


async def set_shown(*, db: Database, ref: str, shown: dict[str, Any]) -> None:
    async with db.connection() as connection:
        await connection.execute(
            update(OutboxMessage).where(col(OutboxMessage.ref) == ref).values(shown=shown)
        )


async def claim_next(
    *, db: Database, platform: str, address: str, now: dt.datetime, lease: dt.timedelta
) -> Item | None:
    """The oldest unfinished row of the address, if it is due and nobody holds it."""
    async with db.connection() as connection:
        row = (
            await connection.execute(
                _CLAIM,
                {"platform": platform, "address": address, "now": now, "lease": now + lease},
            )
        ).first()
        if row is None:
            return None
        target_message = None
        if row[3] is not None:
            target_message = (
                await connection.execute(
                    select(col(OutboxMessage.platform_message_id)).where(
                        col(OutboxMessage.ref) == row[3]
                    )
                )
            ).scalar_one_or_none()
    return Item(
        id=row[0],
        ref=row[1],
        platform=platform,
        address=address,
        kind=row[2],
        target=row[3],
        body=row[4] or {},
        blob=row[5],
        user_id=row[6],
        attempts=row[7],
        key=row[8],
        target_message=target_message,
    )


@dataclass(frozen=True)
class Due:
    at: dt.datetime  # when the address's oldest unfinished row can next be tried
    held: bool  # a worker holds it (a lease): its worker goes on with the address


async def next_due(*, db: Database, platform: str, address: str) -> Due | None:
    """When the address's oldest unfinished row can next be tried (None: nothing waits)."""
    async with db.connection() as connection:
        row = (
            await connection.execute(_NEXT_DUE, {"platform": platform, "address": address})
        ).first()
    if row is None:
        return None
    state, due, lease = row
    return Due(lease, True) if state == SENDING else Due(due, False)


async def record_sent(*, db: Database, item: Item, message: str | None, now: dt.datetime) -> None:
    """Delivered; an edit delivered as a new message moves the ref to that message."""
    async with db.connection() as connection:
        await connection.execute(_SENT, {"id": item.id, "message": message, "now": now})
        if item.user_id is not None:
            await connection.execute(_FORGET_ERASED, {"id": item.id})
        if item.target is not None and message is not None and message != item.target_message:
            await connection.execute(_MOVED, {"message": message, "target": item.target})


async def record_retry(*, db: Database, item: Item, due: dt.datetime, error: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == item.id)
            .values(state=PENDING, due_at=due, lease_until=None, error=error[:300])
        )


async def record_final(
    *, db: Database, item: Item, state: str, error: str, now: dt.datetime
) -> None:
    """Given up: unreachable (the person blocked the bot or left) or failed for good."""
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == item.id)
            .values(state=state, lease_until=None, sent_at=now, error=error[:300])
        )
        if item.user_id is not None:
            await session.execute(_FORGET_ERASED, {"id": item.id})


async def due_addresses(
    *, db: Database, now: dt.datetime, platforms: Sequence[str], limit: int = 500
) -> list[tuple[str, str]]:
    """Addresses on these platforms with a row that can be tried now (a retry come due, a
    lease run out)."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(col(OutboxMessage.platform), col(OutboxMessage.address))
            .where(col(OutboxMessage.platform).in_(platforms))
            .where(
                ((col(OutboxMessage.state) == PENDING) & (col(OutboxMessage.due_at) <= now))
                | ((col(OutboxMessage.state) == SENDING) & (col(OutboxMessage.lease_until) < now))
            )
            .distinct()
            .limit(limit)
        )
        return [(platform, address) for platform, address in rows.tuples()]


async def next_wakeup(*, db: Database, platforms: Sequence[str]) -> dt.datetime | None:
    """When the next row on these platforms can be tried (a retry's due time, a lease's
    end), if any waits."""
    on = col(OutboxMessage.platform).in_(platforms)
    async with db.transaction() as session:
        due = (
            await session.execute(
                select(func.min(col(OutboxMessage.due_at))).where(
                    on, col(OutboxMessage.state) == PENDING
                )
            )
        ).scalar_one()
        leased = (
            await session.execute(
                select(func.min(col(OutboxMessage.lease_until))).where(
                    on, col(OutboxMessage.state) == SENDING
                )
            )
        ).scalar_one()
    found = [t for t in (due, leased) if t is not None]
    return min(found) if found else None


@dataclass(frozen=True)
class Depth:
    waiting: int
    oldest: dt.datetime | None
    failed: int


async def outbox_depth(*, db: Database) -> Depth:
    async with db.transaction() as session:
        waiting, oldest = (
            await session.execute(
                select(func.count(), func.min(col(OutboxMessage.created_at))).where(
                    col(OutboxMessage.state).in_((PENDING, SENDING))
                )
            )
        ).one()
        failed = (
            await session.execute(select(func.count()).where(col(OutboxMessage.state) == FAILED))
        ).scalar_one()
    return Depth(int(waiting), oldest, int(failed))


async def prune_outbox(*, db: Database, sent_before: dt.datetime, edits_before: dt.datetime) -> int:
    """Forget delivered rows: edits, answers and menus soon, messages after a long while
    (a press on a message forgotten is answered as stale)."""
    async with db.transaction() as session:
        edits = await session.execute(
            delete(OutboxMessage)
            .where(col(OutboxMessage.state).in_(FINISHED))
            .where(col(OutboxMessage.kind).not_in(("send", "file")))
            .where(col(OutboxMessage.sent_at) < edits_before)
        )
        sends = await session.execute(
            delete(OutboxMessage)
            .where(col(OutboxMessage.state).in_(FINISHED))
            .where(col(OutboxMessage.sent_at) < sent_before)
        )
        return int(edits.rowcount) + int(sends.rowcount)  # type: ignore[attr-defined]


async def adopt_message(
    *,
    db: Database,
    ref: str,
    platform: str,
    address: str,
    user_id: int,
    message: str,
    now: dt.datetime,
) -> None:
    """A message the bot sent before the outbox kept them (or forgot it since): recorded as
    sent, so a press on it can change it; what it shows is unknown."""
    await enqueue(
        db=db,
        rows=[
            {
                "ref": ref,
                "platform": platform,
                "address": address,
                "user_id": user_id,
                "kind": "send",
                "target": None,
                "body": {},
                "blob": None,
                "key": None,
                "created_at": now,
                "due_at": now,
                "shown": None,
            }
        ],
    )
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.ref) == ref)
            .values(state=SENT, sent_at=now, platform_message_id=message)
        )
