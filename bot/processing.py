"""How updates are processed: one at a time (per process), measured as they finish.

PTB's own processor awaits each update in turn; this one does the same inside
one database transaction per update, and also records how many updates
finished, when, and how long each took. Health checks and metrics report it;
the playground and tests use it to know the bot has finished reacting (the
emulator cannot see the bot's database work).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable
from typing import Any

from telegram.ext import BaseUpdateProcessor

from bot.metrics import Metrics
from storage.db import Database


class CountingUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, metrics: Metrics | None = None, max_concurrent_updates: int = 1) -> None:
        super().__init__(max_concurrent_updates)
        self.metrics = metrics or Metrics()
        self.database: Database | None = None  # set by build_application
        self.processed = 0
        self.last_update_at: dt.datetime | None = None
        self._finished = asyncio.Event()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        started = time.perf_counter()
        try:
            if self.database is None:
                await coroutine
            else:
                # One transaction per update: its effects and its processed-update id
                # commit together (a redelivered update then finds its id and stops).
                async with self.database.unit_of_work():
                    await coroutine
        finally:
            self.metrics.observe_update(update, time.perf_counter() - started)
            self.processed += 1
            # Wall time for operators, not the programme's clock (which tests move).
            self.last_update_at = dt.datetime.now(dt.UTC)
            self._finished.set()
            self._finished = asyncio.Event()

    async def wait_processed(self, count: int, timeout: float) -> None:  # noqa: ASYNC109
        """Return once at least `count` updates have finished."""
        async with asyncio.timeout(timeout):
            while self.processed < count:
                await self._finished.wait()

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""
