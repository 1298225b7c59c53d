"""People as the tests know them: numeric ids, turned into the bot's users and identities on
the platform the test plays (Telegram, or the stub platform: `playing` sets it)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, select
from sqlmodel import col

from storage.db import Database
from storage.identities import find_user, touch_identity
from storage.models import Identity, User

_platform = ["telegram"]


def playing(platform: str) -> None:
    """The platform this test's people write from."""
    _platform[0] = platform


def platform() -> str:
    return _platform[0]


async def touch_user(*, db: Database, telegram_id: int, now: dt.datetime) -> User:
    """The user behind an account, created with ids only as on first contact."""
    async with db.unit_of_work():
        seen = await touch_identity(
            db=db,
            platform=_platform[0],
            account=str(telegram_id),
            address=str(telegram_id),
            now=now,
        )
    return seen.user


async def get_user(*, db: Database, telegram_id: int) -> User | None:
    return await find_user(db=db, platform=_platform[0], account=str(telegram_id))


def by_account(telegram_id: int) -> ColumnElement[bool]:
    """A WHERE clause for the user behind an account."""
    account = (
        select(col(Identity.user_id))
        .where(col(Identity.platform) == _platform[0], col(Identity.account) == str(telegram_id))
        .scalar_subquery()
    )
    return col(User.id) == account
