"""The real bot against local emulators: the playground and end-to-end tests.

Nothing here patches the bot: the core is assembled exactly as in production,
only its channels talk to emulators (or to a test's stub) and its clock may be
a manual one. A restart is a process exit as far as the bot can tell: what is
in the database stays, memory goes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Protocol

from bot.app import BotCore
from bot.config import Settings
from bot.server import BotServer
from channels.base import Channel
from channels.telegram import CAPABILITIES, TelegramChannel
from storage.clock import Clock
from storage.db import Database

POLL_TIMEOUT = 1  # seconds: short, so a stop or restart is quick
# Journeys click faster than people, and load tests send more than a real bot would: pace
# like an emulator that enforces nothing, not like Telegram (tests that are about pacing
# say so and use the platform's own figures).
QUICK_PACE = dataclasses.replace(
    CAPABILITIES, per_address_rate=1000.0, per_address_burst=1000, overall_rate=5000.0
)


class BotApi(Protocol):
    """Where the bot sends its calls: the emulator in this process or in another."""

    @property
    def token(self) -> str: ...

    @property
    def base_url(self) -> str: ...


def telegram_on(emulator: BotApi, *, quick: bool = True) -> TelegramChannel:
    """A Telegram channel polling the emulator."""
    return TelegramChannel(
        token=emulator.token,
        base_url=emulator.base_url,
        poll_timeout=POLL_TIMEOUT,
        capabilities=QUICK_PACE if quick else CAPABILITIES,
    )


class LocalBot:
    """Start, stop and restart the bot over channels made anew each start, on one database."""

    def __init__(
        self,
        settings: Settings,
        channels: Callable[[Database], Sequence[Channel]],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.channels = channels
        self.clock = clock
        self.core: BotCore | None = None
        self.server: BotServer | None = None
        self.port = 0  # of the server, when a channel has routes

    async def start(self) -> None:
        self.db = Database(self.settings.database_url)
        core = BotCore(self.settings, db=self.db, channels=self.channels(self.db), clock=self.clock)
        if any(channel.routes() for channel in core.channels.values()):
            # A platform that calls the bot (WeCom's callbacks) needs its HTTP server, on the
            # same port after a restart: the platform was told where to call.
            self.server = BotServer(core)
            self.port = await self.server.start("127.0.0.1", self.port)
        await core.start()
        self.core = core

    async def stop(self) -> None:
        """Stop like a process that exits: what is in the database stays, memory goes."""
        core, self.core = self.core, None
        if core is None:
            return
        if self.server is not None:
            await self.server.stop()
            self.server = None
        await core.stop()
        await self.db.dispose()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def wait_idle(self, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        """Until every event kept is applied and everything due is delivered."""
        assert self.core is not None
        await self.core.wait_idle(timeout)

    async def run_job(self, name: str) -> None:
        assert self.core is not None
        await self.core.scheduler.run(name)
