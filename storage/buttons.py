"""Button tokens: what a platform's button carries instead of the flow's callback data.

A token is derived from the person and the data, so drawing the same button
again reuses its row; it resolves only for the person it was drawn for, so a
button forwarded, replayed by someone else or forged resolves to nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterable

from sqlalchemy import bindparam, delete, text
from sqlmodel import col

from storage.db import Database
from storage.models import ButtonToken
from storage.types import UTCDateTime

TOKEN_LENGTH = 22  # base64 of 132 bits: far below every platform's payload limit
_ISSUE = text(
    "INSERT INTO buttons (token, user_id, data, issued_at) VALUES (:token, :user_id, :data, :at)"
    " ON CONFLICT (token) DO UPDATE SET issued_at = excluded.issued_at"
).bindparams(bindparam("at", type_=UTCDateTime()))
_RESOLVE = text("SELECT user_id, data FROM buttons WHERE token = :token")


def token_for(user_id: int, data: str) -> str:
    digest = hashlib.sha256(f"{user_id}\x00{data}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:TOKEN_LENGTH]


def looks_like_token(value: str) -> bool:
    return (
        len(value) == TOKEN_LENGTH
        and value.isascii()
        and value.replace("-", "").replace("_", "").isalnum()
    )


async def issue_tokens(
    *, db: Database, user_id: int, data: Iterable[str], now: dt.datetime
) -> dict[str, str]:
    """Tokens for these callback data of this person: {data: token}."""
    tokens = {value: token_for(user_id, value) for value in data}
    if tokens:
        async with db.connection() as connection:
            await connection.execute(
                _ISSUE,
                [
                    {"token": token, "user_id": user_id, "data": value, "at": now}
                    for value, token in tokens.items()
                ],
            )
    return tokens


async def resolve_token(*, db: Database, token: str) -> tuple[int, str] | None:
    """(user id, callback data) of a token, or None for one never issued."""
    async with db.connection() as connection:
        row = (await connection.execute(_RESOLVE, {"token": token})).first()
    return (int(row[0]), str(row[1])) if row else None


async def forget_tokens(*, db: Database, issued_before: dt.datetime) -> int:
    """Drop tokens not drawn since; a press on them is then answered as stale."""
    async with db.transaction() as session:
        result = await session.execute(
            delete(ButtonToken).where(col(ButtonToken.issued_at) < issued_before)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
