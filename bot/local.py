"""The real bot polling the local Bot API emulator: the playground and end-to-end tests.

Nothing here patches python-telegram-bot: the Application is built exactly as in
production, only its base URL points at the emulator and its clock may be a
manual one.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from telegram.ext import Application

from bot.app import announce, build_application
from bot.config import Settings
from bot.processing import CountingUpdateProcessor
from storage.clock import Clock
from storage.db import Database

POLL_TIMEOUT = dt.timedelta(seconds=1)  # short, so a stop or restart is quick


class BotApi(Protocol):
    """Where the bot sends its calls: the emulator in this process or in another."""

    @property
    def token(self) -> str: ...

    @property
    def base_url(self) -> str: ...


class LocalBot:
    """Start, stop and restart the bot against an emulator, sharing one database."""

    def __init__(
        self,
        settings: Settings,
        emulator: BotApi,
        clock: Clock,
        *,
        processor_factory: type[CountingUpdateProcessor] = CountingUpdateProcessor,
        rate_limit: bool = True,
    ) -> None:
        self.settings = settings
        self.processor_factory = processor_factory
        self.rate_limit = rate_limit
        self.emulator = emulator
        self.clock = clock
        self.application: Application | None = None
        self.processor = processor_factory()

    async def start(self) -> None:
        self.processor = self.processor_factory()
        self.db = Database(self.settings.database_url)
        application = build_application(
            self.settings,
            db=self.db,
            clock=self.clock,
            token=self.emulator.token,
            base_url=self.emulator.base_url,
            processor=self.processor,
            rate_limit=self.rate_limit,
        )
        await application.initialize()
        await announce(application)
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=POLL_TIMEOUT)
        await application.start()
        self.application = application

    async def stop(self) -> None:
        """Stop like a process that exits: what is in the database stays, memory goes."""
        application, self.application = self.application, None
        if application is None:
            return
        assert application.updater is not None
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        await self.db.dispose()

    async def restart(self) -> None:
        await self.stop()
        await self.start()
