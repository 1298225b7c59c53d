"""Identities: the platform accounts of a person, and where to reach them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import Database
from storage.models import Identity, User


@dataclass(frozen=True)
class Seen:
    """The person behind an event and the account they wrote from."""

    user: User
    identity: Identity
    first: bool = False  # the person was created by this event: their first contact


_IDENTITIES: Table = Identity.__table__  # type: ignore[attr-defined]
_USERS: Table = User.__table__  # type: ignore[attr-defined]
# Every event runs these two: built once, so each call only binds its values (building an
# ORM statement, and returning ORM rows from an UPDATE, cost more than the SQL).
_TOUCH = (
    update(_IDENTITIES)
    .where(_IDENTITIES.c.platform == bindparam("p_platform"))
    .where(_IDENTITIES.c.account == bindparam("p_account"))
    .values(
        address=bindparam("p_address"),
        language=bindparam("p_language"),
        last_seen_at=bindparam("p_now"),
        unreachable_at=None,
    )
    .returning(*_IDENTITIES.c)
)
_SEEN = (
    update(_USERS)
    .where(_USERS.c.id == bindparam("p_user"))
    .values(last_seen_at=bindparam("p_now"))
    .returning(*_USERS.c)
)


async def touch_identity(
    *,
    db: Database,
    platform: str,
    account: str,
    address: str,
    now: dt.datetime,
    language: str | None = None,
) -> Seen:
    """The person writing from this account, created on first contact with ids only.

    Every event calls this, so the usual case is two prepared UPDATEs. Events of one
    person are processed one at a time (the inbox), so a first contact never races
    another for the same account.
    """
    async with db.connection() as connection:
        found = (
            await connection.execute(
                _TOUCH,
                {
                    "p_platform": platform,
                    "p_account": account,
                    "p_address": address,
                    "p_language": language,
                    "p_now": now,
                },
            )
        ).first()
        if found is not None:
            user = (await connection.execute(_SEEN, {"p_user": found.user_id, "p_now": now})).one()
            return Seen(User(**user._mapping), Identity(**found._mapping))
    async with db.transaction() as session:
        return await _new_person(session, platform, account, address, language, now)


async def ensure_identity(
    *, db: Database, platform: str, account: str, now: dt.datetime
) -> Identity:
    """The account's identity, recorded with ids only if it never wrote (a configured
    coordinator the bot writes to first). The address is the account: on every platform
    the bot serves, a person's one-to-one chat is reached through their id."""
    async with db.transaction() as session:
        found = (
            await session.execute(
                select(Identity)
                .where(col(Identity.platform) == platform)
                .where(col(Identity.account) == account)
            )
        ).scalar_one_or_none()
        if found is not None:
            return found
        return (await _new_person(session, platform, account, account, None, now)).identity


async def _new_person(
    session: AsyncSession,
    platform: str,
    account: str,
    address: str,
    language: str | None,
    now: dt.datetime,
) -> Seen:
    """A user row with ids only, and the account it was first seen on."""
    user = User(created_at=now, last_seen_at=now)
    session.add(user)
    await session.flush()
    assert user.id is not None
    identity = Identity(
        user_id=user.id,
        platform=platform,
        account=account,
        address=address,
        language=language,
        created_at=now,
        last_seen_at=now,
    )
    session.add(identity)
    await session.flush()
    return Seen(user, identity, first=True)


async def known_accounts(
    *, db: Database, platform: str
) -> list[tuple[str, str | None, str | None]]:
    """Who wrote to the bot on a platform: (account, first name, language tag)."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(col(Identity.account), col(User.first_name), col(Identity.language))
            .join(User, col(Identity.user_id) == col(User.id))
            .where(col(Identity.platform) == platform)
            .order_by(col(Identity.id))
        )
        return [(account, name, language) for account, name, language in rows]


async def find_user(*, db: Database, platform: str, account: str) -> User | None:
    """The person behind an account, if they ever wrote from it."""
    async with db.transaction() as session:
        return (
            await session.execute(
                select(User)
                .join(Identity, col(Identity.user_id) == col(User.id))
                .where(col(Identity.platform) == platform)
                .where(col(Identity.account) == account)
            )
        ).scalar_one_or_none()


async def reachable_identity(*, db: Database, user_id: int) -> Identity | None:
    """Where to send a person a message: the account they wrote from last."""
    async with db.transaction() as session:
        return (
            await session.execute(
                select(Identity)
                .where(col(Identity.user_id) == user_id)
                .order_by(col(Identity.last_seen_at).desc(), col(Identity.id).desc())
                .limit(1)
            )
        ).scalar_one_or_none()


async def set_choices(*, db: Database, identity_id: int, choices: dict[str, Any] | None) -> None:
    async with db.connection() as connection:
        await connection.execute(
            update(Identity).where(col(Identity.id) == identity_id).values(choices=choices)
        )


async def mark_unreachable(*, db: Database, platform: str, address: str, now: dt.datetime) -> None:
    """The platform will not deliver here (blocked, left): recorded until they write again."""
    async with db.transaction() as session:
        await session.execute(
            update(Identity)
            .where(col(Identity.platform) == platform)
            .where(col(Identity.address) == address)
            .where(col(Identity.unreachable_at).is_(None))
            .values(unreachable_at=now)
        )
