"""Running the bot in production: long polling or webhook, with a graceful stop.

On SIGTERM (or SIGINT) the bot stops taking updates (closes the webhook
listener or stops polling), then processes everything already queued, then
exits; `Application.stop` drains the queue before it returns.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from telegram import Update
from telegram.ext import Application

from bot.app import announce, build_application
from bot.config import Settings
from bot.processing import CountingUpdateProcessor
from bot.server import BotServer
from storage.clock import Clock
from storage.db import Database

log = logging.getLogger(__name__)
POLL_TIMEOUT = 30  # seconds a getUpdates long poll may wait at Telegram


class BotProcess:
    """One bot process: the Application, its HTTP server, and the order they start and stop in."""

    def __init__(
        self,
        settings: Settings,
        *,
        webhook: bool,
        clock: Clock | None = None,
        rate_limit: bool = True,
    ) -> None:
        if webhook and not (settings.webhook_url and settings.webhook_secret):
            raise ValueError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
        self.settings = settings
        self.webhook = webhook
        self.db = Database(settings.database_url)
        self.processor = CountingUpdateProcessor()
        self.application: Application = build_application(
            settings, db=self.db, clock=clock, processor=self.processor, rate_limit=rate_limit
        )
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        self.server = BotServer(
            self.application,
            db=self.db,
            processor=self.processor,
            webhook_path=settings.webhook_path if webhook else None,
            secret=secret if webhook else None,
        )
        self.port: int | None = None

    async def start(self) -> None:
        settings, application = self.settings, self.application
        await application.initialize()
        await announce(application)
        if self.webhook:
            self.port = await self.server.start(settings.webhook_listen, settings.webhook_port)
            secret = settings.webhook_secret
            await application.bot.set_webhook(
                url=f"{settings.webhook_url}{settings.webhook_path}",
                secret_token=secret.get_secret_value() if secret else None,
                allowed_updates=Update.ALL_TYPES,
            )
            log.info("webhook listening on %s:%s", settings.webhook_listen, self.port)
        else:
            assert application.updater is not None
            await application.updater.start_polling(
                timeout=POLL_TIMEOUT, allowed_updates=Update.ALL_TYPES
            )
            if settings.health_port:
                self.port = await self.server.start(settings.webhook_listen, settings.health_port)
            log.info("long polling Telegram")
        await application.start()

    async def stop(self) -> None:
        """Stop taking updates, finish the ones received, then release everything."""
        application = self.application
        log.info("stopping: finishing the updates already received")
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        await self.server.stop()
        await application.stop()
        await application.shutdown()
        await self.db.dispose()
        log.info("stopped")


async def serve(settings: Settings, *, webhook: bool) -> None:
    """Run until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    process = BotProcess(settings, webhook=webhook)
    await process.start()
    await stop.wait()
    await process.stop()
