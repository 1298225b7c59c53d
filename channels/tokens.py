"""A platform's access token, shared by every process through the database.

Read from memory while it is good, else from the database (another process may have
fetched it), else fetched from the platform, a few minutes before it expires. When the
platform refuses a token (revoked early), the call that saw it says so: that token is
forgotten and one new one fetched, however many calls saw the refusal together.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

from storage.db import Database
from storage.platform_tokens import cached_token, drop_token, keep_token

MARGIN = dt.timedelta(minutes=5)  # fetch a new token this long before it expires

Fetch = Callable[[], Awaitable[tuple[str, int]]]  # the token and its seconds of life


class SharedToken:
    def __init__(self, db: Database, platform: str, fetch: Fetch) -> None:
        self.db, self.platform, self.fetch = db, platform, fetch
        self._lock = asyncio.Lock()  # one fetch per process at a time
        self._kept: tuple[str, dt.datetime] | None = None  # the shared one, as read

    async def get(self, *, refused: str | None = None) -> str:
        """The token to call with; `refused`: the one the platform just refused."""
        now = dt.datetime.now(dt.UTC)
        kept = self._kept
        if refused is None and kept is not None and kept[1] > now + MARGIN:
            return kept[0]
        async with self._lock:
            kept = self._kept
            if refused is not None and kept is not None and kept[0] != refused:
                return kept[0]  # another call fetched a new one meanwhile
            if refused is not None:
                await drop_token(db=self.db, platform=self.platform, value=refused)
            kept = await cached_token(db=self.db, platform=self.platform, valid_until=now + MARGIN)
            if kept is None:
                token, lifetime = await self.fetch()
                kept = token, now + dt.timedelta(seconds=lifetime)
                await keep_token(
                    db=self.db, platform=self.platform, value=token, expires_at=kept[1]
                )
            self._kept = kept
            return kept[0]
