"""Platforms' access tokens, cached in the database so every process shares one."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select

from storage.db import Database, conflict_insert
from storage.models import PlatformToken

_TABLE = PlatformToken.__table__  # type: ignore[attr-defined]


async def cached_token(
    *, db: Database, platform: str, valid_until: dt.datetime
) -> tuple[str, dt.datetime] | None:
    """The platform's token and when it expires, if it is still good at `valid_until`."""
    async with db.connection() as connection:
        row = (
            await connection.execute(
                select(_TABLE.c.value, _TABLE.c.expires_at).where(
                    _TABLE.c.platform == platform, _TABLE.c.expires_at > valid_until
                )
            )
        ).first()
    return None if row is None else (str(row.value), row.expires_at)


async def keep_token(*, db: Database, platform: str, value: str, expires_at: dt.datetime) -> None:
    statement = conflict_insert(db.engine.dialect.name)(_TABLE).values(
        platform=platform, value=value, expires_at=expires_at
    )
    statement = statement.on_conflict_do_update(
        index_elements=[_TABLE.c.platform],
        set_={"value": statement.excluded.value, "expires_at": statement.excluded.expires_at},
    )
    async with db.connection() as connection:
        await connection.execute(statement)


async def drop_token(*, db: Database, platform: str, value: str) -> None:
    """Forget a token the platform refused (revoked early), unless another process has
    already replaced it."""
    async with db.connection() as connection:
        await connection.execute(
            delete(_TABLE).where(_TABLE.c.platform == platform, _TABLE.c.value == value)
        )
